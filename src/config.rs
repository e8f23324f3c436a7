//! Settings from `REPRISE_*` environment variables. Every default works with nothing set.

use std::path::PathBuf;

use crate::domain::egress::EgressPolicy;
use crate::secrets::SecretBox;
use crate::store::{Backend, SqliteSync};

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/reprise.db";

#[derive(Clone)]
pub struct Settings {
    /// `sqlite://PATH`, a plain file path, or `postgres://…`.
    pub database_url: String,
    /// A PostgreSQL streaming replica that analytics views and exports read from (`None`: they
    /// read from the primary like everything else).
    pub read_database_url: Option<String>,
    /// Connections kept open to the read replica.
    pub read_pool_size: u32,
    /// Address to listen on; port 0 picks a free port (tests).
    pub bind: String,
    /// HMAC key for access tokens.
    pub jwt_secret: Vec<u8>,
    /// Access-token lifetime in seconds.
    pub access_ttl_secs: i64,
    /// Refresh-token lifetime in seconds.
    pub refresh_ttl_secs: i64,
    /// How long an instance keeps a user's role, active flag and auth version before reading
    /// them again (0: read on every request): the longest a change made on another instance
    /// takes to reach this one.
    pub auth_cache_secs: u64,
    /// Whether `POST /api/v1/orgs` is open to anyone.
    pub allow_signup: bool,
    pub db_pool_size: u32,
    pub sqlite_synchronous: SqliteSync,
    /// Largest accepted request body in bytes.
    pub max_body_bytes: usize,
    /// The largest pitch recording taken (`REPRISE_MAX_RECORDING_BYTES`, default 50 MB); the
    /// body is streamed to storage, so this is not held in memory.
    pub max_recording_bytes: u64,
    /// HTTP worker threads (0 = one per core).
    pub workers: usize,
    /// Login attempts an e-mail address may make at once before throttling.
    pub login_burst_per_account: u32,
    /// Login attempts a client address may make at once before throttling.
    pub login_burst_per_address: u32,
    /// Organizations a client address may sign up at once before throttling
    /// (`REPRISE_SIGNUP_BURST_PER_ADDRESS`; then one more every 10 minutes).
    pub signup_burst_per_address: u32,
    /// Password hashes computed at once (`REPRISE_PASSWORD_CONCURRENCY`; default: the cores).
    pub password_concurrency: usize,
    /// Answers one learner may send at once (a phone syncing offline answers); 0: no cap.
    pub answer_burst: u32,
    /// Answers a learner's quota refills by each second, past the burst.
    pub answers_per_second: u32,
    /// Proxies in front of the service that append to `X-Forwarded-For`
    /// (`REPRISE_TRUST_FORWARDED_FOR`: `false` or 0 for none, `true` for one, or a count): the
    /// client address is the entry the outermost of them added, counted from the right, since
    /// everything left of it the client wrote itself.
    pub trusted_proxy_hops: usize,
    /// Base URL of this installation, used in xAPI identifiers (actor home pages, activity ids).
    pub public_url: String,
    /// How often statements are forwarded to organizations' LRSs.
    pub xapi_forward_interval_ms: u64,
    /// Memory for daily queues kept to be served again (0 keeps none).
    pub queue_cache_bytes: usize,
    /// Where the server may send requests on a customer's behalf beyond public `https`
    /// addresses (`REPRISE_EGRESS_ALLOW`, `REPRISE_EGRESS_ALLOW_HTTP`).
    pub egress: EgressPolicy,
    /// Time limit of one outbound request, connection included (`REPRISE_OUTBOUND_TIMEOUT_SECS`).
    pub outbound_timeout_secs: u64,
    /// Outbound deliveries (one per organization) in flight at once.
    pub outbound_concurrency: usize,
    /// Seals third-party secrets at rest (`REPRISE_SECRET_KEY`, 32 bytes).
    pub secret_key: Vec<u8>,
    /// Earlier keys that still open what they sealed (`REPRISE_SECRET_KEY_PREVIOUS`).
    pub previous_secret_keys: Vec<Vec<u8>>,
    /// The VAPID private key push messages are signed with (`REPRISE_VAPID_PRIVATE_KEY`, the
    /// P-256 scalar in base64url).
    pub vapid_private_key: String,
    /// The contact push services see (`REPRISE_VAPID_SUBJECT`, a `mailto:` or `https:` URL).
    pub vapid_subject: String,
    /// Where e-mail goes (`REPRISE_SMTP_URL`); unset: `.eml` files in `mail_dir`.
    pub smtp_url: Option<String>,
    /// Certificates trusted for the SMTP server beside the system's roots
    /// (`REPRISE_SMTP_CA_FILE`, a PEM file), for a server signed by a private authority.
    pub smtp_ca_file: Option<PathBuf>,
    /// The sender of e-mail (`REPRISE_MAIL_FROM`).
    pub mail_from: String,
    /// Where e-mail is written when there is no SMTP server: `mail/` beside the SQLite database.
    pub mail_dir: PathBuf,
    /// Where media bytes (nugget images, recordings) live (`REPRISE_MEDIA_URL`): a directory
    /// (`media/` beside the SQLite database; `data/media` with PostgreSQL), `file:///abs/dir`,
    /// or an S3-compatible bucket `s3://bucket[/folder]?endpoint=…&region=…` with credentials
    /// from the usual `AWS_*` variables.
    pub media_url: String,
    /// Seconds between reminder passes (`REPRISE_REMIND_INTERVAL_SECS`; 0: no background pass).
    pub remind_interval_secs: u64,
    /// Nudges (and webhook deliveries) one organization may have in flight at once
    /// (`REPRISE_NUDGE_CONCURRENCY`).
    pub nudge_concurrency: usize,
    /// Milliseconds between webhook rounds (`REPRISE_WEBHOOK_INTERVAL_MS`; 0: none).
    pub webhook_interval_ms: u64,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("database_url", &redact_url(&self.database_url))
            .field(
                "read_database_url",
                &self.read_database_url.as_deref().map(redact_url),
            )
            .field("read_pool_size", &self.read_pool_size)
            .field("bind", &self.bind)
            .field("jwt_secret", &"***")
            .field("secret_key", &"***")
            .field("access_ttl_secs", &self.access_ttl_secs)
            .field("refresh_ttl_secs", &self.refresh_ttl_secs)
            .field("auth_cache_secs", &self.auth_cache_secs)
            .field("allow_signup", &self.allow_signup)
            .field("db_pool_size", &self.db_pool_size)
            .field("sqlite_synchronous", &self.sqlite_synchronous)
            .field("media_url", &self.media_url)
            .finish()
    }
}

/// Hides the password of a `postgres://user:password@host/db` URL in logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let creds = &url[scheme_end + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..scheme_end + 3], user, &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{name}: {message}")]
    Invalid { name: &'static str, message: String },
    #[error("{0} must be set when the database is PostgreSQL (all instances must share it)")]
    SecretRequired(&'static str),
    #[error("could not keep the generated JWT secret at {path}: {source}")]
    SecretFile {
        path: String,
        source: std::io::Error,
    },
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn parse_var<T: std::str::FromStr>(name: &'static str, default: T) -> Result<T, ConfigError> {
    match var(name) {
        None => Ok(default),
        Some(raw) => raw.trim().parse().map_err(|_| ConfigError::Invalid {
            name,
            message: format!("cannot parse {raw:?}"),
        }),
    }
}

/// The database URL alone, for commands that need no keys (import, export, backup, …).
pub fn database_url_from_env() -> String {
    var("REPRISE_DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.into())
}

impl Settings {
    /// Reads the environment. A missing JWT secret on SQLite is generated once and kept beside
    /// the database file so tokens survive restarts.
    pub fn from_env() -> Result<Settings, ConfigError> {
        let database_url =
            var("REPRISE_DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.into());
        let sync = match var("REPRISE_SQLITE_SYNCHRONOUS")
            .as_deref()
            .map(str::to_uppercase)
            .as_deref()
        {
            None | Some("FULL") => SqliteSync::Full,
            Some("NORMAL") => SqliteSync::Normal,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    name: "REPRISE_SQLITE_SYNCHRONOUS",
                    message: format!("{other:?} is not FULL or NORMAL"),
                })
            }
        };
        let jwt_secret = match var("REPRISE_JWT_SECRET") {
            Some(s) if s.len() < 32 => {
                return Err(ConfigError::Invalid {
                    name: "REPRISE_JWT_SECRET",
                    message: "must have at least 32 characters".into(),
                })
            }
            Some(s) => s.into_bytes(),
            None => persisted_secret(&database_url, "jwt-secret", "REPRISE_JWT_SECRET", || {
                use rand::RngCore;
                let mut bytes = [0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut bytes);
                hex::encode(bytes)
            })?,
        };
        let backend = Backend::of_url(&database_url);
        let secret_key = match var("REPRISE_SECRET_KEY") {
            Some(text) => SecretBox::parse_key(&text).map_err(|e| ConfigError::Invalid {
                name: "REPRISE_SECRET_KEY",
                message: e.to_string(),
            })?,
            None => {
                let kept =
                    persisted_secret(&database_url, "secret-key", "REPRISE_SECRET_KEY", || {
                        SecretBox::generate_key()
                    })?;
                SecretBox::parse_key(&String::from_utf8_lossy(&kept)).map_err(|e| {
                    ConfigError::Invalid {
                        name: "REPRISE_SECRET_KEY",
                        message: format!("the kept key is unreadable: {e}"),
                    }
                })?
            }
        };
        let previous_secret_keys = var("REPRISE_SECRET_KEY_PREVIOUS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(SecretBox::parse_key)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ConfigError::Invalid {
                name: "REPRISE_SECRET_KEY_PREVIOUS",
                message: e.to_string(),
            })?;
        let vapid_private_key = match var("REPRISE_VAPID_PRIVATE_KEY") {
            Some(key) => key,
            None => String::from_utf8_lossy(&persisted_secret(
                &database_url,
                "vapid-private-key",
                "REPRISE_VAPID_PRIVATE_KEY",
                crate::reach::push::Vapid::generate_private_key,
            )?)
            .into_owned(),
        };
        let public_url = var("REPRISE_PUBLIC_URL")
            .unwrap_or_else(|| "http://localhost:8080".into())
            .trim_end_matches('/')
            .to_string();
        let public_host = url::Url::parse(&public_url)
            .ok()
            .and_then(|u| u.host_str().map(String::from))
            .unwrap_or_else(|| "localhost".into());
        let read_database_url = var("REPRISE_READ_DATABASE_URL");
        check_read_url(&database_url, read_database_url.as_deref())?;
        Ok(Settings {
            read_database_url,
            read_pool_size: parse_var("REPRISE_READ_DB_POOL_SIZE", 8)?,
            bind: var("REPRISE_BIND").unwrap_or_else(|| "127.0.0.1:8080".into()),
            jwt_secret,
            access_ttl_secs: parse_var("REPRISE_ACCESS_TOKEN_TTL_SECS", 900)?,
            refresh_ttl_secs: parse_var("REPRISE_REFRESH_TOKEN_TTL_SECS", 30 * 24 * 3600)?,
            auth_cache_secs: parse_var("REPRISE_AUTH_CACHE_SECS", 5)?,
            allow_signup: parse_var("REPRISE_ALLOW_SIGNUP", true)?,
            db_pool_size: parse_var(
                "REPRISE_DB_POOL_SIZE",
                if backend == Backend::Sqlite { 8 } else { 16 },
            )?,
            sqlite_synchronous: sync,
            max_body_bytes: parse_var("REPRISE_MAX_BODY_BYTES", 2 * 1024 * 1024)?,
            max_recording_bytes: parse_var(
                "REPRISE_MAX_RECORDING_BYTES",
                crate::domain::pitch::DEFAULT_MAX_RECORDING_BYTES,
            )?,
            workers: parse_var("REPRISE_WORKERS", 0)?,
            login_burst_per_account: parse_var("REPRISE_LOGIN_BURST_PER_ACCOUNT", 10)?,
            login_burst_per_address: parse_var("REPRISE_LOGIN_BURST_PER_ADDRESS", 100)?,
            signup_burst_per_address: parse_var("REPRISE_SIGNUP_BURST_PER_ADDRESS", 5)?,
            password_concurrency: parse_var(
                "REPRISE_PASSWORD_CONCURRENCY",
                std::thread::available_parallelism().map_or(2, usize::from),
            )?,
            answer_burst: parse_var("REPRISE_ANSWER_BURST", 120)?,
            answers_per_second: parse_var("REPRISE_ANSWERS_PER_SECOND", 1)?,
            trusted_proxy_hops: match var("REPRISE_TRUST_FORWARDED_FOR").as_deref().map(str::trim) {
                None | Some("false") => 0,
                Some("true") => 1,
                Some(n) => n.parse().map_err(|_| ConfigError::Invalid {
                    name: "REPRISE_TRUST_FORWARDED_FOR",
                    message: format!("{n:?} is not true, false or a number of proxies"),
                })?,
            },
            vapid_subject: var("REPRISE_VAPID_SUBJECT")
                .unwrap_or_else(|| format!("mailto:reminders@{public_host}")),
            smtp_url: var("REPRISE_SMTP_URL"),
            smtp_ca_file: var("REPRISE_SMTP_CA_FILE").map(PathBuf::from),
            mail_from: var("REPRISE_MAIL_FROM")
                .unwrap_or_else(|| format!("Reprise <reminders@{public_host}>")),
            mail_dir: mail_dir_for(&database_url),
            media_url: media_url_from_env(&database_url)?,
            remind_interval_secs: parse_var("REPRISE_REMIND_INTERVAL_SECS", 60)?,
            nudge_concurrency: parse_var("REPRISE_NUDGE_CONCURRENCY", 16)?,
            webhook_interval_ms: parse_var("REPRISE_WEBHOOK_INTERVAL_MS", 2000)?,
            vapid_private_key,
            public_url,
            xapi_forward_interval_ms: parse_var("REPRISE_XAPI_FORWARD_INTERVAL_MS", 10_000)?,
            queue_cache_bytes: parse_var::<usize>("REPRISE_QUEUE_CACHE_MB", 32)?
                .saturating_mul(1024 * 1024),
            egress: EgressPolicy::parse_allow(
                &var("REPRISE_EGRESS_ALLOW").unwrap_or_default(),
                parse_var("REPRISE_EGRESS_ALLOW_HTTP", false)?,
            )
            .map_err(|message| ConfigError::Invalid {
                name: "REPRISE_EGRESS_ALLOW",
                message,
            })?,
            outbound_timeout_secs: parse_var("REPRISE_OUTBOUND_TIMEOUT_SECS", 15)?,
            outbound_concurrency: parse_var("REPRISE_OUTBOUND_CONCURRENCY", 8)?,
            secret_key,
            previous_secret_keys,
            database_url,
        })
    }

    /// Settings for an embedded test server on a free loopback port.
    pub fn for_tests(database_url: String) -> Settings {
        Settings {
            read_database_url: None,
            read_pool_size: 2,
            bind: "127.0.0.1:0".into(),
            jwt_secret: b"test-secret-test-secret-test-secret!".to_vec(),
            access_ttl_secs: 900,
            refresh_ttl_secs: 30 * 24 * 3600,
            auth_cache_secs: 5,
            allow_signup: true,
            db_pool_size: 4,
            sqlite_synchronous: SqliteSync::Normal,
            max_body_bytes: 2 * 1024 * 1024,
            max_recording_bytes: crate::domain::pitch::DEFAULT_MAX_RECORDING_BYTES,
            workers: 2,
            login_burst_per_account: 10,
            login_burst_per_address: 1000,
            signup_burst_per_address: 1000,
            password_concurrency: 2,
            answer_burst: 10_000,
            answers_per_second: 100,
            trusted_proxy_hops: 0,
            public_url: "http://reprise.test".into(),
            xapi_forward_interval_ms: 60_000,
            queue_cache_bytes: 32 * 1024 * 1024,
            egress: EgressPolicy::default(),
            outbound_timeout_secs: 15,
            outbound_concurrency: 8,
            secret_key: vec![42; 32],
            previous_secret_keys: Vec::new(),
            vapid_private_key: crate::reach::push::Vapid::generate_private_key(),
            vapid_subject: "mailto:reminders@reprise.test".into(),
            smtp_url: None,
            smtp_ca_file: None,
            mail_from: "Reprise <reminders@reprise.test>".into(),
            mail_dir: std::env::temp_dir()
                .join("reprise-test-mail")
                .join(uuid::Uuid::new_v4().simple().to_string()),
            remind_interval_secs: 0,
            nudge_concurrency: 16,
            webhook_interval_ms: 0,
            media_url: test_media_url(&database_url),
            database_url,
        }
    }
}

/// `mail/` beside the SQLite database file; `data/mail` when the database is PostgreSQL.
pub fn mail_dir_for(database_url: &str) -> PathBuf {
    beside_database(database_url, "mail")
}

/// `name` beside the SQLite database file; under `data/` when the database is PostgreSQL.
fn beside_database(database_url: &str, name: &str) -> PathBuf {
    if Backend::of_url(database_url) == Backend::Postgres {
        return PathBuf::from("data").join(name);
    }
    let path = PathBuf::from(
        database_url
            .strip_prefix("sqlite://")
            .unwrap_or(database_url),
    );
    path.parent()
        .map(PathBuf::from)
        .unwrap_or_default()
        .join(name)
}

/// `media/` beside the SQLite database file; `data/media` when the database is PostgreSQL.
pub fn media_dir_for(database_url: &str) -> PathBuf {
    beside_database(database_url, "media")
}

/// `REPRISE_MEDIA_URL`, checked (a URL no store answers to stops the server at start), or the
/// directory beside the database.
fn media_url_from_env(database_url: &str) -> Result<String, ConfigError> {
    let url = var("REPRISE_MEDIA_URL")
        .map(|u| u.trim().to_string())
        .unwrap_or_else(|| media_dir_for(database_url).display().to_string());
    crate::blobs::check_url(&url).map_err(|e| ConfigError::Invalid {
        name: "REPRISE_MEDIA_URL",
        message: e.to_string(),
    })?;
    Ok(url)
}

/// Test servers' media: `REPRISE_TEST_MEDIA_URL` when set (a bucket every test shares, keys
/// apart by organization), else a fresh directory per database, so a second server on the same
/// database (another instance) sees the same files.
fn test_media_url(database_url: &str) -> String {
    if let Some(url) = var("REPRISE_TEST_MEDIA_URL") {
        return url;
    }
    use sha2::Digest;
    let digest = hex::encode(sha2::Sha256::digest(database_url.as_bytes()));
    std::env::temp_dir()
        .join("reprise-test-media")
        .join(&digest[..24])
        .display()
        .to_string()
}

/// A read replica is a PostgreSQL standby of a PostgreSQL primary.
fn check_read_url(database_url: &str, read_url: Option<&str>) -> Result<(), ConfigError> {
    match read_url {
        Some(read_url)
            if Backend::of_url(database_url) != Backend::Postgres
                || Backend::of_url(read_url) != Backend::Postgres =>
        {
            Err(ConfigError::Invalid {
                name: "REPRISE_READ_DATABASE_URL",
                message: "must be a postgres:// URL, with REPRISE_DATABASE_URL on PostgreSQL too \
                          (the replica streams from it)"
                    .into(),
            })
        }
        _ => Ok(()),
    }
}

/// A secret the operator did not set: on SQLite, generated once and kept beside the database in
/// `file` (mode 0600), so restarts keep it; PostgreSQL serves several instances, which must all
/// share it, so there it must be set (`name`).
fn persisted_secret(
    database_url: &str,
    file: &str,
    name: &'static str,
    generate: impl FnOnce() -> String,
) -> Result<Vec<u8>, ConfigError> {
    if Backend::of_url(database_url) == Backend::Postgres {
        return Err(ConfigError::SecretRequired(name));
    }
    let db_path = PathBuf::from(
        database_url
            .strip_prefix("sqlite://")
            .unwrap_or(database_url),
    );
    let dir = db_path.parent().map(PathBuf::from).unwrap_or_default();
    let path = dir.join(file);
    let keep_err = |source| ConfigError::SecretFile {
        path: path.display().to_string(),
        source,
    };
    if let Ok(existing) = std::fs::read_to_string(&path) {
        if existing.trim().len() >= 32 {
            return Ok(existing.trim().as_bytes().to_vec());
        }
    }
    if !dir.as_os_str().is_empty() {
        std::fs::create_dir_all(&dir).map_err(keep_err)?;
    }
    let secret = generate();
    write_private(&path, &secret).map_err(keep_err)?;
    tracing::warn!(path = %path.display(), "{name} is not set: generated one and kept it beside the database");
    Ok(secret.into_bytes())
}

#[cfg(unix)]
fn write_private(path: &std::path::Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(content.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &std::path::Path, content: &str) -> std::io::Result<()> {
    std::fs::write(path, content)
}

#[cfg(test)]
mod tests {
    use super::{check_read_url, redact_url};

    #[test]
    fn a_read_replica_is_postgres_behind_postgres() {
        let pg = "postgres://app@db/reprise";
        let replica = "postgresql://app@replica/reprise";
        assert!(check_read_url(pg, None).is_ok());
        assert!(check_read_url("sqlite://data/reprise.db", None).is_ok());
        assert!(check_read_url(pg, Some(replica)).is_ok());
        assert!(check_read_url(pg, Some("sqlite://copy.db")).is_err());
        assert!(check_read_url("sqlite://data/reprise.db", Some(replica)).is_err());
    }

    #[test]
    fn passwords_in_urls_are_hidden() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5432/reprise"),
            "postgres://app:***@db:5432/reprise"
        );
        assert_eq!(
            redact_url("sqlite://data/reprise.db"),
            "sqlite://data/reprise.db"
        );
    }
}
