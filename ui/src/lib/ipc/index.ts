// The UI's only door to the core. Every call goes through `call`, which turns whatever the
// command rejected with into the typed `{ code, message, diagnosis?, reauthorize }` the screens
// switch on (through `lib/errors.ts`).
import { Channel, invoke } from '@tauri-apps/api/core';
import { openUrl } from '@tauri-apps/plugin-opener';
import type { Diagnosis } from './bindings/Diagnosis';
import type { ErrorCode } from './bindings/ErrorCode';
import type { IpcError } from './bindings/IpcError';
import type { ProviderSummary } from './bindings/ProviderSummary';
import type { ProfileView } from './bindings/ProfileView';
import type { Cloud } from './bindings/Cloud';
import type { Purpose } from './bindings/Purpose';
import type { Checklist } from './bindings/Checklist';
import type { ChecklistContext } from './bindings/ChecklistContext';
import type { FieldKind } from './bindings/FieldKind';
import type { FieldContext } from './bindings/FieldContext';
import type { FieldReport } from './bindings/FieldReport';
import type { PortSecurityInput } from './bindings/PortSecurityInput';
import type { Explanation } from './bindings/Explanation';
import type { DiagnosisContext } from './bindings/DiagnosisContext';
import type { Sandbox } from './bindings/Sandbox';
import type { AccountDraft } from './bindings/AccountDraft';
import type { AccountSetup } from './bindings/AccountSetup';
import type { SaveReport } from './bindings/SaveReport';
import type { SaveMode } from './bindings/SaveMode';
import type { HomeView } from './bindings/HomeView';
import type { StartView } from './bindings/StartView';
import type { AuthorizeRequest } from './bindings/AuthorizeRequest';
import type { OAuthAccountAuth as AccountAuth } from './bindings/OAuthAccountAuth';
import type { OAuthFlowEvent } from './bindings/OAuthFlowEvent';
import type { OAuthGrant } from './bindings/OAuthGrant';
import type { CheckRequest } from './bindings/CheckRequest';
import type { CheckReport } from './bindings/CheckReport';
import type { ProbeEvent } from './bindings/ProbeEvent';
import type { ImportSource } from './bindings/ImportSource';
import type { ImportResult } from './bindings/ImportResult';
import type { LogFolder } from './bindings/LogFolder';
import type { FileContext } from './bindings/FileContext';
import type { ExportFormat } from './bindings/ExportFormat';
import type { ExportPreview } from './bindings/ExportPreview';
import type { ReadersCheck } from './bindings/ReadersCheck';
import type { ServiceOverview } from './bindings/ServiceOverview';
import type { ElevationOutcome } from './bindings/ElevationOutcome';

export type {
  ElevationOutcome,
  ReadersCheck,
  ServiceOverview,
  ExportFormat,
  FileContext,
  ImportResult,
  ImportSource,
  LogFolder,
  AccountAuth,
  AccountDraft,
  AccountSetup,
  AuthorizeRequest,
  CheckReport,
  CheckRequest,
  OAuthFlowEvent,
  OAuthGrant,
  ProbeEvent,
  Sandbox,
  SaveReport,
  SaveMode,
  ExportPreview,
  HomeView,
  StartView,
  Checklist,
  ChecklistContext,
  Cloud,
  Diagnosis,
  DiagnosisContext,
  ErrorCode,
  Explanation,
  FieldContext,
  FieldKind,
  FieldReport,
  IpcError,
  ProfileView,
  ProviderSummary,
};

// A Record over the generated union: the type check fails when the core adds or drops a code.
const KNOWN_CODES: Record<ErrorCode, true> = {
  invalid_input: true,
  not_found: true,
  network: true,
  needs_reauthorization: true,
  provider_refused: true,
  mail_server_refused: true,
  cancelled: true,
  internal: true,
};

function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(KNOWN_CODES, value);
}

function isDiagnosis(value: unknown): value is Diagnosis {
  if (typeof value !== 'object' || value === null) return false;
  const d = value as Partial<Record<keyof Diagnosis, unknown>>;
  return typeof d.id === 'string' && typeof d.title === 'string' && typeof d.cause === 'string' && Array.isArray(d.fix);
}

/** Normalises anything a command rejected with into an `IpcError`. */
export function toIpcError(err: unknown): IpcError {
  if (err instanceof CommandError) return err.error;
  if (typeof err === 'object' && err !== null) {
    const { code, message, diagnosis, reauthorize } = err as {
      code?: unknown;
      message?: unknown;
      diagnosis?: unknown;
      reauthorize?: unknown;
    };
    if (isErrorCode(code) && typeof message === 'string') {
      const e: IpcError = { code, message, reauthorize: reauthorize === true || code === 'needs_reauthorization' };
      if (isDiagnosis(diagnosis)) e.diagnosis = diagnosis;
      return e;
    }
  }
  // Anything else (a string from the IPC layer itself, a thrown Error) is a defect on our side.
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'internal', message: `Unexpected error from the app: ${message}`, reauthorize: false };
}

/** Thrown by every IPC wrapper; `error` is the typed payload. */
export class CommandError extends Error {
  constructor(readonly error: IpcError) {
    super(error.message);
    this.name = 'CommandError';
  }
}

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (err) {
    throw new CommandError(toIpcError(err));
  }
}

/** The providers the wizard offers, from the core's catalog. */
export function listProviders(): Promise<ProviderSummary[]> {
  return call<ProviderSummary[]>('list_providers');
}

/** Flows, defaults and clouds of one provider. */
export function profileView(provider: string, cloud: Cloud): Promise<ProfileView> {
  return call<ProfileView>('profile_view', { provider, cloud });
}

/** The registration steps for a provider, flow and client type. */
export function registrationChecklist(provider: string, context: ChecklistContext): Promise<Checklist> {
  return call<Checklist>('registration_checklist', { provider, context });
}

/** Checks one field as it is typed. */
/** Checks a mail server's port and security (and, with the host, clear-text authentication). */
export function validateServer(input: PortSecurityInput, context: FieldContext): Promise<FieldReport> {
  return call<FieldReport>('validate_server', { input, context });
}

export function validateField(kind: FieldKind, value: string, context: FieldContext): Promise<FieldReport> {
  return call<FieldReport>('validate_field', { kind, value, context });
}

/** Every known failure the pasted text matches. */
export function explainError(text: string, context: DiagnosisContext): Promise<Explanation> {
  return call<Explanation>('explain_error', { text, context });
}

/**
 * Opens an https link in the system browser (never in the app's window: Google blocks sign-in
 * there), through the opener plugin; the capability allows https URLs only.
 */
export async function openLink(url: string): Promise<void> {
  if (!url.startsWith('https://')) {
    throw new CommandError({
      code: 'invalid_input',
      message: `Only https links are opened in the browser, not ${JSON.stringify(url)}.`,
      reauthorize: false,
    });
  }
  try {
    await openUrl(url);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new CommandError({
      code: 'internal',
      message: `The browser could not be opened: ${why}. Copy the link and open it by hand.`,
      reauthorize: false,
    });
  }
}

/** The local test servers when the app runs in sandbox mode, else null. */
export function sandboxInfo(): Promise<Sandbox | null> {
  return call<Sandbox | null>('sandbox_info');
}

/** Signs the mailbox in; `onEvent` receives progress (device code, browser opened, ...). */
export function authorize(request: AuthorizeRequest, onEvent: (e: OAuthFlowEvent) => void): Promise<OAuthGrant> {
  const channel = new Channel<OAuthFlowEvent>();
  channel.onmessage = onEvent;
  return call<OAuthGrant>('authorize', { request, onEvent: channel });
}

/** Runs the SMTP and IMAP login tests; `onEvent` receives each step as it happens. */
export function checkMail(
  request: CheckRequest,
  auth: AccountAuth,
  store: string,
  onEvent: (e: ProbeEvent) => void,
): Promise<CheckReport> {
  const channel = new Channel<ProbeEvent>();
  channel.onmessage = onEvent;
  return call<CheckReport>('check_mail', { request, auth, store, onEvent: channel });
}

/** Stops the running sign-in or test. */
export function cancelFlow(): Promise<void> {
  return call<void>('cancel_flow');
}

/** The sign-in and test settings for what the wizard collected. */
export function planAccount(draft: AccountDraft): Promise<AccountSetup> {
  return call<AccountSetup>('plan_account', { draft });
}

/**
 * Adds the account to the config file: a preview, or an atomic write that refuses a file
 * changed since the preview whose `base` it carries (unless `overwrite`).
 */
export function saveSetup(draft: AccountDraft, name: string, mode: SaveMode, testedAt: number | null = null): Promise<SaveReport> {
  return call<SaveReport>('save_setup', { draft, name, mode, testedAt });
}

/** The config file's accounts with their status. */
export function home(): Promise<HomeView> {
  return call<HomeView>('home');
}

/** The OS accounts typed on the purpose screen (who reads the token from the service), checked on this machine. */
export function checkReaders(text: string): Promise<ReadersCheck> {
  return call<ReadersCheck>('check_readers', { text });
}

/** Rejects (with the reason and the fix) unless the token service runs and takes tokens from this user. */
export function serviceReady(): Promise<void> {
  return call<void>('service_ready');
}

/**
 * Installs and starts the token service through the OS's elevation prompt (pkexec, the macOS
 * administrator dialog, UAC), which also makes this user a manager; resolves when the prompt and
 * the install are over.
 */
export function installService(): Promise<ElevationOutcome> {
  return call<ElevationOutcome>('install_service');
}

/** Signs a saved account in again with its saved settings. */
export function reauthorize(name: string, onEvent: (e: OAuthFlowEvent) => void): Promise<OAuthGrant> {
  const channel = new Channel<OAuthFlowEvent>();
  channel.onmessage = onEvent;
  return call<OAuthGrant>('reauthorize', { name, onEvent: channel });
}

/** Tests a saved account's logins with a fresh token. */
export function checkAccount(name: string, onEvent: (e: ProbeEvent) => void): Promise<CheckReport> {
  const channel = new Channel<ProbeEvent>();
  channel.onmessage = onEvent;
  return call<CheckReport>('check_account', { name, onEvent: channel });
}

/** Deletes a saved account's tokens and status history (its settings stay). */
export function startOver(name: string): Promise<void> {
  return call<void>('start_over', { name });
}

/** Imports a downloaded client JSON / app manifest (file dialog or pasted); null: cancelled. */
export function importRegistration(source: ImportSource, context: FileContext): Promise<ImportResult | null> {
  return call<ImportResult | null>('import_registration', { source, context });
}

/** Opens the support log's folder; returns where it is. */
export function openLogFolder(): Promise<LogFolder> {
  return call<LogFolder>('open_log_folder');
}

/** Lets the admin choose the config file with a save dialog; null: cancelled. */
export function chooseConfigFile(): Promise<string | null> {
  return call<string | null>('choose_config_file');
}

/**
 * The formats other consumers read (msmtp, mbsync, NeoMutt, SafeQ MPS, env file); with a provider and
 * purpose, only those such an account can use.
 */
export function exportFormats(provider?: string, purpose?: Purpose | null): Promise<ExportFormat[]> {
  return call<ExportFormat[]>('export_formats', { provider: provider ?? null, purpose: purpose ?? null });
}

/** What `mailoauth export <format>` will write for the account being saved. */
export function exportPreview(draft: AccountDraft, name: string, format: string): Promise<ExportPreview> {
  return call<ExportPreview>('export_preview', { draft, name, format });
}

/**
 * Start-up: `onScreen` false once the first screen has rendered its data (the core then shows
 * the window, created hidden), true once that content is painted in the visible window (the
 * launch benchmark's figure).
 */
export function contentShown(onScreen: boolean): Promise<void> {
  // The first screen's items (providers or accounts) on the page now: the bench checks the
  // figure is for a screen with its data.
  const items = document.querySelectorAll('[data-provider-id], [data-account]').length;
  return call<void>('content_shown', { pageMs: performance.now(), onScreen, items });
}
