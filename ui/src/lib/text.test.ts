import { describe, expect, it } from 'vitest';
import { splitInlineCode } from './text';

describe('splitInlineCode', () => {
  it('marks backtick-quoted values as code', () => {
    expect(splitInlineCode('Run `Set-CASMailbox -Identity x` now')).toEqual([
      { text: 'Run ', code: false },
      { text: 'Set-CASMailbox -Identity x', code: true },
      { text: ' now', code: false },
    ]);
  });

  it('keeps text without backticks, and an unpaired backtick, as plain text', () => {
    expect(splitInlineCode('plain')).toEqual([{ text: 'plain', code: false }]);
    expect(splitInlineCode('a ` b')).toEqual([{ text: 'a ` b', code: false }]);
    expect(splitInlineCode('')).toEqual([]);
  });
});

describe('troubleshooter helpers', () => {
  it('alternatives are not numbered as steps', async () => {
    const { isAlternative } = await import('./text');
    expect(isAlternative('Or ask the tenant admin to grant consent.')).toBe(true);
    expect(isAlternative('Alternatively, use a Web client.')).toBe(true);
    expect(isAlternative('Open the Authentication page.')).toBe(false);
    expect(isAlternative('Order matters: first the API.')).toBe(false);
  });

  it('commands in backticks get a Copy button, single words do not', async () => {
    const { copyableCode } = await import('./text');
    expect(copyableCode('Run `Set-CASMailbox -Identity a@b.c -ImapEnabled $true` then `Yes`')).toEqual([
      'Set-CASMailbox -Identity a@b.c -ImapEnabled $true',
    ]);
  });

  it('finds placeholders left for values', async () => {
    const { placeholders } = await import('./text');
    expect(placeholders('New-ServicePrincipal -AppId <client-id> -ObjectId <app name>')).toEqual(['<client-id>', '<app name>']);
    expect(placeholders('a <= b and x->y')).toEqual([]);
  });
});
