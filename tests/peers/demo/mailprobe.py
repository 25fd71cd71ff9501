#!/usr/bin/env python3
"""Raw IMAP/SMTP SASL probe (stdlib only) - prints every line exchanged.

usage:
  mailprobe.py imap  MODE USER TOKEN [--mech xoauth2|oauthbearer] [--src 127.0.0.2]
  mailprobe.py smtp  MODE USER TOKEN [--mech ...] [--rcpt addr] [--src ...]
MODE: tls (implicit TLS: IMAPS_PORT / SUBMISSIONS_PORT), starttls (IMAP_PORT / SUBMISSION_PORT), plain (no TLS)
"""
import argparse, base64, socket, ssl, sys

import os
# ports and CA of this run, from peers.env (exported by selftest.sh)
CA = os.environ['CA_FILE']
_e = lambda k: int(os.environ[k])
PORTS = {('imap', 'tls'): _e('IMAPS_PORT'), ('imap', 'starttls'): _e('IMAP_PORT'), ('imap', 'plain'): _e('IMAP_PORT'),
         ('smtp', 'tls'): _e('SUBMISSIONS_PORT'), ('smtp', 'starttls'): _e('SUBMISSION_PORT'), ('smtp', 'plain'): _e('SUBMISSION_PORT')}


class Conn:
    def __init__(self, host, port, src, tls):
        self.sock = socket.create_connection((host, port), timeout=15, source_address=(src, 0) if src else None)
        if tls:
            self.wrap()
        self.f = self.sock.makefile('rb')

    def wrap(self):
        ctx = ssl.create_default_context(cafile=CA)
        self.sock = ssl.wrap_socket if False else ctx.wrap_socket(self.sock, server_hostname='localhost')
        self.f = self.sock.makefile('rb')
        print(f'   [TLS {self.sock.version()} {self.sock.cipher()[0]}]')

    def send(self, line, show=None):
        print('C: ' + (show if show is not None else line))
        self.sock.sendall(line.encode() + b'\r\n')

    def line(self):
        l = self.f.readline().decode(errors='replace').rstrip('\r\n')
        print('S: ' + l)
        return l


def xoauth2(user, token):
    return base64.b64encode(f'user={user}\x01auth=Bearer {token}\x01\x01'.encode()).decode()


def oauthbearer(user, token, host='127.0.0.1', port=0):
    return base64.b64encode(f'n,a={user},\x01host={host}\x01port={port}\x01auth=Bearer {token}\x01\x01'.encode()).decode()


def imap(a):
    c = Conn('127.0.0.1', PORTS[('imap', a.mode)], a.src, a.mode == 'tls')
    c.line()
    def cmd(tag, text, show=None):
        c.send(f'{tag} {text}', show)
        while True:
            l = c.line()
            if l.startswith(tag + ' '):
                return l
            if l.startswith('+'):          # SASL error challenge (JSON) -> send empty response
                if len(l) > 2:
                    try:
                        print('   decoded: ' + base64.b64decode(l[2:]).decode())
                    except Exception:
                        pass
                c.send('')
    cmd('a1', 'CAPABILITY')
    if a.mode == 'starttls':
        cmd('a2', 'STARTTLS'); c.wrap(); cmd('a3', 'CAPABILITY')
    if a.login:
        r = cmd('a4', f'LOGIN {a.user} {a.token}')
    else:
        ir = xoauth2(a.user, a.token) if a.mech == 'xoauth2' else oauthbearer(a.user, a.token, port=PORTS[('imap', a.mode)])
        r = cmd('a4', f'AUTHENTICATE {a.mech.upper()} {ir}', f'AUTHENTICATE {a.mech.upper()} <base64 {a.mech} initial response, {len(ir)} chars>')
    if ' OK ' in r:
        cmd('a5', 'LIST "" "*"')
        cmd('a6', 'SELECT INBOX')
        if a.fetch:
            cmd('a7', 'FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT MESSAGE-ID)])')
    cmd('a9', 'LOGOUT')
    return 0 if ' OK ' in r else 1


def smtp(a):
    c = Conn('127.0.0.1', PORTS[('smtp', a.mode)], a.src, a.mode == 'tls')
    def reply():
        while True:
            l = c.line()
            if len(l) < 4 or l[3] != '-':
                return l
    def cmd(text, show=None):
        c.send(text, show)
        r = reply()
        if r.startswith('334'):            # XOAUTH2 error challenge -> empty response
            if len(r) > 4:
                try:
                    print('   decoded: ' + base64.b64decode(r[4:]).decode())
                except Exception:
                    pass
            c.send('')
            r = reply()
        return r
    reply()
    cmd('EHLO client.example.test')
    if a.mode == 'starttls':
        cmd('STARTTLS'); c.wrap(); cmd('EHLO client.example.test')
    ir = xoauth2(a.user, a.token) if a.mech == 'xoauth2' else oauthbearer(a.user, a.token, port=PORTS[('smtp', a.mode)])
    r = cmd(f'AUTH {a.mech.upper()} {ir}', f'AUTH {a.mech.upper()} <base64 {a.mech} initial response, {len(ir)} chars>')
    if r.startswith('235') and a.rcpt:
        cmd(f'MAIL FROM:<{a.user}>')
        cmd(f'RCPT TO:<{a.rcpt}>')
        if cmd('DATA').startswith('354'):
            msg = [f'From: <{a.user}>', f'To: <{a.rcpt}>', f'Subject: {a.subject}',
                   'Message-ID: <probe-%d@example.test>' % (id(c) % 100000), '', 'Hello over XOAUTH2 submission.', '.']
            for l in msg:
                c.send(l)
            reply()
    cmd('QUIT')
    return 0 if r.startswith('235') else 1


if __name__ == '__main__':
    p = argparse.ArgumentParser()
    p.add_argument('proto', choices=['imap', 'smtp'])
    p.add_argument('mode', choices=['tls', 'starttls', 'plain'])
    p.add_argument('user'); p.add_argument('token')
    p.add_argument('--mech', default='xoauth2', choices=['xoauth2', 'oauthbearer'])
    p.add_argument('--src', help='source address, e.g. 127.0.0.2 (dovecot treats same-IP as secure)')
    p.add_argument('--login', action='store_true', help='IMAP LOGIN user token instead of SASL')
    p.add_argument('--fetch', action='store_true')
    p.add_argument('--rcpt'); p.add_argument('--subject', default='probe')
    a = p.parse_args()
    sys.exit(imap(a) if a.proto == 'imap' else smtp(a))
