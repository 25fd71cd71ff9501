//! Mailing the admin's notices (`[service] notify_mail`): through another account the service
//! holds, over that account's SMTP server with XOAUTH2/OAUTHBEARER and its current token.
//!
//! There is one SMTP client in mailoauth: the probe's ([`crate::probe::send_message`], the same
//! login and the same diagnoses as the account checks, through `lettre`). This module only
//! decides whether a notice may be sent and bounds the send in time; the engine gives it the
//! sending account's token from its own custody.
//!
//! Rules: a notice about the sending account itself is never sent through it (its failure is
//! the news), nor through a sending account that is itself not working; the log and the hook
//! still tell, and the log says why no mail went out. A send takes at most [`MAIL_TIMEOUT`]; a
//! failure is logged with its diagnosis and holds up nothing else.

use super::notify::MailNotice;
use crate::config::Account;
use crate::secret::Secret;
use std::time::Duration;

/// How long one notice may take to send, the token included (the hook's bound too).
pub const MAIL_TIMEOUT: Duration = super::notify::HOOK_TIMEOUT;

/// Why a notice was not mailed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotSent {
    /// Scrubbed text: why, and what to do.
    pub message: String,
    /// The diagnosis catalog id, when the SMTP login or send failed with one.
    pub diagnosis: Option<String>,
}

impl NotSent {
    /// A refusal before any connection.
    pub fn because(message: impl Into<String>) -> Self {
        NotSent {
            message: crate::diagnosis::scrub(&message.into()),
            diagnosis: None,
        }
    }
}

/// What the engine knows of the sending account when a notice is to go out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via<'a> {
    /// Held by the service and working.
    Working,
    /// Held by the service but failing: why (scrubbed).
    NotWorking(&'a str),
    /// Not an account the service holds (the config changed since the check at load).
    NotHeld,
}

/// Whether `notice` may be sent through its `via` account, given that account's state: never
/// through the account the notice is about, never through one that is not working.
pub fn may_send(notice: &MailNotice, via: Via<'_>) -> Result<(), NotSent> {
    if notice.via == notice.account {
        return Err(NotSent::because(format!(
            "[service] notify_mail.via is account {:?}, the account this notice is about: a notice is never sent through the account it is about",
            notice.account
        )));
    }
    match via {
        Via::Working => Ok(()),
        Via::NotWorking(why) => Err(NotSent::because(format!(
            "the account it is sent through ([service] notify_mail.via = {:?}) is not working itself: {why}",
            notice.via
        ))),
        Via::NotHeld => Err(NotSent::because(format!(
            "[service] notify_mail.via names {:?}, which is not an account the service holds (token_store = \"service\" with an [account.smtp] table)",
            notice.via
        ))),
    }
}

/// Sends `notice` from `via`'s mailbox with `token`, over `via`'s SMTP server, within `bound`.
pub async fn send(
    via: &Account,
    token: &Secret<String>,
    notice: &MailNotice,
    bound: Duration,
) -> Result<(), NotSent> {
    let mut req = crate::account::convert::check_request(via)
        .map_err(|e| NotSent::because(format!("account {:?}: {e}", via.name)))?;
    if req.smtp.is_none() {
        return Err(NotSent::because(format!(
            "account {:?} has no [account.smtp] table to send through",
            via.name
        )));
    }
    // The whole send shares one bound: each step's own limit is cut to it.
    let ms = u32::try_from(bound.as_millis()).unwrap_or(u32::MAX);
    let t = &mut req.timeouts;
    for limit in [
        &mut t.connect_ms,
        &mut t.greeting_ms,
        &mut t.tls_ms,
        &mut t.command_ms,
    ] {
        *limit = (*limit).min(ms).max(1);
    }
    let message = crate::probe::OutgoingMessage {
        to: notice.to.clone(),
        subject: notice.subject.clone(),
        body: notice.body.clone(),
    };
    let cancel = crate::oauth::CancellationToken::new();
    let report = match tokio::time::timeout(
        bound,
        crate::probe::send_message(&req, token, &message, &cancel),
    )
    .await
    {
        Ok(r) => r,
        Err(_) => {
            return Err(NotSent::because(format!(
                "the mail was not sent within {} s",
                bound.as_secs()
            )))
        }
    };
    if report.ok {
        return Ok(());
    }
    let failure = report
        .failure
        .as_ref()
        .or_else(|| report.smtp.as_ref().and_then(|r| r.failure.as_ref()));
    Err(NotSent {
        message: crate::diagnosis::scrub(&failure.map_or_else(
            || String::from("the SMTP server did not take the mail"),
            |f| {
                let step = match f.step {
                    crate::probe::Step::SendTest => "sending the notice",
                    other => other.label(),
                };
                format!("{step}: {}", f.message)
            },
        )),
        diagnosis: failure.and_then(|f| f.diagnosis.as_ref().map(|d| d.id.clone())),
    })
}

/// Logs that `notice` was not mailed, and why.
pub fn log_not_sent(notice: &MailNotice, why: &NotSent) {
    tracing::warn!(
        account = %notice.account,
        state = notice.state,
        via = %notice.via,
        diagnosis = why.diagnosis.as_deref().unwrap_or("-"),
        "the notice mail to the admin could not be sent (the log and the hook still tell): {}",
        why.message
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(account: &str, via: &str) -> MailNotice {
        MailNotice {
            to: "admin@example.org".into(),
            via: via.into(),
            account: account.into(),
            state: "needs_reauthorization",
            subject: "s".into(),
            body: "b".into(),
        }
    }

    #[test]
    fn never_through_the_account_it_is_about_nor_a_failing_one() {
        let why = may_send(&notice("print", "print"), Via::Working).unwrap_err();
        assert!(
            why.message.contains("the account this notice is about"),
            "{why:?}"
        );
        let why = may_send(
            &notice("print", "relay"),
            Via::NotWorking("the grant was revoked"),
        )
        .unwrap_err();
        assert!(
            why.message.contains("not working itself") && why.message.contains("revoked"),
            "{why:?}"
        );
        assert!(may_send(&notice("print", "relay"), Via::NotHeld).is_err());
        assert_eq!(may_send(&notice("print", "relay"), Via::Working), Ok(()));
    }
}
