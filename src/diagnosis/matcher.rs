//! Pattern matching by meaning: one normalised haystack per text, one compiled matcher per pattern.
//!
//! Products wrap, escape and reword provider errors; normalising both sides the same way lets a
//! pattern written once as plain text match the JSON body, the URL-encoded redirect and the log
//! line alike.

use super::challenge::Found;
use super::{Pattern, PatternKind};

/// A text prepared for matching: normalised, with decoded variants appended.
pub(super) struct Haystack {
    text: String,
    /// `status` values of the decoded challenges, lowercase, with where each was found.
    statuses: Vec<(String, usize)>,
}

/// Separates the appended variants, so no phrase spans two of them.
const JOIN: &str = " | ";

impl Haystack {
    /// Builds the haystack of an already scrubbed text and the challenges found in it.
    pub(super) fn new(scrubbed: &str, challenges: &[Found]) -> Self {
        let mut text = normalize(scrubbed);
        if let Some(decoded) = url_decoded(scrubbed) {
            text.push_str(JOIN);
            text.push_str(&normalize(&decoded));
        }
        let mut statuses = Vec::new();
        for found in challenges {
            let at = text.find(&normalize(&found.raw)).unwrap_or(text.len());
            if let Some(status) = &found.challenge.status {
                statuses.push((status.to_ascii_lowercase(), at));
            } else {
                statuses.push((String::new(), at));
            }
            text.push_str(JOIN);
            text.push_str(&normalize(&found.challenge.json));
        }
        // Microsoft's JSON bodies carry the AADSTS number once more in `error_codes`; a product
        // that shows only that array still deserves the AADSTS entry.
        for code in error_codes(&text) {
            text.push_str(&format!("{JOIN}aadsts{code}"));
        }
        Haystack { text, statuses }
    }
}

/// Lowercases, folds typographic quotes and dashes, decodes JSON and HTML escapes, expands
/// contractions and collapses whitespace, so equivalent wordings compare equal.
pub(super) fn normalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.peek().copied() {
                Some('n' | 'r' | 't') => {
                    chars.next();
                    out.push(' ');
                }
                Some(q @ ('"' | '/' | '\'' | '\\')) => {
                    chars.next();
                    out.push(q);
                }
                Some('u') => {
                    let hex: String = chars.clone().skip(1).take(4).collect();
                    match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                        Some(decoded) if hex.len() == 4 => {
                            for _ in 0..5 {
                                chars.next();
                            }
                            push_folded(&mut out, decoded);
                        }
                        _ => out.push('\\'),
                    }
                }
                _ => out.push('\\'),
            },
            '&' => {
                let rest: String = chars.clone().take(7).collect();
                let entity = [
                    ("#39;", '\''),
                    ("#x27;", '\''),
                    ("apos;", '\''),
                    ("quot;", '"'),
                    ("amp;", '&'),
                    ("lt;", '<'),
                    ("gt;", '>'),
                    ("nbsp;", ' '),
                ]
                .into_iter()
                .find(|(name, _)| rest.starts_with(name));
                match entity {
                    Some((name, decoded)) => {
                        for _ in 0..name.len() {
                            chars.next();
                        }
                        push_folded(&mut out, decoded);
                    }
                    None => out.push('&'),
                }
            }
            _ => push_folded(&mut out, c),
        }
    }
    let collapsed = out.split_whitespace().collect::<Vec<_>>().join(" ");
    collapsed
        .replace("can't", "cannot")
        .replace("can not", "cannot")
        .replace("won't", "will not")
        .replace("n't", " not")
}

fn push_folded(out: &mut String, c: char) {
    match c {
        '\u{2018}' | '\u{2019}' | '\u{201B}' | '\u{2032}' => out.push('\''),
        '\u{201C}' | '\u{201D}' | '\u{201E}' => out.push('"'),
        '\u{2010}'..='\u{2015}' => out.push('-'),
        c if c.is_control() || c == '\u{00A0}' => out.push(' '),
        c => out.extend(c.to_lowercase()),
    }
}

/// The text with `%XX` escapes and `+` decoded, when it holds any; OAuth redirects and logged
/// request bodies carry error descriptions that way.
fn url_decoded(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let has_escape = bytes
        .windows(3)
        .any(|w| w[0] == b'%' && w[1].is_ascii_hexdigit() && w[2].is_ascii_hexdigit());
    if !has_escape && !s.contains("error_description=") {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len()
                && bytes[i + 1].is_ascii_hexdigit()
                && bytes[i + 2].is_ascii_hexdigit() =>
            {
                let hex = [bytes[i + 1], bytes[i + 2]];
                let v = std::str::from_utf8(&hex)
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match v {
                    Some(v) => {
                        out.push(v);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// The numbers listed in `"error_codes":[...]` arrays of a normalised text.
pub(super) fn error_codes(text: &str) -> Vec<String> {
    let mut codes = Vec::new();
    for (at, key) in text.match_indices("\"error_codes\"") {
        let rest = &text[at + key.len()..];
        let rest = rest.trim_start_matches([' ', ':']).trim_start();
        let Some(list) = rest.strip_prefix('[') else {
            continue;
        };
        let Some(end) = list.find(']') else {
            continue;
        };
        for n in list[..end].split(',') {
            let n = n.trim();
            if !n.is_empty() && n.len() <= 10 && n.bytes().all(|b| b.is_ascii_digit()) {
                codes.push(n.to_string());
            }
        }
    }
    codes
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The first occurrence of `needle` in `hay` whose ends are not glued to a word, on the sides
/// where the needle itself starts or ends with a word character.
fn find_bounded(hay: &str, needle: &str) -> Option<usize> {
    let nb = needle.as_bytes();
    let (Some(&first), Some(&last)) = (nb.first(), nb.last()) else {
        return None;
    };
    let hb = hay.as_bytes();
    hay.match_indices(needle).map(|(i, _)| i).find(|&i| {
        let before_ok = !is_word(first) || i == 0 || !is_word(hb[i - 1]);
        let after = i + nb.len();
        let after_ok = !is_word(last) || after >= hb.len() || !is_word(hb[after]);
        before_ok && after_ok
    })
}

/// What a compiled pattern looks for, in normalised form.
enum Kind {
    /// A code or OAuth value as a whole word.
    Word(String),
    /// A phrase with word boundaries at its word-character ends.
    Phrase(String),
    /// An enhanced status code such as `5.7.139`.
    Enhanced(String),
    /// A basic reply code such as `535`, standing where a reply code stands.
    Basic(String),
    /// An IMAP response code, after its `[`.
    Imap(String),
    /// A challenge status, or any challenge.
    Challenge(Option<String>),
}

/// A pattern ready to run against a [`Haystack`].
pub(super) struct Matcher {
    kind: Kind,
    with: Vec<Needle>,
    without: Vec<Needle>,
}

/// A `with`/`without` phrase; a trailing `*` in the catalog makes it a word prefix
/// (`aadsts*` finds `AADSTS50011`).
struct Needle {
    text: String,
    prefix: bool,
}

impl Needle {
    fn found_in(&self, hay: &str) -> bool {
        if self.prefix {
            let hb = hay.as_bytes();
            hay.match_indices(&self.text)
                .any(|(i, _)| i == 0 || !is_word(hb[i - 1]))
        } else {
            find_bounded(hay, &self.text).is_some()
        }
    }
}

impl Matcher {
    /// Checks a catalog pattern and prepares it; the error says what is wrong with it.
    pub(super) fn compile(p: &Pattern) -> Result<Self, String> {
        let v = p.value.trim();
        if v.is_empty() || v != p.value {
            return Err(format!(
                "pattern {:?} is empty or has surrounding spaces",
                p.value
            ));
        }
        let kind = match p.kind {
            PatternKind::Code => {
                if !v
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                {
                    return Err(format!(
                        "code {v:?} may hold only letters, digits, '_' and '-'"
                    ));
                }
                Kind::Word(v.to_ascii_lowercase())
            }
            PatternKind::Oauth => {
                if !v.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
                    return Err(format!(
                        "OAuth error {v:?} must be lowercase letters and '_'"
                    ));
                }
                Kind::Word(v.to_string())
            }
            PatternKind::Smtp => {
                let mut parts = v.split(' ');
                let (a, b) = (parts.next(), parts.next());
                if parts.next().is_some() {
                    return Err(format!("SMTP pattern {v:?} has more than two parts"));
                }
                match (a, b) {
                    (Some(basic), Some(enh)) if is_basic(basic) && is_enhanced(enh) => {
                        if basic.as_bytes()[0] != enh.as_bytes()[0] {
                            return Err(format!("SMTP pattern {v:?} mixes reply classes"));
                        }
                        Kind::Enhanced(enh.to_string())
                    }
                    (Some(enh), None) if is_enhanced(enh) => Kind::Enhanced(enh.to_string()),
                    (Some(basic), None) if is_basic(basic) => Kind::Basic(basic.to_string()),
                    _ => {
                        return Err(format!(
                            "SMTP pattern {v:?} must be `535`, `5.7.139` or `535 5.7.139`"
                        ))
                    }
                }
            }
            PatternKind::Imap => {
                if !v.bytes().all(|b| b.is_ascii_uppercase() || b == b'-') {
                    return Err(format!(
                        "IMAP response code {v:?} must be uppercase, without brackets"
                    ));
                }
                Kind::Imap(v.to_ascii_lowercase())
            }
            PatternKind::Phrase => {
                let n = normalize(v);
                if n.len() < 4 {
                    return Err(format!("phrase {v:?} is too short to mean anything"));
                }
                Kind::Phrase(n)
            }
            PatternKind::Challenge => {
                if v == "*" {
                    Kind::Challenge(None)
                } else {
                    Kind::Challenge(Some(v.to_ascii_lowercase()))
                }
            }
        };
        let phrases = |list: &[String]| {
            list.iter()
                .map(|w| {
                    let (body, prefix) = match w.strip_suffix('*') {
                        Some(body) => (body, true),
                        None => (w.as_str(), false),
                    };
                    let text = normalize(body);
                    if text.len() < 3 || body.trim() != body {
                        Err(format!(
                            "`with`/`without` phrase {w:?} is too short or padded"
                        ))
                    } else {
                        Ok(Needle { text, prefix })
                    }
                })
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(Matcher {
            kind,
            with: phrases(&p.with)?,
            without: phrases(&p.without)?,
        })
    }

    /// Where in the haystack the pattern first matched, if it did.
    pub(super) fn find(&self, hay: &Haystack) -> Option<usize> {
        let t = hay.text.as_str();
        let at = match &self.kind {
            Kind::Word(w) | Kind::Phrase(w) => find_bounded(t, w),
            Kind::Enhanced(code) => find_enhanced(t, code),
            Kind::Basic(code) => find_basic(t, code),
            Kind::Imap(code) => find_imap(t, code),
            Kind::Challenge(None) => hay.statuses.iter().map(|(_, at)| *at).min(),
            Kind::Challenge(Some(s)) => hay
                .statuses
                .iter()
                .filter(|(st, _)| st == s)
                .map(|(_, at)| *at)
                .min(),
        }?;
        let wanted = self.with.iter().all(|w| w.found_in(t));
        let vetoed = self.without.iter().any(|w| w.found_in(t));
        (wanted && !vetoed).then_some(at)
    }
}

fn is_basic(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 3 && matches!(b[0], b'2'..=b'5') && b.iter().all(u8::is_ascii_digit)
}

fn is_enhanced(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 3
        && matches!(parts[0], "2" | "4" | "5")
        && parts[1..]
            .iter()
            .all(|p| (1..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()))
}

fn find_enhanced(t: &str, code: &str) -> Option<usize> {
    let b = t.as_bytes();
    t.match_indices(code).map(|(i, _)| i).find(|&i| {
        let before_ok = i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'.');
        let end = i + code.len();
        let after_ok = match b.get(end) {
            None => true,
            Some(c) if c.is_ascii_digit() => false,
            Some(b'.') => !b.get(end + 1).is_some_and(u8::is_ascii_digit),
            Some(_) => true,
        };
        before_ok && after_ok
    })
}

fn find_basic(t: &str, code: &str) -> Option<usize> {
    let b = t.as_bytes();
    t.match_indices(code).map(|(i, _)| i).find(|&i| {
        let before_ok = i == 0 || b" \"'([>=|,".contains(&b[i - 1]);
        let end = i + code.len();
        let after_ok = match b.get(end) {
            None => true,
            Some(b'.') => !b.get(end + 1).is_some_and(u8::is_ascii_digit),
            Some(c) => b" -:),\"]".contains(c),
        };
        before_ok && after_ok
    })
}

fn find_imap(t: &str, code: &str) -> Option<usize> {
    let needle = format!("[{code}");
    let b = t.as_bytes();
    t.match_indices(&needle)
        .map(|(i, _)| i)
        .find(|&i| matches!(b.get(i + needle.len()), None | Some(b']' | b' ')))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hay(s: &str) -> Haystack {
        Haystack::new(s, &[])
    }

    fn matcher(kind: PatternKind, value: &str, with: &[&str]) -> Matcher {
        Matcher::compile(&Pattern {
            kind,
            value: value.into(),
            with: with.iter().map(|s| s.to_string()).collect(),
            without: vec![],
        })
        .expect("valid test pattern")
    }

    #[test]
    fn normalize_folds_case_quotes_escapes_and_contractions() {
        assert_eq!(
            normalize("Client  ISN’T\\r\\nallowed &#39;x&#39; \\u0027y\\u0027 can't"),
            "client is not allowed 'x' 'y' cannot"
        );
        assert_eq!(normalize("a\u{1}b\tc"), "a b c");
    }

    #[test]
    fn codes_respect_word_boundaries() {
        let m = matcher(PatternKind::Code, "AADSTS50011", &[]);
        assert!(m.find(&hay("error AADSTS50011: redirect")).is_some());
        assert!(m.find(&hay("aadsts50011")).is_some());
        assert!(m.find(&hay("AADSTS500113: No reply address")).is_none());
        assert!(m.find(&hay("XAADSTS50011")).is_none());
    }

    #[test]
    fn error_codes_arrays_count_as_aadsts_codes() {
        let m = matcher(PatternKind::Code, "AADSTS7000218", &[]);
        assert!(m
            .find(&hay(
                r#"{"error":"invalid_client","error_codes":[7000218]}"#
            ))
            .is_some());
        assert!(m
            .find(&hay(r#"{"error_codes": [70002, 7000218]}"#))
            .is_some());
        assert!(m.find(&hay(r#"{"error_codes":[70002182]}"#)).is_none());
    }

    #[test]
    fn smtp_codes_match_with_and_without_the_basic_code() {
        let m = matcher(PatternKind::Smtp, "535 5.7.139", &[]);
        assert!(m
            .find(&hay("535 5.7.139 Authentication unsuccessful"))
            .is_some());
        assert!(m.find(&hay("535-5.7.139 Authentication")).is_some());
        assert!(m.find(&hay("server said 5.7.139.")).is_some());
        assert!(m.find(&hay("5.7.1390")).is_none());
        assert!(m.find(&hay("25.7.139")).is_none());
        let m = matcher(PatternKind::Smtp, "5.7.1", &[]);
        assert!(m.find(&hay("550 5.7.139 x")).is_none());
        assert!(m.find(&hay("550 5.7.1 Unable to relay")).is_some());
        let basic = matcher(PatternKind::Smtp, "535", &[]);
        assert!(basic
            .find(&hay("535 Incorrect authentication data"))
            .is_some());
        assert!(basic.find(&hay("response: 535-5.7.8 Username")).is_some());
        assert!(basic.find(&hay("MailKit: 535: 5.7.3")).is_some());
        assert!(basic.find(&hay("host:535 and 15350 and 1.535")).is_none());
    }

    #[test]
    fn imap_codes_need_their_bracket() {
        let m = matcher(PatternKind::Imap, "UNAVAILABLE", &[]);
        assert!(m
            .find(&hay(
                "a1 NO [UNAVAILABLE] Temporary authentication failure."
            ))
            .is_some());
        assert!(m.find(&hay("the service is unavailable")).is_none());
        assert!(m.find(&hay("[UNAVAILABLEX]")).is_none());
    }

    #[test]
    fn phrases_match_across_escapes_and_url_encoding() {
        let m = matcher(PatternKind::Phrase, "does not match the redirect URIs", &[]);
        assert!(m
            .find(&hay(
                "error_description=AADSTS50011%3a+The+redirect+URI+doesn%27t+match+the+redirect+URIs"
            ))
            .is_some());
        assert!(m
            .find(&hay(
                r#"{"error_description":"The redirect URI doesn\u0027t match the redirect URIs"}"#
            ))
            .is_some());
    }

    #[test]
    fn with_phrases_are_all_required() {
        let m = matcher(PatternKind::Oauth, "invalid_grant", &["bad request"]);
        assert!(m
            .find(&hay(
                r#"{"error":"invalid_grant","error_description":"Bad Request"}"#
            ))
            .is_some());
        assert!(m.find(&hay(r#"{"error":"invalid_grant"}"#)).is_none());
        assert!(m.find(&hay("invalid_grantx bad request")).is_none());
    }

    #[test]
    fn without_phrases_veto_the_pattern() {
        let m = Matcher::compile(&Pattern {
            kind: PatternKind::Oauth,
            value: "invalid_client".into(),
            with: vec!["unauthorized".into()],
            without: vec!["aadsts*".into()],
        })
        .expect("valid test pattern");
        assert!(m
            .find(&hay(
                r#"{"error":"invalid_client","error_description":"Unauthorized"}"#
            ))
            .is_some());
        assert!(m
            .find(&hay("invalid_client: AADSTS7000215 unauthorized"))
            .is_none());
    }

    #[test]
    fn bad_patterns_are_refused_with_a_reason() {
        for (kind, value) in [
            (PatternKind::Smtp, "535 4.7.0"),
            (PatternKind::Smtp, "5.7"),
            (PatternKind::Code, "AADSTS 1"),
            (PatternKind::Imap, "[ALERT]"),
            (PatternKind::Oauth, "Invalid_Grant"),
            (PatternKind::Phrase, "ab"),
            (PatternKind::Phrase, " padded"),
        ] {
            let p = Pattern {
                kind,
                value: value.into(),
                with: vec![],
                without: vec![],
            };
            assert!(Matcher::compile(&p).is_err(), "{kind:?} {value:?} accepted");
        }
    }
}
