//! The launchd daemon of the service (macOS): `/Library/LaunchDaemons/<label>.plist`.
//!
//! Written as text: the plist is a fixed template of a few keys whose only variable parts are
//! paths, escaped for XML here; the `plist` crate would add an XML writer and a date library to
//! the CLI for that. The test parses the result with a real plist parser.

use std::path::Path;

/// The daemon's label (reverse DNS, as launchd wants), also the plist's file stem.
pub const LABEL: &str = "app.mailoauth.service";
/// Where the plist goes (relative to the root).
pub const PLIST_DIR: &str = "Library/LaunchDaemons";
/// The support log folder of a root daemon (src/logging.rs uses the same on macOS).
pub const LOG_DIR: &str = "/Library/Logs/mailoauth";
/// Seconds launchd waits after SIGTERM before SIGKILL (its default is 20): as long as systemd's.
pub const EXIT_TIMEOUT_SECS: u64 = super::systemd::TIMEOUT_STOP_SECS;

/// The plist's file name.
pub fn file_name() -> String {
    format!("{LABEL}.plist")
}

fn xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The plist's text for the daemon that runs `binary service run --config config` as root.
pub fn plist(binary: &Path, config: &Path) -> String {
    let args = [
        binary.to_string_lossy().into_owned(),
        "service".into(),
        "run".into(),
        "--config".into(),
        config.to_string_lossy().into_owned(),
    ]
    .iter()
    .map(|a| format!("\t\t<string>{}</string>\n", xml(a)))
    .collect::<String>();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<!-- Written by `mailoauth service install`; `mailoauth service uninstall` removes it. -->
<plist version="1.0">
<dict>
	<key>Label</key>
	<string>{label}</string>
	<key>ProgramArguments</key>
	<array>
{args}	</array>
	<key>RunAtLoad</key>
	<true/>
	<key>KeepAlive</key>
	<dict>
		<key>SuccessfulExit</key>
		<false/>
	</dict>
	<key>ThrottleInterval</key>
	<integer>5</integer>
	<key>ExitTimeOut</key>
	<integer>{EXIT_TIMEOUT_SECS}</integer>
	<key>Umask</key>
	<integer>63</integer>
	<key>ProcessType</key>
	<string>Background</string>
	<key>StandardErrorPath</key>
	<string>{log}/service.err.log</string>
</dict>
</plist>
"#,
        label = xml(LABEL),
        log = xml(LOG_DIR),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn paths_are_escaped_for_xml() {
        let p = super::plist(
            std::path::Path::new("/usr/local/bin/mailoauth"),
            std::path::Path::new("/Library/Application Support/a&b<c>.toml"),
        );
        assert!(p.contains("<string>/Library/Application Support/a&amp;b&lt;c&gt;.toml</string>"));
        assert!(!p.contains("a&b"));
    }
}
