import { describe, expect, it } from 'vitest';
import { back, chooseProvider, choosePurpose, initialState } from './wizard';

describe('wizard navigation', () => {
  it('starts on the provider choice with nothing chosen', () => {
    expect(initialState()).toEqual({ step: 'provider', providerId: null, purpose: null });
  });

  it('choosing a provider moves to the purpose screen', () => {
    const s = chooseProvider(initialState(), 'microsoft');
    expect(s.step).toBe('purpose');
    expect(s.providerId).toBe('microsoft');
  });

  it('going back keeps answers, and re-choosing the same provider keeps the purpose', () => {
    let s = choosePurpose(chooseProvider(initialState(), 'google'), 'both');
    s = back(s);
    expect(s).toEqual({ step: 'provider', providerId: 'google', purpose: 'both' });
    expect(chooseProvider(s, 'google').purpose).toBe('both');
  });

  it('choosing another provider clears the purpose', () => {
    const s = back(choosePurpose(chooseProvider(initialState(), 'google'), 'send'));
    expect(chooseProvider(s, 'microsoft').purpose).toBeNull();
  });

  it('back on the first screen stays there', () => {
    expect(back(initialState()).step).toBe('provider');
  });
});
