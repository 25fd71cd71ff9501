import { describe, expect, it } from 'vitest';
import { installNote, reauthorizeCommand, serviceNotice, serviceTimes } from './service';
import type { ServiceOverview } from './ipc';

const overview = (over: Partial<ServiceOverview>): ServiceOverview => ({
  socket: '/run/mailoauth/mailoauth.sock',
  asked: true,
  running: false,
  problem: 'no answer',
  config: null,
  held: [],
  startCommand: 'sudo mailoauth service install',
  ...over,
});

describe('serviceNotice', () => {
  it('warns, with the command to copy, when accounts need the stopped service', () => {
    const n = serviceNotice(overview({ held: ['scanner'] }));
    expect(n.tone).toBe('warn');
    expect(n.text).toContain('not running');
    expect(n.text).toContain('the account scanner');
    expect(n.command).toBe('sudo mailoauth service install');
    expect(serviceNotice(overview({ held: ['a', 'b'] })).text).toContain('2 accounts');
  });

  it('only informs when no account needs it, and says nothing to run when it runs', () => {
    expect(serviceNotice(overview({})).tone).toBe('info');
    const ok = serviceNotice(overview({ running: true, problem: null, held: ['scanner'] }));
    expect(ok.tone).toBe('ok');
    expect(ok.command).toBeNull();
    expect(ok.text).toContain('holds the account scanner');
  });
});

describe('serviceTimes', () => {
  it('names the refresh and check times, or nothing for accounts the service does not hold', () => {
    const at = (u?: number) => (u ? `t${u}` : '—');
    expect(serviceTimes(undefined, at)).toBeNull();
    expect(serviceTimes({ lastRefresh: 1, nextRefresh: 2 }, at)).toBe(
      'Token service: last refresh t1 · next refresh t2 · last check —',
    );
  });
});

describe('installNote', () => {
  it('moves on after an install, and points at the command when the prompt was closed, missing or the install failed', () => {
    expect(installNote({ kind: 'done' })).toMatchObject({ tone: 'ok', useCommand: false });
    const cancelled = installNote({ kind: 'cancelled' });
    expect(cancelled.useCommand).toBe(true);
    expect(cancelled.text).toContain('nothing was installed');
    const none = installNote({ kind: 'no_prompt', detail: 'no authentication agent (polkit)' });
    expect(none.tone).toBe('warn');
    expect(none.text).toContain('no authentication agent');
    const failed = installNote({ kind: 'failed', status: 69, detail: 'mailoauth: systemd is not running' });
    expect(failed.text).toContain('exit status 69');
    expect(failed.text).toContain('systemd is not running');
    expect(installNote({ kind: 'failed', status: null, detail: '' }).text).toContain('it was stopped');
  });
});

describe('reauthorizeCommand', () => {
  it('names the account and the machine config, with sudo where the platform uses it, quoting a path with spaces', () => {
    expect(reauthorizeCommand('scanner', '/etc/mailoauth/mailoauth.toml', 'sudo mailoauth service install')).toBe(
      'sudo mailoauth reauthorize scanner --config /etc/mailoauth/mailoauth.toml',
    );
    expect(
      reauthorizeCommand('scanner', 'C:\\ProgramData\\mailoauth\\mailoauth.toml', 'mailoauth service install (in a terminal opened with "Run as administrator")'),
    ).toBe('mailoauth reauthorize scanner --config C:\\ProgramData\\mailoauth\\mailoauth.toml');
    expect(reauthorizeCommand('a', '/Library/Application Support/mailoauth/mailoauth.toml', 'sudo mailoauth service install')).toBe(
      'sudo mailoauth reauthorize a --config "/Library/Application Support/mailoauth/mailoauth.toml"',
    );
  });
});
