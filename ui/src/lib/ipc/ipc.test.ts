import { describe, expect, it, vi } from 'vitest';

const opened: string[] = [];
vi.mock('@tauri-apps/plugin-opener', () => ({
  openUrl: async (url: string) => {
    if (url.includes('fail')) throw new Error('no browser');
    opened.push(url);
  },
}));

import { CommandError, openLink, toIpcError } from './index';

describe('toIpcError', () => {
  it('keeps a well-formed error from a command', () => {
    expect(toIpcError({ code: 'not_found', message: 'No provider "yahoo".', reauthorize: false })).toEqual({
      code: 'not_found',
      message: 'No provider "yahoo".',
      reauthorize: false,
    });
  });

  it('keeps the diagnosis and the re-authorize flag the core sent', () => {
    const diagnosis = {
      id: 'g-token-expired-or-revoked',
      title: 'Token expired or revoked',
      area: 'google',
      cause: 'The refresh token no longer works.',
      fix: ['Sign in again.'],
      place: 'mailoauth',
      reauthorize: true,
    };
    const e = toIpcError({ code: 'needs_reauthorization', message: 'invalid_grant', diagnosis, reauthorize: true });
    expect(e.diagnosis).toEqual(diagnosis);
    expect(e.reauthorize).toBe(true);
    // A malformed diagnosis is dropped rather than drawn half.
    expect(toIpcError({ code: 'provider_refused', message: 'x', diagnosis: { id: 1 }, reauthorize: false }).diagnosis).toBeUndefined();
  });

  it('knows every code the core sends', () => {
    for (const code of [
      'invalid_input',
      'not_found',
      'network',
      'needs_reauthorization',
      'provider_refused',
      'mail_server_refused',
      'cancelled',
      'internal',
    ]) {
      expect(toIpcError({ code, message: 'm', reauthorize: false }).code).toBe(code);
    }
  });

  it('turns an unknown code into an internal error instead of trusting it', () => {
    const e = toIpcError({ code: 'teapot', message: 'short and stout' });
    expect(e.code).toBe('internal');
    expect(e.message).toContain('[object Object]');
  });

  it('wraps plain strings and Error objects from the IPC layer', () => {
    expect(toIpcError('command list_x not found')).toEqual({
      code: 'internal',
      message: 'Unexpected error from the app: command list_x not found',
      reauthorize: false,
    });
    expect(toIpcError(new Error('boom')).message).toBe('Unexpected error from the app: boom');
  });

  it('CommandError carries the typed error', () => {
    const err = new CommandError({ code: 'cancelled', message: 'Cancelled.', reauthorize: false });
    expect(err.error.code).toBe('cancelled');
    expect(err.message).toBe('Cancelled.');
    expect(toIpcError(err)).toBe(err.error);
  });
});

describe('openLink', () => {
  it('opens https links through the opener plugin', async () => {
    await openLink('https://console.cloud.google.com/');
    expect(opened).toContain('https://console.cloud.google.com/');
  });

  it('refuses anything but https before the plugin sees it', async () => {
    await expect(openLink('file:///etc/passwd')).rejects.toMatchObject({ error: { code: 'invalid_input' } });
    expect(opened).not.toContain('file:///etc/passwd');
  });

  it('says to copy the link when no browser starts', async () => {
    await expect(openLink('https://fail.example/')).rejects.toMatchObject({
      error: { code: 'internal', message: expect.stringContaining('Copy the link') },
    });
  });
});
