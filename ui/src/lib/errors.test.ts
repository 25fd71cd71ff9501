import { describe, expect, it, vi } from 'vitest';

vi.mock('@tauri-apps/plugin-opener', () => ({ openUrl: async () => {} }));

import { diagnosisOf, errorAction, errorHeadline, errorOf, errorText, nextStep } from './errors';
import { CommandError, type ErrorCode } from './ipc';

const ALL: ErrorCode[] = [
  'invalid_input',
  'not_found',
  'network',
  'needs_reauthorization',
  'provider_refused',
  'mail_server_refused',
  'cancelled',
  'internal',
];

describe('errorOf / errorText / diagnosisOf', () => {
  it('take the typed error out of a CommandError', () => {
    const diagnosis = {
      id: 'net-host-unreachable',
      title: "Can't reach login.microsoftonline.com",
      area: 'network' as const,
      cause: 'No connection.',
      fix: ['Check the proxy.'],
      place: 'This computer',
      reauthorize: false,
    };
    const e = new CommandError({ code: 'network', message: 'the token endpoint could not be reached', diagnosis, reauthorize: false });
    expect(errorOf(e).code).toBe('network');
    expect(errorText(e)).toBe('the token endpoint could not be reached');
    expect(diagnosisOf(e)).toEqual(diagnosis);
  });

  it('turn anything else into an internal error with no diagnosis', () => {
    expect(errorOf(new Error('boom'))).toEqual({
      code: 'internal',
      message: 'Unexpected error from the app: boom',
      reauthorize: false,
    });
    expect(errorText('plain')).toBe('Unexpected error from the app: plain');
    expect(diagnosisOf('plain')).toBeNull();
  });

  it('read a raw rejection from invoke too', () => {
    expect(errorOf({ code: 'needs_reauthorization', message: 'sign in again', reauthorize: true }).reauthorize).toBe(true);
  });
});

describe('errorAction', () => {
  it('gives every code its own next step', () => {
    expect(Object.fromEntries(ALL.map((c) => [c, errorAction(c)]))).toEqual({
      invalid_input: 'fix-input',
      not_found: 'reload',
      network: 'retry',
      needs_reauthorization: 'sign-in-again',
      provider_refused: 'follow-fix',
      mail_server_refused: 'follow-fix',
      cancelled: 'none',
      internal: 'report',
    });
  });

  it('has a headline for every code, and the two refusals name who refused', () => {
    const lines = ALL.map(errorHeadline);
    expect(new Set(lines).size).toBe(ALL.length);
    expect(errorHeadline('provider_refused')).toContain('provider');
    expect(errorHeadline('mail_server_refused')).toContain('mail server');
    expect(errorHeadline('internal')).toContain('log');
  });
});

describe('nextStep', () => {
  it('says what to do for every code but a cancel', () => {
    for (const c of ALL) {
      if (c === 'cancelled') expect(nextStep(c)).toBe('');
      else expect(nextStep(c).length).toBeGreaterThan(10);
    }
    expect(nextStep('network')).toContain('try again');
    expect(nextStep('needs_reauthorization')).toContain('Sign in again');
  });
});

describe('the screens', () => {
  // Every screen's source, as text (Vite's raw import).
  const sources = import.meta.glob('../**/*.svelte', { query: '?raw', import: 'default', eager: true }) as Record<string, string>;

  it('are read', () => {
    expect(Object.keys(sources).length).toBeGreaterThan(10);
  });

  it('take errors apart only through lib/errors.ts', () => {
    for (const [file, text] of Object.entries(sources)) {
      expect(text.includes('instanceof CommandError'), file).toBe(false);
    }
  });

  it('never send an error message back to explain_error: only the troubleshooter explains pasted text', () => {
    const explaining = Object.entries(sources)
      .filter(([, text]) => text.includes('explainError('))
      .map(([file]) => file);
    expect(explaining).toEqual(['../steps/TroubleshootView.svelte']);
  });

  it('do not invent the sandbox provider or map it to the generic profile', () => {
    for (const [file, text] of Object.entries(sources)) {
      expect(/\? 'generic'/.test(text), file).toBe(false);
      expect(text.includes("id: 'sandbox'"), file).toBe(false);
    }
  });
});
