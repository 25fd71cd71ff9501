//! Endpoint URLs of a profile after tenant templating and overrides.
//!
//! Overrides serve sovereign clouds mailoauth does not list, a proxy in front of the provider, a
//! generic provider's hand-entered or discovered endpoints, and tests against the local peers on
//! `http://127.0.0.1:<port>`. Every URL, from the data or from an override, passes the same rule:
//! absolute, `https://`, or `http://` only to this machine.

use super::net::{self, EndpointUrlProblem};
use super::profile::{Profile, ProfileError};
use super::types::{Cloud, Flow};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;
use ts_rs::TS;

/// A Microsoft Entra tenant as it appears in endpoint paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tenant {
    /// The Directory (tenant) ID, lowercase.
    Id(String),
    /// A verified domain of the tenant, lowercase (`contoso.onmicrosoft.com`, `contoso.com`).
    Domain(String),
    /// Any work or school account.
    Organizations,
    /// Work, school and personal Microsoft accounts.
    Common,
    /// Personal Microsoft accounts only.
    Consumers,
}

impl Tenant {
    /// Parses a tenant ID, a domain or one of the special names; `None` when it is none of them.
    pub fn parse(text: &str) -> Option<Tenant> {
        let t = text.trim().trim_end_matches('.').to_ascii_lowercase();
        match t.as_str() {
            "organizations" => Some(Tenant::Organizations),
            "common" => Some(Tenant::Common),
            "consumers" => Some(Tenant::Consumers),
            _ if net::is_guid(&t) => Some(Tenant::Id(t)),
            _ if net::is_dns_name(&t, true) => Some(Tenant::Domain(t)),
            _ => None,
        }
    }

    /// True for one specific tenant (an ID or a domain) rather than a group of accounts.
    pub fn is_specific(&self) -> bool {
        matches!(self, Tenant::Id(_) | Tenant::Domain(_))
    }
}

impl fmt::Display for Tenant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tenant::Id(s) | Tenant::Domain(s) => f.write_str(s),
            Tenant::Organizations => f.write_str("organizations"),
            Tenant::Common => f.write_str("common"),
            Tenant::Consumers => f.write_str("consumers"),
        }
    }
}

/// Endpoints that replace the profile's: the engine's overrides and the config file's
/// `[account.auth.endpoints]` table alike (one struct, so the two cannot drift). Every one is
/// optional; empty strings count as absent, so a form can send them. The keys are the file's
/// `snake_case` keys everywhere (TOML, JSON, TypeScript).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(default, deny_unknown_fields)]
pub struct EndpointOverrides {
    /// Base URL replacing the profile's authority host (`https://login.microsoftonline.us`), for a
    /// cloud or proxy mailoauth does not list.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub authority: Option<String>,
    /// The authorization endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub authorization: Option<String>,
    /// The token endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub token: Option<String>,
    /// The device authorization endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub device_authorization: Option<String>,
    /// The token revocation endpoint (RFC 7009).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub revocation: Option<String>,
    /// The OpenID Connect userinfo endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub userinfo: Option<String>,
    /// The issuer the id_token must name.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub issuer: Option<String>,
}

impl EndpointOverrides {
    /// True when no endpoint is overridden (the config file then writes no table).
    pub fn is_empty(&self) -> bool {
        [
            &self.authority,
            &self.authorization,
            &self.token,
            &self.device_authorization,
            &self.revocation,
            &self.userinfo,
            &self.issuer,
        ]
        .iter()
        .all(|v| v.is_none())
    }
}

/// What the endpoints are resolved for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
pub struct EndpointContext {
    /// The cloud the account lives in.
    pub cloud: Cloud,
    /// The tenant (Microsoft): ID, verified domain, `organizations`, `common` or `consumers`;
    /// absent for the profile's default.
    pub tenant: Option<String>,
    /// The flow, when known: app-only flows need a specific tenant, and each flow needs its endpoints.
    pub flow: Option<Flow>,
    /// Endpoints entered by hand, discovered, or pointing at a local test server.
    pub overrides: EndpointOverrides,
}

/// A profile's endpoints, ready to use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Endpoints {
    /// Where the browser is sent to sign in; absent only for flows without a browser.
    pub authorization: Option<String>,
    /// Where codes, refresh tokens and assertions are exchanged for tokens.
    pub token: String,
    /// Where a device code is requested, if the provider has one.
    pub device_authorization: Option<String>,
    /// Where tokens are revoked, if the provider has one (Microsoft has none).
    pub revocation: Option<String>,
    /// The OpenID Connect userinfo endpoint, if any.
    pub userinfo: Option<String>,
    /// The issuer id_tokens must carry, when it is fixed.
    pub issuer: Option<String>,
    /// The tenant the endpoints were built for, when the provider has tenants.
    pub tenant: Option<String>,
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn checked(field: &'static str, url: &str) -> Result<String, ProfileError> {
    match net::check_endpoint_url(url) {
        Ok(_) => Ok(url.to_string()),
        Err(EndpointUrlProblem::InsecureHttp) => Err(ProfileError::InsecureEndpoint {
            field,
            url: url.to_string(),
        }),
        Err(EndpointUrlProblem::Invalid(reason)) => Err(ProfileError::InvalidEndpoint {
            field,
            url: url.to_string(),
            reason,
        }),
        Err(EndpointUrlProblem::Scheme(s)) => Err(ProfileError::InvalidEndpoint {
            field,
            url: url.to_string(),
            reason: format!("scheme {s}:// is not https://"),
        }),
        Err(EndpointUrlProblem::Fragment) => Err(ProfileError::InvalidEndpoint {
            field,
            url: url.to_string(),
            reason: String::from("an endpoint must not have a #fragment"),
        }),
    }
}

impl Profile {
    /// The tenant to use: the given one (checked) or the profile's default; `None` for providers
    /// without tenants.
    pub fn tenant(
        &self,
        given: Option<&str>,
        flow: Option<Flow>,
    ) -> Result<Option<Tenant>, ProfileError> {
        let Some(default) = self.default_tenant() else {
            return Ok(None);
        };
        let text = given
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .unwrap_or(default);
        let tenant = Tenant::parse(text).ok_or_else(|| ProfileError::InvalidTenant {
            tenant: text.to_string(),
        })?;
        if let Some(flow) = flow {
            if self.flows_needing_specific_tenant().contains(&flow) && !tenant.is_specific() {
                return Err(ProfileError::TenantNotSpecific {
                    tenant: text.to_string(),
                    flow,
                });
            }
        }
        Ok(Some(tenant))
    }

    /// The endpoints for `ctx`: templated for its cloud and tenant, then overridden, then checked.
    pub fn endpoints(&self, ctx: &EndpointContext) -> Result<Endpoints, ProfileError> {
        if let Some(flow) = ctx.flow {
            self.flow_support(flow)?;
        }
        let mut vars = self.cloud_vars(ctx.cloud)?.clone();
        let tenant = self.tenant(ctx.tenant.as_deref(), ctx.flow)?;
        if let Some(t) = &tenant {
            vars.insert(String::from("tenant"), t.to_string());
        }
        if let Some(authority) = non_empty(&ctx.overrides.authority) {
            let authority = checked("authority", authority)?;
            vars.insert(
                String::from("authority"),
                authority.trim_end_matches('/').to_string(),
            );
        }

        let o = &ctx.overrides;
        let t = &self.endpoints;
        let resolve = |field: &'static str,
                       over: &Option<String>,
                       template: &Option<String>|
         -> Result<Option<String>, ProfileError> {
            let url = match (non_empty(over), template) {
                (Some(url), _) => url.to_string(),
                (None, Some(template)) => self.render(template, &vars)?,
                (None, None) => return Ok(None),
            };
            checked(field, &url).map(Some)
        };

        let authorization = resolve("authorization", &o.authorization, &t.authorization)?;
        let token = resolve("token", &o.token, &t.token)?
            .ok_or(ProfileError::MissingEndpoint { field: "token" })?;
        let device_authorization = resolve(
            "device authorization",
            &o.device_authorization,
            &t.device_authorization,
        )?;
        let revocation = resolve("revocation", &o.revocation, &t.revocation)?;
        let userinfo = resolve("userinfo", &o.userinfo, &t.userinfo)?;
        let issuer = resolve("issuer", &o.issuer, &t.issuer)?;

        let needs_browser = ctx.flow.is_none_or(|f| f == Flow::Loopback);
        if needs_browser && authorization.is_none() {
            return Err(ProfileError::MissingEndpoint {
                field: "authorization",
            });
        }
        if ctx.flow == Some(Flow::DeviceCode) && device_authorization.is_none() {
            return Err(ProfileError::MissingEndpoint {
                field: "device authorization",
            });
        }
        Ok(Endpoints {
            authorization,
            token,
            device_authorization,
            revocation,
            userinfo,
            issuer,
            tenant: tenant.map(|t| t.to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::profile;
    use super::*;

    fn ctx(cloud: Cloud, tenant: Option<&str>, flow: Option<Flow>) -> EndpointContext {
        EndpointContext {
            cloud,
            tenant: tenant.map(String::from),
            flow,
            overrides: EndpointOverrides::default(),
        }
    }

    #[test]
    fn tenants() {
        assert_eq!(
            Tenant::parse(" 72F988BF-86F1-41AF-91AB-2D7CD011DB47 "),
            Some(Tenant::Id("72f988bf-86f1-41af-91ab-2d7cd011db47".into()))
        );
        assert_eq!(
            Tenant::parse("Contoso.onmicrosoft.com."),
            Some(Tenant::Domain("contoso.onmicrosoft.com".into()))
        );
        assert_eq!(Tenant::parse("Organizations"), Some(Tenant::Organizations));
        assert_eq!(Tenant::parse("contoso"), None);
        assert_eq!(Tenant::parse("../common"), None);
        assert_eq!(Tenant::parse("https://login.microsoftonline.com/x"), None);
        assert!(!Tenant::Common.is_specific());
    }

    #[test]
    fn google_endpoints_are_fixed() {
        let e = profile("google")
            .unwrap()
            .endpoints(&ctx(Cloud::Worldwide, Some("ignored.example"), None))
            .unwrap();
        assert_eq!(
            e.authorization.as_deref(),
            Some("https://accounts.google.com/o/oauth2/v2/auth")
        );
        assert_eq!(e.token, "https://oauth2.googleapis.com/token");
        assert_eq!(
            e.device_authorization.as_deref(),
            Some("https://oauth2.googleapis.com/device/code")
        );
        assert_eq!(
            e.revocation.as_deref(),
            Some("https://oauth2.googleapis.com/revoke")
        );
        assert_eq!(e.tenant, None);
    }

    #[test]
    fn microsoft_endpoints_per_cloud_and_tenant() {
        let m = profile("microsoft").unwrap();
        let e = m.endpoints(&ctx(Cloud::Worldwide, None, None)).unwrap();
        assert_eq!(
            e.authorization.as_deref(),
            Some("https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize")
        );
        assert_eq!(e.revocation, None);
        assert_eq!(e.tenant.as_deref(), Some("organizations"));

        let tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
        let hosts = [
            (Cloud::Worldwide, "login.microsoftonline.com"),
            (Cloud::UsGovGccHigh, "login.microsoftonline.us"),
            (Cloud::UsGovDod, "login.microsoftonline.us"),
            (Cloud::China, "login.partner.microsoftonline.cn"),
        ];
        for (cloud, host) in hosts {
            let e = m
                .endpoints(&ctx(cloud, Some(tenant), Some(Flow::DeviceCode)))
                .unwrap();
            assert_eq!(
                e.token,
                format!("https://{host}/{tenant}/oauth2/v2.0/token")
            );
            assert_eq!(
                e.device_authorization.unwrap(),
                format!("https://{host}/{tenant}/oauth2/v2.0/devicecode")
            );
        }
    }

    #[test]
    fn app_only_needs_a_specific_tenant() {
        let m = profile("microsoft").unwrap();
        for t in [None, Some("organizations"), Some("common")] {
            let err = m
                .endpoints(&ctx(Cloud::Worldwide, t, Some(Flow::ClientCredentials)))
                .unwrap_err();
            assert!(
                matches!(err, ProfileError::TenantNotSpecific { .. }),
                "{err}"
            );
        }
        assert!(m
            .endpoints(&ctx(
                Cloud::Worldwide,
                Some("contoso.onmicrosoft.com"),
                Some(Flow::ClientCredentials)
            ))
            .is_ok());
        let err = m
            .endpoints(&ctx(Cloud::Worldwide, Some("contoso"), None))
            .unwrap_err();
        assert!(matches!(err, ProfileError::InvalidTenant { .. }));
        assert!(err.to_string().contains("Directory (tenant) ID"), "{err}");
    }

    #[test]
    fn unsupported_flow_or_cloud_is_refused() {
        let g = profile("google").unwrap();
        assert!(matches!(
            g.endpoints(&ctx(Cloud::Worldwide, None, Some(Flow::DeviceCode))),
            Err(ProfileError::UnsupportedFlow { .. })
        ));
        assert!(matches!(
            g.endpoints(&ctx(Cloud::UsGovGccHigh, None, None)),
            Err(ProfileError::UnsupportedCloud { .. })
        ));
    }

    #[test]
    fn overrides_point_any_profile_at_a_local_server() {
        let local = EndpointOverrides {
            authorization: Some("http://127.0.0.1:9090/auth".into()),
            token: Some("http://127.0.0.1:9090/token".into()),
            device_authorization: Some("http://127.0.0.1:9090/device/auth".into()),
            revocation: Some("http://127.0.0.1:9090/token/revocation".into()),
            issuer: Some("http://127.0.0.1:9090".into()),
            ..Default::default()
        };
        for id in ["google", "microsoft", "generic"] {
            let mut c = ctx(Cloud::Worldwide, None, None);
            c.overrides = local.clone();
            let e = profile(id).unwrap().endpoints(&c).unwrap();
            assert_eq!(e.token, "http://127.0.0.1:9090/token", "{id}");
            assert_eq!(
                e.authorization.as_deref(),
                Some("http://127.0.0.1:9090/auth")
            );
            assert_eq!(e.issuer.as_deref(), Some("http://127.0.0.1:9090"));
        }
    }

    #[test]
    fn authority_override_keeps_the_tenant_path() {
        let mut c = ctx(Cloud::Worldwide, Some("contoso.com"), None);
        c.overrides.authority = Some("https://proxy.example.net/entra/".into());
        let e = profile("microsoft").unwrap().endpoints(&c).unwrap();
        assert_eq!(
            e.token,
            "https://proxy.example.net/entra/contoso.com/oauth2/v2.0/token"
        );
    }

    #[test]
    fn http_is_only_for_this_machine() {
        let mut c = ctx(Cloud::Worldwide, None, None);
        c.overrides.token = Some("http://idp.example.com/token".into());
        let err = profile("google").unwrap().endpoints(&c).unwrap_err();
        assert!(
            matches!(err, ProfileError::InsecureEndpoint { field: "token", .. }),
            "{err}"
        );
        c.overrides.token = Some("token".into());
        assert!(matches!(
            profile("google").unwrap().endpoints(&c),
            Err(ProfileError::InvalidEndpoint { field: "token", .. })
        ));
        c.overrides.token = Some("   ".into());
        assert!(
            profile("google").unwrap().endpoints(&c).is_ok(),
            "blank counts as absent"
        );
    }

    #[test]
    fn generic_needs_every_endpoint_its_flow_uses() {
        let g = profile("generic").unwrap();
        let err = g.endpoints(&ctx(Cloud::Worldwide, None, None)).unwrap_err();
        assert_eq!(err, ProfileError::MissingEndpoint { field: "token" });
        let mut c = ctx(Cloud::Worldwide, None, Some(Flow::ClientCredentials));
        c.overrides.token = Some("https://idp.example.com/token".into());
        let e = g.endpoints(&c).unwrap();
        assert_eq!(e.authorization, None);
        c.flow = Some(Flow::Loopback);
        assert_eq!(
            g.endpoints(&c),
            Err(ProfileError::MissingEndpoint {
                field: "authorization"
            })
        );
        c.flow = Some(Flow::DeviceCode);
        assert_eq!(
            g.endpoints(&c),
            Err(ProfileError::MissingEndpoint {
                field: "device authorization"
            })
        );
    }
}
