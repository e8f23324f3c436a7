//! `reprise bench --reminders`: one reminder pass (planning and delivery) over an organization
//! generated at scale, against a baseline pass over its learner table measured in the same run.
//!
//! For each engine (SQLite, and PostgreSQL when `REPRISE_BENCH_DATABASE_URL` names a server):
//! the organization of `reprise demo` (the same generator, a short history so that nuggets wait
//! today), one learner in [`PUSH_EVERY`] with a device subscribed to a push service on loopback
//! inside this process, e-mail to `.eml` files (the mailer's folder mode), then the reminder
//! service built as `reprise remind` builds it, with loopback allowed by the egress policy as an
//! operator would allow a push service, and one pass at noon UTC of today timed.
//!
//! The baseline is the planner's own first read: every active learner of the organization with
//! their reminder choices, through the store layer. Its rate is the ceiling of any pass that looks
//! at each learner once; the ratio says how much deciding, recording and sending cost beyond it.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use serde::Serialize;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};

use super::analytics::median;
use super::PgDatabase;
use reprise::auth::jwt::TokenKeys;
use reprise::clock::Clock;
use reprise::config::Settings;
use reprise::demo::scale;
use reprise::domain::accounts::Role;
use reprise::domain::egress::EgressPolicy;
use reprise::domain::ids::OrgId;
use reprise::domain::nudges::NotificationSettings;
use reprise::store::nudges as nudge_store;
use reprise::store::push_subscriptions;
use reprise::store::{self, Backend, Database, SqliteSync};

pub struct Options {
    pub learners: usize,
    /// Nuggets of the organization's packs. Ten by default: every nugget is introduced in the
    /// history's first day, so today's queues hold the reviews that fell due, and 100,000
    /// learners' history stays near 2 GB per engine.
    pub nuggets: usize,
    /// Days of simulated answers before today.
    pub days: u32,
}

/// One learner in this many has a device: push is opt-in, e-mail the default.
const PUSH_EVERY: usize = 10;
/// Baseline reads; the median is kept.
const BASELINE_RUNS: usize = 3;
/// Connections of the pass's pool: the size `reprise remind` gets by default.
const POOL_SIZE: u32 = 8;

/// One engine's run, written to `latest.json` as `reminders_pass[_postgres]`.
#[derive(Debug, Clone, Serialize)]
pub struct PassResult {
    #[serde(skip)]
    pub name: String,
    pub engine: String,
    pub learners: usize,
    pub devices: usize,
    pub generation_s: f64,
    pub pass_s: f64,
    pub learners_per_s: f64,
    pub baseline: String,
    pub baseline_per_s: f64,
    pub ratio_to_baseline: f64,
    /// Decisions by `channel outcome` (`send` or the skip reason).
    pub decided: BTreeMap<String, usize>,
    pub sent_push: usize,
    pub sent_email: usize,
    pub retried: usize,
    pub failed: usize,
    /// Messages the loopback push service accepted, and `.eml` files written.
    pub push_received: u64,
    pub mail_files: usize,
    /// `/proc/loadavg` (1, 5, 15 min) at the end of the pass.
    pub load_average: String,
}

/// Runs the pass on every engine, prints the figures and adds them to `latest.json`. Returns
/// false when a message failed or went missing.
pub fn run(opts: &Options) -> anyhow::Result<bool> {
    println!(
        "reprise bench --reminders: {} learners, one in {PUSH_EVERY} with a device, {} nuggets, \
         {} days of answers, {} cores",
        opts.learners,
        opts.nuggets,
        opts.days,
        std::thread::available_parallelism().map_or(1, |n| n.get()),
    );
    let sync = match std::env::var("REPRISE_SQLITE_SYNCHRONOUS") {
        Ok(v) if v.eq_ignore_ascii_case("normal") => SqliteSync::Normal,
        _ => SqliteSync::Full,
    };
    let mut results = Vec::new();
    {
        // Each engine's files are dropped after its run: at full size the database and the
        // messages take a few gigabytes.
        let dir = tempfile::Builder::new()
            .prefix("reprise-bench-reminders-")
            .tempdir()?;
        let url = dir.path().join("reminders.db").display().to_string();
        results.push(engine(opts, &url, dir.path(), sync, "")?);
    }
    if let Some(admin) = std::env::var("REPRISE_BENCH_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
    {
        let dir = tempfile::Builder::new()
            .prefix("reprise-bench-reminders-")
            .tempdir()?;
        let db = PgDatabase::create(&admin)?;
        results.push(engine(opts, &db.url, dir.path(), sync, "_postgres")?);
    }
    println!();
    print_table(&results);
    let path = write_json(&results)?;
    println!("\nadded to {}", path.display());
    let complete = results.iter().all(|r| {
        r.failed == 0
            && r.push_received == r.sent_push as u64
            && r.mail_files == r.sent_email
            && r.sent_push + r.sent_email > 0
    });
    if !complete {
        eprintln!("a message failed, went missing, or none was sent");
    }
    Ok(complete)
}

/// Noon UTC today: after the default reminder time (09:00) in the generated organization's zone
/// (UTC), whenever the benchmark runs.
fn pass_time() -> DateTime<Utc> {
    Utc::now()
        .date_naive()
        .and_hms_opt(12, 0, 0)
        .unwrap_or_default()
        .and_utc()
}

fn engine(
    opts: &Options,
    url: &str,
    dir: &std::path::Path,
    sync: SqliteSync,
    suffix: &str,
) -> anyhow::Result<PassResult> {
    let backend = Backend::of_url(url);
    let engine = match backend {
        Backend::Sqlite => "SQLite",
        Backend::Postgres => "PostgreSQL",
    };
    let at = pass_time();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let received = Arc::new(AtomicU64::new(0));
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let origin = format!("http://{}", listener.local_addr()?);
    rt.spawn(push_service(listener, received.clone()));

    let started = Instant::now();
    let (org_id, devices) = {
        let pool = store::connect(url, 2, SqliteSync::Normal)?;
        let conn = &mut pool.get()?;
        store::migrate(conn)?;
        let plan = scale::Plan {
            learners: opts.learners,
            nuggets: opts.nuggets,
            days: opts.days,
            org_slug: "bench-reminders".into(),
            seed: 2024,
        };
        let mut last = 0;
        let org = scale::generate(&pool, &plan, at, |done, total| {
            if done * 10 / total != last {
                last = done * 10 / total;
                eprintln!(
                    "  {engine}: {done}/{total} learners ({:.0} s)",
                    started.elapsed().as_secs_f64()
                );
            }
        })?;
        let org_id = OrgId::from(org.org_id.as_str());
        let devices = subscribe_devices(conn, &org_id, &origin, at)?;
        (org_id, devices)
    };
    let generation_s = started.elapsed().as_secs_f64();
    println!(
        "{engine}: generated {} learners ({devices} with a device) in {generation_s:.1} s",
        opts.learners
    );

    let pool = store::connect(url, POOL_SIZE, sync)?;
    let mut reads = Vec::new();
    let mut learners = 0;
    for _ in 0..BASELINE_RUNS {
        let conn = &mut pool.get()?;
        let t = Instant::now();
        learners = nudge_store::recipients(conn, &org_id, Role::Learner)?.len();
        reads.push(t.elapsed().as_secs_f64());
    }
    let baseline_per_s = learners as f64 / median(&reads);
    println!(
        "{engine}: baseline, every active learner with their reminder choices: {:.1} ms, \
         {baseline_per_s:.0} learners/s",
        median(&reads) * 1000.0
    );

    let mail_dir = dir.join(format!("mail{suffix}"));
    let mut settings = Settings::for_tests(url.to_string());
    settings.egress = EgressPolicy::parse_allow("127.0.0.1", true).map_err(anyhow::Error::msg)?;
    settings.mail_dir = mail_dir.clone();
    settings.smtp_url = None;
    let keys = Arc::new(TokenKeys::new(
        &settings.jwt_secret,
        settings.access_ttl_secs,
    ));
    let outbound = reprise::startup::build_outbound(&settings)?;
    let reach = reprise::startup::build_reach(
        &settings,
        Database::new(pool, backend),
        Clock::System,
        outbound,
        keys,
    )?;
    let t = Instant::now();
    let report = rt
        .block_on(reach.pass(at))
        .map_err(|e| anyhow::anyhow!("the pass failed: {e}"))?;
    let pass_s = t.elapsed().as_secs_f64();
    let learners_per_s = report.learners as f64 / pass_s;
    let mail_files = std::fs::read_dir(&mail_dir).map_or(0, |d| d.count());
    let sent = |channel: &str| report.sent.get(channel).copied().unwrap_or(0);
    let result = PassResult {
        name: format!("reminders_pass{suffix}"),
        engine: engine.into(),
        learners: report.learners,
        devices,
        generation_s,
        pass_s,
        learners_per_s,
        baseline: "read of every active learner with their reminder choices".into(),
        baseline_per_s,
        ratio_to_baseline: learners_per_s / baseline_per_s,
        decided: report
            .decided
            .iter()
            .map(|((channel, outcome), n)| (format!("{channel} {outcome}"), *n))
            .collect(),
        sent_push: sent("push"),
        sent_email: sent("email"),
        retried: report.retried,
        failed: report.failed,
        push_received: received.load(Ordering::SeqCst),
        mail_files,
        load_average: std::fs::read_to_string("/proc/loadavg")
            .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
            .unwrap_or_default(),
    };
    println!(
        "{engine}: one pass over {} learners in {pass_s:.1} s: {learners_per_s:.0} learners/s \
         ({:.2} % of the baseline); sent {} push, {} e-mail",
        result.learners,
        result.ratio_to_baseline * 100.0,
        result.sent_push,
        result.sent_email
    );
    rt.shutdown_background();
    Ok(result)
}

/// Gives every [`PUSH_EVERY`]th learner push on top of e-mail and one device at the loopback
/// push service. All devices share one browser key: the pass encrypts for each message anyway.
fn subscribe_devices(
    conn: &mut store::DbConnection,
    org_id: &OrgId,
    origin: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let secret = p256::SecretKey::random(&mut rand::rngs::OsRng);
    let point = secret.public_key().as_affine().to_encoded_point(false);
    let p256dh = URL_SAFE_NO_PAD.encode(point.as_bytes());
    let auth = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>());
    let learners = nudge_store::recipients(conn, org_id, Role::Learner)?;
    let mut devices = 0;
    for (i, learner) in learners.iter().enumerate().step_by(PUSH_EVERY) {
        let id = &learner.id;
        let choice = NotificationSettings {
            push: true,
            ..learner.settings
        };
        nudge_store::put_settings(conn, org_id, id, &choice, now)?;
        let endpoint = format!("{origin}/push/{i}");
        push_subscriptions::subscribe(conn, org_id, id, &endpoint, &p256dh, &auth, now)?;
        devices += 1;
    }
    Ok(devices)
}

/// A push service that accepts every message (`201 Created`) on keep-alive connections and
/// counts them: the far end of the pass's Web Push requests, costing it no more than the
/// round trip.
async fn push_service(listener: tokio::net::TcpListener, received: Arc<AtomicU64>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let received = received.clone();
        tokio::spawn(async move {
            let _ = accept_messages(stream, &received).await;
        });
    }
}

/// The push service's answer to every message.
const ACCEPTED: &[u8] = b"HTTP/1.1 201 Created\r\ncontent-length: 0\r\n\r\n";

/// Reads requests (a head, then `Content-Length` bytes of body) and answers each with 201 until
/// the client closes the connection.
async fn accept_messages(
    stream: tokio::net::TcpStream,
    received: &AtomicU64,
) -> std::io::Result<()> {
    let mut stream = tokio::io::BufReader::new(stream);
    let mut line = String::new();
    loop {
        let mut length = 0usize;
        loop {
            line.clear();
            if stream.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; length];
        stream.read_exact(&mut body).await?;
        received.fetch_add(1, Ordering::SeqCst);
        stream.get_mut().write_all(ACCEPTED).await?;
    }
}

fn print_table(results: &[PassResult]) {
    println!(
        "{:<26} {:>9} {:>8} {:>13} {:>13} {:>7} {:>8} {:>8}",
        "pass", "learners", "pass s", "learners/s", "baseline/s", "ratio", "push", "e-mail"
    );
    for r in results {
        println!(
            "{:<26} {:>9} {:>8.1} {:>13.0} {:>13.0} {:>6.2}% {:>8} {:>8}",
            r.name,
            r.learners,
            r.pass_s,
            r.learners_per_s,
            r.baseline_per_s,
            r.ratio_to_baseline * 100.0,
            r.sent_push,
            r.sent_email
        );
        for (decision, n) in &r.decided {
            println!("    decided {decision}: {n}");
        }
    }
}

/// Adds the figures to `latest.json`, keeping the other benchmarks' and replacing an earlier
/// reminder pass's.
fn write_json(results: &[PassResult]) -> anyhow::Result<std::path::PathBuf> {
    let path = super::report::json_path();
    let mut map = std::fs::read_to_string(&path)
        .ok()
        .and_then(|s| serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&s).ok())
        .unwrap_or_default();
    map.retain(|k, _| !k.starts_with("reminders_"));
    for r in results {
        map.insert(r.name.clone(), serde_json::to_value(r)?);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&path, serde_json::to_string_pretty(&map)? + "\n")?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_push_service_accepts_each_message_on_a_kept_connection() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(AtomicU64::new(0));
        tokio::spawn(push_service(listener, received.clone()));
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        for body in ["first", "the second message"] {
            let request = format!(
                "POST /push/1 HTTP/1.1\r\nhost: {addr}\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(request.as_bytes()).await.unwrap();
            let mut answer = vec![0; ACCEPTED.len()];
            stream.read_exact(&mut answer).await.unwrap();
            assert_eq!(answer, ACCEPTED);
        }
        assert_eq!(received.load(Ordering::SeqCst), 2);
    }
}
