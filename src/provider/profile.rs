//! Provider profiles: everything mailoauth knows about a provider's OAuth2 and mail servers, as
//! data (`profiles/<id>.toml`), behind one API the OAuth engine, the checklists and validation
//! share.

use super::template;
use super::types::{
    ClientAuth, ClientType, Cloud, Flow, MailProtocol, Purpose, SaslMechanism, Security,
};
use crate::error::{Coded, ErrorCode};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use ts_rs::TS;

/// The port of the loopback redirect when the client is a Web application, whose redirect URI must
/// be registered exactly. Desktop clients take any free port instead.
pub const DEFAULT_WEB_REDIRECT_PORT: u16 = 8400;

/// A provider profile. Get one with [`super::profile`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub(super) id: String,
    pub(super) identity_claims: Vec<String>,
    #[serde(default)]
    pub(super) hand_entered: bool,
    /// RFC 9207: whether the provider puts `iss` in its authorization responses. Every profile
    /// says it (built-in profiles are not discovered); see [`Profile::authorization_response_iss`].
    pub(super) authorization_response_iss: IssParameter,
    pub(super) tenant: Option<TenantRules>,
    pub(super) endpoints: EndpointTemplates,
    pub(super) cloud: Vec<CloudVars>,
    pub(super) flow: Vec<FlowSupport>,
    pub(super) scopes: Option<ScopeTemplates>,
    #[serde(default)]
    pub(super) auth_param: Vec<AuthParamRule>,
    pub(super) mail: Vec<MailRule>,
    #[serde(default)]
    pub(super) redirect: Vec<RedirectRule>,
}

/// What a profile says about RFC 9207's `iss` in authorization responses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum IssParameter {
    /// Every authorization response carries `iss`: one without it is refused.
    Sent,
    /// The provider does not send `iss`: its absence is accepted (a present one is checked).
    NotSent,
    /// The provider's metadata says (`authorization_response_iss_parameter_supported`), read at
    /// sign-in from the issuer's discovery document.
    Discovered,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TenantRules {
    pub(super) default: String,
    #[serde(default)]
    pub(super) specific_for: Vec<Flow>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EndpointTemplates {
    pub(super) authorization: Option<String>,
    pub(super) token: Option<String>,
    pub(super) device_authorization: Option<String>,
    pub(super) revocation: Option<String>,
    pub(super) userinfo: Option<String>,
    pub(super) issuer: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CloudVars {
    pub(super) cloud: Cloud,
    pub(super) vars: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ScopeTemplates {
    pub(super) delegated: ScopeSet,
    pub(super) app_only: ScopeSet,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ScopeSet {
    pub(super) send: Vec<String>,
    pub(super) receive: Vec<String>,
    pub(super) extra: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AuthParamRule {
    pub(super) flows: Vec<Flow>,
    pub(super) name: String,
    pub(super) value: String,
    pub(super) why: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MailRule {
    pub(super) protocol: MailProtocol,
    pub(super) host: Option<String>,
    pub(super) port: u16,
    pub(super) security: Security,
    pub(super) sasl: Vec<SaslMechanism>,
    pub(super) accepted: Vec<PortSecurity>,
    pub(super) bad: Vec<BadPortSecurity>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RedirectRule {
    pub(super) flow: Flow,
    pub(super) client_type: ClientType,
    pub(super) platform: String,
    pub(super) uri: String,
    pub(super) register: bool,
    pub(super) note: String,
}

/// Whether and how a provider supports one flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FlowSupport {
    /// The flow.
    pub flow: Flow,
    /// False when the provider cannot do it; `note` then says why and what to use instead.
    pub supported: bool,
    /// True for the one flow mailoauth suggests first.
    pub recommended: bool,
    /// The client types that work with this flow, the recommended one first.
    #[serde(alias = "client_types")]
    pub client_types: Vec<ClientType>,
    /// The ways the client may authenticate at the token endpoint, the usual one first.
    #[serde(alias = "client_auth")]
    pub client_auth: Vec<ClientAuth>,
    /// What an admin should know when choosing it, or why it is not possible.
    pub note: String,
}

/// An extra parameter the authorization request needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AuthParam {
    /// The query parameter name.
    pub name: String,
    /// Its value.
    pub value: String,
    /// What goes wrong without it.
    pub why: String,
}

/// A port and the security it is used with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PortSecurity {
    /// The TCP port.
    pub port: u16,
    /// How the connection on that port is encrypted.
    pub security: Security,
}

/// A port and security pair that is known not to work with a provider, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BadPortSecurity {
    /// The TCP port.
    pub port: u16,
    /// The security that fails on it.
    pub security: Security,
    /// What the provider does instead, in words an admin understands.
    pub why: String,
}

/// A provider's mail server for one protocol, as the wizard pre-fills it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct MailDefaults {
    /// IMAP or SMTP.
    pub protocol: MailProtocol,
    /// The server's host name; absent when the admin must enter it (generic provider).
    pub host: Option<String>,
    /// The default port.
    pub port: u16,
    /// The default security for that port.
    pub security: Security,
    /// The SASL mechanisms the server accepts for OAuth2, the preferred one first.
    pub sasl: Vec<SaslMechanism>,
    /// Every port and security pair the provider documents.
    pub accepted: Vec<PortSecurity>,
    /// Pairs that are known to fail with this provider.
    pub bad: Vec<BadPortSecurity>,
}

/// The redirect URI an admin registers for a flow and client type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct RedirectRegistration {
    /// The URI, exactly as it must be registered (or as mailoauth uses it when nothing is registered).
    pub uri: String,
    /// False when the provider needs nothing registered for it (Google Desktop app clients).
    pub register: bool,
    /// Where it is registered: the provider's name for the platform or client type.
    pub platform: String,
    /// Why it is this way.
    pub note: String,
}

/// What the wizard shows about a provider once it is chosen: flows, mail servers, identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ProfileView {
    /// The provider id.
    pub id: String,
    /// The name an admin recognises.
    pub name: String,
    /// The clouds the provider runs in.
    pub clouds: Vec<Cloud>,
    /// Every flow, supported or not, with the reason.
    pub flows: Vec<FlowSupport>,
    /// The flow mailoauth suggests first.
    pub recommended_flow: Flow,
    /// The IMAP server defaults in the chosen cloud.
    pub imap: MailDefaults,
    /// The SMTP server defaults in the chosen cloud.
    pub smtp: MailDefaults,
    /// The id_token claims that name the mailbox, the most reliable first.
    pub identity_claims: Vec<String>,
    /// True when endpoints and scopes are entered by hand or discovered.
    pub hand_entered: bool,
    /// The tenant used when none is given, for providers with tenants.
    pub default_tenant: Option<String>,
}

/// Why a profile could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    /// No profile has this id.
    #[error("provider {id:?} is not known: use one of {known}")]
    UnknownProvider {
        /// The id asked for.
        id: String,
        /// The ids that exist.
        known: String,
    },
    /// The provider cannot do this flow.
    #[error("{provider} cannot use the {flow} flow: {reason}")]
    UnsupportedFlow {
        /// The provider's name.
        provider: String,
        /// The flow asked for.
        flow: Flow,
        /// Why, and what to use instead.
        reason: String,
    },
    /// The provider has no such cloud.
    #[error("{provider} has no {cloud} cloud: choose {known}")]
    UnsupportedCloud {
        /// The provider's name.
        provider: String,
        /// The cloud asked for.
        cloud: Cloud,
        /// The clouds it has.
        known: String,
    },
    /// The tenant is not a tenant ID, a domain or one of the special names.
    #[error("tenant {tenant:?} is not a tenant ID (GUID), a verified domain, organizations, common or consumers: copy the Directory (tenant) ID from the app registration's Overview page")]
    InvalidTenant {
        /// The tenant as given.
        tenant: String,
    },
    /// An app-only flow was asked for with `organizations`/`common`/`consumers`.
    #[error("tenant {tenant:?} cannot be used with the {flow} flow: without a signed-in user Microsoft needs your own tenant; enter the Directory (tenant) ID or your verified domain")]
    TenantNotSpecific {
        /// The tenant as given.
        tenant: String,
        /// The flow asked for.
        flow: Flow,
    },
    /// A needed endpoint is neither in the profile nor in the overrides.
    #[error("the {field} endpoint is missing: enter it, or discover it from the issuer's /.well-known/openid-configuration")]
    MissingEndpoint {
        /// Which endpoint.
        field: &'static str,
    },
    /// An endpoint is not an absolute https URL.
    #[error(
        "the {field} endpoint {url:?} is not usable ({reason}): enter an absolute https:// URL"
    )]
    InvalidEndpoint {
        /// Which endpoint.
        field: &'static str,
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An `http://` endpoint that is not on this machine.
    #[error("the {field} endpoint {url:?} uses http:// to another machine, which would send codes and tokens unencrypted: use https://; http:// is accepted only for 127.0.0.1, ::1 or localhost")]
    InsecureEndpoint {
        /// Which endpoint.
        field: &'static str,
        /// The URL as given.
        url: String,
    },
    /// Scopes of a hand-entered provider cannot come from the profile.
    #[error("{provider}: the scopes are entered by hand; enter the scopes the mail server expects (often openid email offline_access plus a mail scope)")]
    ScopesByHand {
        /// The provider's name.
        provider: String,
    },
    /// Embedded data refers to a template variable the profile lacks: a build defect.
    #[error("internal error: the {provider} profile uses {{{var}}} in {template:?} without a value; please report this")]
    Template {
        /// The provider's id.
        provider: String,
        /// The template.
        template: String,
        /// The missing variable.
        var: String,
    },
}

impl Coded for ProfileError {
    fn code(&self) -> ErrorCode {
        match self {
            ProfileError::UnknownProvider { .. } => ErrorCode::NotFound,
            ProfileError::Template { .. } => ErrorCode::Internal,
            _ => ErrorCode::InvalidInput,
        }
    }
}

impl Profile {
    /// The provider id (`google`, `microsoft`, `generic`).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The name an admin recognises, from the catalog.
    pub fn name(&self) -> &str {
        super::find(&self.id).map_or(self.id.as_str(), |s| s.name.as_str())
    }

    /// True when endpoints and scopes are entered by hand or discovered (the generic provider).
    pub fn is_hand_entered(&self) -> bool {
        self.hand_entered
    }

    /// RFC 9207: `Some(true)` when the provider puts `iss` in every authorization response (a
    /// redirect without it is refused), `Some(false)` when it does not (its absence is accepted),
    /// `None` when its discovery metadata says (`authorization_response_iss_parameter_supported`).
    pub fn authorization_response_iss(&self) -> Option<bool> {
        match self.authorization_response_iss {
            IssParameter::Sent => Some(true),
            IssParameter::NotSent => Some(false),
            IssParameter::Discovered => None,
        }
    }

    /// The id_token claims that name the signed-in mailbox, the most reliable first.
    pub fn identity_claims(&self) -> &[String] {
        &self.identity_claims
    }

    /// The clouds this provider runs in.
    pub fn clouds(&self) -> Vec<Cloud> {
        self.cloud.iter().map(|c| c.cloud).collect()
    }

    /// Every flow with whether and how it is supported.
    pub fn flows(&self) -> &[FlowSupport] {
        &self.flow
    }

    /// The flow mailoauth suggests first.
    pub fn recommended_flow(&self) -> Flow {
        self.flow
            .iter()
            .find(|f| f.recommended)
            .map_or(Flow::Loopback, |f| f.flow)
    }

    /// How this provider supports `flow`, or why it cannot.
    pub fn flow_support(&self, flow: Flow) -> Result<&FlowSupport, ProfileError> {
        match self.flow.iter().find(|f| f.flow == flow) {
            Some(f) if f.supported => Ok(f),
            found => Err(ProfileError::UnsupportedFlow {
                provider: self.name().to_string(),
                flow,
                reason: found.map_or_else(|| String::from("not offered"), |f| f.note.clone()),
            }),
        }
    }

    /// The client type mailoauth suggests for `flow`.
    pub fn recommended_client_type(&self, flow: Flow) -> Option<ClientType> {
        self.flow_support(flow)
            .ok()
            .and_then(|f| f.client_types.first().copied())
    }

    /// The tenant used when none is given (`organizations` for Microsoft); `None` when the provider
    /// has no tenants.
    pub fn default_tenant(&self) -> Option<&str> {
        self.tenant.as_ref().map(|t| t.default.as_str())
    }

    /// The flows that need a specific tenant rather than `organizations`/`common`.
    pub fn flows_needing_specific_tenant(&self) -> &[Flow] {
        self.tenant
            .as_ref()
            .map_or(&[], |t| t.specific_for.as_slice())
    }

    /// The template variables of `cloud` (authority host, mail hosts, portal, ...).
    pub fn cloud_vars(&self, cloud: Cloud) -> Result<&BTreeMap<String, String>, ProfileError> {
        self.cloud
            .iter()
            .find(|c| c.cloud == cloud)
            .map(|c| &c.vars)
            .ok_or_else(|| ProfileError::UnsupportedCloud {
                provider: self.name().to_string(),
                cloud,
                known: self
                    .clouds()
                    .iter()
                    .map(|c| c.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    pub(super) fn render(
        &self,
        template: &str,
        vars: &BTreeMap<String, String>,
    ) -> Result<String, ProfileError> {
        template::render(template, |n| vars.get(n).cloned()).map_err(|var| ProfileError::Template {
            provider: self.id.clone(),
            template: template.to_string(),
            var,
        })
    }

    /// The scopes to request for `purpose` with `flow` in `cloud`, without duplicates. App-only
    /// flows get the `.default`-style scopes, delegated flows the per-protocol scopes plus what a
    /// refresh token and the identity need.
    pub fn scopes(
        &self,
        purpose: Purpose,
        flow: Flow,
        cloud: Cloud,
    ) -> Result<Vec<String>, ProfileError> {
        self.flow_support(flow)?;
        let Some(scopes) = &self.scopes else {
            return Err(ProfileError::ScopesByHand {
                provider: self.name().to_string(),
            });
        };
        let vars = self.cloud_vars(cloud)?;
        let set = if flow.is_delegated() {
            &scopes.delegated
        } else {
            &scopes.app_only
        };
        let mut wanted: Vec<&String> = Vec::new();
        if purpose.sends() {
            wanted.extend(&set.send);
        }
        if purpose.receives() {
            wanted.extend(&set.receive);
        }
        wanted.extend(&set.extra);
        let mut out: Vec<String> = Vec::new();
        for template in wanted {
            let scope = self.render(template, vars)?;
            if !out.contains(&scope) {
                out.push(scope);
            }
        }
        Ok(out)
    }

    /// Extra parameters for the authorization request of `flow` (Google: `access_type=offline`,
    /// `prompt=consent`).
    pub fn auth_params(&self, flow: Flow) -> Vec<AuthParam> {
        self.auth_param
            .iter()
            .filter(|p| p.flows.contains(&flow))
            .map(|p| AuthParam {
                name: p.name.clone(),
                value: p.value.clone(),
                why: p.why.clone(),
            })
            .collect()
    }

    /// The mail server defaults for `protocol` in `cloud`.
    pub fn mail(&self, protocol: MailProtocol, cloud: Cloud) -> Result<MailDefaults, ProfileError> {
        let vars = self.cloud_vars(cloud)?;
        let rule = self
            .mail
            .iter()
            .find(|m| m.protocol == protocol)
            .ok_or_else(|| ProfileError::Template {
                provider: self.id.clone(),
                template: String::from("[[mail]]"),
                var: protocol.as_str(),
            })?;
        let host = match &rule.host {
            Some(t) => Some(self.render(t, vars)?),
            None => None,
        };
        Ok(MailDefaults {
            protocol,
            host,
            port: rule.port,
            security: rule.security,
            sasl: rule.sasl.clone(),
            accepted: rule.accepted.clone(),
            bad: rule.bad.clone(),
        })
    }

    /// The provider as the wizard shows it, with the mail servers of `cloud`.
    pub fn view(&self, cloud: Cloud) -> Result<ProfileView, ProfileError> {
        Ok(ProfileView {
            id: self.id.clone(),
            name: self.name().to_string(),
            clouds: self.clouds(),
            flows: self.flow.clone(),
            recommended_flow: self.recommended_flow(),
            imap: self.mail(MailProtocol::Imap, cloud)?,
            smtp: self.mail(MailProtocol::Smtp, cloud)?,
            identity_claims: self.identity_claims.clone(),
            hand_entered: self.hand_entered,
            default_tenant: self.default_tenant().map(String::from),
        })
    }

    /// The redirect URI for `flow` with `client_type`, with `port` filled in where the URI has
    /// one; `None` when the flow has no redirect (device code, app-only).
    pub fn redirect(
        &self,
        flow: Flow,
        client_type: ClientType,
        port: u16,
    ) -> Option<RedirectRegistration> {
        let rule = self
            .redirect
            .iter()
            .find(|r| r.flow == flow && r.client_type == client_type)?;
        let uri = template::render_with(&rule.uri, |name| match name {
            "port" => port.to_string(),
            other => format!("{{{other}}}"),
        });
        Some(RedirectRegistration {
            uri,
            register: rule.register,
            platform: rule.platform.clone(),
            note: rule.note.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::{profile, profiles};
    use super::*;

    fn p(id: &str) -> &'static Profile {
        profile(id).expect("profile exists")
    }

    #[test]
    fn google_scopes_are_the_gmail_scope_plus_identity() {
        let g = p("google");
        let both = g
            .scopes(Purpose::Both, Flow::Loopback, Cloud::Worldwide)
            .unwrap();
        assert_eq!(both, ["https://mail.google.com/", "openid", "email"]);
        let sa = g
            .scopes(Purpose::Send, Flow::ServiceAccount, Cloud::Worldwide)
            .unwrap();
        assert_eq!(sa, ["https://mail.google.com/"]);
    }

    #[test]
    fn google_device_flow_is_refused_because_of_the_gmail_scope() {
        let err = p("google")
            .scopes(Purpose::Receive, Flow::DeviceCode, Cloud::Worldwide)
            .unwrap_err();
        assert!(matches!(
            err,
            ProfileError::UnsupportedFlow {
                flow: Flow::DeviceCode,
                ..
            }
        ));
        assert!(
            err.to_string().contains("https://mail.google.com/"),
            "{err}"
        );
        assert!(p("google").flow_support(Flow::ClientCredentials).is_err());
        assert_eq!(err.code(), ErrorCode::InvalidInput);
    }

    #[test]
    fn google_asks_for_offline_access_and_consent_on_loopback_only() {
        let params = p("google").auth_params(Flow::Loopback);
        let pairs: Vec<(&str, &str)> = params
            .iter()
            .map(|a| (a.name.as_str(), a.value.as_str()))
            .collect();
        assert_eq!(pairs, [("access_type", "offline"), ("prompt", "consent")]);
        assert!(p("google").auth_params(Flow::ServiceAccount).is_empty());
        assert!(p("microsoft").auth_params(Flow::Loopback).is_empty());
    }

    #[test]
    fn microsoft_delegated_scopes_per_cloud() {
        let m = p("microsoft");
        let expect = [
            (Cloud::Worldwide, "https://outlook.office.com"),
            (Cloud::UsGovGccHigh, "https://outlook.office365.us"),
            (Cloud::UsGovDod, "https://outlook-dod.office365.us"),
            (Cloud::China, "https://partner.outlook.cn"),
        ];
        for (cloud, resource) in expect {
            let send = m.scopes(Purpose::Send, Flow::DeviceCode, cloud).unwrap();
            assert_eq!(
                send,
                [
                    format!("{resource}/SMTP.Send"),
                    "offline_access".into(),
                    "openid".into(),
                    "email".into()
                ]
            );
            let both = m.scopes(Purpose::Both, Flow::Loopback, cloud).unwrap();
            assert_eq!(
                both[..2],
                [
                    format!("{resource}/SMTP.Send"),
                    format!("{resource}/IMAP.AccessAsUser.All")
                ]
            );
        }
    }

    #[test]
    fn microsoft_app_only_is_one_default_scope() {
        let m = p("microsoft");
        let both = m
            .scopes(Purpose::Both, Flow::ClientCredentials, Cloud::Worldwide)
            .unwrap();
        assert_eq!(both, ["https://outlook.office365.com/.default"]);
        let us = m
            .scopes(
                Purpose::Receive,
                Flow::ClientCredentials,
                Cloud::UsGovGccHigh,
            )
            .unwrap();
        assert_eq!(us, ["https://outlook.office365.us/.default"]);
        assert!(m.flow_support(Flow::Password).is_err());
        assert!(m.flow_support(Flow::ServiceAccount).is_err());
    }

    #[test]
    fn generic_scopes_are_entered_by_hand() {
        let err = p("generic")
            .scopes(Purpose::Both, Flow::Loopback, Cloud::Worldwide)
            .unwrap_err();
        assert!(matches!(err, ProfileError::ScopesByHand { .. }));
        assert!(p("generic").is_hand_entered());
    }

    #[test]
    fn mail_defaults() {
        let g = p("google");
        let imap = g.mail(MailProtocol::Imap, Cloud::Worldwide).unwrap();
        assert_eq!(
            (imap.host.as_deref(), imap.port, imap.security),
            (Some("imap.gmail.com"), 993, Security::Tls)
        );
        assert_eq!(
            imap.sasl,
            [SaslMechanism::Xoauth2, SaslMechanism::Oauthbearer]
        );
        let smtp = g.mail(MailProtocol::Smtp, Cloud::Worldwide).unwrap();
        assert_eq!(
            (smtp.host.as_deref(), smtp.port),
            (Some("smtp.gmail.com"), 587)
        );

        let m = p("microsoft");
        let hosts: Vec<(Cloud, String, String)> = Cloud::all()
            .iter()
            .map(|c| {
                let i = m.mail(MailProtocol::Imap, *c).unwrap();
                let s = m.mail(MailProtocol::Smtp, *c).unwrap();
                assert_eq!((i.port, i.security), (993, Security::Tls));
                assert_eq!((s.port, s.security), (587, Security::StartTls));
                assert_eq!(s.sasl, [SaslMechanism::Xoauth2]);
                (*c, i.host.unwrap(), s.host.unwrap())
            })
            .collect();
        assert_eq!(hosts[0].1, "outlook.office365.com");
        assert_eq!(hosts[0].2, "smtp.office365.com");
        assert_eq!(hosts[1].1, "outlook.office365.us");
        assert_eq!(hosts[2].1, "outlook-dod.office365.us");
        assert_eq!(hosts[3].2, "smtp.partner.outlook.cn");

        let generic = p("generic")
            .mail(MailProtocol::Imap, Cloud::Worldwide)
            .unwrap();
        assert_eq!(generic.host, None);
        assert!(p("google").mail(MailProtocol::Imap, Cloud::China).is_err());
    }

    #[test]
    fn redirects_per_client_type() {
        let g = p("google");
        let desktop = g
            .redirect(Flow::Loopback, ClientType::Desktop, 1234)
            .unwrap();
        assert!(!desktop.register);
        let web = g.redirect(Flow::Loopback, ClientType::Web, 8400).unwrap();
        assert_eq!(web.uri, "http://127.0.0.1:8400/");
        assert!(web.register);
        let m = p("microsoft");
        let desktop = m
            .redirect(Flow::Loopback, ClientType::Desktop, 1234)
            .unwrap();
        assert_eq!(desktop.uri, "http://localhost");
        assert_eq!(desktop.platform, "Mobile and desktop applications");
        assert!(m
            .redirect(Flow::DeviceCode, ClientType::Desktop, 1)
            .is_none());
    }

    #[test]
    fn view_for_the_wizard() {
        let v = p("microsoft").view(Cloud::China).unwrap();
        assert_eq!(v.name, "Microsoft 365");
        assert_eq!(v.recommended_flow, Flow::Loopback);
        assert_eq!(v.imap.host.as_deref(), Some("partner.outlook.cn"));
        assert_eq!(v.flows.len(), Flow::all().len());
        assert_eq!(v.default_tenant.as_deref(), Some("organizations"));
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(json["recommendedFlow"], "loopback");
        assert_eq!(json["flows"][0]["clientTypes"][0], "desktop");
        assert_eq!(json["smtp"]["security"], "start_tls");
        assert!(p("google").view(Cloud::UsGovDod).is_err());
        let decl = <ProfileView as TS>::decl(&ts_rs::Config::default());
        assert!(decl.contains("recommendedFlow: Flow"), "{decl}");
    }

    #[test]
    fn recommended_flows_and_client_types() {
        for prof in profiles() {
            assert_eq!(prof.recommended_flow(), Flow::Loopback, "{}", prof.id());
        }
        assert_eq!(
            p("google").recommended_client_type(Flow::Loopback),
            Some(ClientType::Desktop)
        );
        assert_eq!(
            p("microsoft").recommended_client_type(Flow::ClientCredentials),
            Some(ClientType::Daemon)
        );
        assert_eq!(p("microsoft").default_tenant(), Some("organizations"));
        assert_eq!(p("google").default_tenant(), None);
        assert_eq!(p("google").identity_claims(), ["email"]);
        assert_eq!(p("microsoft").identity_claims()[0], "preferred_username");
    }
}
