/** Splits text on backtick pairs into plain and code parts; an unpaired backtick stays text. */
export function splitInlineCode(text: string): { text: string; code: boolean }[] {
  const parts: { text: string; code: boolean }[] = [];
  let rest = text;
  for (;;) {
    const open = rest.indexOf('`');
    const close = open < 0 ? -1 : rest.indexOf('`', open + 1);
    if (open < 0 || close < 0) break;
    if (open > 0) parts.push({ text: rest.slice(0, open), code: false });
    parts.push({ text: rest.slice(open + 1, close), code: true });
    rest = rest.slice(close + 1);
  }
  if (rest) parts.push({ text: rest, code: false });
  return parts;
}

/** Whether a fix line is an alternative to the steps before it ("Or ...", "Alternatively ..."), not a step of its own. */
export function isAlternative(line: string): boolean {
  return /^\s*(or|alternatively)\b/i.test(line);
}

/** The code parts of a text worth a Copy button: commands and values, not single words. */
export function copyableCode(text: string): string[] {
  return splitInlineCode(text)
    .filter((p) => p.code && p.text.trim().length > 3)
    .map((p) => p.text);
}

/** Placeholders such as `<client-id>` or `<app name>` left in a text (none once the value is known). */
export function placeholders(text: string): string[] {
  return text.match(/<[A-Za-z][A-Za-z0-9 ._@-]*>/g) ?? [];
}
