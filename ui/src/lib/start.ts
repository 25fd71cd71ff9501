import type { StartView } from './ipc';

/** How old the start view may be: made as the window opened, it is read a moment later. */
export const START_VIEW_MAX_AGE_MS = 15_000;

/**
 * The first screen's data the core put in the page (`window.__MAILOAUTH_START__`), taken once:
 * later reads, and a page reloaded long after the window opened, get `null` and ask over IPC.
 */
export function takeStartView(
  holder: { __MAILOAUTH_START__?: StartView } = window as never,
  now: number = Date.now(),
): StartView | null {
  const start = holder.__MAILOAUTH_START__;
  delete holder.__MAILOAUTH_START__;
  if (!start || typeof start.madeAtMs !== 'number') return null;
  const age = now - start.madeAtMs;
  return age >= -START_VIEW_MAX_AGE_MS && age <= START_VIEW_MAX_AGE_MS ? start : null;
}
