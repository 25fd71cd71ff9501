//! The Azure app manifest importer, both portal formats (classic AAD Graph and Microsoft Graph).
//! Any bytes give a report (sorted, deterministic, never empty), and the secret text or
//! certificate key of a manifest's credentials never reaches the report.

use crate::importer;

use crate::importer::SENTINEL;
use serde_json::Value;

fn mark(root: &mut Value) -> bool {
    let Some(obj) = root.as_object_mut() else {
        return false;
    };
    let mut marked = false;
    for (list, field) in [
        ("passwordCredentials", "secretText"),
        ("passwordCredentials", "value"),
        ("keyCredentials", "key"),
    ] {
        for cred in obj
            .get_mut(list)
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
            .filter_map(Value::as_object_mut)
        {
            cred.insert(field.into(), SENTINEL.into());
            marked = true;
        }
    }
    marked
}

/// One input: panics when an invariant above does not hold.
pub fn check(data: &[u8]) {
    importer::check(data, data.len() / 3 + 4, mark);
}
