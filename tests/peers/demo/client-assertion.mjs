// prints a private_key_jwt client assertion (RFC 7523) for client mailapp-pkjwt
import fs from 'node:fs';
import crypto from 'node:crypto';
import { SignJWT } from '../op/node_modules/jose/dist/webapi/index.js';
// PKJWT_KEY and OP come from the run's peers.env (see start.sh)
const key = crypto.createPrivateKey(fs.readFileSync(process.env.PKJWT_KEY));
const aud = process.argv[2] || `${process.env.OP}/token`;
const now = Math.floor(Date.now() / 1000);
console.log(await new SignJWT({})
  .setProtectedHeader({ alg: 'ES256', kid: 'mailapp-pkjwt-1' })
  .setIssuer('mailapp-pkjwt').setSubject('mailapp-pkjwt').setAudience(aud)
  .setJti(crypto.randomUUID()).setIssuedAt(now).setExpirationTime(now + 60).sign(key));
