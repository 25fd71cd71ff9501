import { describe, expect, it } from 'vitest';
import { CommandError, toIpcError } from './index';

describe('toIpcError', () => {
  it('keeps a well-formed error from a command', () => {
    expect(toIpcError({ code: 'not_found', message: 'No provider "yahoo".' })).toEqual({
      code: 'not_found',
      message: 'No provider "yahoo".',
    });
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
    });
    expect(toIpcError(new Error('boom')).message).toBe('Unexpected error from the app: boom');
  });

  it('CommandError carries the typed error', () => {
    const err = new CommandError({ code: 'cancelled', message: 'Cancelled.' });
    expect(err.error.code).toBe('cancelled');
    expect(err.message).toBe('Cancelled.');
  });
});
