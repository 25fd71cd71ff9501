// The wizard's plan (sign-in settings, token store, mail tests) for its current answers, asked
// of the core once per distinct set of answers: the sign-in and the mail tests use the same one.
import type { AccountDraft, AccountSetup } from './ipc';

/** Wraps `ask` (the `plan_account` command) so equal drafts share one answer. */
export function planOnce(ask: (draft: AccountDraft) => Promise<AccountSetup>): (draft: AccountDraft) => Promise<AccountSetup> {
  let key: string | null = null;
  let answer: Promise<AccountSetup> | null = null;
  return (draft) => {
    // In memory only; the draft's fields in a fixed order, so equal answers give equal keys.
    const k = JSON.stringify(Object.entries(draft).sort(([a], [b]) => a.localeCompare(b)));
    if (answer === null || key !== k) {
      key = k;
      answer = ask(draft);
      // A refused plan is asked again next time (the admin may have fixed the answer).
      answer.catch(() => {
        if (key === k) answer = null;
      });
    }
    return answer;
  };
}
