import { describe, expect, it } from 'vitest';
import { START_VIEW_MAX_AGE_MS, takeStartView } from './start';
import type { StartView } from './ipc';

const view = (madeAtMs: number): StartView => ({
  madeAtMs,
  sandbox: null,
  sandboxError: null,
  home: {
    configPath: '/etc/mailoauth/mailoauth.toml',
    accounts: [],
    service: { socket: '/run/mailoauth/mailoauth.sock', asked: true, running: false, problem: null, config: null, held: [], startCommand: 'sudo mailoauth service install' },
  },
  homeError: null,
  providers: [{ id: 'google', name: 'Google', summary: 'Gmail' }],
});

describe('takeStartView', () => {
  it('hands out a fresh view once', () => {
    const holder: { __MAILOAUTH_START__?: StartView } = { __MAILOAUTH_START__: view(1_000) };
    expect(takeStartView(holder, 1_200)?.providers.map((p) => p.id)).toEqual(['google']);
    expect(takeStartView(holder, 1_300)).toBeNull();
  });

  it('ignores a view made long before (a page reloaded later asks again)', () => {
    const holder = { __MAILOAUTH_START__: view(1_000) };
    expect(takeStartView(holder, 1_000 + START_VIEW_MAX_AGE_MS + 1)).toBeNull();
    expect(holder.__MAILOAUTH_START__).toBeUndefined();
  });

  it('is null without a view or with something else there', () => {
    expect(takeStartView({}, 0)).toBeNull();
    expect(takeStartView({ __MAILOAUTH_START__: {} as StartView }, 0)).toBeNull();
  });
});
