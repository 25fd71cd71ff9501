//! The systemd unit of the service (Linux).
//!
//! Every hardening line is one the service tolerates: it runs as root (it must read the machine
//! config, own `/run/mailoauth` and check peer credentials), writes only its state folder
//! (custody store), its runtime folder (the socket), its log folder and the status file beside
//! the config, opens TCP connections to the provider and the mail servers, and runs the admin's
//! hook command. Lines left out on purpose: `MemoryDenyWriteExecute=` (a hook written for a JIT
//! runtime would crash), `CapabilityBoundingSet=` (root needs `CAP_DAC_OVERRIDE` to hand mail to a
//! local MTA from a hook), `PrivateUsers=` and `ProtectProc=` (the peer check reads other users'
//! identities), `DynamicUser=` (the store must survive and stay root's).

use std::path::Path;

/// The unit's file name.
pub const UNIT_NAME: &str = "mailoauth.service";
/// Where the unit goes (relative to the root).
pub const UNIT_DIR: &str = "etc/systemd/system";

/// Seconds systemd waits after SIGTERM before SIGKILL: a refresh in flight may take the whole
/// HTTP time-out (30 s by default, `MAILOAUTH_HTTP_TIMEOUT_SECS`) plus the save, with room.
pub const TIMEOUT_STOP_SECS: u64 = 90;

/// What the unit names.
pub struct UnitSpec<'a> {
    /// The binary `ExecStart=` runs (absolute, on the target system).
    pub binary: &'a Path,
    /// The machine config (absolute, on the target system).
    pub config: &'a Path,
}

/// Quotes one `ExecStart=` argument the way systemd's command-line parser reads it back.
fn exec_arg(arg: &str) -> String {
    if !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@".contains(c))
    {
        return arg.to_owned();
    }
    let mut out = String::from("\"");
    for c in arg.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            // systemd expands specifiers (%) and variables ($) even inside quotes.
            '%' => out.push_str("%%"),
            '$' => out.push_str("$$"),
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Quotes one word of a path list (`ReadWritePaths=`): specifiers (%) are expanded there, but
/// not variables.
fn path_word(word: &str) -> String {
    let plain = word.replace('%', "%%");
    if !plain.is_empty() && !plain.contains([' ', '\t', '"', '\\', '\'']) {
        return plain;
    }
    format!("\"{}\"", plain.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Whether `path` lies in a folder `ProtectHome=yes` hides.
fn under_home(path: &Path) -> bool {
    ["/home", "/root", "/run/user"]
        .iter()
        .any(|h| path.starts_with(h))
}

/// The unit file's text.
pub fn unit(spec: &UnitSpec) -> String {
    let config_dir = spec.config.parent().unwrap_or(Path::new("/"));
    let exec = [
        spec.binary.to_string_lossy().into_owned(),
        "service".into(),
        "run".into(),
        "--config".into(),
        spec.config.to_string_lossy().into_owned(),
    ]
    .iter()
    .map(|a| exec_arg(a))
    .collect::<Vec<_>>()
    .join(" ");
    // A config in a home folder (unusual for a machine config) must stay readable.
    let protect_home = if under_home(spec.config) || under_home(spec.binary) {
        "read-only"
    } else {
        "yes"
    };
    format!(
        "# Written by `mailoauth service install`; `mailoauth service uninstall` removes it.
[Unit]
Description=mailoauth token service (OAuth2 tokens for mail services)
After=network-online.target
Wants=network-online.target

[Service]
# simple: the service does not send sd_notify readiness.
Type=simple
ExecStart={exec}
Restart=on-failure
RestartSec=5s
# SIGTERM: the service finishes a refresh in flight and saves, then exits.
KillSignal=SIGTERM
KillMode=mixed
TimeoutStopSec={TIMEOUT_STOP_SECS}
UMask=0077
# /run/mailoauth (socket, 0755 root), /var/lib/mailoauth (custody store, root only),
# /var/log/mailoauth (support log)
RuntimeDirectory=mailoauth
RuntimeDirectoryMode=0755
StateDirectory=mailoauth
StateDirectoryMode=0700
LogsDirectory=mailoauth
LogsDirectoryMode=0700
# Hardening: the file system is read-only but for the folders above and the status file
# beside the config (mailoauth.status.json and its lock).
ProtectSystem=strict
ReadWritePaths=/var/lib/mailoauth /run/mailoauth {config_dir}
ProtectHome={protect_home}
PrivateTmp=yes
PrivateDevices=yes
NoNewPrivileges=yes
RestrictSUIDSGID=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
LockPersonality=yes
RestrictRealtime=yes
RestrictNamespaces=yes
SystemCallArchitectures=native
# Unix: the endpoint; INET/INET6: provider and mail servers; NETLINK: getaddrinfo's AI_ADDRCONFIG.
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK

[Install]
WantedBy=multi-user.target
",
        config_dir = path_word(&format!("-{}", config_dir.display())),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_arguments_are_quoted_for_systemd() {
        assert_eq!(exec_arg("/usr/bin/mailoauth"), "/usr/bin/mailoauth");
        assert_eq!(exec_arg("/etc/my conf/a.toml"), "\"/etc/my conf/a.toml\"");
        assert_eq!(exec_arg("/x/100%$y\"z"), "\"/x/100%%$$y\\\"z\"");
    }

    #[test]
    fn path_words_are_quoted_for_systemd() {
        assert_eq!(path_word("-/etc/mailoauth"), "-/etc/mailoauth");
        assert_eq!(path_word("-/etc/mail oauth"), "\"-/etc/mail oauth\"");
        assert_eq!(path_word("-/x/5%\"$"), "\"-/x/5%%\\\"$\"");
    }

    #[test]
    fn a_config_in_a_home_folder_stays_readable() {
        let u = unit(&UnitSpec {
            binary: Path::new("/usr/local/bin/mailoauth"),
            config: Path::new("/home/admin/mailoauth.toml"),
        });
        assert!(u.contains("ProtectHome=read-only\n"), "{u}");
        assert!(u.contains("ReadWritePaths=/var/lib/mailoauth /run/mailoauth -/home/admin\n"));
        let u = unit(&UnitSpec {
            binary: Path::new("/usr/local/bin/mailoauth"),
            config: Path::new("/etc/mailoauth/mailoauth.toml"),
        });
        assert!(u.contains("ProtectHome=yes\n"), "{u}");
        assert!(u.contains(
            "ExecStart=/usr/local/bin/mailoauth service run --config /etc/mailoauth/mailoauth.toml\n"
        ));
    }
}
