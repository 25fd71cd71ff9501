// What the screens say about the token service, as plain data (service.test.ts).
import type { ServiceOverview } from './ipc/bindings/ServiceOverview';
import type { ServiceTimes } from './ipc/bindings/ServiceTimes';

export interface ServiceNotice {
  /** ok: nothing to do; warn: an account needs the service and it is not running; info: none needs it. */
  tone: 'ok' | 'warn' | 'info';
  /** One plain sentence. */
  text: string;
  /** The command to copy, when the admin has something to run. */
  command: string | null;
}

/** The home screen's line about the service, from the core's overview. */
export function serviceNotice(s: ServiceOverview): ServiceNotice {
  const held = s.held.length;
  const them = held === 1 ? `the account ${s.held[0]}` : `${held} accounts`;
  if (s.running) {
    const text =
      held > 0
        ? `The mailoauth service is running and holds ${them}: it keeps the tokens fresh for the mail service.`
        : 'The mailoauth service is running. No account of this file is held by it yet.';
    return { tone: 'ok', text, command: null };
  }
  if (held > 0) {
    return {
      tone: 'warn',
      text: `The mailoauth service is not running, so ${them} cannot get fresh tokens. Start it as an administrator, in a terminal:`,
      command: s.startCommand,
    };
  }
  return {
    tone: 'info',
    text: 'The mailoauth service is not running. It is needed only for mailboxes used by a mail service that runs as another OS account; to install it, run as an administrator:',
    command: s.startCommand,
  };
}

/** The service's times of one account, in words; null when the service does not hold it. */
export function serviceTimes(t: ServiceTimes | undefined, when: (unix?: number) => string): string | null {
  if (!t) return null;
  return `Token service: last refresh ${when(t.lastRefresh)} · next refresh ${when(t.nextRefresh)} · last check ${when(t.lastCheck)}`;
}
