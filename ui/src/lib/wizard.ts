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
  { id: 'send', title: 'Sending', detail: 'The service sends mail (SMTP), e.g. scan-to-email or notifications.' },
  { id: 'receive', title: 'Receiving', detail: 'The service reads a mailbox (IMAP), e.g. email-to-print or tickets.' },
  { id: 'both', title: 'Sending and receiving', detail: 'One mailbox for both, with one authorization.' },
];

/** Words an admin understands for each flow. */
export const FLOW_TITLES: Record<Flow, string> = {
  loopback: 'Sign in in the browser on this computer',
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
  /** Mail servers the admin changed from the provider's defaults. */
  smtp: ProbeEndpoint | null;
  imap: ProbeEndpoint | null;
  /** The consumer the setup is for: an export format's id, or '' for the mailoauth config only. */
  consumer: string;
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
    smtp: null,
    imap: null,
    consumer: '',
  };
}

/** Choosing a provider moves on to the purpose; a different provider clears later answers. */
export function chooseProvider(state: WizardState, providerId: string): WizardState {
  if (state.providerId === providerId) return { ...state, step: 'purpose' };
  return { ...initialState(), step: 'purpose', providerId };
}

export function choosePurpose(state: WizardState, purpose: Purpose): WizardState {
  return purpose === state.purpose ? state : { ...state, purpose, signedIn: false };
}

/** The service the setup is for; it picks the export on the save screen, nothing else. */
export function chooseConsumer(state: WizardState, consumer: string): WizardState {
  return consumer === state.consumer ? state : { ...state, consumer };
}

/** Edits a detail; any change invalidates an earlier sign-in. */
export type DetailKey = 'mailbox' | 'clientId' | 'tenant' | 'clientSecret' | 'redirectPort';

export function setDetail(state: WizardState, key: DetailKey, value: string): WizardState {
  return state[key] === value ? state : { ...state, [key]: value, signedIn: false };
}

export function markSignedIn(state: WizardState): WizardState {
  return { ...state, signedIn: true };
}

/** A different cloud or flow changes the checklist, so its ticks are cleared. */
export function chooseCloud(state: WizardState, cloud: Cloud): WizardState {
  return cloud === state.cloud ? state : { ...state, cloud, done: [], signedIn: false };
}

export function chooseFlow(state: WizardState, flow: Flow): WizardState {
  return flow === state.flow ? state : { ...state, flow, done: [], signedIn: false };
}

export function toggleDone(state: WizardState, stepId: string): WizardState {
  const done = state.done.includes(stepId) ? state.done.filter((d) => d !== stepId) : [...state.done, stepId];
  return { ...state, done };
}

/** Whether the current screen has what it needs to move on. */
export function canContinue(state: WizardState): boolean {
  switch (state.step) {
    case 'provider':
      return state.providerId !== null;
    case 'purpose':
      return state.purpose !== null && state.flow !== null;
    case 'details':
      return state.mailbox.trim() !== '' && (state.providerId === 'sandbox' || state.clientId.trim() !== '');
    case 'authorize':
      return state.signedIn;
    default:
      return true;
  }
}

/** Forward one screen, if the current one is complete. */
export function next(state: WizardState): WizardState {
  if (!canContinue(state)) return state;
  const i = STEPS.indexOf(state.step);
  return { ...state, step: STEPS[Math.min(STEPS.length - 1, i + 1)] ?? state.step };
}

/** Back one screen, keeping every answer. */
export function back(state: WizardState): WizardState {
  const i = STEPS.indexOf(state.step);
  return { ...state, step: STEPS[Math.max(0, i - 1)] ?? 'provider' };
}

/** A suggested account name: the mailbox's local part, in the characters a config name allows. */
export function suggestName(mailbox: string): string {
  const local = mailbox.trim().split('@')[0] ?? '';
  const name = local.replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 64);
  return name || 'mailbox';
}

/** Sets a mail server; servers do not change the sign-in, so it stays valid. */
export function setServer(state: WizardState, protocol: 'smtp' | 'imap', server: ProbeEndpoint | null): WizardState {
  return { ...state, [protocol]: server };
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
