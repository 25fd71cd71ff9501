// Test OAuth2/OIDC authorization server: panva's oidc-provider (unmodified, from npm),
// configured for a native mail app. Only config + a tiny login page live here.
import http from 'node:http';
import fs from 'node:fs';
import crypto from 'node:crypto';
import Provider, { errors } from 'oidc-provider';

const HOST = '127.0.0.1';
const PORT = Number(process.env.OP_PORT || 9090);
const ISSUER = `http://${HOST}:${PORT}`;
const DIR = new URL('.', import.meta.url).pathname;
// per-run state (signing key, the private_key_jwt client's key) lives outside the source tree
const KEYS = process.env.OP_KEYS_DIR || `${DIR}keys`;
const MAIL_RESOURCE = 'urn:test-peers:mail';        // resource (aud) of mail access tokens
const MAIL_SCOPE = 'mail';                           // like Google's https://mail.google.com/
const SHORT_TTL = Number(process.env.OP_SHORT_TTL || 5); // seconds, for client mailapp-short
const AUTO_LOGIN = process.env.OP_AUTO_LOGIN === '1'; // login_hint=<known user> skips the form
// OIDC Core 11: offline_access on /auth is honoured only with prompt=consent (device flow: always).
// OP_ALWAYS_REFRESH=1 => every refresh_token-capable client gets a refresh token (Microsoft-like).
const ALWAYS_REFRESH = process.env.OP_ALWAYS_REFRESH === '1';
// RFC 9207: oidc-provider puts `iss` in every authorization response and says so in its metadata
// (authorization_response_iss_parameter_supported: true). OP_ISS=0 => a provider that does
// neither, like most providers older than RFC 9207: the parameter is taken out of every redirect
// to a client and the metadata field is left out.
const SEND_ISS = process.env.OP_ISS !== '0';

// test users: email -> password
const USERS = { 'alice@example.test': 'alice-pw', 'bob@example.test': 'bob-pw' };

// provider signing key (id_token), created once, kept in keys/
const opKeyFile = `${KEYS}/op-signing.jwk.json`;
if (!fs.existsSync(opKeyFile)) {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  fs.writeFileSync(opKeyFile, JSON.stringify({ ...privateKey.export({ format: 'jwk' }), kid: 'op-1', alg: 'RS256', use: 'sig' }), { mode: 0o600 });
}
const opKey = JSON.parse(fs.readFileSync(opKeyFile, 'utf8'));
// public key of the private_key_jwt test client
const pkjwtPub = { ...crypto.createPublicKey(fs.readFileSync(`${KEYS}/client-pkjwt.key.pem`)).export({ format: 'jwk' }), kid: 'mailapp-pkjwt-1', alg: 'ES256', use: 'sig' };

const GRANTS = ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'];
// The paths real providers register for desktop clients (`http://localhost`, Google and Entra) and
// the tests' own `/callback`.
const LOOPBACK_REDIRECTS = ['http://127.0.0.1/callback', 'http://[::1]/callback', 'http://localhost/callback', 'http://127.0.0.1/', 'http://[::1]/', 'http://localhost/'];
const nativeClient = (extra) => ({
  application_type: 'native', // => any port accepted on loopback redirect_uris (RFC 8252 7.3)
  grant_types: GRANTS, response_types: ['code'], redirect_uris: LOOPBACK_REDIRECTS, ...extra,
});

const configuration = {
  clients: [
    nativeClient({ client_id: 'mailapp-public', token_endpoint_auth_method: 'none' }),
    nativeClient({ client_id: 'mailapp-short', token_endpoint_auth_method: 'none' }), // 5 s access tokens
    nativeClient({ client_id: 'mailapp-secret', client_secret: 'mailapp-secret-value', token_endpoint_auth_method: 'client_secret_post' }),
    nativeClient({ client_id: 'mailapp-pkjwt', token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: 'ES256', jwks: { keys: [pkjwtPub] } }),
    // machine client (no end-user: its tokens carry no email, so Dovecot cannot map them to a mailbox)
    { client_id: 'svc-cc', client_secret: 'svc-cc-secret', token_endpoint_auth_method: 'client_secret_post', grant_types: ['client_credentials'], response_types: [], redirect_uris: [] },
    // the mail server (resource server); only calls /token/introspection
    { client_id: 'dovecot', client_secret: 'dovecot-secret', token_endpoint_auth_method: 'client_secret_basic', grant_types: [], response_types: [], redirect_uris: [] },
  ],
  jwks: { keys: [opKey] },
  cookies: { keys: ['test-peers-cookie-key-1'] },
  claims: { openid: ['sub'], email: ['email', 'email_verified'] },
  scopes: ['openid', 'offline_access', 'email'],
  pkce: { required: () => true }, // S256 only (default methods)
  async findAccount(ctx, id) {
    if (!USERS[id]) return undefined;
    return { accountId: id, async claims() { return { sub: id, email: id, email_verified: true }; } };
  },
  // put the user's email into every access token => visible in introspection (dovecot username_attribute=email)
  async extraTokenClaims(ctx, token) {
    return token.accountId ? { email: token.accountId } : undefined;
  },
  async issueRefreshToken(ctx, client, code) {
    return client.grantTypeAllowed('refresh_token') && (ALWAYS_REFRESH || code.scopes.has('offline_access'));
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  features: {
    devInteractions: { enabled: false },
    deviceFlow: { enabled: true },
    revocation: { enabled: true },
    clientCredentials: { enabled: true },
    introspection: {
      enabled: true,
      // the mail server may introspect access tokens; clients only their own tokens
      async allowedPolicy(ctx, caller, token) {
        if (caller.clientId === 'dovecot') return token.kind !== 'RefreshToken';
        return token.clientId === caller.clientId;
      },
    },
    resourceIndicators: {
      enabled: true,
      defaultResource: async (ctx, client, oneOf) => oneOf ?? MAIL_RESOURCE,
      useGrantedResource: async () => true,
      async getResourceServerInfo(ctx, resourceIndicator, client) {
        if (resourceIndicator !== MAIL_RESOURCE) throw new errors.InvalidTarget();
        return {
          scope: MAIL_SCOPE,
          audience: MAIL_RESOURCE,
          accessTokenFormat: 'opaque', // opaque => introspectable
          accessTokenTTL: client?.clientId === 'mailapp-short' ? SHORT_TTL : 3600,
        };
      },
    },
  },
  ttl: { RefreshToken: 14 * 24 * 3600, DeviceCode: 600, Interaction: 600, Session: 3600, Grant: 14 * 24 * 3600 },
};

const provider = new Provider(ISSUER, configuration);
provider.on('server_error', (ctx, err) => console.error('server_error', err));
if (!SEND_ISS) {
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.path === '/.well-known/openid-configuration' && ctx.body && typeof ctx.body === 'object') {
      delete ctx.body.authorization_response_iss_parameter_supported;
    }
    const location = ctx.response.get('location');
    if (location && /[?&#]iss=/.test(location)) {
      const url = new URL(location);
      url.searchParams.delete('iss');
      if (url.hash) {
        const fragment = new URLSearchParams(url.hash.slice(1));
        fragment.delete('iss');
        url.hash = fragment.toString();
      }
      ctx.response.set('location', url.toString());
    }
  });
}

// ---- minimal login page (the app under test never sees this; a browser or a test driver does) ----
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const loginPage = (uid, hint, error) => `<!DOCTYPE html><html><head><title>Sign-in</title></head><body>
<h1>Sign-in</h1>${error ? `<p class="error">${esc(error)}</p>` : ''}
<form id="login" method="post" action="/interaction/${esc(uid)}/login">
<input name="login" type="email" value="${esc(hint || '')}" placeholder="email">
<input name="password" type="password" placeholder="password">
<button type="submit">Sign in</button></form>
<a href="/interaction/${esc(uid)}/abort">Cancel</a></body></html>`;

async function readForm(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return Object.fromEntries(new URLSearchParams(body));
}

async function consent(req, res, details) {
  const { prompt: { details: missing }, params, session, grantId } = details;
  const grant = grantId ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes || {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
}

async function interactions(req, res) {
  const m = /^\/interaction\/([\w-]+)(\/login|\/abort)?(\?.*)?$/.exec(req.url);
  if (!m) { res.statusCode = 404; return res.end('not found'); }
  const [, uid, action] = m;
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) { res.statusCode = 400; return res.end('interaction mismatch'); }
  if (action === '/abort') {
    return provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'End-User aborted interaction' }, { mergeWithLastSubmission: false });
  }
  if (details.prompt.name === 'consent') return consent(req, res, details); // auto-consent
  if (details.prompt.name !== 'login') { res.statusCode = 501; return res.end('unsupported prompt'); }
  if (action === '/login' && req.method === 'POST') {
    const { login = '', password = '' } = await readForm(req);
    const email = login.trim().toLowerCase();
    if (USERS[email] === undefined || USERS[email] !== password) {
      res.setHeader('Content-Type', 'text/html; charset=utf-8');
      return res.end(loginPage(uid, login, 'Invalid email or password.'));
    }
    return provider.interactionFinished(req, res, { login: { accountId: email } }, { mergeWithLastSubmission: false });
  }
  const hint = details.params.login_hint;
  if (AUTO_LOGIN && hint && USERS[hint] !== undefined) {
    return provider.interactionFinished(req, res, { login: { accountId: hint } }, { mergeWithLastSubmission: false });
  }
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  return res.end(loginPage(uid, hint));
}

const opCallback = provider.callback();
http.createServer((req, res) => {
  if (req.url.startsWith('/interaction/')) {
    interactions(req, res).catch((err) => {
      console.error('interaction error', err);
      if (!res.headersSent) { res.statusCode = 400; res.end(`interaction error: ${err.message}`); }
    });
  } else {
    opCallback(req, res);
  }
}).listen(PORT, HOST, () => console.log(`oidc-provider ${ISSUER} ready (auto_login=${AUTO_LOGIN}, iss=${SEND_ISS})`));
