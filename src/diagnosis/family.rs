//! Families: a cause and a fix for any code of a known scheme, even one no entry names.
//!
//! Microsoft Entra `AADSTS` numbers, SMTP enhanced status codes (RFC 3463) and IMAP response
//! codes (RFC 5530) carry their meaning in their structure. `entries/families.toml` groups the
//! documented codes of each scheme into families; [`find`] lists every code in a text and the
//! family it belongs to, with the code's own text (the rest of its line), so `explain` can say
//! "this is a family match, here is what the server said" when no exact entry knows the code.

use super::{Area, Context, Diagnosis};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// The kind of code a family groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "DiagnosisCodeScheme")]
pub enum Scheme {
    /// Microsoft Entra `AADSTS` numbers.
    Aadsts,
    /// SMTP enhanced status codes, `class.subject.detail` (RFC 3463).
    Smtp,
    /// IMAP response codes in brackets (RFC 3501, RFC 5530).
    Imap,
}

impl Scheme {
    /// The scheme as an admin reads it.
    pub fn title(self) -> &'static str {
        match self {
            Scheme::Aadsts => "Microsoft Entra AADSTS codes",
            Scheme::Smtp => "SMTP enhanced status codes (RFC 3463)",
            Scheme::Imap => "IMAP response codes (RFC 3501, RFC 5530)",
        }
    }
}

/// A documented code a family was derived from, with the reference's own wording.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "DiagnosisCitedCode")]
pub struct Cited {
    /// The code as the reference writes it (`50126`, `X.1.1`, `5.7.501`, `NOPERM`).
    pub code: String,
    /// What the reference says about it, shortened.
    pub text: String,
}

/// A group of codes of one scheme with one cause and one fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[ts(rename = "DiagnosisFamily")]
pub struct Family {
    /// Stable identifier (`entra-consent`), also the doc's anchor.
    pub id: String,
    /// The scheme of the codes.
    pub scheme: Scheme,
    /// One line naming the family.
    pub title: String,
    /// Where the codes come from.
    pub area: Area,
    /// The codes covered: numbers or names, `x` for any digit, `S.*` for a whole SMTP subject,
    /// `*` alone for the scheme's catch-all.
    pub codes: Vec<String>,
    /// The cause shared by the family, in one sentence; may hold placeholders.
    pub cause: String,
    /// The fix, one step per item; may hold placeholders.
    pub fix: Vec<String>,
    /// Where the fix is done.
    pub place: String,
    /// Whether the account must sign in again after the fix.
    pub reauthorize: bool,
    /// The reference the family was derived from.
    pub source: String,
    /// The documented codes the family is backed by.
    pub cited: Vec<Cited>,
}

impl Family {
    /// Whether this is the scheme's catch-all (which names the code but is not a family proper).
    pub fn is_catch_all(&self) -> bool {
        self.codes.iter().any(|c| c == "*")
    }

    /// How precisely the family's pattern fits `code`: `None` when it does not fit at all.
    /// Higher is more precise (an exact code or an SMTP detail pattern beats a whole subject).
    pub(super) fn fit(&self, code: &Code) -> Option<u8> {
        self.codes
            .iter()
            .filter_map(|p| pattern_fit(self.scheme, p, code))
            .max()
    }

    /// The family as the admin reads it for `code`, with `ctx` filled in.
    pub fn diagnosis(&self, code: &Code, ctx: &Context) -> Diagnosis {
        let mut title = format!("{}: {}", self.title, code.label());
        if let Some(meaning) = self.meaning(code) {
            title.push_str(&format!(" ({meaning})"));
        }
        let mut fix: Vec<String> = Vec::new();
        if let Code::Smtp { class, .. } = code {
            fix.push(
                match class {
                    2 => "Class 2 means success: this line is not the failure; look at the other lines.",
                    4 => "Class 4 means a temporary failure: the server asks to try again later; if it lasts for hours, treat it as permanent.",
                    _ => "Class 5 means a permanent failure: sending the same thing again fails the same way until the cause is fixed.",
                }
                .to_string(),
            );
        }
        fix.extend(self.fix.iter().map(|s| ctx.fill(s)));
        let link = match code {
            Code::Aadsts(n) => format!("https://login.microsoftonline.com/error?code={n}"),
            _ => self.source.clone(),
        };
        Diagnosis {
            id: self.id.clone(),
            title,
            area: self.area,
            cause: ctx.fill(&self.cause),
            fix,
            place: ctx.fill(&self.place),
            link: Some(link),
            reauthorize: self.reauthorize,
            host: None,
            host_role: None,
        }
    }

    /// What the references say about this very code, when the family cites it.
    fn meaning(&self, code: &Code) -> Option<&str> {
        let exact = code.key();
        let generic = match code {
            Code::Smtp {
                subject, detail, ..
            } => Some(format!("X.{subject}.{detail}")),
            _ => None,
        };
        self.cited
            .iter()
            .find(|c| c.code.eq_ignore_ascii_case(&exact))
            .or_else(|| {
                generic
                    .as_deref()
                    .and_then(|g| self.cited.iter().find(|c| c.code == g))
            })
            .map(|c| c.text.as_str())
    }
}

/// A code found in a text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Code {
    /// The number of an `AADSTS` code.
    Aadsts(String),
    /// An SMTP enhanced status code.
    Smtp {
        /// 2, 4 or 5.
        class: u8,
        /// The subject (0 to 999).
        subject: u16,
        /// The detail (0 to 999).
        detail: u16,
    },
    /// An IMAP response code, uppercase.
    Imap(String),
}

impl Code {
    /// The scheme of the code.
    pub fn scheme(&self) -> Scheme {
        match self {
            Code::Aadsts(_) => Scheme::Aadsts,
            Code::Smtp { .. } => Scheme::Smtp,
            Code::Imap(_) => Scheme::Imap,
        }
    }

    /// The code as written in the catalog's `cited` lists (`50126`, `5.7.501`, `NOPERM`).
    fn key(&self) -> String {
        match self {
            Code::Aadsts(n) => n.clone(),
            Code::Smtp {
                class,
                subject,
                detail,
            } => format!("{class}.{subject}.{detail}"),
            Code::Imap(c) => c.clone(),
        }
    }

    /// The code as an admin reads it (`AADSTS50126`, `SMTP 5.7.501`, `IMAP [NOPERM]`).
    pub fn label(&self) -> String {
        match self {
            Code::Aadsts(n) => format!("AADSTS{n}"),
            Code::Smtp { .. } => format!("SMTP {}", self.key()),
            Code::Imap(c) => format!("IMAP [{c}]"),
        }
    }

    /// Reads a code as an admin types it for `mailoauth explain` tests and the doc:
    /// `AADSTS50126`, `5.1.1`, `[NOPERM]`.
    pub fn parse(s: &str) -> Option<Code> {
        let s = s.trim();
        if let Some(n) = s.get(..6).filter(|p| p.eq_ignore_ascii_case("aadsts")) {
            let digits = &s[n.len()..];
            return (!digits.is_empty()
                && digits.len() <= 10
                && digits.bytes().all(|b| b.is_ascii_digit()))
            .then(|| Code::Aadsts(digits.to_string()));
        }
        if let Some(inner) = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            return valid_imap(inner).then(|| Code::Imap(inner.to_ascii_uppercase()));
        }
        smtp(s)
    }
}

fn valid_imap(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 40
        && b[0].is_ascii_alphabetic()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
}

fn smtp(s: &str) -> Option<Code> {
    let mut parts = s.split('.');
    let (c, sub, det) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let num = |p: &str, max: usize| {
        (!p.is_empty() && p.len() <= max && p.bytes().all(|b| b.is_ascii_digit()))
            .then(|| p.parse::<u16>().ok())
            .flatten()
    };
    let class = num(c, 1)?;
    if !matches!(class, 2 | 4 | 5) {
        return None;
    }
    Some(Code::Smtp {
        class: class as u8,
        subject: num(sub, 3)?,
        detail: num(det, 3)?,
    })
}

/// How a catalog pattern fits a code: 3 exact, 2 a digit pattern, 1 a whole SMTP subject,
/// 0 the catch-all.
fn pattern_fit(scheme: Scheme, pattern: &str, code: &Code) -> Option<u8> {
    if pattern == "*" {
        return (code.scheme() == scheme).then_some(0);
    }
    match (scheme, code) {
        (Scheme::Aadsts, Code::Aadsts(n)) => digits_fit(pattern, n),
        (Scheme::Imap, Code::Imap(c)) => pattern.eq_ignore_ascii_case(c).then_some(3),
        (
            Scheme::Smtp,
            Code::Smtp {
                subject, detail, ..
            },
        ) => {
            let (ps, pd) = pattern.split_once('.')?;
            if ps != subject.to_string() {
                return None;
            }
            if pd == "*" {
                return Some(1);
            }
            digits_fit(pd, &detail.to_string())
        }
        _ => None,
    }
}

/// `50126` fits `50126` (3) and `501xx` (2), never `5012` or `501xxx`.
fn digits_fit(pattern: &str, digits: &str) -> Option<u8> {
    if pattern.len() != digits.len() {
        return None;
    }
    let mut wild = false;
    for (p, d) in pattern.bytes().zip(digits.bytes()) {
        match p {
            b'x' => wild = true,
            _ if p == d => {}
            _ => return None,
        }
    }
    Some(if wild { 2 } else { 3 })
}

/// Whether two patterns of one scheme can fit the same code at the same precision (the tests
/// check that no two families overlap).
#[cfg(test)]
pub(super) fn overlap(scheme: Scheme, a: &str, b: &str) -> bool {
    if a == "*" || b == "*" {
        return a == b;
    }
    let same_shape = |x: &str, y: &str| {
        x.len() == y.len()
            && x.bytes()
                .zip(y.bytes())
                .all(|(p, q)| p == q || p == b'x' || q == b'x')
    };
    match scheme {
        Scheme::Aadsts => same_shape(a, b),
        Scheme::Imap => a.eq_ignore_ascii_case(b),
        Scheme::Smtp => match (a.split_once('.'), b.split_once('.')) {
            (Some((sa, da)), Some((sb, db))) => {
                sa == sb && ((da == "*") == (db == "*")) && (da == "*" || same_shape(da, db))
            }
            _ => true,
        },
    }
}

/// The family of `code`: the most precise fit; `None` only when the scheme has no catch-all.
pub(super) fn family_of<'a>(families: &'a [Family], code: &Code) -> Option<&'a Family> {
    families
        .iter()
        .filter(|f| f.scheme == code.scheme())
        .filter_map(|f| f.fit(code).map(|q| (q, f)))
        .max_by_key(|(q, _)| *q)
        .map(|(_, f)| f)
}

/// A code found in a text, where, and the text around it.
#[derive(Debug, Clone)]
pub(super) struct Found {
    pub code: Code,
    /// Byte offset in the scrubbed text (for ordering).
    pub at: usize,
    /// The line the code stands in, to check whether an entry already explains it.
    pub line: String,
    /// The code's own text: what follows it on its line, trimmed and shortened.
    pub quote: Option<String>,
}

/// Longest quote kept from the input, in characters.
const QUOTE_CHARS: usize = 240;

/// Most codes one text is explained by; a log with more repeats itself.
const MAX_CODES: usize = 40;

/// The line around byte `at` and the same line, trimmed and shortened, as the code's quote.
fn line_and_quote(text: &str, at: usize) -> (String, Option<String>) {
    let line = line_at(text, at);
    (line.to_string(), Some(shorten(line.trim())))
}

/// Every code of every scheme in an already scrubbed text, each once, in order of appearance.
/// `error_codes` lists the numbers of Microsoft's `"error_codes":[...]` arrays.
pub(super) fn find(scrubbed: &str, error_codes: &[String]) -> Vec<Found> {
    let mut out: Vec<Found> = Vec::new();
    // Each code once; its line and quote are cut only then, and only for the first
    // MAX_CODES codes, so a huge log costs no more than a few lines.
    fn push(
        out: &mut Vec<Found>,
        code: Code,
        at: usize,
        text: impl FnOnce() -> (String, Option<String>),
    ) {
        if out.len() < MAX_CODES && !out.iter().any(|o| o.code == code) {
            let (line, quote) = text();
            out.push(Found {
                code,
                at,
                line,
                quote,
            });
        }
    }
    let bytes = scrubbed.as_bytes();
    let lower = scrubbed.to_ascii_lowercase();
    // AADSTS numbers.
    for (i, _) in lower.match_indices("aadsts") {
        if i > 0 && is_word(bytes[i - 1]) {
            continue;
        }
        let digits: String = scrubbed[i + 6..]
            .bytes()
            .take_while(u8::is_ascii_digit)
            .map(char::from)
            .collect();
        let end = i + 6 + digits.len();
        if digits.len() < 4 || digits.len() > 10 || bytes.get(end).is_some_and(|b| is_word(*b)) {
            continue;
        }
        push(&mut out, Code::Aadsts(digits), i, || {
            (line_at(scrubbed, i).to_string(), quote_after(scrubbed, end))
        });
    }
    for n in error_codes {
        let at = scrubbed.find("error_codes").unwrap_or(0);
        push(&mut out, Code::Aadsts(n.clone()), at, || {
            (line_at(scrubbed, at).to_string(), None)
        });
    }
    // SMTP enhanced status codes.
    for (i, &b) in bytes.iter().enumerate() {
        if !matches!(b, b'2' | b'4' | b'5') || bytes.get(i + 1) != Some(&b'.') {
            continue;
        }
        if i > 0
            && (bytes[i - 1].is_ascii_alphanumeric() || matches!(bytes[i - 1], b'.' | b'/' | b'_'))
        {
            continue;
        }
        let rest = &scrubbed[i..];
        let len = rest
            .bytes()
            .take_while(|c| c.is_ascii_digit() || *c == b'.')
            .count();
        let token = rest[..len].trim_end_matches('.');
        let Some(code) = smtp(token) else { continue };
        let end = i + token.len();
        if bytes
            .get(end)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
        {
            continue;
        }
        push(&mut out, code, i, || line_and_quote(scrubbed, i));
    }
    // IMAP response codes, right after the status word of a response.
    for (i, _) in scrubbed.match_indices('[') {
        let before = scrubbed[..i].trim_end();
        let word = before
            .rsplit(|c: char| c.is_whitespace())
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        if !matches!(word.as_str(), "OK" | "NO" | "BAD" | "BYE" | "PREAUTH") {
            continue;
        }
        let inner: String = scrubbed[i + 1..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        let after = scrubbed[i + 1 + inner.len()..].chars().next();
        if !valid_imap(&inner) || !matches!(after, Some(']') | Some(' ')) {
            continue;
        }
        push(&mut out, Code::Imap(inner.to_ascii_uppercase()), i, || {
            line_and_quote(scrubbed, i)
        });
    }
    // A code typed alone (`mailoauth explain NOPERM`, `[NOPERM]`, `5.1.1`, `AADSTS50126`).
    if out.is_empty() {
        let t = scrubbed.trim();
        let bare = Code::parse(t).or_else(|| {
            (t.len() >= 4 && t.bytes().all(|b| b.is_ascii_uppercase() || b == b'-'))
                .then(|| Code::Imap(t.to_string()))
                .filter(known_imap)
        });
        if let Some(code) = bare {
            push(&mut out, code, 0, || (t.to_string(), None));
        }
    }
    out.sort_by_key(|f| f.at);
    out
}

/// Whether a bare word is a response code some IMAP family names (not only the catch-all).
fn known_imap(code: &Code) -> bool {
    match code {
        Code::Imap(c) => super::families()
            .iter()
            .any(|f| f.scheme == Scheme::Imap && f.codes.iter().any(|k| k == c)),
        _ => false,
    }
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The line around byte `at`; JSON escapes (`\r\n`) count as line ends too.
fn line_at(text: &str, at: usize) -> &str {
    let start = text[..at]
        .rfind(['\n', '\r'])
        .map_or(0, |p| p + 1)
        .max(text[..at].rfind("\\n").map_or(0, |p| p + 2));
    let end_nl = text[at..].find(['\n', '\r']).map_or(text.len(), |p| at + p);
    let end_esc = text[at..].find("\\r").map_or(text.len(), |p| at + p);
    &text[start..end_nl.min(end_esc)]
}

/// What follows a code on its line (`AADSTS50126: <this>`), up to a JSON quote or escape.
fn quote_after(text: &str, end: usize) -> Option<String> {
    let line_end =
        line_at(text, end).as_ptr() as usize - text.as_ptr() as usize + line_at(text, end).len();
    let mut rest = text[end..line_end.max(end)].trim_start_matches([':', ' ', '-']);
    if let Some(q) = rest.find('"') {
        rest = &rest[..q];
    }
    let rest = rest.trim();
    (rest.len() >= 3).then(|| shorten(rest))
}

fn shorten(s: &str) -> String {
    if s.chars().count() <= QUOTE_CHARS {
        s.to_string()
    } else {
        let cut: String = s.chars().take(QUOTE_CHARS).collect();
        format!("{cut}…")
    }
}
