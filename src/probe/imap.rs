//! The IMAP test: greeting, CAPABILITY, STARTTLS by hand; AUTHENTICATE, NAMESPACE and EXAMINE
//! through `async-imap`.

use super::stream::{MailStream, TapHandle};
use super::{reply, Endpoint, Findings, Job, ProbeError, Recorder, Step};
use crate::provider::{SaslMechanism, Security};

/// The login string of XOAUTH2 or OAUTHBEARER; answers a failure challenge as RFC 7628 asks,
/// so the server sends its final NO instead of waiting.
struct Login {
    first: Option<Vec<u8>>,
    failure_answer: Vec<u8>,
}

impl async_imap::Authenticator for &mut Login {
    type Response = Vec<u8>;
    fn process(&mut self, _challenge: &[u8]) -> Vec<u8> {
        // The challenge itself is read back from the tap, where it is kept with its NO line.
        self.first
            .take()
            .unwrap_or_else(|| self.failure_answer.clone())
    }
}

/// The initial client response of `mech` for `user`.
pub(crate) fn login_string(
    mech: SaslMechanism,
    user: &str,
    token: &str,
    host: &str,
    port: u16,
) -> Vec<u8> {
    match mech {
        SaslMechanism::Xoauth2 => {
            format!("user={user}\x01auth=Bearer {token}\x01\x01").into_bytes()
        }
        SaslMechanism::Oauthbearer => {
            format!("n,a={user},\x01host={host}\x01port={port}\x01auth=Bearer {token}\x01\x01")
                .into_bytes()
        }
    }
}

/// What a client answers to a failure challenge: empty for XOAUTH2, `%x01` for OAUTHBEARER.
pub(crate) fn failure_answer(mech: SaslMechanism) -> Vec<u8> {
    match mech {
        SaslMechanism::Xoauth2 => Vec::new(),
        SaslMechanism::Oauthbearer => vec![1],
    }
}

/// Sends `tag command` and reads through the tagged answer; returns the untagged lines and the
/// tagged line.
async fn command(
    s: &mut MailStream,
    tag: &str,
    cmd: &str,
) -> Result<(Vec<String>, String), ProbeError> {
    s.tap().mark();
    s.write_line(&format!("{tag} {cmd}")).await.map_err(io)?;
    let mut untagged = Vec::new();
    loop {
        let line = s.read_line().await.map_err(io)?;
        if let Some(rest) = line.strip_prefix(&format!("{tag} ")) {
            return Ok((untagged, rest.to_string()));
        }
        untagged.push(line);
    }
}

fn io(e: std::io::Error) -> ProbeError {
    ProbeError::Protocol {
        message: format!("the connection failed: {e}"),
    }
}

fn capabilities(untagged: &[String]) -> Vec<String> {
    untagged
        .iter()
        .filter_map(|l| {
            let up = l.to_ascii_uppercase();
            up.strip_prefix("* CAPABILITY ").map(str::to_string)
        })
        .flat_map(|l| l.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .collect()
}

async fn capability_step(
    s: &mut MailStream,
    tag: &str,
    job: &Job<'_>,
    rec: &mut Recorder<'_>,
) -> Result<Vec<String>, ProbeError> {
    let limit = job.timeouts.command_ms;
    rec.step(
        Step::Capabilities,
        limit,
        || ProbeError::Timeout {
            step: "CAPABILITY",
            after_ms: limit,
        },
        async {
            let (untagged, done) = command(s, tag, "CAPABILITY").await?;
            if !done.to_ascii_uppercase().starts_with("OK") {
                return Err(ProbeError::Protocol {
                    message: format!("CAPABILITY failed: {}", reply(&s.tap(), &done)),
                });
            }
            let caps = capabilities(&untagged);
            let auth: Vec<&str> = caps
                .iter()
                .filter_map(|c| c.strip_prefix("AUTH="))
                .collect();
            let detail = format!(
                "login methods: {}{}{}",
                if auth.is_empty() {
                    "none".to_string()
                } else {
                    auth.join(" ")
                },
                if caps.iter().any(|c| c == "STARTTLS") {
                    "; STARTTLS offered"
                } else {
                    ""
                },
                if caps.iter().any(|c| c == "LOGINDISABLED") {
                    "; LOGINDISABLED"
                } else {
                    ""
                },
            );
            Ok((caps, detail))
        },
    )
    .await
}

/// Runs the IMAP test.
pub(crate) async fn run(
    ep: &Endpoint,
    job: &Job<'_>,
    rec: &mut Recorder<'_>,
    found: &mut Findings,
) -> Result<(), ProbeError> {
    let mut s = super::resolve_and_connect(ep, job, rec, found).await?;
    if ep.security == Security::Tls {
        super::handshake(&mut s, ep, job, rec, found).await?;
    }
    let greeting_ms = job.timeouts.greeting_ms;
    let port = ep.port;
    let plain_first = ep.security != Security::Tls;
    rec.step(
        Step::Greeting,
        greeting_ms,
        || super::greeting_timeout(plain_first, port, greeting_ms),
        async {
            let line = s.read_line().await.map_err(io)?;
            let up = line.to_ascii_uppercase();
            if up.starts_with("* OK") || up.starts_with("* PREAUTH") {
                Ok(((), greeting_detail(&line)))
            } else if up.starts_with("* BYE") {
                Err(ProbeError::Protocol {
                    message: format!(
                        "the server refused the connection: {}",
                        crate::diagnosis::scrub(&line)
                    ),
                })
            } else {
                Err(ProbeError::Protocol {
                    message: format!(
                        "this is not an IMAP server's greeting: {}",
                        crate::diagnosis::scrub(&line)
                    ),
                })
            }
        },
    )
    .await?;
    let mut caps = capability_step(&mut s, "C1", job, rec).await?;
    if ep.security == Security::StartTls {
        let limit = job.timeouts.command_ms;
        let offered = caps.iter().any(|c| c == "STARTTLS");
        rec.step(
            Step::StartTls,
            limit,
            || ProbeError::Timeout {
                step: "STARTTLS",
                after_ms: limit,
            },
            async {
                if !offered {
                    return Err(ProbeError::StartTls {
                        server_reply: "STARTTLS is not in the server's capabilities".into(),
                    });
                }
                let (_, done) = command(&mut s, "S1", "STARTTLS").await?;
                if done.to_ascii_uppercase().starts_with("OK") {
                    Ok(((), "the server is ready for TLS".to_string()))
                } else {
                    Err(ProbeError::StartTls {
                        server_reply: reply(&s.tap(), &done),
                    })
                }
            },
        )
        .await?;
        super::handshake(&mut s, ep, job, rec, found).await?;
        caps = capability_step(&mut s, "C2", job, rec).await?;
    }
    found.offers_xoauth2 = caps.iter().any(|c| c == "AUTH=XOAUTH2");
    found.offers_oauthbearer = caps.iter().any(|c| c == "AUTH=OAUTHBEARER");
    let mech = job.pick(found.offers_xoauth2, found.offers_oauthbearer);
    found.mechanism = Some(mech);
    let offered = match mech {
        SaslMechanism::Xoauth2 => found.offers_xoauth2,
        SaslMechanism::Oauthbearer => found.offers_oauthbearer,
    };

    let tap = s.tap();
    let client = async_imap::Client::new(s);
    let mut login = Login {
        first: Some(login_string(
            mech,
            job.mailbox,
            job.token.expose(),
            &ep.host,
            ep.port,
        )),
        failure_answer: failure_answer(mech),
    };
    let limit = job.timeouts.command_ms;
    let mut session = rec
        .step(
            Step::Authenticate,
            limit,
            || ProbeError::Timeout {
                step: "AUTHENTICATE",
                after_ms: limit,
            },
            async {
                tap.mark();
                match client.authenticate(mech.label(), &mut login).await {
                    Ok(session) => Ok((
                        session,
                        format!(
                            "logged in as {} with {}{}",
                            job.mailbox,
                            mech.label(),
                            if offered {
                                ""
                            } else {
                                " (not advertised, but accepted)"
                            }
                        ),
                    )),
                    Err((e, _)) => Err(auth_error(&tap, mech, &e)),
                }
            },
        )
        .await?;

    rec.step(
        Step::Command,
        limit,
        || ProbeError::Timeout {
            step: "NAMESPACE",
            after_ms: limit,
        },
        async {
            // async-imap cannot parse NAMESPACE answers, so this one command is spoken by hand
            // on the same stream, between two of its commands.
            let (untagged, done) = command(session.as_mut(), "N1", "NAMESPACE").await?;
            if done.to_ascii_uppercase().starts_with("OK") {
                let ns = untagged
                    .iter()
                    .find(|l| l.to_ascii_uppercase().starts_with("* NAMESPACE"))
                    .map_or("NAMESPACE answered".to_string(), |l| l[2..].to_string());
                Ok(((), ns))
            } else {
                Err(ProbeError::CommandFailed {
                    command: "NAMESPACE",
                    server_reply: refusal(&reply(&tap, &done), None),
                })
            }
        },
    )
    .await?;
    let count = rec
        .step(
            Step::Mailbox,
            limit,
            || ProbeError::Timeout {
                step: "EXAMINE INBOX",
                after_ms: limit,
            },
            async {
                tap.mark();
                match session.examine("INBOX").await {
                    Ok(mb) => Ok((mb.exists, format!("INBOX holds {} messages", mb.exists))),
                    Err(e) => Err(ProbeError::CommandFailed {
                        command: "EXAMINE INBOX",
                        server_reply: refusal(&reply(&tap, &e.to_string()), None),
                    }),
                }
            },
        )
        .await?;
    found.inbox_messages = Some(count);
    // LOGOUT is a courtesy; its failure says nothing about the login.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), session.logout()).await;
    Ok(())
}

/// Turns a failed AUTHENTICATE into the error its tagged answer names.
fn auth_error(tap: &TapHandle, mech: SaslMechanism, e: &async_imap::error::Error) -> ProbeError {
    if tap.since_mark().is_empty() {
        // Not a word after AUTHENTICATE: a broken-off session, not a refusal of the token.
        return ProbeError::Protocol {
            message: format!(
                "the server closed the connection during AUTHENTICATE without a reply ({})",
                crate::diagnosis::scrub(&e.to_string())
            ),
        };
    }
    let exchange = reply(tap, &e.to_string());
    let challenge = super::decode_challenge(&exchange);
    let text = refusal(&exchange, challenge.as_deref());
    let up = text.to_ascii_uppercase();
    if up.contains("[UNAVAILABLE]") {
        ProbeError::AuthTemporary {
            server_reply: text,
            challenge,
        }
    } else if up.contains("[PRIVACYREQUIRED]") || up.contains("PLAINTEXT AUTHENTICATION DISALLOWED")
    {
        ProbeError::LoginNeedsTls { server_reply: text }
    } else if up.contains("UNSUPPORTED AUTHENTICATION MECHANISM")
        || (up.contains(" BAD ") && challenge.is_none())
    {
        ProbeError::MechanismUnsupported {
            mechanism: mech.label(),
            server_reply: text,
        }
    } else {
        ProbeError::AuthRejected {
            server_reply: text,
            challenge,
        }
    }
}

/// The server's greeting as the step shows it. The greeting comes before any credential is
/// sent, so the server's own tag at its end (Exchange Online's `[TQBOADIAUABS...]`, which names
/// the server that answered) is no secret and is kept as it is for the admin and for support;
/// the rest of the line is scrubbed like any server text.
fn greeting_detail(line: &str) -> String {
    let line = line.trim_end();
    if let Some(open) = line.rfind(" [") {
        let tag = &line[open + 2..];
        if let Some(inner) = tag.strip_suffix(']') {
            let plain = !inner.is_empty()
                && inner.len() <= 200
                && inner
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+/=._:-".contains(&b));
            if plain {
                return format!("{} [{inner}]", crate::diagnosis::scrub(&line[..open]));
            }
        }
    }
    crate::diagnosis::scrub(line)
}

/// The refusal as the failed step quotes it: the server's tagged NO or BAD line, not the SASL
/// continuation (`+ eyJ...`) before it; the continuation's decoded JSON follows in brackets so
/// the diagnosis still sees what the server said about the token.
fn refusal(exchange: &str, challenge: Option<&crate::diagnosis::DecodedChallenge>) -> String {
    let tagged = exchange.lines().rev().map(str::trim).find(|l| {
        let mut words = l.split_whitespace();
        let (Some(tag), Some(status)) = (words.next(), words.next()) else {
            return false;
        };
        tag != "+"
            && tag != "*"
            && matches!(status.to_ascii_uppercase().as_str(), "NO" | "BAD" | "OK")
    });
    match (tagged, challenge) {
        (Some(line), Some(c)) => format!("{line} (the server's challenge: {})", challenge_json(c)),
        (Some(line), None) => line.to_string(),
        (None, _) => exchange.to_string(),
    }
}

/// The decoded challenge as JSON with `status` first, the way products log it decoded, so
/// `explain` reads it again from the quoted refusal.
fn challenge_json(c: &crate::diagnosis::DecodedChallenge) -> String {
    let fields = [
        ("status", &c.status),
        ("schemes", &c.schemes),
        ("scope", &c.scope),
    ];
    let parts: Vec<String> = fields
        .iter()
        .filter_map(|(k, v)| {
            v.as_deref()
                .map(|v| format!("\"{k}\":{}", serde_json::Value::from(v)))
        })
        .collect();
    format!("{{{}}}", parts.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refusal_quotes_the_tagged_line_not_the_continuation() {
        // Dovecot's answer to a rejected OAUTHBEARER token (tests/peers), as the tap records it.
        let exchange = "+ eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIiwic2NoZW1lcyI6ImJlYXJlciIsInNjb3BlIjoibWFpbCJ9\na1 NO [AUTHENTICATIONFAILED] Authentication failed.";
        let challenge = crate::probe::decode_challenge(exchange);
        let text = refusal(exchange, challenge.as_deref());
        assert!(
            text.starts_with("a1 NO [AUTHENTICATIONFAILED] Authentication failed."),
            "{text}"
        );
        assert!(!text.contains("eyJzdGF0"), "{text}");
        assert!(text.contains(r#""status":"invalid_token""#), "{text}");
        // The diagnosis still sees the challenge.
        let x = crate::diagnosis::explain(&text, &Default::default());
        assert_eq!(x.matches[0].diagnosis.id, "mail-token-rejected");
        // Gmail's wording (Gmail's IMAP answer to a bad XOAUTH2 token).
        let gmail = "+ eyJzdGF0dXMiOiI0MDAiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ==\nA1 NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)";
        let c = crate::probe::decode_challenge(gmail);
        assert!(refusal(gmail, c.as_deref())
            .starts_with("A1 NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)"));
        // A BAD without a challenge stays as the server wrote it.
        assert_eq!(
            refusal("A3 BAD User is authenticated but not connected.", None),
            "A3 BAD User is authenticated but not connected."
        );
    }

    #[test]
    fn the_greeting_keeps_the_server_tag() {
        // Exchange Online's greeting: the tag is base64 of the answering server's name.
        let line = "* OK The Microsoft Exchange IMAP4 service is ready. [TQBOADIAUABSADAANgBDAEEAMAAwADEANgAuAG4AYQBtAHAAcgBkADAANgAuAHAAcgBvAGQALgBvAHUAdABsAG8AbwBrAC4AYwBvAG0A]";
        assert_eq!(greeting_detail(line), line);
        // Scrubbing the whole line, as the step did, took the tag for a secret.
        assert_ne!(crate::diagnosis::scrub(line), line);
        // Dovecot's greeting is unchanged as well.
        let dovecot = "* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN AUTH=XOAUTH2] Dovecot ready.";
        assert_eq!(greeting_detail(dovecot), dovecot);
    }
}
