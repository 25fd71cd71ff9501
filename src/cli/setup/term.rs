//! What the terminal shows while a sign-in and the mail tests run: the device code large with a
//! countdown, the loopback URL to open, and the SMTP and IMAP steps as they happen. Shared by
//! `mailoauth setup` and `mailoauth reauthorize`. Everything goes to standard error, so
//! standard output carries only the result (`--json`).

use indicatif::{ProgressBar, ProgressStyle};
use mailoauth::oauth::{self, AccountAuth, FlowEvent, FlowHooks, Granted, OAuthError};
use mailoauth::probe::{self, CheckReport, CheckRequest, ProbeEvent, StepStatus};
use mailoauth::provider::Flow;
use mailoauth::secret::Secret;
use mailoauth::store::TokenStore;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Duration;

/// The loopback listener's options given on the command line.
#[derive(Debug, Clone, Default)]
pub struct Listener {
    pub ports: Vec<u16>,
    pub path: Option<String>,
    pub timeout_secs: Option<u64>,
}

/// Block letters for the device code (5 rows; `#` is drawn as a full block).
#[rustfmt::skip]
const GLYPHS: &[(char, [&str; 5])] = &[
    ('A', [" ### ", "#   #", "#####", "#   #", "#   #"]),
    ('B', ["#### ", "#   #", "#### ", "#   #", "#### "]),
    ('C', [" ####", "#    ", "#    ", "#    ", " ####"]),
    ('D', ["#### ", "#   #", "#   #", "#   #", "#### "]),
    ('E', ["#####", "#    ", "#### ", "#    ", "#####"]),
    ('F', ["#####", "#    ", "#### ", "#    ", "#    "]),
    ('G', [" ####", "#    ", "#  ##", "#   #", " ####"]),
    ('H', ["#   #", "#   #", "#####", "#   #", "#   #"]),
    ('I', ["#####", "  #  ", "  #  ", "  #  ", "#####"]),
    ('J', ["#####", "    #", "    #", "#   #", " ### "]),
    ('K', ["#   #", "#  # ", "###  ", "#  # ", "#   #"]),
    ('L', ["#    ", "#    ", "#    ", "#    ", "#####"]),
    ('M', ["#   #", "## ##", "# # #", "#   #", "#   #"]),
    ('N', ["#   #", "##  #", "# # #", "#  ##", "#   #"]),
    ('O', [" ### ", "#   #", "#   #", "#   #", " ### "]),
    ('P', ["#### ", "#   #", "#### ", "#    ", "#    "]),
    ('Q', [" ### ", "#   #", "# # #", "#  # ", " ## #"]),
    ('R', ["#### ", "#   #", "#### ", "#  # ", "#   #"]),
    ('S', [" ####", "#    ", " ### ", "    #", "#### "]),
    ('T', ["#####", "  #  ", "  #  ", "  #  ", "  #  "]),
    ('U', ["#   #", "#   #", "#   #", "#   #", " ### "]),
    ('V', ["#   #", "#   #", "#   #", " # # ", "  #  "]),
    ('W', ["#   #", "#   #", "# # #", "## ##", "#   #"]),
    ('X', ["#   #", " # # ", "  #  ", " # # ", "#   #"]),
    ('Y', ["#   #", " # # ", "  #  ", "  #  ", "  #  "]),
    ('Z', ["#####", "   # ", "  #  ", " #   ", "#####"]),
    ('0', [" ### ", "#  ##", "# # #", "##  #", " ### "]),
    ('1', ["  #  ", " ##  ", "  #  ", "  #  ", " ### "]),
    ('2', [" ### ", "#   #", "  ## ", " #   ", "#####"]),
    ('3', ["#### ", "    #", " ### ", "    #", "#### "]),
    ('4', ["#   #", "#   #", "#####", "    #", "    #"]),
    ('5', ["#####", "#    ", "#### ", "    #", "#### "]),
    ('6', [" ### ", "#    ", "#### ", "#   #", " ### "]),
    ('7', ["#####", "    #", "   # ", "  #  ", "  #  "]),
    ('8', [" ### ", "#   #", " ### ", "#   #", " ### "]),
    ('9', [" ### ", "#   #", " ####", "    #", " ### "]),
    ('-', ["     ", "     ", "#####", "     ", "     "]),
];

/// The user code in block letters, so it can be read from across the room, then as plain text
/// to copy. A code with a character the letters lack, or too long for an 80-column terminal,
/// is shown as text only.
pub fn big_code(code: &str) -> String {
    let plain = format!("  Code: {code}");
    let glyphs: Option<Vec<&[&str; 5]>> = code
        .chars()
        .map(|c| {
            GLYPHS
                .iter()
                .find(|(g, _)| *g == c.to_ascii_uppercase())
                .map(|(_, rows)| rows)
        })
        .collect();
    let Some(glyphs) = glyphs.filter(|g| !g.is_empty() && g.len() * 7 <= 78) else {
        return plain;
    };
    let mut out = String::new();
    for row in 0..5 {
        let line: Vec<String> = glyphs.iter().map(|g| g[row].replace('#', "█")).collect();
        out.push_str("  ");
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&plain);
    out
}

/// `mm:ss` of the seconds left.
pub fn mm_ss(secs: u64) -> String {
    format!("{:02}:{:02}", secs / 60, secs % 60)
}

fn spinner(template: &str) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(500));
    bar
}

/// Runs the account's own flow and stores the tokens, showing what the admin must do.
pub async fn sign_in(
    auth: &AccountAuth,
    store: &dyn TokenStore,
    listener: &Listener,
    password: Option<Secret<String>>,
) -> Result<Granted, OAuthError> {
    let bar: Mutex<Option<ProgressBar>> = Mutex::new(None);
    let set_bar = |b: Option<ProgressBar>| {
        if let Ok(mut slot) = bar.lock() {
            if let Some(old) = slot.take() {
                old.finish_and_clear();
            }
            *slot = b;
        }
    };
    let on_event = |e: FlowEvent| match e {
        FlowEvent::ListeningOn { redirect_uri } => {
            eprintln!("Waiting for the browser at {redirect_uri}");
            if let Some(port) = url::Url::parse(&redirect_uri).ok().and_then(|u| u.port()) {
                eprintln!(
                    "Signing in from another computer over SSH? Forward the port first: ssh -L {port}:127.0.0.1:{port} <this machine> (--port fixes it)."
                );
            }
        }
        FlowEvent::BrowserNotOpened { url, .. } | FlowEvent::BrowserOpened { url } => {
            eprintln!(
                "\nOpen this address in a browser (on this machine, or through an SSH tunnel to the port above) and sign in as {}:\n\n{url}\n",
                auth.mailbox
            );
            set_bar(Some(spinner(
                "{spinner} Waiting for the sign-in in the browser ...",
            )));
        }
        FlowEvent::RedirectIgnored { reason } => eprintln!("(ignored: {reason})"),
        FlowEvent::DeviceCode {
            user_code,
            verification_uri,
            verification_uri_complete,
            expires_at,
        } => {
            eprintln!(
                "\nOn any device with a browser, open\n\n  {verification_uri}\n\nand enter the code\n\n{}\n",
                big_code(&user_code)
            );
            if let Some(c) = verification_uri_complete {
                eprintln!("(or open {c})");
            }
            eprintln!("Sign in as {}.", auth.mailbox);
            let left = expires_at.saturating_sub(oauth::unix_now());
            if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
                eprintln!("The code expires in {} (mm:ss).", mm_ss(left));
            }
            let style = ProgressStyle::with_template(
                "{spinner} Waiting for the sign-in; the code expires in {left}",
            )
            .map(|s| {
                s.with_key(
                    "left",
                    move |_: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                        let _ =
                            write!(w, "{}", mm_ss(expires_at.saturating_sub(oauth::unix_now())));
                    },
                )
            });
            let b = ProgressBar::new_spinner();
            b.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            if let Ok(style) = style {
                b.set_style(style);
            }
            b.enable_steady_tick(Duration::from_millis(500));
            set_bar(Some(b));
        }
        FlowEvent::PasteRedirect { reason } => {
            set_bar(None);
            eprintln!("No loopback listener ({reason}); continuing without one.");
        }
        FlowEvent::SlowDown { interval_secs } => {
            eprintln!("(the provider asked to poll every {interval_secs} s)")
        }
        FlowEvent::Polling { .. } => {}
        FlowEvent::TokenReceived => set_bar(None),
        FlowEvent::IdentityChecked { account } => {
            set_bar(None);
            eprintln!("Signed in as {account} (the mailbox).");
        }
        FlowEvent::Stored { store } => eprintln!("Tokens saved in the {store}."),
    };
    // A server has no browser to start: the URL is printed for the admin to open.
    let open = |_: &str| Err(String::from("headless: open the URL by hand"));
    let mut hooks = FlowHooks::new(&on_event, &open);
    hooks.loopback.ports = listener.ports.clone();
    if let Some(p) = &listener.path {
        hooks.loopback.path = p.clone();
    }
    if let Some(t) = listener.timeout_secs {
        hooks.loopback.timeout = Duration::from_secs(t);
    }
    let paste = || -> Pin<Box<dyn Future<Output = Option<String>> + Send>> {
        Box::pin(async {
            eprintln!("\nAfter signing in, the browser shows a page that cannot be reached.");
            eprintln!("Copy its whole address from the address bar and paste it here:");
            tokio::task::spawn_blocking(|| {
                let mut line = String::new();
                match std::io::stdin().read_line(&mut line) {
                    Ok(n) if n > 0 && !line.trim().is_empty() => Some(line),
                    _ => None,
                }
            })
            .await
            .ok()
            .flatten()
        })
    };
    hooks.paste_redirect = Some(&paste);
    if auth.flow == Flow::Password {
        hooks.password = password;
    }
    let result = oauth::authorize_and_store(auth, store, &hooks).await;
    set_bar(None);
    result
}

/// The SMTP and IMAP tests with their steps shown as they happen.
pub async fn mail_tests(req: &CheckRequest, token: &Secret<String>, quiet: bool) -> CheckReport {
    let bar = (!quiet).then(|| spinner("{spinner} {msg}"));
    let live = |e: ProbeEvent| {
        let Some(bar) = &bar else { return };
        match e.status {
            StepStatus::Running => {
                bar.set_message(format!("{} {} ...", e.protocol.label(), e.step.label()))
            }
            StepStatus::Passed | StepStatus::Failed => bar.println(format!(
                "  {} {} {}: {}",
                e.protocol.label(),
                if e.status == StepStatus::Passed {
                    "ok  "
                } else {
                    "FAIL"
                },
                e.step.label(),
                e.detail.lines().next().unwrap_or_default()
            )),
        }
    };
    let cancel = mailoauth::oauth::CancellationToken::new();
    let report = probe::check(req, token, &live, &cancel).await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    report
}

/// The outcome of the tests as the admin reads it: one line per protocol, and for a failure the
/// server's words and the diagnosis with its numbered fix.
pub fn render_report(r: &CheckReport) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    if let Some(f) = &r.failure {
        let _ = writeln!(out, "The mail tests could not start: {}", f.message);
    }
    for p in [&r.smtp, &r.imap].into_iter().flatten() {
        let _ = writeln!(
            out,
            "{} {}:{} ({}): {}",
            p.protocol.label(),
            p.endpoint.host,
            p.endpoint.port,
            p.endpoint.security.label(),
            if p.ok { "passed" } else { "FAILED" }
        );
        if let Some(f) = &p.failure {
            if let Some(reply) = &f.server_reply {
                let _ = writeln!(out, "  server said: {}", reply.lines().next().unwrap_or(""));
            }
            match &f.diagnosis {
                Some(d) => {
                    let _ = writeln!(out, "  {} [{}]: {}", d.title, d.id, d.cause);
                    for (i, step) in d.fix.iter().enumerate() {
                        let _ = writeln!(out, "    {}. {step}", i + 1);
                    }
                }
                None => {
                    let _ = writeln!(out, "  {}", f.message);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_code_is_large_and_copyable() {
        let b = big_code("WDJB-MJHT");
        let lines: Vec<&str> = b.lines().collect();
        assert_eq!(lines.len(), 7, "{b}");
        assert_eq!(
            lines[0],
            "  █   █  ████   █████  ████          █   █  █████  █   █  █████"
        );
        assert_eq!(lines[6], "  Code: WDJB-MJHT");
        // Every character a provider uses has its letters; others fall back to text.
        for c in ('A'..='Z').chain('0'..='9').chain(['-']) {
            assert!(GLYPHS.iter().any(|(g, _)| *g == c), "{c}");
        }
        assert_eq!(big_code("ab_c"), "  Code: ab_c");
        assert_eq!(big_code("ABCDEFGHIJKLM"), "  Code: ABCDEFGHIJKLM");
        assert_eq!(mm_ss(899), "14:59");
        assert_eq!(mm_ss(0), "00:00");
    }
}
