//! The Windows side of the service (issue #16).
//!
//! - [`sddl`]: the named pipe's security descriptor, built from the accounts' readers as SDDL,
//!   and a decoder that reads it back ACE by ACE. Pure Rust, so its tests run on every platform.
//! - `dispatcher` (Windows): the Service Control Manager's entry point; Stop/Shutdown ask the
//!   same [`crate::service::shutdown`] the Unix signals do.
//! - `pipe` (Windows): the named pipe server (first instance, remote clients refused, one
//!   instance always open) and the client's check of the server's account.
//! - `eventlog` (Windows): events under the `mailoauth` source, with the message table that
//!   build.rs compiles into mailoauth.exe (messages.mc).
//! - `server` (Windows): `service run` over the pipe, the state folder's ACL.
//! - `identity` (Windows): who the client (or the server) is, from its token.

pub mod sddl;

#[cfg(windows)]
pub mod dispatcher;
#[cfg(windows)]
pub mod eventlog;
#[cfg(windows)]
pub mod identity;
#[cfg(windows)]
pub mod pipe;
#[cfg(windows)]
pub mod server;
