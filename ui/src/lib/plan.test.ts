import { describe, expect, it } from 'vitest';
import { planOnce } from './plan';
import type { AccountDraft, AccountSetup } from './ipc';

const draft = (mailbox: string): AccountDraft =>
  ({ provider: 'google', cloud: 'worldwide', clientId: 'id', flow: 'loopback', purpose: 'both', mailbox }) as unknown as AccountDraft;

describe('planOnce', () => {
  it('asks the core once for the same answers, and again when they change', async () => {
    const asked: string[] = [];
    const plan = planOnce(async (d) => {
      asked.push(d.mailbox);
      return { store: 'keyring' } as unknown as AccountSetup;
    });
    const a = await plan(draft('a@x'));
    const again = await plan(draft('a@x'));
    expect(again).toBe(a);
    expect(asked).toEqual(['a@x']);
    await plan(draft('b@x'));
    expect(asked).toEqual(['a@x', 'b@x']);
  });

  it('asks again after a refusal', async () => {
    let calls = 0;
    const plan = planOnce(async () => {
      calls += 1;
      if (calls === 1) throw new Error('Mailbox address is empty');
      return { store: 'keyring' } as unknown as AccountSetup;
    });
    await expect(plan(draft('a@x'))).rejects.toThrow('empty');
    await expect(plan(draft('a@x'))).resolves.toEqual({ store: 'keyring' });
    expect(calls).toBe(2);
  });
});
