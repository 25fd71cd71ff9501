//! The SMTP test: greeting, EHLO and STARTTLS by hand; EHLO, AUTH, NOOP and the test message
//! through `lettre`'s connection on the same stream.

use super::stream::{MailStream, TapHandle};
use super::{reply, Endpoint, Findings, Job, ProbeError, Recorder, Step};
use crate::provider::{SaslMechanism, Security};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::AsyncSmtpConnection;
use lettre::transport::smtp::commands::{Auth, Noop, Quit};
use lettre::transport::smtp::extension::ClientId;

/// An SMTP reply: its code and all its lines.
struct Reply {
    code: u16,
    lines: Vec<String>,
}

async fn read_reply(s: &mut MailStream) -> Result<Reply, ProbeError> {
    let mut lines = Vec::new();
    loop {
        let line = s.read_line().await.map_err(io)?;
        let code = line.get(..3).and_then(|c| c.parse::<u16>().ok());
        let more = line.as_bytes().get(3) == Some(&b'-');
        let Some(code) = code else {
            return Err(ProbeError::Protocol {
                message: format!(
                    "this is not an SMTP reply: {}",
                    crate::diagnosis::scrub(&line)
                ),
            });
        };
        lines.push(line);
        if !more {
            return Ok(Reply { code, lines });
        }
    }
}

fn io(e: std::io::Error) -> ProbeError {
    ProbeError::Protocol {
        message: format!("the connection failed: {e}"),
    }
}

/// The keywords of an EHLO reply (`AUTH XOAUTH2 PLAIN`, `STARTTLS`), upper-cased.
fn ehlo_keywords(text: &str) -> Vec<String> {
    text.lines()
        .skip(1)
        .filter_map(|l| l.get(4..))
        .map(|l| l.trim().to_ascii_uppercase())
        .collect()
}

fn auth_mechanisms(keywords: &[String]) -> Vec<String> {
    keywords
        .iter()
        .filter_map(|k| k.strip_prefix("AUTH").filter(|r| r.starts_with([' ', '='])))
        .flat_map(|r| {
            r[1..]
                .split_whitespace()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

fn describe(keywords: &[String]) -> String {
    let auth = auth_mechanisms(keywords);
    format!(
        "login methods: {}{}",
        if auth.is_empty() {
            "none".to_string()
        } else {
            auth.join(" ")
        },
        if keywords.iter().any(|k| k == "STARTTLS") {
            "; STARTTLS offered"
        } else {
            ""
        }
    )
}

/// The name sent in EHLO: this machine's, as lettre would send it.
fn hello_name() -> ClientId {
    ClientId::default()
}

/// Runs the SMTP test.
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
    let greeting = rec
        .step(
            Step::Greeting,
            greeting_ms,
            || super::greeting_timeout(plain_first, port, greeting_ms),
            async {
                s.tap().mark();
                let r = read_reply(&mut s).await?;
                let text = crate::diagnosis::scrub(&r.lines.join("\n"));
                if r.code == 220 {
                    Ok((r.lines, text))
                } else {
                    Err(ProbeError::Protocol {
                        message: format!("the server refused the connection: {text}"),
                    })
                }
            },
        )
        .await?;
    let limit = job.timeouts.command_ms;
    if ep.security == Security::StartTls {
        let keywords = rec
            .step(
                Step::Capabilities,
                limit,
                || ProbeError::Timeout {
                    step: "EHLO",
                    after_ms: limit,
                },
                async {
                    s.tap().mark();
                    s.write_line(&format!("EHLO {}", hello_name()))
                        .await
                        .map_err(io)?;
                    let r = read_reply(&mut s).await?;
                    if r.code != 250 {
                        return Err(ProbeError::Protocol {
                            message: format!("EHLO was refused: {}", reply(&s.tap(), "")),
                        });
                    }
                    let kw = ehlo_keywords(&r.lines.join("\n"));
                    let d = describe(&kw);
                    Ok((kw, d))
                },
            )
            .await?;
        rec.step(
            Step::StartTls,
            limit,
            || ProbeError::Timeout {
                step: "STARTTLS",
                after_ms: limit,
            },
            async {
                if !keywords.iter().any(|k| k == "STARTTLS") {
                    return Err(ProbeError::StartTls {
                        server_reply: "STARTTLS is not in the server's EHLO reply".into(),
                    });
                }
                s.tap().mark();
                s.write_line("STARTTLS").await.map_err(io)?;
                let r = read_reply(&mut s).await?;
                if r.code == 220 {
                    Ok(((), "the server is ready for TLS".to_string()))
                } else {
                    Err(ProbeError::StartTls {
                        server_reply: reply(&s.tap(), ""),
                    })
                }
            },
        )
        .await?;
        super::handshake(&mut s, ep, job, rec, found).await?;
    }

    // lettre's connection starts by reading a greeting and sending EHLO. Its own STARTTLS and
    // TLS take only lettre's TLS parameters, which cannot pin a certificate or report the
    // version, so the probe hands over its own stream and gives the greeting back to be read.
    let mut greeting_bytes = greeting.join("\r\n").into_bytes();
    greeting_bytes.extend_from_slice(b"\r\n");
    s.unread(&greeting_bytes);
    let tap = s.tap();
    let mut conn = rec
        .step(
            Step::Capabilities,
            limit,
            || ProbeError::Timeout {
                step: "EHLO",
                after_ms: limit,
            },
            async {
                tap.mark();
                let conn = AsyncSmtpConnection::connect_with_transport(Box::new(s), &hello_name())
                    .await
                    .map_err(|e| ProbeError::Protocol {
                        message: format!("EHLO failed: {}", reply(&tap, &e.to_string())),
                    })?;
                let kw = ehlo_keywords(&tap.since_mark());
                let d = describe(&kw);
                Ok(((conn, kw), d))
            },
        )
        .await
        .map(|(conn, kw)| {
            let mechs = auth_mechanisms(&kw);
            found.offers_xoauth2 = mechs.iter().any(|m| m == "XOAUTH2");
            found.offers_oauthbearer = mechs.iter().any(|m| m == "OAUTHBEARER");
            conn
        })?;
    let mech = job.pick(found.offers_xoauth2, found.offers_oauthbearer);
    found.mechanism = Some(mech);
    let offered = match mech {
        SaslMechanism::Xoauth2 => found.offers_xoauth2,
        SaslMechanism::Oauthbearer => found.offers_oauthbearer,
    };
    rec.step(
        Step::Authenticate,
        limit,
        || ProbeError::Timeout {
            step: "AUTH",
            after_ms: limit,
        },
        async {
            tap.mark();
            let first = match mech {
                // Sent even when not advertised: the server's refusal names the reason
                // (for example "plaintext authentication disabled").
                SaslMechanism::Xoauth2 => {
                    conn.command(
                        Auth::new(
                            Mechanism::Xoauth2,
                            Credentials::new(job.mailbox.to_string(), job.token.expose().clone()),
                            None,
                        )
                        .map_err(|e| ProbeError::Protocol {
                            message: e.to_string(),
                        })?,
                    )
                    .await
                }
                // lettre has no OAUTHBEARER; only its SASL message is built here, and it goes
                // over lettre's connection like any command.
                SaslMechanism::Oauthbearer => {
                    let msg = super::imap::login_string(
                        mech,
                        job.mailbox,
                        job.token.expose(),
                        &ep.host,
                        ep.port,
                    );
                    conn.command(format!("AUTH OAUTHBEARER {}\r\n", STANDARD.encode(msg)))
                        .await
                }
            };
            let last = match first {
                Ok(r) if r.has_code(334) => {
                    // The failure challenge: answer it so the server gives its final reply.
                    let answer = STANDARD.encode(super::imap::failure_answer(mech));
                    conn.command(format!("{answer}\r\n")).await
                }
                other => other,
            };
            match last {
                Ok(r) if r.has_code(235) => Ok((
                    (),
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
                Ok(_) | Err(_) => Err(auth_error(&tap, mech)),
            }
        },
    )
    .await?;
    rec.step(
        Step::Command,
        limit,
        || ProbeError::Timeout {
            step: "NOOP",
            after_ms: limit,
        },
        async {
            tap.mark();
            match conn.command(Noop).await {
                Ok(_) => Ok(((), "NOOP answered".to_string())),
                Err(e) => Err(ProbeError::CommandFailed {
                    command: "NOOP",
                    server_reply: reply(&tap, &e.to_string()),
                }),
            }
        },
    )
    .await?;
    let outgoing = match (job.message, job.send_test_to) {
        (Some(m), _) => Some((m.to.as_str(), notice_message(job.mailbox, m))),
        (None, Some(to)) => Some((to, test_message(job.mailbox, to))),
        (None, None) => None,
    };
    if let Some((to, built)) = outgoing {
        rec.step(
            Step::SendTest,
            limit,
            || ProbeError::Timeout {
                step: "sending the test message",
                after_ms: limit,
            },
            async {
                let (envelope, body) = built?;
                tap.mark();
                match conn.send(&envelope, &body).await {
                    Ok(_) => Ok(((), format!("accepted for {to}"))),
                    Err(e) => Err(ProbeError::SendFailed {
                        server_reply: reply(&tap, &e.to_string()),
                    }),
                }
            },
        )
        .await?;
        found.test_message_sent = true;
    }
    // QUIT is a courtesy; its failure says nothing about the login.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), conn.command(Quit)).await;
    Ok(())
}

fn test_message(from: &str, to: &str) -> Result<(lettre::address::Envelope, Vec<u8>), ProbeError> {
    let bad = |field: &'static str| ProbeError::InvalidRequest {
        field,
        fix: "give one email address, e.g. it@contoso.com",
    };
    let from: lettre::message::Mailbox = from.parse().map_err(|_| bad("mailbox"))?;
    let to: lettre::message::Mailbox = to.parse().map_err(|_| bad("test message recipient"))?;
    let msg = lettre::Message::builder()
        .from(from)
        .to(to)
        .subject("mailoauth test message")
        .body(String::from(
            "This message was sent by mailoauth to test the OAuth2 login for sending mail.\r\n",
        ))
        .map_err(|e| ProbeError::Protocol {
            message: format!("the test message could not be built: {e}"),
        })?;
    Ok((msg.envelope().clone(), msg.formatted()))
}

/// The service's notice: plain text from the mailbox, to the one recipient.
fn notice_message(
    from: &str,
    m: &super::OutgoingMessage,
) -> Result<(lettre::address::Envelope, Vec<u8>), ProbeError> {
    let bad = |field: &'static str| ProbeError::InvalidRequest {
        field,
        fix: "give one email address, e.g. it@contoso.com",
    };
    let from = lettre::message::Mailbox::new(
        Some(String::from("mailoauth")),
        from.trim().parse().map_err(|_| bad("mailbox"))?,
    );
    let to: lettre::message::Mailbox = m.to.trim().parse().map_err(|_| bad("notice recipient"))?;
    let msg = lettre::Message::builder()
        .from(from)
        .to(to)
        .subject(m.subject.as_str())
        .header(lettre::message::header::ContentType::TEXT_PLAIN)
        .body(m.body.replace("\r\n", "\n").replace('\n', "\r\n"))
        .map_err(|e| ProbeError::Protocol {
            message: format!("the message could not be built: {e}"),
        })?;
    Ok((msg.envelope().clone(), msg.formatted()))
}

/// Turns a refused AUTH into the error its reply code names.
fn auth_error(tap: &TapHandle, mech: SaslMechanism) -> ProbeError {
    const CLOSED: &str = "the server closed the connection during AUTH";
    let text = reply(tap, CLOSED);
    if text == CLOSED {
        // No reply code at all: a broken-off session, not a refusal of the token.
        return ProbeError::Protocol {
            message: format!("{CLOSED} without a reply"),
        };
    }
    let last = text.lines().last().unwrap_or_default().trim().to_string();
    let code = last.get(..3).unwrap_or_default();
    let challenge = super::decode_challenge(&text);
    match code {
        "454" | "451" | "421" => ProbeError::AuthTemporary {
            server_reply: text,
            challenge,
        },
        "523" | "538" => ProbeError::LoginNeedsTls { server_reply: text },
        "530" if last.to_ascii_lowercase().contains("starttls") => {
            ProbeError::LoginNeedsTls { server_reply: text }
        }
        "504" => ProbeError::MechanismUnsupported {
            mechanism: mech.label(),
            server_reply: text,
        },
        _ => ProbeError::AuthRejected {
            server_reply: text,
            challenge,
        },
    }
}
