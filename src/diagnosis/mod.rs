//! The diagnosis catalog: what an error an admin pastes means, and how to fix it.
//!
//! Admins come back with a line from their product's log. [`explain`] finds every catalog entry
//! that text matches and returns the cause and the numbered fix, with the admin's own mailbox,
//! tenant and client ID filled into console paths and PowerShell lines. The OAuth engine and the
//! mail tests call [`explain`] (or [`entry`] when they already know the id) on every error they
//! return, so the GUI can show the fix next to the failed step; `mailoauth explain` and
//! `docs/TROUBLESHOOTING.md` are built on the same data.
//!
//! The knowledge lives in `entries/*.toml`, embedded at build time. Matching is by meaning: codes
//! with word boundaries, phrases after normalisation (case, quotes, JSON and URL escapes,
//! contractions), SMTP basic and enhanced codes, IMAP response codes, OAuth `error` values and
//! base64 JSON challenges, which are decoded. Entries are `specific`, `generic` or `fallback`;
//! a broader entry is shown only when nothing more specific matched, unless an entry names it in
//! `also_show`.
//!
//! Secrets never leave this module: the input is passed through [`scrub`] before anything else
//! looks at it, and only the scrubbed text is matched, returned or logged.

mod challenge;
mod doc;
mod family;
mod host;
mod matcher;
mod scrub;
#[cfg(test)]
mod tests;

pub use challenge::DecodedChallenge;
pub use doc::render_markdown;
pub use family::{Cited, Code, Family, Scheme};
pub use host::{HostFacts, HostRole};
pub use scrub::scrub;

use crate::error::{Coded, ErrorCode};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::sync::OnceLock;
use ts_rs::TS;

/// Longest input [`explain`] reads, in bytes; the rest of a huge log is ignored.
pub const MAX_INPUT_BYTES: usize = 1024 * 1024;

/// Where an error comes from, which is also how the catalog and the doc are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "DiagnosisArea")]
pub enum Area {
    /// Microsoft Entra ID sign-in and Exchange Online IMAP/SMTP.
    Microsoft,
    /// Google OAuth and Gmail IMAP/SMTP.
    Google,
    /// Any OAuth 2.0 server: the standard `error` values.
    Oauth,
    /// Any IMAP or SMTP server: standard response codes and the server's login challenge.
    Mail,
    /// Connections, TLS and proxies between the service and the servers.
    Network,
    /// The mail service's own software (Java, .NET, print servers) and mailoauth itself.
    Client,
}

impl Area {
    /// Every area, in catalog order.
    pub const ALL: [Area; 6] = [
        Area::Microsoft,
        Area::Google,
        Area::Oauth,
        Area::Mail,
        Area::Network,
        Area::Client,
    ];

    /// The heading an admin reads for this area.
    pub fn title(self) -> &'static str {
        match self {
            Area::Microsoft => "Microsoft Entra ID and Exchange Online",
            Area::Google => "Google OAuth and Gmail",
            Area::Oauth => "Any OAuth 2.0 server",
            Area::Mail => "Any IMAP or SMTP server",
            Area::Network => "Network, TLS and proxies",
            Area::Client => "The mail service's software and mailoauth",
        }
    }
}

/// How narrow an entry is: a broader level is dropped when a narrower one matched.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS,
)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "DiagnosisLevel")]
pub enum Level {
    /// Names one cause (an exact provider code or sentence).
    #[default]
    Specific,
    /// A class of failure with several causes (`invalid_grant`, `535 5.7.8`).
    Generic,
    /// Only says that something failed (`535` alone, a Java exception name).
    Fallback,
}

/// The kind of text a [`Pattern`] recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "DiagnosisPatternKind")]
pub enum PatternKind {
    /// An error code as a whole word, case-insensitive (`AADSTS50011`, never inside `AADSTS500113`).
    Code,
    /// An OAuth `error` value (`invalid_grant`), bare, in JSON or in a query string.
    Oauth,
    /// An SMTP reply: an enhanced code (`5.7.139`) with or without its basic code, or a basic code alone.
    Smtp,
    /// An IMAP response code in brackets (`[AUTHENTICATIONFAILED]`).
    Imap,
    /// A phrase, after case, quotes, escapes, contractions and spaces are normalised.
    Phrase,
    /// The `status` of a decoded SASL failure challenge (`400`, `invalid_token`; `*` for any).
    Challenge,
}

/// One way an entry is recognised in pasted text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "DiagnosisPattern")]
pub struct Pattern {
    /// What kind of text `value` is.
    pub kind: PatternKind,
    /// The code, value or phrase to look for.
    pub value: String,
    /// Phrases that must also appear somewhere in the text for this pattern to count.
    pub with: Vec<String>,
    /// Phrases that stop this pattern from counting when they appear anywhere in the text.
    /// In `with` and `without`, a trailing `*` matches a word prefix (`aadsts*`).
    pub without: Vec<String>,
}

impl Pattern {
    /// How the pattern reads to an admin, e.g. `SMTP 535 5.7.139` or `invalid_grant + "bad request"`.
    pub fn label(&self) -> String {
        let mut s = match self.kind {
            PatternKind::Code | PatternKind::Oauth => self.value.clone(),
            PatternKind::Smtp => format!("SMTP {}", self.value),
            PatternKind::Imap => format!("IMAP [{}]", self.value),
            PatternKind::Phrase => format!("\"{}\"", self.value),
            PatternKind::Challenge if self.value == "*" => "a login failure challenge".to_string(),
            PatternKind::Challenge => format!("challenge status {}", self.value),
        };
        for w in &self.with {
            s.push_str(&format!(" + \"{w}\""));
        }
        for w in &self.without {
            s.push_str(&format!(" without \"{w}\""));
        }
        s
    }
}

/// One known failure: how to recognise it, why it happens and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "DiagnosisEntry")]
pub struct Entry {
    /// Stable identifier (`ms-redirect-uri-mismatch`), used by other modules and in the doc's anchors.
    pub id: String,
    /// One line naming the failure.
    pub title: String,
    /// Where the error comes from.
    pub area: Area,
    /// How narrow the entry is; broader entries step aside for narrower ones.
    pub level: Level,
    /// The ways the failure is recognised in pasted text.
    pub patterns: Vec<Pattern>,
    /// The cause, in one sentence. May hold placeholders such as `{mailbox}`.
    pub cause: String,
    /// The fix, one step per item, with placeholders such as `{mailbox}` and `{client_id}`.
    pub fix: Vec<String>,
    /// Where the fix is done: console page, admin center path, PowerShell or mailoauth setting.
    pub place: String,
    /// Deep links to the page, most precise first; the first whose placeholders are all known is shown.
    pub links: Vec<String>,
    /// Whether the mailbox account must sign in again after the fix.
    pub reauthorize: bool,
    /// Entries meant to be shown together with this one when both match.
    pub also_show: Vec<String>,
    /// Broader entries this one replaces when both match (their advice would point elsewhere).
    /// Internal to matching: not part of the serialized entry.
    #[ts(skip)]
    #[serde(skip)]
    pub hides: Vec<String>,
    /// Real error texts this entry must recognise; the tests run every one of them.
    pub examples: Vec<String>,
    /// The public reference the error and its text come from, when the entry was taken from one.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// What the admin already told mailoauth, used to fill placeholders in fixes and links.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
#[ts(rename = "DiagnosisContext")]
pub struct Context {
    /// The mailbox the service signs in as, e.g. `scanner@contoso.com`.
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mailbox: Option<String>,
    /// The Microsoft Entra tenant: its ID (a GUID) or a verified domain.
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// The OAuth client ID (Microsoft Application ID or Google client ID).
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The display name of the app registration or OAuth client.
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_name: Option<String>,
    /// The redirect URI mailoauth uses for the browser sign-in.
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    /// A host that could not be reached (`login.microsoftonline.com`); `explain` finds it in
    /// the error text when it is not given.
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// What that host is for.
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_role: Option<HostRole>,
    /// The port of that host.
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

/// What went wrong while preparing a diagnosis.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiagnosisError {
    /// A context value cannot be placed safely into a console path or a PowerShell line.
    #[error("the {field} given cannot be filled into the fixes: give {fix}")]
    InvalidContext {
        /// The context field, as the admin knows it (`mailbox`, `tenant`, ...).
        field: &'static str,
        /// What a valid value looks like (the value itself is never repeated).
        fix: &'static str,
    },
}

impl Coded for DiagnosisError {
    fn code(&self) -> ErrorCode {
        match self {
            DiagnosisError::InvalidContext { .. } => ErrorCode::InvalidInput,
        }
    }
}

/// A placeholder that fixes, places and links may contain.
struct Placeholder {
    /// The name between braces in the catalog: `{mailbox}`.
    name: &'static str,
    /// What the admin reads when the value is not known.
    readable: &'static str,
    /// The context field that fills it.
    get: fn(&Context) -> Option<Cow<'_, str>>,
    /// Whether a value is safe to paste into a PowerShell line or a URL.
    valid: fn(&str) -> bool,
    /// What a valid value looks like, for the error message.
    expected: &'static str,
}

const PLACEHOLDERS: [Placeholder; 8] = [
    Placeholder {
        name: "mailbox",
        readable: "<mailbox>",
        get: |c| c.mailbox.as_deref().map(Cow::Borrowed),
        valid: valid_mailbox,
        expected: "an email address such as scanner@contoso.com",
    },
    Placeholder {
        name: "tenant",
        readable: "<tenant ID>",
        get: |c| c.tenant.as_deref().map(Cow::Borrowed),
        valid: valid_tenant,
        expected: "a tenant ID (GUID) or a domain such as contoso.onmicrosoft.com",
    },
    Placeholder {
        name: "client_id",
        readable: "<client ID>",
        get: |c| c.client_id.as_deref().map(Cow::Borrowed),
        valid: valid_client_id,
        expected: "the Application (client) ID or the Google client ID, letters, digits, '.', '-' and '_' only",
    },
    Placeholder {
        name: "app_name",
        readable: "<app name>",
        get: |c| c.app_name.as_deref().map(Cow::Borrowed),
        valid: valid_app_name,
        expected: "a display name of at most 120 characters without quotes, '$', '`', '<', '>' or braces",
    },
    Placeholder {
        name: "redirect_uri",
        readable: "<redirect URI>",
        get: |c| c.redirect_uri.as_deref().map(Cow::Borrowed),
        valid: valid_redirect_uri,
        expected: "an http:// or https:// URI without spaces or quotes",
    },
    Placeholder {
        name: "host",
        readable: "the server",
        get: |c| c.host.as_deref().map(Cow::Borrowed),
        valid: host::valid_host,
        expected: "a host name or IP address such as login.microsoftonline.com",
    },
    Placeholder {
        name: "host_role",
        readable: "server",
        get: |c| c.host_role.map(|r| Cow::Borrowed(r.label())),
        valid: |_| true,
        expected: "a host role",
    },
    Placeholder {
        name: "port",
        readable: "443",
        get: |c| c.port.map(|p| Cow::Owned(p.to_string())),
        valid: |p| p != "0",
        expected: "a TCP port from 1 to 65535",
    },
];

fn valid_mailbox(v: &str) -> bool {
    let mut parts = v.split('@');
    let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && v.len() <= 254
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "@._%+-'".contains(c))
}

fn valid_tenant(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 255
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
}

fn valid_client_id(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 255
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_')
}

fn valid_app_name(v: &str) -> bool {
    !v.trim().is_empty()
        && v.chars().count() <= 120
        && v.chars()
            .all(|c| !c.is_control() && !"\"'`$<>{}".contains(c))
}

fn valid_redirect_uri(v: &str) -> bool {
    (v.starts_with("http://") || v.starts_with("https://"))
        && v.len() <= 2048
        && v.chars()
            .all(|c| c.is_ascii_graphic() && !"\"'`<>{}\\".contains(c))
}

impl Context {
    /// Checks every value that is set, so it can be pasted into a console path, a URL or a
    /// PowerShell line without changing its meaning.
    pub fn validate(&self) -> Result<(), DiagnosisError> {
        for p in &PLACEHOLDERS {
            if let Some(v) = (p.get)(self) {
                if !(p.valid)(&v) {
                    return Err(DiagnosisError::InvalidContext {
                        field: p.name,
                        fix: p.expected,
                    });
                }
            }
        }
        Ok(())
    }

    /// Replaces every known `{placeholder}` in `text`: with the context's value when it is set
    /// and valid, otherwise with a readable stand-in such as `<mailbox>`.
    pub fn fill(&self, text: &str) -> String {
        let mut out = text.to_string();
        for p in &PLACEHOLDERS {
            let key = format!("{{{}}}", p.name);
            if out.contains(&key) {
                let value = (p.get)(self)
                    .filter(|v| (p.valid)(v))
                    .unwrap_or(Cow::Borrowed(p.readable));
                out = out.replace(&key, &value);
            }
        }
        out
    }

    /// Whether every placeholder in `text` has a valid value in this context.
    fn fills_all(&self, text: &str) -> bool {
        PLACEHOLDERS.iter().all(|p| {
            !text.contains(&format!("{{{}}}", p.name))
                || (p.get)(self).is_some_and(|v| (p.valid)(&v))
        })
    }
}

/// An entry as the admin reads it: text with the context filled in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Diagnosis {
    /// The catalog entry's id.
    pub id: String,
    /// One line naming the failure.
    pub title: String,
    /// Where the error comes from.
    pub area: Area,
    /// Why it happens, in one sentence.
    pub cause: String,
    /// What to do, one step per item, with the admin's values filled in where known.
    pub fix: Vec<String>,
    /// Where the fix is done.
    pub place: String,
    /// A deep link to that place, when there is one.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// Whether the mailbox account must sign in again after the fix.
    pub reauthorize: bool,
    /// The host that could not be reached, when the diagnosis is about one.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// What that host is for.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_role: Option<HostRole>,
}

impl Entry {
    /// The entry as the admin reads it, with `ctx` filled into every text and link.
    pub fn diagnosis(&self, ctx: &Context) -> Diagnosis {
        Diagnosis {
            id: self.id.clone(),
            title: ctx.fill(&self.title),
            area: self.area,
            cause: ctx.fill(&self.cause),
            fix: self.fix.iter().map(|s| ctx.fill(s)).collect(),
            place: ctx.fill(&self.place),
            link: self
                .links
                .iter()
                .find(|l| ctx.fills_all(l))
                .map(|l| ctx.fill(l)),
            reauthorize: self.reauthorize,
            host: self
                .mentions("host")
                .then(|| ctx.host.clone().filter(|h| host::valid_host(h)))
                .flatten(),
            host_role: self.mentions("host").then_some(ctx.host_role).flatten(),
        }
    }

    /// Whether any text of the entry holds the placeholder `{name}`.
    fn mentions(&self, name: &str) -> bool {
        let key = format!("{{{name}}}");
        [&self.title, &self.cause, &self.place]
            .into_iter()
            .chain(&self.fix)
            .any(|t| t.contains(&key))
    }
}

/// One entry the text matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "DiagnosisMatch")]
pub struct Match {
    /// The entry, with the context filled in.
    pub diagnosis: Diagnosis,
    /// The patterns that recognised it, as labels from the catalog (never text from the input).
    pub matched_by: Vec<String>,
    /// How sure the match is: an exact known error, a known kind of error, or a family match.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<MatchKind>,
    /// For a family match: the code it was matched by (`AADSTS50126`, `SMTP 5.1.1`, `IMAP [NOPERM]`).
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// For a family match: the code's own text from the input (scrubbed), so the admin reads
    /// what the server said next to what the family means.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote: Option<String>,
}

/// How sure mailoauth is of a match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "DiagnosisMatchKind")]
pub enum MatchKind {
    /// A catalog entry naming this very error (one cause).
    Exact,
    /// A catalog entry for a kind of error with several causes (`invalid_grant`, `535`).
    Known,
    /// No entry names the code: its family, from the code's structure, with the code's own text.
    Family,
}

impl MatchKind {
    /// The kind as an admin reads it.
    pub fn label(self) -> &'static str {
        match self {
            MatchKind::Exact => "exact known error",
            MatchKind::Known => "known kind of error (more than one cause is possible)",
            MatchKind::Family => "family match by the code alone",
        }
    }

    fn of(level: Level) -> Self {
        match level {
            Level::Specific => MatchKind::Exact,
            Level::Generic | Level::Fallback => MatchKind::Known,
        }
    }
}

/// Everything mailoauth can say about a pasted error text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Explanation {
    /// The entries the text matched, narrowest first, then in the order they appear in the text.
    pub matches: Vec<Match>,
    /// Login failure challenges found in the text (base64 JSON from `334`/`+` lines), decoded.
    pub decoded_challenges: Vec<DecodedChallenge>,
    /// The input as it was matched: tokens, secrets and passwords replaced by `[redacted]`.
    pub scrubbed_input: String,
    /// When nothing matched: the checks to run next. Empty when something matched.
    pub suggestions: Vec<String>,
}

/// The parsed catalog with its compiled matchers, built once.
struct Catalog {
    entries: Vec<Entry>,
    matchers: Vec<Vec<matcher::Matcher>>,
    families: Vec<Family>,
    no_match: Vec<String>,
}

const ENTRY_FILES: [(&str, &str); 6] = [
    ("microsoft.toml", include_str!("entries/microsoft.toml")),
    ("google.toml", include_str!("entries/google.toml")),
    ("oauth.toml", include_str!("entries/oauth.toml")),
    ("mail.toml", include_str!("entries/mail.toml")),
    ("network.toml", include_str!("entries/network.toml")),
    ("client.toml", include_str!("entries/client.toml")),
];

const NO_MATCH_TOML: &str = include_str!("entries/no_match.toml");

const FAMILIES_TOML: &str = include_str!("entries/families.toml");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FamilyFile {
    family: Vec<Family>,
}

/// The file format of `entries/*.toml`: snake_case keys, patterns as `{ code = "..." }` tables.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryFile {
    entry: Vec<RawEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    id: String,
    title: String,
    area: Area,
    #[serde(default)]
    level: Level,
    patterns: Vec<RawPattern>,
    cause: String,
    fix: Vec<String>,
    place: String,
    #[serde(default)]
    links: Vec<String>,
    reauthorize: bool,
    #[serde(default)]
    also_show: Vec<String>,
    #[serde(default)]
    hides: Vec<String>,
    examples: Vec<String>,
    source: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPattern {
    code: Option<String>,
    oauth: Option<String>,
    smtp: Option<String>,
    imap: Option<String>,
    phrase: Option<String>,
    challenge: Option<String>,
    #[serde(default)]
    with: Vec<String>,
    #[serde(default)]
    without: Vec<String>,
}

impl RawPattern {
    fn into_pattern(self) -> Result<Pattern, String> {
        let set: Vec<(PatternKind, String)> = [
            (PatternKind::Code, self.code),
            (PatternKind::Oauth, self.oauth),
            (PatternKind::Smtp, self.smtp),
            (PatternKind::Imap, self.imap),
            (PatternKind::Phrase, self.phrase),
            (PatternKind::Challenge, self.challenge),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect();
        match <[_; 1]>::try_from(set) {
            Ok([(kind, value)]) => Ok(Pattern {
                kind,
                value,
                with: self.with,
                without: self.without,
            }),
            Err(_) => Err(
                "a pattern needs exactly one of code, oauth, smtp, imap, phrase, challenge".into(),
            ),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoMatchFile {
    checks: Vec<String>,
}

fn load() -> Result<Catalog, String> {
    let mut entries = Vec::new();
    for (name, text) in ENTRY_FILES {
        let file: EntryFile = toml::from_str(text).map_err(|e| format!("{name}: {e}"))?;
        for raw in file.entry {
            let patterns = raw
                .patterns
                .into_iter()
                .map(RawPattern::into_pattern)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("{name}: entry {}: {e}", raw.id))?;
            entries.push(Entry {
                id: raw.id,
                title: raw.title,
                area: raw.area,
                level: raw.level,
                patterns,
                cause: raw.cause,
                fix: raw.fix,
                place: raw.place,
                links: raw.links,
                reauthorize: raw.reauthorize,
                also_show: raw.also_show,
                hides: raw.hides,
                examples: raw.examples,
                source: raw.source,
            });
        }
    }
    let matchers = entries
        .iter()
        .map(|e| {
            e.patterns
                .iter()
                .map(|p| matcher::Matcher::compile(p).map_err(|m| format!("entry {}: {m}", e.id)))
                .collect::<Result<Vec<_>, _>>()
        })
        .collect::<Result<Vec<_>, _>>()?;
    let no_match = toml::from_str::<NoMatchFile>(NO_MATCH_TOML)
        .map_err(|e| format!("no_match.toml: {e}"))?
        .checks;
    let families = toml::from_str::<FamilyFile>(FAMILIES_TOML)
        .map_err(|e| format!("families.toml: {e}"))?
        .family;
    Ok(Catalog {
        entries,
        matchers,
        families,
        no_match,
    })
}

fn compiled() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| {
        // The files are part of the binary and every entry is checked by the unit tests: a
        // failure here is a build defect, not something a user can cause or fix.
        load().unwrap_or_else(|e| panic!("embedded diagnosis catalog is invalid: {e}"))
    })
}

/// Every entry of the catalog, grouped by area in the order of [`Area::ALL`].
pub fn catalog() -> &'static [Entry] {
    &compiled().entries
}

/// The entry with this id, for code that already knows which failure it hit.
pub fn entry(id: &str) -> Option<&'static Entry> {
    catalog().iter().find(|e| e.id == id)
}

/// Every family of codes, in catalog order (Entra, SMTP, IMAP).
pub fn families() -> &'static [Family] {
    &compiled().families
}

/// The family `code` belongs to (a scheme's catch-all when no family proper fits).
pub fn family_of(code: &Code) -> Option<&'static Family> {
    family::family_of(families(), code)
}

/// The entry `id` as the admin reads it for the error `message` it was chosen for: what the
/// message says about an unreachable host (which host, what for, which port) is filled in
/// where `ctx` does not say it already. The CLI uses it for errors it knows the entry of.
pub fn diagnose(id: &str, message: &str, ctx: &Context) -> Option<Diagnosis> {
    let ctx = with_host_facts(ctx, &scrub(truncate(message, MAX_INPUT_BYTES)));
    entry(id).map(|e| e.diagnosis(&ctx))
}

/// The diagnosis of a host that could not be reached, for code that knows which host it
/// called and what for (the mail test knows its SMTP and IMAP endpoints): the token,
/// authorization and device endpoints get web advice (DNS, proxy, firewall for HTTPS), the
/// mail hosts mail advice (DNS, firewall for their port).
pub fn unreachable(facts: &HostFacts, ctx: &Context) -> Option<Diagnosis> {
    let ctx = Context {
        host: facts.host.clone().or_else(|| ctx.host.clone()),
        host_role: Some(facts.role),
        port: Some(facts.port),
        ..ctx.clone()
    };
    let id = match facts.role {
        HostRole::Smtp | HostRole::Imap => "net-mail-host-unreachable",
        _ => "net-host-unreachable",
    };
    entry(id).map(|e| e.diagnosis(&ctx))
}

/// `ctx` with the unreachable host of `scrubbed` filled in where `ctx` leaves it open.
fn with_host_facts(ctx: &Context, scrubbed: &str) -> Context {
    let mut ctx = ctx.clone();
    if let Some(f) = host::find(scrubbed) {
        if ctx.host_role.is_none() {
            ctx.host_role = Some(f.role);
        }
        if ctx.host.is_none() {
            ctx.host = f.host;
        }
        if ctx.port.is_none() {
            ctx.port = Some(f.port);
        }
    }
    ctx
}

/// The checks to suggest when a text matched nothing, with `ctx` filled in.
pub fn no_match_suggestions(ctx: &Context) -> Vec<String> {
    compiled().no_match.iter().map(|s| ctx.fill(s)).collect()
}

/// Finds every catalog entry `text` matches and explains each, with `ctx` filled into the fixes.
///
/// `text` may be anything an admin pastes: one error line, a JSON body, a log excerpt with
/// tokens in it. Only the first [`MAX_INPUT_BYTES`] are read. Secrets are removed before
/// matching, and nothing from the input except its scrubbed copy is returned.
pub fn explain(text: &str, ctx: &Context) -> Explanation {
    let text = truncate(text, MAX_INPUT_BYTES);
    let scrubbed = scrub(text);
    let ctx = &with_host_facts(ctx, &scrubbed);
    let found = challenge::find(&scrubbed);
    let hay = matcher::Haystack::new(&scrubbed, &found);
    let challenges: Vec<DecodedChallenge> = found.into_iter().map(|f| f.challenge).collect();
    let cat = compiled();

    // (entry index, first offset in the text, labels of the patterns that matched)
    let mut hits: Vec<(usize, usize, Vec<String>)> = Vec::new();
    for (i, (entry, matchers)) in cat.entries.iter().zip(&cat.matchers).enumerate() {
        let mut first = None::<usize>;
        let mut labels = Vec::new();
        for (pattern, m) in entry.patterns.iter().zip(matchers) {
            if let Some(at) = m.find(&hay) {
                first = Some(first.map_or(at, |f| f.min(at)));
                labels.push(pattern.label());
            }
        }
        if let Some(at) = first {
            hits.push((i, at, labels));
        }
    }

    let narrowest = hits.iter().map(|(i, ..)| cat.entries[*i].level).min();
    let linked = |a: &Entry, b: &Entry| a.also_show.contains(&b.id) || b.also_show.contains(&a.id);
    let mut shown: Vec<&(usize, usize, Vec<String>)> = hits
        .iter()
        .filter(|(i, ..)| {
            let e = &cat.entries[*i];
            Some(e.level) == narrowest
                || hits.iter().any(|(j, ..)| {
                    let other = &cat.entries[*j];
                    Some(other.level) == narrowest && linked(e, other)
                })
        })
        .collect();
    let hidden: Vec<&str> = shown
        .iter()
        .flat_map(|(i, ..)| cat.entries[*i].hides.iter().map(String::as_str))
        .collect();
    shown.retain(|(i, ..)| !hidden.contains(&cat.entries[*i].id.as_str()));
    shown.sort_by_key(|(i, at, _)| (cat.entries[*i].level, *at, *i));

    // Codes no entry explains get their family. An entry that matches the line a code stands in
    // already says more than the family, except a fallback, or an OAuth `error` value such as
    // `invalid_grant`, which an Entra code's family narrows down.
    let codes = family::find(
        &scrubbed,
        &matcher::error_codes(&matcher::normalize(&scrubbed)),
    );
    let mut by_family: Vec<Match> = Vec::new();
    for f in codes {
        let line = matcher::Haystack::new(&f.line, &[]);
        let covered = hits.iter().any(|(i, ..)| {
            let e = &cat.entries[*i];
            e.patterns.iter().zip(&cat.matchers[*i]).any(|(p, m)| {
                let counts = match e.level {
                    Level::Specific => true,
                    Level::Generic => p.kind != PatternKind::Oauth,
                    Level::Fallback => false,
                };
                counts && m.find(&line).is_some()
            })
        });
        if covered {
            continue;
        }
        let Some(fam) = family::family_of(&cat.families, &f.code) else {
            continue;
        };
        by_family.push(Match {
            diagnosis: fam.diagnosis(&f.code, ctx),
            matched_by: vec![f.code.label()],
            kind: Some(MatchKind::Family),
            code: Some(f.code.label()),
            quote: f.quote,
        });
    }
    // A success code (2.x.x) is news only when nothing else in the text is.
    let success = |m: &Match| m.code.as_deref().is_some_and(|c| c.starts_with("SMTP 2."));
    if !shown.is_empty() || by_family.iter().any(|m| !success(m)) {
        by_family.retain(|m| !success(m));
    }
    // A fallback entry only says that something failed; a family says what.
    if !by_family.is_empty() && narrowest == Some(Level::Fallback) {
        shown.clear();
    }

    // Exact entries first, then family matches, then entries for kinds of errors.
    let entry_match = |(i, _, labels): &(usize, usize, Vec<String>)| Match {
        diagnosis: cat.entries[*i].diagnosis(ctx),
        matched_by: labels.clone(),
        kind: Some(MatchKind::of(cat.entries[*i].level)),
        code: None,
        quote: None,
    };
    let (exact, broad): (Vec<_>, Vec<_>) = shown
        .into_iter()
        .partition(|(i, ..)| cat.entries[*i].level == Level::Specific);
    let mut matches: Vec<Match> = exact.into_iter().map(entry_match).collect();
    matches.extend(by_family);
    matches.extend(broad.into_iter().map(entry_match));
    tracing::debug!(
        matched = ?matches.iter().map(|m| m.diagnosis.id.as_str()).collect::<Vec<_>>(),
        challenges = challenges.len(),
        "explained a pasted error text"
    );
    let suggestions = if matches.is_empty() {
        no_match_suggestions(ctx)
    } else {
        Vec::new()
    };
    Explanation {
        matches,
        decoded_challenges: challenges,
        scrubbed_input: scrubbed,
        suggestions,
    }
}

/// The SASL failure challenges (`334 eyJ...`, `+ eyJ...`, or JSON a log already decoded) in a
/// server reply or a pasted text, decoded, each once, in order of appearance: the same list
/// [`explain`] returns in `decoded_challenges`, without matching the catalog. The text is cut to
/// [`MAX_INPUT_BYTES`] and scrubbed first; the challenges' `json` is scrubbed too.
pub fn decode_challenges(text: &str) -> Vec<DecodedChallenge> {
    let scrubbed = scrub(truncate(text, MAX_INPUT_BYTES));
    challenge::find(&scrubbed)
        .into_iter()
        .map(|f| f.challenge)
        .collect()
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}
