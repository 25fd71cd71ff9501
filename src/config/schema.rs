//! The JSON Schema of the config file, and schemas for the provider enums it uses.
//!
//! The provider enums live in `crate::provider` and know nothing of schemars; their schemas are
//! built here from their own value lists so they can never drift from what serde accepts.

use super::types::Config;
use crate::provider::{ClientAuth, Cloud, Flow, Purpose, SaslMechanism, Security};
use schemars::{json_schema, Schema, SchemaGenerator};

/// The JSON Schema of the config file (draft 2020-12), as `docs/config.schema.json` holds it.
pub fn config_schema() -> serde_json::Value {
    let schema = schemars::schema_for!(Config);
    let mut value = schema.to_value();
    if let Some(obj) = value.as_object_mut() {
        obj.insert(
            "$id".into(),
            serde_json::Value::String(
                "https://example.invalid/mailoauth/config.schema.json".into(),
            ),
        );
        obj.insert(
            "title".into(),
            serde_json::Value::String("mailoauth config file, format version 1".into()),
        );
    }
    value
}

/// The schema as pretty JSON with a final newline, byte for byte what `docs/` holds.
pub fn config_schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&config_schema()).unwrap_or_default();
    text.push('\n');
    text
}

fn string_enum(values: Vec<String>, description: &str) -> Schema {
    json_schema!({ "type": "string", "enum": values, "description": description })
}

macro_rules! enum_schema {
    ($fn:ident, $ty:ty, $desc:literal) => {
        pub(super) fn $fn(_: &mut SchemaGenerator) -> Schema {
            string_enum(<$ty>::all().iter().map(|v| v.as_str()).collect(), $desc)
        }
    };
}

enum_schema!(
    purpose,
    Purpose,
    "What the service does: send, receive or both."
);
enum_schema!(security, Security, "How the connection is encrypted.");
enum_schema!(
    sasl,
    SaslMechanism,
    "The SASL mechanism carrying the token."
);
enum_schema!(cloud, Cloud, "The provider's cloud.");
enum_schema!(
    client_auth,
    ClientAuth,
    "How the client proves itself at the token endpoint."
);
enum_schema!(flow, Flow, "How tokens are obtained.");
