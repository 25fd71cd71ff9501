//! The Service Control Manager's entry: `mailoauth service run` started by the SCM hands its
//! main thread to the dispatcher (`windows-service`), which calls [`service_main`] on another
//! thread. Stop, Shutdown and Preshutdown ask the same [`crate::service::shutdown`] the Unix
//! signals ask, so the service finishes a refresh in flight and saves before it reports
//! Stopped. Started from a prompt instead, the dispatcher fails with
//! `ERROR_FAILED_SERVICE_CONTROLLER_CONNECT` and the caller runs in console mode.

use crate::service::{shutdown, RunOptions, ServiceError};
use std::ffi::OsString;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;
use windows_service::service::{
    ServiceControl, ServiceControlAccept, ServiceExitCode, ServiceState, ServiceStatus, ServiceType,
};
use windows_service::service_control_handler::{self, ServiceControlHandlerResult};
use windows_service::{define_windows_service, service_dispatcher};

/// The service's name, as registered (src/service/install/windows.rs).
pub const SERVICE_NAME: &str = "mailoauth";

/// How `mailoauth service run` went.
#[derive(Debug)]
pub enum Ran {
    /// The SCM started it; it has stopped, with this result.
    AsService(Result<(), ServiceError>),
    /// Not started by the SCM: run in the console.
    NotAService,
}

static OPTIONS: OnceLock<RunOptions> = OnceLock::new();
static OUTCOME: Mutex<Option<Result<(), ServiceError>>> = Mutex::new(None);

/// Offers the process to the SCM's dispatcher; blocks until the service stopped.
pub fn start(opts: RunOptions) -> Result<Ran, windows_service::Error> {
    let _ = OPTIONS.set(opts);
    match service_dispatcher::start(SERVICE_NAME, ffi_service_main) {
        Ok(()) => {
            let outcome = OUTCOME
                .lock()
                .map(|mut o| o.take())
                .unwrap_or(None)
                .unwrap_or(Ok(()));
            Ok(Ran::AsService(outcome))
        }
        Err(windows_service::Error::Winapi(e))
            if e.raw_os_error()
                == Some(
                    windows_sys::Win32::Foundation::ERROR_FAILED_SERVICE_CONTROLLER_CONNECT as i32,
                ) =>
        {
            Ok(Ran::NotAService)
        }
        Err(e) => Err(e),
    }
}

define_windows_service!(ffi_service_main, service_main);

/// What a control asks of the service.
fn on_control(control: ServiceControl) -> ServiceControlHandlerResult {
    match control {
        ServiceControl::Stop | ServiceControl::Shutdown | ServiceControl::Preshutdown => {
            shutdown::request();
            ServiceControlHandlerResult::NoError
        }
        ServiceControl::Interrogate => ServiceControlHandlerResult::NoError,
        _ => ServiceControlHandlerResult::NotImplemented,
    }
}

fn status(
    state: ServiceState,
    accept: ServiceControlAccept,
    exit: u32,
    hint: u64,
) -> ServiceStatus {
    ServiceStatus {
        service_type: ServiceType::OWN_PROCESS,
        current_state: state,
        controls_accepted: accept,
        exit_code: if exit == 0 {
            ServiceExitCode::Win32(0)
        } else {
            ServiceExitCode::ServiceSpecific(exit)
        },
        checkpoint: 0,
        wait_hint: Duration::from_secs(hint),
        process_id: None,
    }
}

/// The service's main, on the dispatcher's thread.
fn service_main(_args: Vec<OsString>) {
    let Some(opts) = OPTIONS.get().cloned() else {
        return;
    };
    let handle = match service_control_handler::register(SERVICE_NAME, on_control) {
        Ok(h) => h,
        Err(e) => {
            tracing::error!(error = %e, "cannot register the service control handler");
            return;
        }
    };
    let stop_hint = crate::service::install::systemd::TIMEOUT_STOP_SECS;
    let _ = handle.set_service_status(status(
        ServiceState::StartPending,
        ServiceControlAccept::empty(),
        0,
        30,
    ));
    let outcome = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt.block_on(async {
            let _ = handle.set_service_status(status(
                ServiceState::Running,
                ServiceControlAccept::STOP | ServiceControlAccept::PRESHUTDOWN,
                0,
                0,
            ));
            // Tell the SCM how long the stop may take once it was asked for.
            let watcher = tokio::spawn(async move {
                shutdown::token().cancelled().await;
                let _ = handle.set_service_status(status(
                    ServiceState::StopPending,
                    ServiceControlAccept::empty(),
                    0,
                    stop_hint,
                ));
            });
            let result = crate::service::run(opts).await;
            watcher.abort();
            result
        }),
        Err(e) => {
            tracing::error!(error = %e, "cannot start the async runtime");
            let _ = handle.set_service_status(status(
                ServiceState::Stopped,
                ServiceControlAccept::empty(),
                1,
                0,
            ));
            return;
        }
    };
    if let Err(e) = &outcome {
        tracing::error!(error = %e, "the service stopped with an error");
    }
    // A non-zero service-specific exit code makes the SCM run the recovery actions.
    let exit = u32::from(outcome.is_err());
    let _ = handle.set_service_status(status(
        ServiceState::Stopped,
        ServiceControlAccept::empty(),
        exit,
        0,
    ));
    if let Ok(mut slot) = OUTCOME.lock() {
        *slot = Some(outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_shutdown_and_preshutdown_ask_the_shared_shutdown() {
        assert!(matches!(
            on_control(ServiceControl::Interrogate),
            ServiceControlHandlerResult::NoError
        ));
        // (The shutdown is process-wide: another test may have asked already.)
        assert!(matches!(
            on_control(ServiceControl::Stop),
            ServiceControlHandlerResult::NoError
        ));
        assert!(shutdown::requested());
    }

    #[test]
    fn started_from_a_prompt_it_is_not_a_service() {
        // Under Wine and in a console alike, the dispatcher is refused: console mode.
        let ran = start(RunOptions {
            config: "C:\\nowhere\\mailoauth.toml".into(),
            state_dir: None,
            socket: None,
        });
        match ran {
            Ok(Ran::NotAService) => {}
            other => println!(
                "NOT CHECKED here: the dispatcher answered {other:?} instead of refusing a console process"
            ),
        }
    }
}
