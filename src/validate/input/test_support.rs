//! What the field validators' tests share.

use super::FieldReport;
pub(super) use crate::validate::{FindingCode, Severity};

pub(super) fn codes(r: &FieldReport) -> Vec<FindingCode> {
    r.findings.iter().map(|f| f.code).collect()
}

pub(super) fn has(r: &FieldReport, code: FindingCode, severity: Severity) -> bool {
    r.findings
        .iter()
        .any(|f| f.code == code && f.severity == severity)
}

pub(super) fn clean(r: &FieldReport) -> bool {
    r.findings.iter().all(|f| f.severity == Severity::Info)
}

pub(super) const GOOGLE_ID: &str =
    "123456789012-abcdefghij0123456789klmnopqrstuv.apps.googleusercontent.com";
