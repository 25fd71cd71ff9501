//! The mail providers mailoauth knows, as data.
//!
//! The list lives in `providers.toml`, embedded at build time, so adding or rewording a provider
//! is a data change and every front end shows the same list. Each provider has a [`Profile`]
//! (`profiles/<id>.toml`): endpoints, scopes, mail servers and flows, which the OAuth engine, the
//! registration [`checklist`]s and [`crate::validate`] all read.

pub mod checklist;
pub mod discovery;
mod endpoints;
pub mod net;
mod profile;
mod template;
mod types;

pub use endpoints::{EndpointContext, EndpointOverrides, Endpoints, Tenant};
pub use profile::{
    AuthParam, BadPortSecurity, FlowSupport, MailDefaults, PortSecurity, Profile, ProfileError,
    ProfileView, RedirectRegistration, DEFAULT_WEB_REDIRECT_PORT,
};
pub use types::{
    ClientAuth, ClientType, Cloud, Flow, MailProtocol, Purpose, SaslMechanism, Security,
};

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

/// The provider id the wizard uses for the sandbox's local test server.
pub const SANDBOX_PROVIDER: &str = "sandbox";

/// The provider profile the sandbox's accounts use (its local provider is a generic OpenID one).
pub const SANDBOX_PROFILE: &str = "generic";

/// The provider profile of a wizard provider id: the sandbox's is [`SANDBOX_PROFILE`], the
/// others are their own.
pub fn profile_id(provider: &str) -> &str {
    if provider == SANDBOX_PROVIDER {
        SANDBOX_PROFILE
    } else {
        provider
    }
}

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

const PROFILE_TOMLS: [(&str, &str); 3] = [
    ("google", include_str!("profiles/google.toml")),
    ("microsoft", include_str!("profiles/microsoft.toml")),
    ("generic", include_str!("profiles/generic.toml")),
];

/// Every provider profile, in catalog order.
pub fn profiles() -> &'static [Profile] {
    static PROFILES: OnceLock<Vec<Profile>> = OnceLock::new();
    PROFILES.get_or_init(|| {
        // Embedded and checked by the tests below: a parse error is a build defect.
        PROFILE_TOMLS
            .iter()
            .map(|(name, text)| {
                toml::from_str::<Profile>(text)
                    .unwrap_or_else(|e| panic!("embedded profiles/{name}.toml is invalid: {e}"))
            })
            .collect()
    })
}

/// The profile of provider `id`, if mailoauth knows it.
pub fn profile(id: &str) -> Option<&'static Profile> {
    profiles().iter().find(|p| p.id() == id)
}

/// The profile of provider `id`, or an error that lists the known ids.
pub fn require_profile(id: &str) -> Result<&'static Profile, ProfileError> {
    let wanted = id.trim().to_ascii_lowercase();
    profile(&wanted).ok_or_else(|| ProfileError::UnknownProvider {
        id: id.to_string(),
        known: catalog()
            .iter()
            .map(|p| p.id.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    })
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

    #[test]
    fn every_catalog_entry_has_exactly_one_profile() {
        let catalog_ids: Vec<&str> = catalog().iter().map(|p| p.id.as_str()).collect();
        let profile_ids: Vec<&str> = profiles().iter().map(|p| p.id()).collect();
        assert_eq!(catalog_ids, profile_ids);
        for (name, _) in PROFILE_TOMLS {
            assert_eq!(profile(name).map(Profile::id), Some(name));
        }
        assert!(matches!(
            require_profile("yahoo"),
            Err(ProfileError::UnknownProvider { .. })
        ));
        assert_eq!(require_profile(" Google ").map(Profile::id), Ok("google"));
    }

    #[test]
    fn every_profile_lists_every_flow_once_with_a_reason() {
        for p in profiles() {
            for flow in Flow::all() {
                let entries: Vec<&FlowSupport> =
                    p.flows().iter().filter(|f| f.flow == *flow).collect();
                assert_eq!(
                    entries.len(),
                    1,
                    "{} lists {flow} {} times",
                    p.id(),
                    entries.len()
                );
                let f = entries[0];
                assert!(
                    f.note.len() > 20,
                    "{} {flow}: the note must explain",
                    p.id()
                );
                if f.supported {
                    assert!(
                        !f.client_types.is_empty() && !f.client_auth.is_empty(),
                        "{} {flow}",
                        p.id()
                    );
                    if flow.is_delegated() {
                        assert!(
                            !f.client_types.contains(&ClientType::Daemon),
                            "{} {flow}",
                            p.id()
                        );
                    } else {
                        assert_eq!(f.client_types, [ClientType::Daemon], "{} {flow}", p.id());
                    }
                } else {
                    assert!(!f.recommended, "{} recommends unsupported {flow}", p.id());
                }
            }
            let recommended = p.flows().iter().filter(|f| f.recommended).count();
            assert_eq!(recommended, 1, "{} must recommend exactly one flow", p.id());
        }
    }

    #[test]
    fn every_template_renders_in_every_cloud_and_every_url_is_https() {
        for p in profiles() {
            assert!(!p.clouds().is_empty(), "{}", p.id());
            assert!(!p.identity_claims().is_empty(), "{}", p.id());
            for cloud in p.clouds() {
                let ctx = EndpointContext {
                    cloud,
                    tenant: None,
                    flow: None,
                    overrides: EndpointOverrides {
                        // The generic profile has no endpoints of its own.
                        token: p
                            .is_hand_entered()
                            .then(|| "https://idp.example/token".into()),
                        authorization: p
                            .is_hand_entered()
                            .then(|| "https://idp.example/auth".into()),
                        ..Default::default()
                    },
                };
                let e = p
                    .endpoints(&ctx)
                    .unwrap_or_else(|e| panic!("{} {cloud}: {e}", p.id()));
                for url in [
                    Some(&e.token),
                    e.authorization.as_ref(),
                    e.device_authorization.as_ref(),
                    e.revocation.as_ref(),
                    e.userinfo.as_ref(),
                    e.issuer.as_ref(),
                ]
                .into_iter()
                .flatten()
                {
                    assert!(url.starts_with("https://"), "{} {cloud}: {url}", p.id());
                }
                for proto in MailProtocol::all() {
                    let m = p
                        .mail(*proto, cloud)
                        .unwrap_or_else(|e| panic!("{} {cloud}: {e}", p.id()));
                    assert!(!m.sasl.is_empty());
                    assert!(
                        m.accepted.contains(&PortSecurity {
                            port: m.port,
                            security: m.security
                        }),
                        "{} {proto}: the default must be accepted",
                        p.id()
                    );
                    for bad in &m.bad {
                        assert!(!m
                            .accepted
                            .iter()
                            .any(|a| a.port == bad.port && a.security == bad.security));
                        assert!(!bad.why.is_empty());
                    }
                    if let Some(host) = &m.host {
                        assert!(net::is_dns_name(host, true), "{} {cloud}: {host}", p.id());
                    }
                }
                for f in p.flows().iter().filter(|f| f.supported) {
                    for purpose in Purpose::all() {
                        match p.scopes(*purpose, f.flow, cloud) {
                            Ok(scopes) => assert!(!scopes.is_empty()),
                            Err(ProfileError::ScopesByHand { .. }) => assert!(p.is_hand_entered()),
                            Err(e) => panic!("{} {cloud} {}: {e}", p.id(), f.flow),
                        }
                    }
                    for ct in &f.client_types {
                        if let Some(r) = p.redirect(f.flow, *ct, DEFAULT_WEB_REDIRECT_PORT) {
                            assert!(!r.uri.contains('{'), "{}: {}", p.id(), r.uri);
                            assert!(
                                r.uri.starts_with("http://127.0.0.1")
                                    || r.uri.starts_with("http://localhost")
                            );
                        }
                    }
                }
            }
        }
    }
}
