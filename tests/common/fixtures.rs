//! Small helpers several integration tests share (included with `#[path]` by each): the config
//! file fixture, its schema check, the kill jitter.
#![allow(dead_code)] // each test binary uses a different part

/// Checks a config file's text against the committed JSON Schema, as for every file tests write.
pub fn assert_matches_schema(text: &str) {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../docs/config.schema.json")).unwrap();
    let value: toml::Value = toml::from_str(text).unwrap();
    let json = serde_json::to_value(value).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&json)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "schema errors: {errors:?}");
}

/// The environment variable that overrides the kill jitter's seed, to replay a run.
pub const SEED_VAR: &str = "MAILOAUTH_TEST_SEED";
/// The kill jitter's seed when [`SEED_VAR`] is not set: every run kills at the same offsets.
pub const DEFAULT_SEED: u64 = 0x6d61_696c_6f61_7574;

/// The kill jitter's seed: [`SEED_VAR`] when set (decimal or 0x-hex), else [`DEFAULT_SEED`];
/// printed on first use so a failing run can be replayed.
pub fn seed() -> u64 {
    static SEED: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *SEED.get_or_init(|| {
        let seed = match std::env::var(SEED_VAR) {
            Ok(v) => {
                let v = v.trim();
                let parsed = match v.strip_prefix("0x") {
                    Some(hex) => u64::from_str_radix(hex, 16),
                    None => v.parse(),
                };
                parsed.unwrap_or_else(|_| panic!("{SEED_VAR}={v:?} is not a number"))
            }
            Err(_) => DEFAULT_SEED,
        };
        eprintln!("kill jitter seed: {seed:#x} (replay with {SEED_VAR}={seed:#x})");
        seed
    })
}

/// A pseudo-random number below `max` for kill `i`, the same for the same [`seed`]: enough to
/// spread kills over a write or refresh cycle (SplitMix64; timing decides where they land).
pub fn jitter(i: usize, max: u64) -> u64 {
    let mut z = seed().wrapping_add((i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    z % max.max(1)
}

/// A mail server of a [`ConfigFixture`].
#[derive(Debug, Clone)]
pub struct Server {
    pub host: String,
    pub port: u16,
    /// `tls`, `start_tls` or `none`, as the config file spells it.
    pub security: String,
}

/// The config file of one account as the integration tests write it: a generic provider's
/// public client that signs in by device code, its tokens in `token_store`, an SMTP server and
/// optionally an IMAP server. Built with the tests' defaults, changed field by field, written
/// with [`ConfigFixture::write`] or taken as text with [`ConfigFixture::text`].
#[derive(Debug, Clone)]
pub struct ConfigFixture {
    pub name: String,
    pub purpose: String,
    pub mailbox: String,
    pub token_store: String,
    pub smtp: Server,
    pub imap: Option<Server>,
    pub client_id: String,
    pub scopes: Vec<String>,
    /// The `issuer` line of the endpoints; `None` leaves it out.
    pub issuer: Option<String>,
    pub authorization: String,
    pub token: String,
    pub device_authorization: String,
}

impl ConfigFixture {
    /// Account `name` of `mailbox` sending through `127.0.0.1:587` (STARTTLS) with the peers'
    /// public client `mailapp-public`, its endpoints under `issuer`
    /// (`/auth`, `/token`, `/device/auth`), tokens in `token_store` (`file:...`, `keyring:...`).
    pub fn new(name: &str, mailbox: &str, token_store: &str, issuer: &str) -> Self {
        ConfigFixture {
            name: name.to_string(),
            purpose: "send".to_string(),
            mailbox: mailbox.to_string(),
            token_store: token_store.to_string(),
            smtp: Server {
                host: "127.0.0.1".to_string(),
                port: 587,
                security: "start_tls".to_string(),
            },
            imap: None,
            client_id: "mailapp-public".to_string(),
            scopes: ["openid", "email", "offline_access", "mail"]
                .map(String::from)
                .to_vec(),
            issuer: Some(issuer.to_string()),
            authorization: format!("{issuer}/auth"),
            token: format!("{issuer}/token"),
            device_authorization: format!("{issuer}/device/auth"),
        }
    }

    /// The same with its tokens in the file store at `tokens`.
    pub fn file_store(name: &str, mailbox: &str, tokens: &std::path::Path, issuer: &str) -> Self {
        Self::new(name, mailbox, &format!("file:{}", tokens.display()), issuer)
    }

    /// `send`, `receive` or `both`.
    pub fn purpose(mut self, purpose: &str) -> Self {
        self.purpose = purpose.to_string();
        self
    }

    /// The SMTP server.
    pub fn smtp(mut self, host: &str, port: u16, security: &str) -> Self {
        self.smtp = Server {
            host: host.to_string(),
            port,
            security: security.to_string(),
        };
        self
    }

    /// An IMAP server too.
    pub fn imap(mut self, host: &str, port: u16, security: &str) -> Self {
        self.imap = Some(Server {
            host: host.to_string(),
            port,
            security: security.to_string(),
        });
        self
    }

    /// The OAuth client ID.
    pub fn client_id(mut self, client_id: &str) -> Self {
        self.client_id = client_id.to_string();
        self
    }

    /// The scopes to request.
    pub fn scopes(mut self, scopes: &[&str]) -> Self {
        self.scopes = scopes.iter().map(|s| s.to_string()).collect();
        self
    }

    /// The token endpoint, when it is not `{issuer}/token`.
    pub fn token_endpoint(mut self, url: &str) -> Self {
        self.token = url.to_string();
        self
    }

    /// The device authorization endpoint, when it is not `{issuer}/device/auth`.
    pub fn device_endpoint(mut self, url: &str) -> Self {
        self.device_authorization = url.to_string();
        self
    }

    /// No `issuer` line (the endpoints stay).
    pub fn without_issuer(mut self) -> Self {
        self.issuer = None;
        self
    }

    /// The config file's text.
    pub fn text(&self) -> String {
        let server = |table: &str, s: &Server| {
            format!(
                "[account.{table}]\nhost = \"{}\"\nport = {}\nsecurity = \"{}\"\nsasl = \"xoauth2\"\n\n",
                s.host, s.port, s.security
            )
        };
        let mut text = format!(
            "version = 1\n\n[[account]]\nname = \"{}\"\npurpose = \"{}\"\nmailbox = \"{}\"\ntoken_store = \"{}\"\n\n",
            self.name, self.purpose, self.mailbox, self.token_store
        );
        text.push_str(&server("smtp", &self.smtp));
        if let Some(imap) = &self.imap {
            text.push_str(&server("imap", imap));
        }
        let scopes = self
            .scopes
            .iter()
            .map(|s| format!("\"{s}\""))
            .collect::<Vec<_>>()
            .join(", ");
        text.push_str(&format!(
            "[account.auth]\nprovider = \"generic\"\nclient_id = \"{}\"\nclient_auth = \"none\"\nflow = \"device_code\"\nscopes = [{scopes}]\n\n[account.auth.endpoints]\n",
            self.client_id
        ));
        if let Some(issuer) = &self.issuer {
            text.push_str(&format!("issuer = \"{issuer}\"\n"));
        }
        text.push_str(&format!(
            "authorization = \"{}\"\ntoken = \"{}\"\ndevice_authorization = \"{}\"\n",
            self.authorization, self.token, self.device_authorization
        ));
        text
    }

    /// Writes the config file to `path` and returns the path.
    pub fn write(&self, path: &std::path::Path) -> std::path::PathBuf {
        std::fs::write(path, self.text()).unwrap();
        path.to_path_buf()
    }
}
