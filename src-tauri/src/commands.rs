//! The commands the UI invokes. Each is short: DTO in, one core call, out a value or an
//! [`IpcError`](crate::error::IpcError) `{code, message, diagnosis?, reauthorize}` (core errors
//! convert with `?`).

use crate::error::CmdResult;
use mailoauth::diagnosis::{self, Context as DiagnosisContext, Explanation};
use mailoauth::provider::checklist::{self, Checklist, ChecklistContext};
use mailoauth::provider::{self, Cloud, ProfileView, ProviderSummary};
use mailoauth::sandbox;
use mailoauth::validate::{self, FieldContext, FieldKind, FieldReport, PortSecurityInput};

/// The providers the first wizard screen offers, from the core's catalog (and the local test
/// server in sandbox mode).
#[tauri::command]
pub async fn list_providers(
    state: tauri::State<'_, crate::flows::AppState>,
) -> CmdResult<Vec<ProviderSummary>> {
    Ok(providers(&state))
}

/// The catalog, then the sandbox's own entry when the app runs with usable test servers.
pub(crate) fn providers(state: &crate::flows::AppState) -> Vec<ProviderSummary> {
    let mut list = provider::catalog().to_vec();
    if matches!(state.sandbox, Some(Ok(_))) {
        list.push(sandbox::provider_summary());
    }
    list
}

/// What the wizard needs to know of one provider in one cloud: flows, defaults, clouds (for
/// the sandbox: the generic profile with the test provider's flows).
#[tauri::command]
pub async fn profile_view(provider: String, cloud: Cloud) -> CmdResult<ProfileView> {
    if provider == mailoauth::provider::SANDBOX_PROVIDER {
        return Ok(sandbox::profile_view(cloud)?);
    }
    Ok(provider::require_profile(&provider)?.view(cloud)?)
}

/// The registration steps for this provider, flow and client type, with values filled in.
#[tauri::command]
pub async fn registration_checklist(
    provider: String,
    context: ChecklistContext,
) -> CmdResult<Checklist> {
    Ok(checklist::checklist(&provider, &context)?)
}

/// Checks one field as the admin types it.
#[tauri::command]
pub async fn validate_field(
    kind: FieldKind,
    value: String,
    context: FieldContext,
) -> CmdResult<FieldReport> {
    Ok(validate::validate_field(
        kind,
        &value,
        &profile_context(context),
    ))
}

/// Checks a mail server's port and security as the admin edits them (with the host: security
/// `none` is refused for anything but this machine, the same rule as the loader and the tests).
#[tauri::command]
pub async fn validate_server(
    input: PortSecurityInput,
    context: FieldContext,
) -> CmdResult<FieldReport> {
    Ok(validate::validate_port_security(
        &input,
        &profile_context(context),
    ))
}

/// The wizard's provider id (the sandbox's too) as the profile the rules are written for.
fn profile_context(mut context: FieldContext) -> FieldContext {
    context.provider = context
        .provider
        .map(|p| mailoauth::provider::profile_id(&p).to_string());
    context
}

/// The troubleshooter: every known failure the pasted text matches, with cause and fix.
/// Only the scrubbed text comes back; the pasted text is not kept or logged.
#[tauri::command]
pub async fn explain_error(text: String, context: DiagnosisContext) -> CmdResult<Explanation> {
    context.validate()?;
    Ok(diagnosis::explain(&text, &context))
}
