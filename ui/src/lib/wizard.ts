// The wizard's navigation as plain data, so it can be unit-tested without a window.

/** The screens in the order the admin meets them. */
export const STEPS = ['provider', 'purpose'] as const;
export type Step = (typeof STEPS)[number];

/** Titles shown in the step indicator. */
export const STEP_TITLES: Record<Step, string> = {
  provider: 'Provider',
  purpose: 'Purpose',
};

/** What the mailbox will be used for. */
export type Purpose = 'send' | 'receive' | 'both';

export const PURPOSES: readonly { id: Purpose; title: string; detail: string }[] = [
  { id: 'send', title: 'Sending', detail: 'The service sends mail (SMTP), e.g. scan-to-email or notifications.' },
  { id: 'receive', title: 'Receiving', detail: 'The service reads a mailbox (IMAP), e.g. email-to-print or tickets.' },
  { id: 'both', title: 'Sending and receiving', detail: 'One mailbox for both, with one authorization.' },
];

export interface WizardState {
  step: Step;
  providerId: string | null;
  purpose: Purpose | null;
}

export function initialState(): WizardState {
  return { step: 'provider', providerId: null, purpose: null };
}

/** Choosing a provider moves on to the purpose; a different provider clears later answers. */
export function chooseProvider(state: WizardState, providerId: string): WizardState {
  const purpose = state.providerId === providerId ? state.purpose : null;
  return { step: 'purpose', providerId, purpose };
}

export function choosePurpose(state: WizardState, purpose: Purpose): WizardState {
  return { ...state, purpose };
}

/** Back one screen, keeping every answer. */
export function back(state: WizardState): WizardState {
  const i = STEPS.indexOf(state.step);
  return { ...state, step: STEPS[Math.max(0, i - 1)] ?? 'provider' };
}
