// What the screens say about the token service, as plain data (service.test.ts).
import type { ServiceOverview } from './ipc/bindings/ServiceOverview';
import type { ServiceTimes } from './ipc/bindings/ServiceTimes';
import type { ElevationOutcome } from './ipc/bindings/ElevationOutcome';

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
      text: `The mailoauth service is not running, so ${them} cannot get fresh tokens.`,
      command: s.startCommand,
    };
  }
  return {
    tone: 'info',
    text: 'The mailoauth service is not running. It is needed only for mailboxes used by a mail service that runs as another OS account.',
    command: s.startCommand,
  };
}

/** The service's times of one account, in words; null when the service does not hold it. */
export function serviceTimes(t: ServiceTimes | undefined, when: (unix?: number) => string): string | null {
  if (!t) return null;
  return `Token service: last refresh ${when(t.lastRefresh)} · next refresh ${when(t.nextRefresh)} · last check ${when(t.lastCheck)}`;
}

/** Said before the elevation prompt appears, next to the install button. */
export const INSTALL_WORDS =
  "Your computer will ask for an administrator's password once, to install the mailoauth service that keeps the tokens.";

/** What the home screen says after the elevated install: a line, and whether to point at the command to copy. */
export interface InstallNote {
  tone: 'ok' | 'warn' | 'info';
  text: string;
  /** Point the admin at the command to run in a terminal instead. */
  useCommand: boolean;
}

/** The elevated install's outcome in words (the core mapped the exit status). */
export function installNote(o: ElevationOutcome): InstallNote {
  switch (o.kind) {
    case 'done':
      return { tone: 'ok', text: 'The service is installed and starting; this panel updates when it answers.', useCommand: false };
    case 'cancelled':
      return {
        tone: 'info',
        text: 'The password prompt was closed, so nothing was installed. Try again, or run the command below in a terminal as an administrator.',
        useCommand: true,
      };
    case 'no_prompt':
      return {
        tone: 'warn',
        text: `Your computer could not ask for an administrator's password (${o.detail}). Run the command below in a terminal as an administrator.`,
        useCommand: true,
      };
    case 'failed': {
      const status = o.status === null ? 'it was stopped' : `exit status ${o.status}`;
      const why = o.detail ? `: ${o.detail}` : '';
      return {
        tone: 'warn',
        text: `The install did not finish (${status})${why}. Run the command below in a terminal as an administrator to see all of its output.`,
        useCommand: true,
      };
    }
  }
}

/** How long the home screen waits for a freshly installed service to answer (polls, one a second). */
export const INSTALL_POLLS = 30;

/** Said when the service was installed but has not answered after the polls. */
export const NOT_ANSWERING =
  'The service was installed but does not answer yet. Its log says why (journalctl -u mailoauth on Linux); or run the command below in a terminal as an administrator.';

/**
 * The command that signs account `name` of config `file` in again, for an account the service
 * holds in a file this wizard does not edit (the machine's config). `startCommand` is the core's
 * command that installs the service: it says whether the platform's administrator prefix is
 * `sudo` (Unix) or an elevated terminal (Windows).
 */
export function reauthorizeCommand(name: string, file: string, startCommand: string): string {
  const sudo = startCommand.startsWith('sudo ') ? 'sudo ' : '';
  const quoted = /[\s"']/.test(file) ? `"${file.replace(/"/g, '\\"')}"` : file;
  return `${sudo}mailoauth reauthorize ${name} --config ${quoted}`;
}
