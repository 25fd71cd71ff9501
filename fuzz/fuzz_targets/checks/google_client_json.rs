//! The Google importers: the OAuth client JSON (`installed`/`web`) and the service account key.
//! Any bytes give a report (sorted, deterministic, never empty) and the client secret or the
//! private key of a file never reaches the report.

use crate::importer;

use crate::importer::SENTINEL;
use serde_json::Value;

fn mark(root: &mut Value) -> bool {
    let Some(obj) = root.as_object_mut() else {
        return false;
    };
    let mut marked = false;
    for key in ["installed", "web"] {
        if let Some(client) = obj.get_mut(key).and_then(Value::as_object_mut) {
            client.insert("client_secret".into(), SENTINEL.into());
            marked = true;
        }
    }
    if obj.contains_key("private_key")
        || obj.get("type").and_then(Value::as_str) == Some("service_account")
    {
        obj.insert(
            "private_key".into(),
            format!("-----BEGIN PRIVATE KEY-----\n{SENTINEL}\n-----END PRIVATE KEY-----\n").into(),
        );
        marked = true;
    }
    marked
}

/// One input: panics when an invariant above does not hold.
pub fn check(data: &[u8]) {
    importer::check(data, data.len(), mark);
}
