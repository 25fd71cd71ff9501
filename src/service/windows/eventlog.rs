//! The Windows Event Log, under the source `mailoauth` (registered by `service install`; its
//! `EventMessageFile` is mailoauth.exe, whose message table, src/service/windows/messages.mc, has
//! one message per severity that shows the event's text as written).

use std::io;
use windows_sys::Win32::System::EventLog::{
    DeregisterEventSource, RegisterEventSourceW, ReportEventW, EVENTLOG_ERROR_TYPE,
    EVENTLOG_INFORMATION_TYPE, EVENTLOG_WARNING_TYPE,
};

/// The event's severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Information.
    Info,
    /// Warning (an account needs attention soon).
    Warning,
    /// Error (an account needs re-authorization, the store cannot be written).
    Error,
}

impl Level {
    /// The message id in the message table (severity bits included, as windmc writes them).
    pub fn event_id(self) -> u32 {
        match self {
            Level::Info => 0x4000_0001,
            Level::Warning => 0x8000_0002,
            Level::Error => 0xC000_0003,
        }
    }
}

/// Writes one event with `text` as its only insertion string.
pub fn report(level: Level, text: &str) -> io::Result<()> {
    let source: Vec<u16> = "mailoauth"
        .encode_utf16()
        .chain(std::iter::once(0))
        .collect();
    let text: Vec<u16> = text.encode_utf16().chain(std::iter::once(0)).collect();
    // SAFETY: a NUL-terminated source name; the handle is deregistered below.
    let handle = unsafe { RegisterEventSourceW(std::ptr::null(), source.as_ptr()) };
    if handle.is_null() {
        return Err(io::Error::last_os_error());
    }
    let kind = match level {
        Level::Info => EVENTLOG_INFORMATION_TYPE,
        Level::Warning => EVENTLOG_WARNING_TYPE,
        Level::Error => EVENTLOG_ERROR_TYPE,
    };
    let strings = [text.as_ptr()];
    // SAFETY: one NUL-terminated insertion string, no raw data.
    let ok = unsafe {
        ReportEventW(
            handle,
            kind,
            0,
            level.event_id(),
            std::ptr::null_mut(),
            1,
            0,
            strings.as_ptr(),
            std::ptr::null(),
        )
    };
    let result = if ok == 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    };
    // SAFETY: registered above.
    unsafe { DeregisterEventSource(handle) };
    result
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_event_is_written_under_the_source() {
        // Wine accepts the call and keeps nothing (it has no Event Log service): what a real
        // Windows run proves is that the event shows in the Application log with its text.
        match super::report(super::Level::Info, "mailoauth test event") {
            Ok(()) => {}
            Err(e) => panic!("ReportEventW: {e}"),
        }
    }
}
