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
