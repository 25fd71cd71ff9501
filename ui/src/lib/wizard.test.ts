import { describe, expect, it } from 'vitest';
import {
  applies,
  continueBlocker,
  markTested,
  applyImport,
  back,
  draftOf,
  portProblem,
  canContinue,
  chooseCloud,
  chooseFlow,
  chooseConsumer,
  chooseProvider,
  choosePurpose,
  initialState,
  markSignedIn,
  next,
  setDetail,
  setServer,
  suggestName,
  toggleDone,
  forService,
  setReaders,
  setReadersProblem,
  splitReaders,
  type WizardState,
} from './wizard';

describe('wizard navigation', () => {
  it('starts on the provider choice with nothing chosen', () => {
    expect(initialState()).toEqual({
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
    });
  });

  it('changing a mail server keeps the sign-in', () => {
    const s = markSignedIn({ ...initialState(), step: 'details', providerId: 'sandbox', mailbox: 'a@b.c' });
    const t = setServer(s, 'imap', { host: 'localhost', port: 1143, security: 'tls' });
    expect(t.imap?.port).toBe(1143);
    expect(t.signedIn).toBe(true);
  });

  it('the details screen needs a mailbox and, except in the sandbox, a client ID', () => {
    let s: WizardState = { ...initialState(), step: 'details', providerId: 'google' };
    expect(canContinue(s)).toBe(false);
    s = setDetail(s, 'mailbox', 'scanner@example.com');
    expect(canContinue(s)).toBe(false);
    expect(canContinue({ ...s, providerId: 'sandbox' })).toBe(true);
    s = setDetail(s, 'clientId', 'x.apps.googleusercontent.com');
    expect(next(s).step).toBe('authorize');
  });

  it('the sign-in screen moves on only after a sign-in, and any change asks for a new one', () => {
    let s: WizardState = { ...initialState(), step: 'authorize', providerId: 'sandbox', mailbox: 'a@b.c' };
    expect(next(s).step).toBe('authorize');
    s = markSignedIn(s);
    expect(next(s).step).toBe('test');
    expect(setDetail(s, 'mailbox', 'other@b.c').signedIn).toBe(false);
    expect(setDetail(s, 'mailbox', 'a@b.c').signedIn).toBe(true);
    expect(choosePurpose(s, 'send').signedIn).toBe(false);
  });

  it('choosing a provider moves to the purpose screen', () => {
    const s = chooseProvider(initialState(), 'microsoft');
    expect(s.step).toBe('purpose');
    expect(s.providerId).toBe('microsoft');
  });

  it('going back keeps answers, and re-choosing the same provider keeps them', () => {
    let s = chooseFlow(choosePurpose(chooseProvider(initialState(), 'google'), 'both'), 'loopback');
    s = back(s);
    expect(s.step).toBe('provider');
    expect(s.purpose).toBe('both');
    expect(chooseProvider(s, 'google').flow).toBe('loopback');
  });

  it('choosing another provider clears every later answer', () => {
    const s = back(toggleDone(chooseFlow(choosePurpose(chooseProvider(initialState(), 'google'), 'send'), 'loopback'), 'x'));
    const m = chooseProvider(s, 'microsoft');
    expect(m).toEqual({ ...initialState(), step: 'purpose', purpose: 'send', providerId: 'microsoft' });
  });

  it('the consumer only picks the export: a sign-in stays valid, and it is optional', () => {
    let s: WizardState = markSignedIn({ ...initialState(), step: 'purpose', providerId: 'google', purpose: 'both', flow: 'loopback' });
    expect(s.consumer).toBe('');
    expect(canContinue(s)).toBe(true);
    s = chooseConsumer(s, 'msmtp');
    expect(s.consumer).toBe('msmtp');
    expect(s.signedIn).toBe(true);
    expect(chooseConsumer(s, 'msmtp')).toBe(s);
    expect(chooseConsumer(s, '').consumer).toBe('');
  });

  it('the purpose screen needs a purpose and a flow before moving on', () => {
    let s = chooseProvider(initialState(), 'microsoft');
    expect(canContinue(s)).toBe(false);
    expect(next(s).step).toBe('purpose');
    s = choosePurpose(s, 'receive');
    expect(canContinue(s)).toBe(false);
    s = chooseFlow(s, 'device_code');
    expect(next(s).step).toBe('checklist');
  });

  it('a new cloud or flow clears the checklist ticks, the same one keeps them', () => {
    const s = toggleDone(chooseFlow(chooseProvider(initialState(), 'microsoft'), 'device_code'), 'app-registration');
    expect(s.done).toEqual(['app-registration']);
    expect(chooseFlow(s, 'device_code').done).toEqual(['app-registration']);
    expect(chooseFlow(s, 'loopback').done).toEqual([]);
    expect(chooseCloud(s, 'china').done).toEqual([]);
    expect(toggleDone(s, 'app-registration').done).toEqual([]);
  });

  it('back on the first screen stays there; next on the last stays there', () => {
    expect(back(initialState()).step).toBe('provider');
    const last = { ...initialState(), step: 'save' as const };
    expect(next(last).step).toBe('save');
  });
});

describe('suggestName', () => {
  it('uses the mailbox local part in config-name characters', () => {
    expect(suggestName('scan.to-mail@contoso.com')).toBe('scan.to-mail');
    expect(suggestName(' Fax Box+1@x.y ')).toBe('Fax-Box-1');
    expect(suggestName('_x@y')).toBe('x');
    expect(suggestName('')).toBe('mailbox');
  });
});

describe('client secret, redirect port and import', () => {
  const ready = () => {
    let s = chooseProvider(initialState(), 'google');
    s = choosePurpose(s, 'both');
    s = chooseFlow(s, 'loopback');
    s = setDetail(s, 'mailbox', 'scan@example.com');
    return setDetail(s, 'clientId', '1-a.apps.googleusercontent.com');
  };

  it('sends the secret only when typed and the port only when valid and the flow is loopback', () => {
    let s = ready();
    expect(draftOf(s)?.clientSecret).toBeUndefined();
    s = setDetail(s, 'clientSecret', '  GOCSPX-abc  ');
    expect(draftOf(s)?.clientSecret).toBe('GOCSPX-abc');
    s = setDetail(s, 'redirectPort', '8080');
    expect(draftOf(s)?.redirectPort).toBe(8080);
    for (const bad of ['0', '65536', '80a', '-1', '1.5']) {
      const t = setDetail(s, 'redirectPort', bad);
      expect(draftOf(t)?.redirectPort).toBeUndefined();
      expect(portProblem(bad)).toMatch(/Redirect port must be a whole number/);
    }
    expect(portProblem('')).toBeNull();
    expect(draftOf(chooseFlow(s, 'device_code'))?.redirectPort).toBeUndefined();
  });

  it('an import fills what the file carries, keeps the rest, and invalidates a sign-in', () => {
    let s = markSignedIn(setDetail(ready(), 'tenant', 'kept'));
    s = applyImport(s, { clientId: '2-b.apps.googleusercontent.com', redirectPort: 8400 }, 'GOCSPX-file');
    expect(s.clientId).toBe('2-b.apps.googleusercontent.com');
    expect(s.clientSecret).toBe('GOCSPX-file');
    expect(s.redirectPort).toBe('8400');
    expect(s.tenant).toBe('kept');
    expect(s.signedIn).toBe(false);
    const same = applyImport(s, {}, undefined);
    expect(same).toEqual(s);
  });
});

describe('the flow as an admin meets it', () => {
  it('a new provider comes with a sensible purpose preselected', () => {
    expect(chooseProvider(initialState(), 'google').purpose).toBe('send');
  });

  it('a disabled Continue always says why', () => {
    let s: WizardState = { ...initialState(), step: 'purpose', providerId: 'google', purpose: 'send' };
    expect(continueBlocker(s)).toMatch(/how the service gets its authorization/);
    s = { ...s, step: 'details' };
    expect(continueBlocker(s)).toBe('Enter the mailbox address first.');
    s = setDetail(s, 'mailbox', 'scanner@example.com');
    expect(continueBlocker(s)).toBe('Enter the client ID first.');
    s = setDetail(s, 'clientId', 'x.apps.googleusercontent.com');
    expect(continueBlocker(s)).toBeNull();
    expect(continueBlocker({ ...s, step: 'authorize' })).toBe('Sign in first.');
  });

  it('a sign-in moves on to the tests by itself, and Continue waits for a passing run', () => {
    let s: WizardState = { ...initialState(), step: 'authorize', providerId: 'sandbox', purpose: 'both', flow: 'device_code', mailbox: 'a@b.c' };
    s = markSignedIn(s);
    expect(s.step).toBe('test');
    expect(canContinue(s)).toBe(false);
    expect(continueBlocker(s)).toBe('The mail tests must pass first.');
    expect(next(s).step).toBe('test');
    s = markTested(s, 1700000000);
    expect(next(s).step).toBe('save');
    // A failed run, or any change that affects the tests, asks for a new run.
    expect(canContinue(markTested(s, null))).toBe(false);
    expect(setServer(s, 'imap', { host: 'localhost', port: 1143, security: 'tls' }).testedAt).toBeNull();
    expect(setServer(s, 'imap', null).testedAt).toBe(1700000000);
    expect(setDetail(s, 'mailbox', 'other@b.c').testedAt).toBeNull();
  });

  it('a sign-in elsewhere (a screen already passed) does not move the wizard', () => {
    const s = markSignedIn({ ...initialState(), step: 'details', providerId: 'sandbox' });
    expect(s.step).toBe('details');
  });

  it('the sandbox skips the registration screen both ways; real providers do not', () => {
    const sandbox: WizardState = { ...initialState(), step: 'purpose', providerId: 'sandbox', purpose: 'both', flow: 'device_code' };
    expect(applies(sandbox, 'checklist')).toBe(false);
    expect(next(sandbox).step).toBe('details');
    expect(back({ ...sandbox, step: 'details' }).step).toBe('purpose');
    const google = { ...sandbox, providerId: 'google' };
    expect(next(google).step).toBe('checklist');
    expect(back({ ...google, step: 'details' }).step).toBe('checklist');
  });
});

describe('readers (the OS account that runs the mail service)', () => {
  const ready = (): WizardState => ({ ...chooseFlow(chooseProvider(initialState(), 'sandbox'), 'device_code'), signedIn: true, testedAt: 5 });

  it('go into the draft split as the core splits them; empty keeps the admin keyring', () => {
    expect(draftOf(ready())?.readers).toEqual([]);
    expect(draftOf(setReaders(ready(), ' lp, group:scanners '))?.readers).toEqual(['lp', 'group:scanners']);
    expect(splitReaders('a  b,,c')).toEqual(['a', 'b', 'c']);
    expect(forService(ready())).toBe(false);
    expect(forService(setReaders(ready(), 'lp'))).toBe(true);
  });

  it('other readers void the sign-in (another store); blanks alone do not', () => {
    const s = setReaders(ready(), 'lp');
    expect(s.signedIn).toBe(false);
    const t = setReaders({ ...s, signedIn: true }, 'lp ');
    expect(t.signedIn).toBe(true);
  });

  it('the core verdict blocks Continue on the purpose screen, and a stale verdict is ignored', () => {
    let s: WizardState = { ...setReaders(ready(), 'nosuch'), step: 'purpose' };
    s = setReadersProblem(s, 'nosuch', 'OS account that runs the mail service: there is no user "nosuch"');
    expect(continueBlocker(s)).toContain('no user "nosuch"');
    expect(canContinue(s)).toBe(false);
    s = setReaders(s, 'lp');
    expect(s.readersProblem).toBeNull();
    expect(setReadersProblem(s, 'nosuch', 'old')).toBe(s);
    expect(canContinue(setReadersProblem(s, 'lp', null))).toBe(true);
  });
});
