// The wizard's navigation as plain data, so it can be unit-tested without a window.
import type { Cloud } from './ipc/bindings/Cloud';
import type { Flow } from './ipc/bindings/Flow';
import type { Purpose } from './ipc/bindings/Purpose';
import type { ProbeEndpoint } from './ipc/bindings/ProbeEndpoint';
import type { AccountDraft } from './ipc/bindings/AccountDraft';
import type { ImportedValues } from './ipc/bindings/ImportedValues';

export type { Cloud, Flow, Purpose };

/** The screens in the order the admin meets them. */
export const STEPS = ['provider', 'purpose', 'checklist', 'details', 'authorize', 'test', 'save'] as const;
export type Step = (typeof STEPS)[number];

/** Titles shown in the step indicator. */
export const STEP_TITLES: Record<Step, string> = {
  provider: 'Provider',
  purpose: 'Purpose',
  checklist: 'Registration',
  details: 'Details',
  authorize: 'Sign in',
  test: 'Test',
  save: 'Save',
};

export const PURPOSES: readonly { id: Purpose; title: string; detail: string }[] = [
  { id: 'send', title: 'Sending', detail: 'Scan-to-email, alerts, notifications (SMTP).' },
  { id: 'receive', title: 'Receiving', detail: 'Email-to-print, tickets: reads a mailbox (IMAP).' },
  { id: 'both', title: 'Sending and receiving', detail: 'One mailbox for both, one sign-in.' },
];

/** One plain line per way of signing in; the provider's detailed note is behind "more". */
export const FLOW_LINES: Record<Flow, string> = {
  loopback: 'You sign in once, in a browser on this computer.',
  device_code: 'You sign in once on any phone or computer, with a short code.',
  client_credentials: 'No user signs in: the app has its own access, set up by an Exchange admin.',
  service_account: 'No user signs in: a Workspace admin lets a service account act for the mailbox.',
  password: 'Only for servers without OAuth.',
};

/** Words an admin understands for each flow. */
export const FLOW_TITLES: Record<Flow, string> = {
  loopback: 'Sign in with the browser on this computer',
  device_code: 'Sign in on another device with a code',
  client_credentials: 'App-only access (no user sign-in)',
  service_account: 'Service account with domain-wide delegation',
  password: 'Username and password (legacy, not recommended)',
};

export const CLOUD_TITLES: Record<Cloud, string> = {
  worldwide: 'Worldwide (commercial)',
  us_gov_gcc_high: 'US Government GCC High',
  us_gov_dod: 'US Government DoD',
  china: 'China (operated by 21Vianet)',
};

export interface WizardState {
  step: Step;
  providerId: string | null;
  cloud: Cloud;
  purpose: Purpose | null;
  flow: Flow | null;
  /** Checklist steps the admin ticked, by step id. */
  done: string[];
  /** The mailbox address. */
  mailbox: string;
  /** The OAuth client ID. */
  clientId: string;
  /** The Microsoft tenant. */
  tenant: string;
  /** The client secret (Google clients, Entra Web clients); kept by the core at sign-in. */
  clientSecret: string;
  /** The fixed loopback redirect port of an exact-redirect (Web) client, as typed. */
  redirectPort: string;
  /** Whether the sign-in succeeded for the current answers. */
  signedIn: boolean;
  /** When the mail tests last passed for the current answers (Unix seconds), else null. */
  testedAt: number | null;
  /** Mail servers the admin changed from the provider's defaults. */
  smtp: ProbeEndpoint | null;
  imap: ProbeEndpoint | null;
  /** The consumer the setup is for: an export format's id, or '' for the mailoauth config only. */
  consumer: string;
  /**
   * The OS account(s) that run the mail service, as typed (`lp`, `group:lp`); empty: the tokens
   * stay in the admin's own keyring. Filled: the token service holds them for these readers.
   */
  readers: string;
  /** Why the typed readers cannot be used (the core's check), else null. */
  readersProblem: string | null;
}

export function initialState(): WizardState {
  return {
    step: 'provider',
    providerId: null,
    cloud: 'worldwide',
    purpose: null,
    flow: null,
    done: [],
    mailbox: '',
    clientId: '',
    tenant: '',
    clientSecret: '',
    redirectPort: '',
    signedIn: false,
    testedAt: null,
    smtp: null,
    imap: null,
    consumer: '',
    readers: '',
    readersProblem: null,
  };
}

/** The purpose preselected for a new setup: sending, what most devices (scanners, PBXs) do. */
export const DEFAULT_PURPOSE: Purpose = 'send';

/** Choosing a provider moves on to the purpose; a different provider clears later answers. */
export function chooseProvider(state: WizardState, providerId: string): WizardState {
  if (state.providerId === providerId) return { ...state, step: 'purpose' };
  return { ...initialState(), step: 'purpose', providerId, purpose: DEFAULT_PURPOSE };
}

export function choosePurpose(state: WizardState, purpose: Purpose): WizardState {
  return purpose === state.purpose ? state : { ...state, purpose, signedIn: false, testedAt: null };
}

/** The service the setup is for; it picks the export on the save screen, nothing else. */
export function chooseConsumer(state: WizardState, consumer: string): WizardState {
  return consumer === state.consumer ? state : { ...state, consumer };
}

/** The typed readers split as the core splits them: commas and blanks separate entries. */
export function splitReaders(text: string): string[] {
  return text.split(/[\s,]+/).filter((r) => r !== '');
}

/** Types the readers; other readers mean another token store, so an earlier sign-in is void. */
export function setReaders(state: WizardState, readers: string): WizardState {
  if (readers === state.readers) return state;
  const same = splitReaders(readers).join(',') === splitReaders(state.readers).join(',');
  // Checked again by the core; until then the old verdict does not hold.
  return same ? { ...state, readers } : { ...state, readers, readersProblem: null, signedIn: false, testedAt: null };
}

/** The core's verdict on `readers` (ignored when the field changed since it was asked). */
export function setReadersProblem(state: WizardState, readers: string, problem: string | null): WizardState {
  return readers === state.readers && problem !== state.readersProblem ? { ...state, readersProblem: problem } : state;
}

/** True when the token service is to hold this setup's tokens. */
export function forService(state: WizardState): boolean {
  return splitReaders(state.readers).length > 0;
}

/** Edits a detail; any change invalidates an earlier sign-in. */
export type DetailKey = 'mailbox' | 'clientId' | 'tenant' | 'clientSecret' | 'redirectPort';

export function setDetail(state: WizardState, key: DetailKey, value: string): WizardState {
  return state[key] === value ? state : { ...state, [key]: value, signedIn: false, testedAt: null };
}

/** A sign-in succeeded: on the sign-in screen the wizard moves on to the mail tests by itself. */
export function markSignedIn(state: WizardState): WizardState {
  const step = state.step === 'authorize' ? 'test' : state.step;
  return { ...state, signedIn: true, testedAt: null, step };
}

/** The mail tests ended: `at` (Unix seconds) when they passed, null when they failed. */
export function markTested(state: WizardState, at: number | null): WizardState {
  return { ...state, testedAt: at };
}

/** A different cloud or flow changes the checklist, so its ticks are cleared. */
export function chooseCloud(state: WizardState, cloud: Cloud): WizardState {
  return cloud === state.cloud ? state : { ...state, cloud, done: [], signedIn: false, testedAt: null };
}

export function chooseFlow(state: WizardState, flow: Flow): WizardState {
  return flow === state.flow ? state : { ...state, flow, done: [], signedIn: false, testedAt: null };
}

export function toggleDone(state: WizardState, stepId: string): WizardState {
  const done = state.done.includes(stepId) ? state.done.filter((d) => d !== stepId) : [...state.done, stepId];
  return { ...state, done };
}

/** Why the current screen cannot move on yet, in words; null when it can. */
export function continueBlocker(state: WizardState): string | null {
  switch (state.step) {
    case 'provider':
      return state.providerId === null ? 'Choose the provider first.' : null;
    case 'purpose':
      if (state.purpose === null) return 'Choose what the service does with the mailbox.';
      if (state.flow === null) return 'Choose how the service gets its authorization.';
      return state.readersProblem;
    case 'details':
      if (state.mailbox.trim() === '') return 'Enter the mailbox address first.';
      return state.providerId !== 'sandbox' && state.clientId.trim() === '' ? 'Enter the client ID first.' : null;
    case 'authorize':
      return state.signedIn ? null : 'Sign in first.';
    case 'test':
      return state.testedAt === null ? 'The mail tests must pass first.' : null;
    default:
      return null;
  }
}

/** Whether the current screen has what it needs to move on. */
export function canContinue(state: WizardState): boolean {
  return continueBlocker(state) === null;
}

/** Whether a screen applies to these answers: the sandbox has nothing to register. */
export function applies(state: WizardState, step: Step): boolean {
  return !(step === 'checklist' && state.providerId === 'sandbox');
}

/** Forward one screen, if the current one is complete (skipping screens that do not apply). */
export function next(state: WizardState): WizardState {
  if (!canContinue(state)) return state;
  let i = STEPS.indexOf(state.step) + 1;
  while (i < STEPS.length - 1 && !applies(state, STEPS[i] as Step)) i++;
  return { ...state, step: STEPS[Math.min(STEPS.length - 1, i)] ?? state.step };
}

/** Back one screen, keeping every answer (skipping screens that do not apply). */
export function back(state: WizardState): WizardState {
  let i = STEPS.indexOf(state.step) - 1;
  while (i > 0 && !applies(state, STEPS[i] as Step)) i--;
  return { ...state, step: STEPS[Math.max(0, i)] ?? 'provider' };
}

/** A suggested account name: the mailbox's local part, in the characters a config name allows. */
export function suggestName(mailbox: string): string {
  const local = mailbox.trim().split('@')[0] ?? '';
  const name = local.replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 64);
  return name || 'mailbox';
}

/** Sets a mail server; servers do not change the sign-in, so it stays valid. */
export function setServer(state: WizardState, protocol: 'smtp' | 'imap', server: ProbeEndpoint | null): WizardState {
  const same = JSON.stringify(state[protocol]) === JSON.stringify(server);
  return same ? state : { ...state, [protocol]: server, testedAt: null };
}

/** The redirect port as typed: a whole number 1-65535, else undefined (and `portProblem` says why). */
export function parsePort(text: string): number | undefined {
  const t = text.trim();
  if (!/^[0-9]{1,5}$/.test(t)) return undefined;
  const n = Number(t);
  return n >= 1 && n <= 65535 ? n : undefined;
}

/** Why the typed redirect port cannot be used, or null when it is empty or fine. */
export function portProblem(text: string): string | null {
  if (text.trim() === '' || parsePort(text) !== undefined) return null;
  return 'Redirect port must be a whole number from 1 to 65535, the port of the registered http://localhost:PORT/ redirect; leave it empty to let mailoauth pick a free port.';
}

/** What the core plans the sign-in from; null until provider, purpose and flow are chosen. */
export function draftOf(state: WizardState): AccountDraft | null {
  if (!state.providerId || !state.purpose || !state.flow) return null;
  const secret = state.clientSecret.trim();
  return {
    provider: state.providerId,
    cloud: state.cloud,
    tenant: state.tenant.trim() || null,
    clientId: state.clientId,
    flow: state.flow,
    purpose: state.purpose,
    mailbox: state.mailbox,
    smtp: state.smtp ?? undefined,
    imap: state.imap ?? undefined,
    clientSecret: secret === '' ? undefined : secret,
    redirectPort: state.flow === 'loopback' ? parsePort(state.redirectPort) : undefined,
    readers: splitReaders(state.readers),
  };
}

/** Fills the fields an imported client JSON / manifest carries; the admin's other answers stay. */
export function applyImport(state: WizardState, values: ImportedValues, clientSecret: string | undefined): WizardState {
  let s = state;
  if (values.clientId) s = setDetail(s, 'clientId', values.clientId);
  if (clientSecret) s = setDetail(s, 'clientSecret', clientSecret);
  if (values.redirectPort) s = setDetail(s, 'redirectPort', String(values.redirectPort));
  return s;
}
