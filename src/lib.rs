//! mailoauth: the domain core.
//!
//! Everything the desktop app and the `mailoauth` command-line tool know lives here, free of
//! Tauri, so both show the same truth and the core builds and tests without a webview.
//!
//! - [`provider`]: the mail providers mailoauth can set up (Google, Microsoft 365, generic).
//! - [`diagnosis`]: what a pasted error means and how to fix it, from the catalog of known failures.
//! - [`error`]: the error codes every front end switches on.
//! - [`secret`]: the wrapper that keeps secrets out of `Debug` and logs.
//! - [`validate`]: checks of what the admin types and imports, as findings per field.
//! - [`status`]: each account's last success and failure, recorded beside the config.
//! - [`oauth`]: the flows that get, check and refresh tokens; [`store`]: where tokens are kept.
//! - [`export`]: the same account in the formats of other consumers (msmtp, mbsync, SafeQ, env).
//! - [`account`]: the one door for an account's jobs (plan, save, token, check, status).
//! - [`config`]: the config file mailoauth writes for the mail services, written crash-safe.

pub mod account;
pub mod config;
pub mod date;
pub mod diagnosis;
pub mod error;
pub mod export;
pub mod logging;
pub mod oauth;
pub mod probe;
pub mod provider;
pub mod sandbox;
pub mod secret;
pub mod service;
pub mod status;
pub mod store;
pub mod validate;

/// The version of this build, as the CLI and the app report it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
