// The one place the UI turns a failed command into what it shows and offers. Screens call
// `errorOf(e)` / `errorText(e)` in their `catch`, and `errorAction(code)` for the button;
// the diagnosis shown is the one the core chose (`IpcError.diagnosis`), never one looked up
// again from the message.
import { toIpcError, type Diagnosis, type ErrorCode, type IpcError } from './ipc';

/** Whatever a command (or the IPC layer) threw, as the typed error. */
export function errorOf(e: unknown): IpcError {
  return toIpcError(e);
}

/** The admin-facing message of whatever was thrown. */
export function errorText(e: unknown): string {
  return errorOf(e).message;
}

/** The diagnosis the core computed for this error, if any. */
export function diagnosisOf(e: unknown): Diagnosis | null {
  return errorOf(e).diagnosis ?? null;
}

/** What a screen offers after a failure, one per code. */
export type ErrorAction =
  /** Keep the form; the message names the field to change. */
  | 'fix-input'
  /** The thing is gone: reload the list it came from. */
  | 'reload'
  /** Temporary: the same request again, unchanged. */
  | 'retry'
  /** Only a new sign-in as the mailbox helps. */
  | 'sign-in-again'
  /** Follow the diagnosis's fix (provider console, mail admin), then try again. */
  | 'follow-fix'
  /** Nothing to show as an error: the admin stopped it. */
  | 'none'
  /** A defect: say so, and where the log is. */
  | 'report';

/** The action for each code; the type check fails when the core adds or drops one. */
export function errorAction(code: ErrorCode): ErrorAction {
  switch (code) {
    case 'invalid_input':
      return 'fix-input';
    case 'not_found':
      return 'reload';
    case 'network':
      return 'retry';
    case 'needs_reauthorization':
      return 'sign-in-again';
    case 'provider_refused':
    case 'mail_server_refused':
      return 'follow-fix';
    case 'cancelled':
      return 'none';
    case 'internal':
      return 'report';
  }
}

/** The one line shown above the message when there is no diagnosis to lead with. */
export function errorHeadline(code: ErrorCode): string {
  switch (code) {
    case 'invalid_input':
      return 'A setting needs changing.';
    case 'not_found':
      return 'It is no longer there.';
    case 'network':
      return 'No answer: this is usually temporary, try again in a moment.';
    case 'needs_reauthorization':
      return 'The mailbox must sign in again.';
    case 'provider_refused':
      return 'The provider refused.';
    case 'mail_server_refused':
      return 'The mail server refused the login.';
    case 'cancelled':
      return 'Cancelled. Nothing was saved.';
    case 'internal':
      return 'Something went wrong inside mailoauth: please report it with the log (Troubleshoot → Open the log folder).';
  }
}

/** What to do next, in one line, for each code (empty for a cancel: nothing to do). */
export function nextStep(code: ErrorCode): string {
  switch (errorAction(code)) {
    case 'fix-input':
      return 'Change the setting the message names, then try again.';
    case 'reload':
      return 'The list is read again; choose from what is there now.';
    case 'retry':
      return 'Nothing needs changing: try again in a moment.';
    case 'sign-in-again':
      return 'Sign in again as the mailbox (Re-authorize); the old sign-in cannot be used any more.';
    case 'follow-fix':
      return 'Follow the fix, then try again.';
    case 'none':
      return '';
    case 'report':
      return 'Please report this with the log file (Troubleshoot → Open the log folder).';
  }
}
