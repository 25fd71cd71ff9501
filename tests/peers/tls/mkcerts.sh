#!/bin/sh
# test CA + leaf cert for 127.0.0.1/localhost (leaf has CA:FALSE, so rustls/webpki accepts it; trust ca.crt)
# usage: mkcerts.sh [DIR]   (writes ca.crt, ca.key, server.key, server.crt, server-chain.crt into DIR, default .)
set -e; cd "${1:-.}"
openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=test-peers test CA" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
  -keyout ca.key -out ca.crt 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server.key -out server.csr 2>/dev/null
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,DNS:mail.example.test,IP:127.0.0.1,IP:::1\n' > leaf.ext
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 825 -extfile leaf.ext -out server.crt 2>/dev/null
cat server.crt ca.crt > server-chain.crt
chmod 600 ca.key server.key; rm -f server.csr leaf.ext ca.srl
