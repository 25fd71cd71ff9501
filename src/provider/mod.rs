//! The mail providers mailoauth knows, as data.
//!
//! The list lives in `providers.toml`, embedded at build time, so adding or rewording a provider
//! is a data change and every front end shows the same list.

use serde::{Deserialize, Serialize};
use std::sync::OnceLock;
use ts_rs::TS;

/// One provider as the first wizard screen and `mailoauth providers` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProviderSummary {
    /// Stable identifier used in config files and on the command line (`google`, `microsoft`, ...).
    pub id: String,
    /// The name an admin recognises.
    pub name: String,
    /// One sentence on what setting it up involves.
    pub summary: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    provider: Vec<ProviderSummary>,
}

const CATALOG_TOML: &str = include_str!("providers.toml");

/// Every provider, in the order the wizard offers them.
pub fn catalog() -> &'static [ProviderSummary] {
    static CATALOG: OnceLock<Vec<ProviderSummary>> = OnceLock::new();
    CATALOG.get_or_init(|| {
        // The file is part of the binary and checked by the tests below: a parse error here is a
        // build defect, not a user error.
        toml::from_str::<CatalogFile>(CATALOG_TOML)
            .expect("embedded providers.toml is valid")
            .provider
    })
}

/// The provider with this id, if mailoauth knows it.
pub fn find(id: &str) -> Option<&'static ProviderSummary> {
    catalog().iter().find(|p| p.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn catalog_offers_google_microsoft_and_generic_in_that_order() {
        let ids: Vec<&str> = catalog().iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["google", "microsoft", "generic"]);
        assert_eq!(
            find("microsoft").map(|p| p.name.as_str()),
            Some("Microsoft 365")
        );
        assert!(find("yahoo").is_none());
    }

    #[test]
    fn every_provider_has_unique_id_and_text() {
        let mut seen = HashSet::new();
        for p in catalog() {
            assert!(seen.insert(&p.id), "duplicate id {}", p.id);
            assert!(
                p.id.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
                "id {:?} must be lowercase ascii",
                p.id
            );
            assert!(!p.name.trim().is_empty() && !p.summary.trim().is_empty());
        }
    }
}
