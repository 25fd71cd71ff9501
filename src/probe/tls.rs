//! TLS for the probes: the system's roots by default, an extra CA the admin trusts, or a pinned
//! certificate for an on-premise server, and what the handshake showed (version, subject).
//!
//! There is deliberately no "accept any certificate": an admin who cannot get a chain to verify
//! pins the exact certificate, which the report shows with its fingerprint to copy.

use super::{ProbeError, TlsInfo, TlsTrust};
use std::sync::{Arc, Mutex};
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::client::WebPkiServerVerifier;
use tokio_rustls::rustls::crypto::{ring, CryptoProvider};
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::{
    self, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme, SupportedCipherSuite,
};

/// SHA-256 of `data`.
pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    // rustls already carries ring's SHA-256 behind its cipher suites: using it avoids a second
    // hashing crate for the one digest the pin needs.
    let mut out = [0u8; 32];
    if let SupportedCipherSuite::Tls13(cs) = ring::cipher_suite::TLS13_AES_128_GCM_SHA256 {
        let h = cs.common.hash_provider.hash(data);
        out.copy_from_slice(&h.as_ref()[..32]);
    }
    out
}

/// Lowercase hex with colons, as browsers and `openssl x509 -fingerprint` show it.
pub(crate) fn fingerprint(der: &[u8]) -> String {
    sha256(der)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Parses a SHA-256 fingerprint typed by an admin: 64 hex digits, colons or spaces allowed.
pub(crate) fn parse_pin(text: &str) -> Result<[u8; 32], ProbeError> {
    let bad = || {
        ProbeError::InvalidRequest {
        field: "pinned certificate fingerprint",
        fix: "give the SHA-256 fingerprint as 64 hex digits (colons allowed), as the report of a failed check shows it",
    }
    };
    let hex: String = text
        .trim()
        .trim_start_matches("sha256:")
        .chars()
        .filter(|c| *c != ':' && !c.is_whitespace())
        .collect();
    if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(bad());
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
    }
    Ok(out)
}

/// The trust decided once per check and shared by both protocols.
pub(crate) struct Trust {
    roots: Arc<RootCertStore>,
    pin: Option<[u8; 32]>,
    provider: Arc<CryptoProvider>,
}

impl Trust {
    /// System roots plus the admin's extra CA; the pin is checked before anything connects.
    pub(crate) fn new(t: &TlsTrust) -> Result<Self, ProbeError> {
        let mut roots = RootCertStore::empty();
        // A machine without a readable store still works with an extra CA or a pin, so errors
        // loading single system certificates are not fatal.
        let native = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(native.certs);
        if let Some(pem) = &t.extra_ca_pem {
            let mut n = 0;
            for cert in rustls_pemfile::certs(&mut pem.as_bytes()) {
                let cert = cert.map_err(|_| ProbeError::InvalidRequest {
                    field: "extra CA file",
                    fix: "give a PEM file with one or more -----BEGIN CERTIFICATE----- blocks",
                })?;
                roots
                    .add(cert)
                    .map_err(|_| ProbeError::InvalidRequest {
                        field: "extra CA file",
                        fix: "the certificate in the extra CA file is not a valid CA certificate; export the issuing CA, not the server's key",
                    })?;
                n += 1;
            }
            if n == 0 {
                return Err(ProbeError::InvalidRequest {
                    field: "extra CA file",
                    fix: "give a PEM file with one or more -----BEGIN CERTIFICATE----- blocks",
                });
            }
        }
        let pin = t.pinned_sha256.as_deref().map(parse_pin).transpose()?;
        Ok(Self {
            roots: Arc::new(roots),
            pin,
            provider: Arc::new(ring::default_provider()),
        })
    }

    /// A client configuration for one connection, and the slot where its verifier records the
    /// server's certificate (so a refused one can still be shown and pinned).
    pub(crate) fn connection(&self) -> Result<(Arc<ClientConfig>, Seen), ProbeError> {
        let internal = |e: rustls::Error| ProbeError::TlsSetup {
            message: e.to_string(),
        };
        let inner = if self.roots.is_empty() {
            None
        } else {
            Some(
                WebPkiServerVerifier::builder_with_provider(
                    self.roots.clone(),
                    self.provider.clone(),
                )
                .build()
                .map_err(|e| ProbeError::TlsSetup {
                    message: e.to_string(),
                })?,
            )
        };
        let seen = Seen::default();
        let verifier = Arc::new(Verifier {
            inner,
            pin: self.pin,
            seen: seen.clone(),
            provider: self.provider.clone(),
        });
        let config = ClientConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(internal)?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok((Arc::new(config), seen))
    }
}

/// The server's certificate as the verifier saw it, and whether the pin accepted it.
#[derive(Clone, Default)]
pub(crate) struct Seen(Arc<Mutex<Option<SeenCert>>>);

/// A leaf certificate in DER and whether its pin accepted it.
type SeenCert = (Vec<u8>, bool);

impl Seen {
    /// The leaf certificate in DER and whether it was accepted by its pin.
    pub(crate) fn get(&self) -> Option<(Vec<u8>, bool)> {
        self.0.lock().ok().and_then(|g| g.clone())
    }
}

/// Verifies against the roots, or accepts exactly the pinned certificate.
#[derive(Debug)]
struct Verifier {
    inner: Option<Arc<WebPkiServerVerifier>>,
    pin: Option<[u8; 32]>,
    seen: Seen,
    provider: Arc<CryptoProvider>,
}

impl std::fmt::Debug for Seen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Seen")
    }
}

/// The error text a pin mismatch carries, recognised again when the handshake fails.
pub(crate) const PIN_MISMATCH: &str = "certificate does not match the pinned SHA-256 fingerprint";

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let pinned = self.pin.map(|p| p == sha256(end_entity.as_ref()));
        if let Ok(mut g) = self.seen.0.lock() {
            *g = Some((end_entity.to_vec(), pinned == Some(true)));
        }
        match (pinned, &self.inner) {
            // The admin pinned this exact certificate: its chain and name are what they decided
            // to trust, typically a self-signed on-premise server.
            (Some(true), _) => Ok(ServerCertVerified::assertion()),
            (Some(false), _) => Err(rustls::Error::General(PIN_MISMATCH.into())),
            (None, Some(inner)) => {
                inner.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            }
            (None, None) => Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer,
            )),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// What the report shows about a certificate, from its DER.
pub(crate) fn info(der: &[u8], version: Option<&str>, pinned: bool) -> TlsInfo {
    let (subject, issuer) = names(der).unwrap_or_else(|| ("?".into(), "?".into()));
    TlsInfo {
        version: version.map(str::to_string),
        subject,
        issuer,
        sha256: fingerprint(der),
        pinned,
    }
}

/// The protocol version as admins read it (`TLSv1.3`).
pub(crate) fn version_label(v: rustls::ProtocolVersion) -> String {
    match v {
        rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3".into(),
        rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2".into(),
        other => format!("{other:?}"),
    }
}

/// One DER element: (tag, content, rest).
fn der(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 3 || rest.len() < n {
            return None;
        }
        let len = rest[..n].iter().fold(0usize, |a, b| (a << 8) | *b as usize);
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

/// Subject and issuer of a certificate as `CN=..., O=...`; a small reader of the few DER
/// elements needed rather than a full X.509 parser.
fn names(cert: &[u8]) -> Option<(String, String)> {
    let (_, cert, _) = der(cert)?;
    let (_, tbs, _) = der(cert)?;
    let mut rest = tbs;
    let (tag, _, r) = der(rest)?;
    if tag == 0xa0 {
        rest = r; // explicit version
    }
    let (_, _, r) = der(rest)?; // serial number
    let (_, _, r) = der(r)?; // signature algorithm
    let (_, issuer, r) = der(r)?;
    let (_, _, r) = der(r)?; // validity
    let (_, subject, _) = der(r)?;
    Some((name(subject), name(issuer)))
}

fn name(mut rdns: &[u8]) -> String {
    let mut parts = Vec::new();
    while let Some((_, set, rest)) = der(rdns) {
        rdns = rest;
        let mut attrs = set;
        while let Some((_, attr, rest)) = der(attrs) {
            attrs = rest;
            let Some((_, oid, value)) = der(attr) else {
                continue;
            };
            let Some((_, value, _)) = der(value) else {
                continue;
            };
            let key = match oid {
                [0x55, 0x04, 0x03] => "CN",
                [0x55, 0x04, 0x06] => "C",
                [0x55, 0x04, 0x07] => "L",
                [0x55, 0x04, 0x08] => "ST",
                [0x55, 0x04, 0x0a] => "O",
                [0x55, 0x04, 0x0b] => "OU",
                _ => continue,
            };
            parts.push(format!("{key}={}", String::from_utf8_lossy(value)));
        }
    }
    if parts.is_empty() {
        "(no name)".into()
    } else {
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_abc_is_the_standard_vector() {
        assert_eq!(
            fingerprint(b"abc").replace(':', ""),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn pins_parse_with_colons_and_reject_garbage() {
        let fp = fingerprint(b"abc");
        assert_eq!(parse_pin(&fp).ok(), Some(sha256(b"abc")));
        assert_eq!(
            parse_pin(&fp.to_uppercase().replace(':', " ")).ok(),
            Some(sha256(b"abc"))
        );
        assert!(parse_pin("abcd").is_err());
        assert!(parse_pin(&"zz".repeat(32)).is_err());
    }

    #[test]
    fn names_come_out_of_a_real_certificate() {
        // A throwaway self-signed certificate: CN=mail.example.test, O=mailoauth test.
        let pem = include_str!("testdata/selfsigned.pem");
        let der = rustls_pemfile::certs(&mut pem.as_bytes())
            .next()
            .and_then(Result::ok)
            .map(|c| c.to_vec())
            .unwrap_or_default();
        let (subject, issuer) = names(&der).unwrap_or_default();
        assert_eq!(subject, "O=mailoauth test, CN=mail.example.test");
        assert_eq!(issuer, subject);
    }

    #[test]
    fn truncated_der_gives_no_names() {
        assert!(names(&[0x30, 0x82, 0x01]).is_none());
        assert!(names(&[]).is_none());
    }

    #[test]
    fn a_bad_extra_ca_names_the_field() {
        let err = Trust::new(&TlsTrust {
            extra_ca_pem: Some("not a certificate".into()),
            pinned_sha256: None,
        })
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(err.contains("extra CA file"), "{err}");
    }
}
