//! The service's wire protocol: each frame is a 4-byte big-endian length, then that many bytes
//! of UTF-8 JSON, at most [`MAX_FRAME`]. Every request carries `"v"` and `"op"`; every answer
//! `{"v":1,"ok":...}` or `{"v":1,"error":{"code","message","diagnosis","reauthorize"}}`.
//! A version the peer does not speak gets an error naming both versions.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The protocol version this build speaks.
pub const VERSION: u32 = 1;
/// The largest frame either side accepts (64 KiB).
pub const MAX_FRAME: usize = 64 * 1024;

/// A request, after decoding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// The versions each side speaks.
    Hello,
    /// The access token of `account`.
    Token {
        /// The account's name in the config.
        account: String,
    },
    /// The mail server rejected the token of `account` with `reply`.
    Report {
        /// The account's name.
        account: String,
        /// What the mail server answered (scrubbed before it is logged).
        reply: String,
    },
    /// Refresh `account` now.
    Refresh {
        /// The account's name.
        account: String,
    },
    /// Every account the caller may see.
    Status,
    /// Managers: take these tokens into custody for `account`.
    PutTokens {
        /// The account's name.
        account: String,
        /// The token set in mailoauth's stored JSON form.
        tokens: String,
    },
    /// Managers: check `account` now (a forced refresh, then the mail logins). Answer:
    /// `{account, expires_at, report}`, or `{account, report, failure}` when a login failed
    /// (`report`: the mail login's report, as `mailoauth check` prints it; `failure`: an error
    /// body); a failed refresh is an error answer.
    Check {
        /// The account's name.
        account: String,
    },
    /// Managers: read the config again.
    Reload,
    /// Managers: add or replace one account held by the service in the machine config (a
    /// non-root admin's wizard, which cannot write that file). `account_toml` is a config text
    /// with exactly one `[[account]]` and no `[service]` table; the service checks it with the
    /// loader's own code, refuses what only root may set, writes the file atomically and reloads.
    SaveAccount {
        /// The account as config text (`version = 1` and one `[[account]]`).
        account_toml: String,
    },
    /// Managers: take the account's client secret, private key (private_key_jwt) or Google
    /// service account key into custody (its config says `client_secret = "service"`). The
    /// answer never echoes it, and no op reads it back: only the service uses it.
    PutSecret {
        /// The account's name.
        account: String,
        /// What the secret is; checked against the account's config.
        kind: SecretKind,
        /// The secret itself (Debug prints `[redacted]`).
        #[serde(serialize_with = "expose_secret")]
        value: crate::secret::Secret<String>,
    },
}

/// What a secret handed to the service is (all three live in the config's `client_secret`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretKind {
    /// A client secret (`client_secret_basic` / `client_secret_post`).
    ClientSecret,
    /// A PEM private key (`private_key_jwt`).
    PrivateKey,
    /// A Google service account key (JSON; `flow = "service_account"`).
    ServiceAccountKey,
}

impl SecretKind {
    /// The kind `auth` needs, if it needs a secret at all.
    pub fn of(
        flow: crate::provider::Flow,
        client_auth: crate::provider::ClientAuth,
    ) -> Option<SecretKind> {
        use crate::provider::{ClientAuth, Flow};
        if flow == Flow::ServiceAccount {
            return Some(SecretKind::ServiceAccountKey);
        }
        match client_auth {
            ClientAuth::None => None,
            ClientAuth::ClientSecretBasic | ClientAuth::ClientSecretPost => {
                Some(SecretKind::ClientSecret)
            }
            ClientAuth::PrivateKeyJwt => Some(SecretKind::PrivateKey),
        }
    }

    /// For a person.
    pub fn describe(self) -> &'static str {
        match self {
            SecretKind::ClientSecret => "client secret",
            SecretKind::PrivateKey => "private key",
            SecretKind::ServiceAccountKey => "service account key",
        }
    }
}

/// Serializes a secret for the one frame that carries it to the service.
fn expose_secret<S: serde::Serializer>(
    value: &crate::secret::Secret<String>,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_str(value.expose())
}

/// Why a frame could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// The length prefix is above [`MAX_FRAME`].
    #[error("the request is {len} bytes; the mailoauth service accepts at most {MAX_FRAME}")]
    TooLarge {
        /// The announced length.
        len: usize,
    },
    /// Not JSON, not an object, or not a request this version knows.
    #[error("malformed request: {detail}")]
    Malformed {
        /// What did not parse (never the content).
        detail: String,
    },
    /// Another protocol version.
    #[error("protocol version {theirs} is not spoken here: this mailoauth speaks version {ours}; use the same mailoauth version for the command and the service")]
    Version {
        /// The version the peer sent.
        theirs: u64,
        /// Ours.
        ours: u32,
    },
    /// The connection ended or failed mid-frame.
    #[error("the connection ended: {detail}")]
    Io {
        /// What the OS said.
        detail: String,
    },
}

/// An error answer, as carried in a frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// A stable code (`refused`, `unknown_account`, `not_service_owned`, `bad_request`,
    /// `version`, `needs_reauthorization`, `temporary`, `failed`, `rate_limited`, `busy`,
    /// `root_only`).
    pub code: String,
    /// For a person.
    pub message: String,
    /// The diagnosis catalog id, if one matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diagnosis: Option<String>,
    /// Only a new sign-in helps.
    #[serde(default)]
    pub reauthorize: bool,
}

impl ErrorBody {
    /// An error with `code` and `message`.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        ErrorBody {
            code: code.to_string(),
            message: message.into(),
            diagnosis: None,
            reauthorize: false,
        }
    }
}

/// Decodes one frame's body (without the length prefix). Never panics on any input.
pub fn decode_request(body: &[u8]) -> Result<Request, ProtocolError> {
    if body.len() > MAX_FRAME {
        return Err(ProtocolError::TooLarge { len: body.len() });
    }
    let malformed = |detail: String| ProtocolError::Malformed { detail };
    let mut value: Value = serde_json::from_slice(body).map_err(|e| {
        malformed(format!(
            "not JSON (line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    let obj = value
        .as_object_mut()
        .ok_or_else(|| malformed(String::from("not a JSON object")))?;
    match obj.remove("v") {
        Some(Value::Number(n)) if n.as_u64() == Some(u64::from(VERSION)) => {}
        Some(Value::Number(n)) => {
            return Err(ProtocolError::Version {
                theirs: n.as_u64().unwrap_or(0),
                ours: VERSION,
            })
        }
        _ => return Err(malformed(String::from("no version (\"v\")"))),
    }
    serde_json::from_value(value).map_err(|e| {
        // serde's text names fields and variants, never values.
        let text = e.to_string();
        malformed(text.chars().take(200).collect())
    })
}

/// The bytes of a request frame (prefix included).
pub fn encode_request(req: &Request) -> Vec<u8> {
    let mut value = serde_json::to_value(req).unwrap_or(Value::Null);
    if let Some(obj) = value.as_object_mut() {
        obj.insert("v".into(), Value::from(VERSION));
    }
    frame(&value)
}

/// The bytes of an answer frame carrying `ok`.
pub fn encode_ok(ok: Value) -> Vec<u8> {
    frame(&serde_json::json!({ "v": VERSION, "ok": ok }))
}

/// The bytes of an answer frame carrying `error`.
pub fn encode_error(error: &ErrorBody) -> Vec<u8> {
    frame(&serde_json::json!({ "v": VERSION, "error": error }))
}

fn frame(value: &Value) -> Vec<u8> {
    let body = serde_json::to_vec(value).unwrap_or_default();
    let mut out = Vec::with_capacity(body.len() + 4);
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(&body);
    out
}

/// An answer, as the client reads it.
pub fn decode_answer(body: &[u8]) -> Result<Result<Value, ErrorBody>, ProtocolError> {
    let malformed = |detail: &str| ProtocolError::Malformed {
        detail: detail.to_string(),
    };
    let value: Value =
        serde_json::from_slice(body).map_err(|_| malformed("the answer is not JSON"))?;
    let v = value.get("v").and_then(Value::as_u64);
    if v != Some(u64::from(VERSION)) {
        return Err(ProtocolError::Version {
            theirs: v.unwrap_or(0),
            ours: VERSION,
        });
    }
    if let Some(ok) = value.get("ok") {
        return Ok(Ok(ok.clone()));
    }
    match value.get("error").cloned().map(serde_json::from_value) {
        Some(Ok(e)) => Ok(Err(e)),
        _ => Err(malformed("the answer has neither ok nor error")),
    }
}

/// Reads one frame's body; `Ok(None)` at a clean end of the connection.
pub async fn read_frame<R: AsyncRead + Unpin>(r: &mut R) -> Result<Option<Vec<u8>>, ProtocolError> {
    let io = |e: std::io::Error| ProtocolError::Io {
        detail: e.to_string(),
    };
    let mut len = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        let n = r.read(&mut len[got..]).await.map_err(io)?;
        if n == 0 {
            return if got == 0 {
                Ok(None)
            } else {
                Err(ProtocolError::Io {
                    detail: String::from("the connection ended inside a length prefix"),
                })
            };
        }
        got += n;
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(ProtocolError::TooLarge { len });
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).await.map_err(io)?;
    Ok(Some(body))
}

/// Writes `bytes` (a whole frame) and flushes.
pub async fn write_frame<W: AsyncWrite + Unpin>(w: &mut W, bytes: &[u8]) -> std::io::Result<()> {
    w.write_all(bytes).await?;
    w.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_and_bad_ones_are_named() {
        let req = Request::Token {
            account: "scanner".into(),
        };
        let bytes = encode_request(&req);
        assert_eq!(decode_request(&bytes[4..]), Ok(req));
        assert!(matches!(
            decode_request(br#"{"v":2,"op":"hello"}"#),
            Err(ProtocolError::Version { theirs: 2, ours: 1 })
        ));
        let e = decode_request(br#"{"v":2,"op":"hello"}"#).unwrap_err();
        assert!(e.to_string().contains("version 2") && e.to_string().contains("version 1"));
        assert!(matches!(
            decode_request(br#"{"op":"hello"}"#),
            Err(ProtocolError::Malformed { .. })
        ));
        assert!(matches!(
            decode_request(br#"{"v":1,"op":"fly"}"#),
            Err(ProtocolError::Malformed { .. })
        ));
        assert!(matches!(
            decode_request(b"\xff\x00"),
            Err(ProtocolError::Malformed { .. })
        ));
        assert!(matches!(
            decode_request(br#"{"v":1,"op":"token","account":"a","x":1}"#),
            Err(ProtocolError::Malformed { .. })
        ));
    }

    #[test]
    fn save_account_carries_the_account_text() {
        let req = Request::SaveAccount {
            account_toml: "version = 1\n[[account]]\nname = \"a\"\n".into(),
        };
        let bytes = encode_request(&req);
        assert_eq!(decode_request(&bytes[4..]), Ok(req));
        assert!(String::from_utf8_lossy(&bytes[4..]).contains(r#""op":"save_account""#));
        assert!(matches!(
            decode_request(br#"{"v":1,"op":"save_account"}"#),
            Err(ProtocolError::Malformed { .. })
        ));
    }

    #[test]
    fn a_secret_hand_over_decodes_and_never_prints_its_value() {
        let req = Request::PutSecret {
            account: "scanner".into(),
            kind: SecretKind::ClientSecret,
            value: crate::secret::Secret::new("s3cret-value".into()),
        };
        let bytes = encode_request(&req);
        let back = decode_request(&bytes[4..]).unwrap();
        assert_eq!(back, req);
        assert!(!format!("{back:?}").contains("s3cret-value"), "{back:?}");
        let Request::PutSecret { value, kind, .. } = back else {
            panic!("{back:?}")
        };
        assert_eq!(value.expose(), "s3cret-value");
        assert_eq!(kind, SecretKind::ClientSecret);
        assert!(matches!(
            decode_request(
                br#"{"v":1,"op":"put_secret","account":"a","kind":"private_key","value":"-----BEGIN"}"#
            ),
            Ok(Request::PutSecret {
                kind: SecretKind::PrivateKey,
                ..
            })
        ));
        assert!(matches!(
            decode_request(
                br#"{"v":1,"op":"put_secret","account":"a","kind":"service_account_key","value":"{}"}"#
            ),
            Ok(Request::PutSecret {
                kind: SecretKind::ServiceAccountKey,
                ..
            })
        ));
        // An unknown kind, a missing value, a value that is not text, an extra field: refused,
        // and the refusal never repeats the value.
        for bad in [
            &br#"{"v":1,"op":"put_secret","account":"a","kind":"password","value":"hunter2"}"#[..],
            br#"{"v":1,"op":"put_secret","account":"a","kind":"client_secret"}"#,
            br#"{"v":1,"op":"put_secret","account":"a","kind":"client_secret","value":7}"#,
            br#"{"v":1,"op":"put_secret","account":"a","kind":"client_secret","value":"hunter2","x":1}"#,
        ] {
            let e = decode_request(bad).unwrap_err();
            assert!(matches!(e, ProtocolError::Malformed { .. }), "{e:?}");
            assert!(!e.to_string().contains("hunter2"), "{e}");
        }
    }

    #[tokio::test]
    async fn an_oversized_frame_is_refused_before_it_is_read() {
        let mut data: &[u8] = &[0xff, 0xff, 0xff, 0xff, 1, 2, 3];
        assert!(matches!(
            read_frame(&mut data).await,
            Err(ProtocolError::TooLarge { .. })
        ));
        let mut empty: &[u8] = &[];
        assert_eq!(read_frame(&mut empty).await, Ok(None));
    }
}
