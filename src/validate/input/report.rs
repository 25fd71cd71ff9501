//! What every field validator shares: the report it returns, and the cleaning of a pasted value
//! (spaces, line breaks, invisible characters, quotes) that each one starts with.

use super::label;
use crate::secret::Secret;
use crate::validate::{has_errors, Finding, FindingCode};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// A field's cleaned value and what validation found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct FieldReport {
    /// The field.
    pub field: String,
    /// The value after cleaning and repair; absent for secrets, which never leave the core.
    pub normalized: Option<String>,
    /// What validation found, errors first.
    pub findings: Vec<Finding>,
}

impl FieldReport {
    pub(super) fn new(field: &str, normalized: Option<String>, mut findings: Vec<Finding>) -> Self {
        findings.sort_by_key(|f| f.severity);
        FieldReport {
            field: field.to_string(),
            normalized,
            findings,
        }
    }

    /// True when no finding is an error.
    pub fn is_ok(&self) -> bool {
        !has_errors(&self.findings)
    }
}

/// A secret field's cleaned value (still wrapped) and what validation found.
#[derive(Debug, Clone)]
pub struct SecretReport {
    /// The cleaned secret.
    pub value: Secret<String>,
    /// What validation found; no finding contains the secret.
    pub findings: Vec<Finding>,
}

/// A pasted value after cleaning, with findings that say what was cleaned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Normalized {
    /// The cleaned value.
    pub value: String,
    /// What was removed.
    pub findings: Vec<Finding>,
}

fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200b}'..='\u{200d}' | '\u{2060}' | '\u{feff}' | '\u{00ad}'
    )
}

const QUOTE_PAIRS: [(char, char); 8] = [
    ('"', '"'),
    ('\'', '\''),
    ('`', '`'),
    ('\u{201c}', '\u{201d}'),
    ('\u{2018}', '\u{2019}'),
    ('\u{201e}', '\u{201c}'),
    ('\u{ab}', '\u{bb}'),
    ('<', '>'),
];

/// Trims spaces, line breaks and invisible characters and removes surrounding quotes, saying so.
/// With `secret`, the findings do not carry the cleaned value.
pub fn normalize(field: &str, raw: &str, secret: bool) -> Normalized {
    let visible: String = raw
        .chars()
        .filter(|c| !is_invisible(*c))
        .map(|c| if c == '\u{a0}' { ' ' } else { c })
        .collect();
    let trimmed = visible.trim().to_string();
    let mut value = trimmed.clone();
    let mut dequoted = false;
    // `<...>` is only a quote around a whole URL or address someone copied from a mail.
    loop {
        let inner = QUOTE_PAIRS.iter().find_map(|(open, close)| {
            let rest = value.strip_prefix(*open)?.strip_suffix(*close)?;
            (*open != '<' || !rest.contains(['<', '>'])).then(|| rest.trim().to_string())
        });
        match inner {
            Some(inner) => {
                value = inner;
                dequoted = true;
            }
            None => break,
        }
    }
    let name = label(field);
    let mut findings = Vec::new();
    let with_value = |f: Finding, v: &str| if secret { f } else { f.normalized(v) };
    if trimmed != raw {
        findings.push(with_value(
            Finding::info(
                field,
                FindingCode::Trimmed,
                format!("{name}: removed spaces, line breaks or invisible characters around the pasted value."),
                "Nothing to do: mailoauth uses the cleaned value.",
            ),
            &value,
        ));
    }
    if dequoted {
        findings.push(with_value(
            Finding::info(
                field,
                FindingCode::Dequoted,
                format!("{name}: removed the quotes around the pasted value."),
                "Nothing to do: mailoauth uses the value without quotes.",
            ),
            &value,
        ));
    }
    Normalized { value, findings }
}

pub(super) fn empty(field: &str, where_from: &str) -> Finding {
    Finding::error(
        field,
        FindingCode::Empty,
        format!("{} is empty.", label(field)),
        where_from.to_string(),
    )
}
