//! `reprise bench`: the load benchmark of GUIDE.md section 6, with its baselines measured in the
//! same run on the same machine.
//!
//! For each engine (SQLite, and PostgreSQL when `REPRISE_BENCH_DATABASE_URL` names a server):
//! the raw write rate of an answer's rows through the store layer; then a generated organization,
//! `reprise serve` as a child process on it, and the load generator driving `/healthz` (the
//! baseline of reads), `answer_write`, `queue_read` and `mixed` over loopback.
//!
//! With `--analytics` it times the analytics views instead, and with `--reminders` one reminder
//! pass over an organization at scale.
//!
//! A binary of its own (`reprise-bench`), built beside `reprise` from the library's public API, so
//! the service never links the load generator; `reprise bench …` hands its arguments to it
//! (docs/adr/0013-bench-binary.md).

mod analytics;
mod load;
mod raw;
mod reminders;
mod report;
mod seed;
mod server;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use diesel::connection::SimpleConnection;
use diesel::{Connection, RunQueryDsl};

use load::Scenario;
use report::ScenarioResult;
use reprise::auth::jwt::TokenKeys;
use reprise::domain::accounts::Role;
use reprise::domain::content::Pack;
use reprise::domain::ids::UserId;
use reprise::store::accounts::FIRST_AUTH_VERSION;
use reprise::store::{self, Backend, SqliteSync};

/// Load benchmark on this machine: raw write and /healthz baselines, then answer writes, queue
/// reads and a mix against `reprise serve` on a generated organization (SQLite, and PostgreSQL
/// when REPRISE_BENCH_DATABASE_URL is set). Writes target/bench/latest.json. With --analytics:
/// every analytics view timed on an organization at scale instead; with --reminders: one reminder
/// pass over an organization at scale.
#[derive(Parser)]
#[command(name = "reprise bench", bin_name = "reprise bench", version)]
struct Cli {
    /// Time the analytics views (against a 1 s budget each) instead of the load scenarios.
    #[arg(long)]
    analytics: bool,
    /// Time one reminder pass (planning, push to a loopback service, e-mail to files) over an
    /// organization at scale, against a read of its learners, instead of the load scenarios.
    #[arg(long, conflicts_with = "analytics")]
    reminders: bool,
    /// Seconds per scenario.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Seconds of the raw write baseline.
    #[arg(long, default_value_t = 5.0)]
    raw_seconds: f64,
    /// Learners of the generated organization [default: 1000; 10000 with --analytics; 100000
    /// with --reminders].
    #[arg(long)]
    learners: Option<usize>,
    /// Nuggets of the organization at scale (--analytics, --reminders) [default: 200; 10 with
    /// --reminders].
    #[arg(long)]
    nuggets: Option<usize>,
    /// Days of simulated answers of the organization at scale (--analytics, --reminders)
    /// [default: 60; 2 with --reminders]. 180 days at 10,000 learners is about 25 M answers and
    /// a 25 GB SQLite file.
    #[arg(long)]
    days: Option<u32>,
    /// Requests per analytics view (--analytics).
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// With --analytics and REPRISE_BENCH_DATABASE_URL: skip the SQLite run (a full-size
    /// organization takes a quarter of an hour to generate on each engine).
    #[arg(long)]
    postgres_only: bool,
    /// Concurrent clients (one keep-alive connection each).
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Most requests of one scenario.
    #[arg(long, default_value_t = 1_000_000)]
    max_requests: u64,
    /// Threads of the load generator.
    #[arg(long, default_value_t = 2)]
    client_threads: usize,
    /// Sample packs to publish (generated packs when the folder is missing).
    #[arg(long, default_value = "content")]
    content: PathBuf,
}

fn main() -> anyhow::Result<ExitCode> {
    reprise::telemetry::init();
    let cli = Cli::parse();
    let ok = if cli.reminders {
        let opts = reminders::Options {
            learners: cli.learners.unwrap_or(100_000),
            nuggets: cli.nuggets.unwrap_or(10),
            days: cli.days.unwrap_or(2),
        };
        if opts.learners == 0 || opts.nuggets == 0 || opts.days == 0 {
            anyhow::bail!("--learners, --nuggets and --days must be at least 1");
        }
        reminders::run(&opts)?
    } else if cli.analytics {
        let opts = analytics::Options {
            learners: cli.learners.unwrap_or(10_000),
            nuggets: cli.nuggets.unwrap_or(200),
            days: cli.days.unwrap_or(60),
            repeat: cli.repeat,
            postgres_only: cli.postgres_only,
        };
        if opts.learners == 0 || opts.nuggets == 0 || opts.days == 0 || opts.repeat == 0 {
            anyhow::bail!("--learners, --nuggets, --days and --repeat must be at least 1");
        }
        analytics::run(&opts)?
    } else {
        run(&Options {
            seconds: cli.seconds,
            raw_seconds: cli.raw_seconds,
            learners: cli.learners.unwrap_or(1000),
            clients: cli.clients,
            max_requests: cli.max_requests,
            content: cli.content,
            client_threads: cli.client_threads,
        })?
    };
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

pub struct Options {
    /// Length of each scenario.
    pub seconds: f64,
    /// Length of the raw write baseline.
    pub raw_seconds: f64,
    pub learners: usize,
    pub clients: usize,
    /// Upper bound on the requests of one scenario.
    pub max_requests: u64,
    /// Folder of sample packs (generated packs when missing).
    pub content: PathBuf,
    /// Threads of the load generator's runtime.
    pub client_threads: usize,
}

/// Share of answers in the mixed scenario (the rest are queue reads).
const MIXED_ANSWER_SHARE: f64 = 0.2;
/// Writers of the raw PostgreSQL baseline (pgbench-style clients; the server's pool size).
const PG_RAW_WRITERS: usize = 16;

/// Runs every scenario, prints the table and writes `target/bench/latest.json`. Returns false
/// when any request failed.
pub fn run(opts: &Options) -> anyhow::Result<bool> {
    let packs = seed::packs(&opts.content)?;
    let dir = tempfile::Builder::new()
        .prefix("reprise-bench-")
        .tempdir()?;
    let sync = match std::env::var("REPRISE_SQLITE_SYNCHRONOUS") {
        Ok(v) if v.eq_ignore_ascii_case("normal") => SqliteSync::Normal,
        _ => SqliteSync::Full,
    };
    println!(
        "reprise bench: {} learners, {} packs, {} clients, {} s per scenario, SQLite synchronous={:?}, \
         {} cores",
        opts.learners,
        packs.len(),
        opts.clients,
        opts.seconds,
        sync,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let mut results = Vec::new();
    let raw_db = dir.path().join("raw.db").display().to_string();
    let app_db = dir.path().join("reprise.db").display().to_string();
    results.extend(engine(
        opts,
        &packs,
        &raw_db,
        &app_db,
        sync,
        1,
        dir.path(),
        "",
    )?);
    if let Some(admin) = std::env::var("REPRISE_BENCH_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
    {
        let raw_db = PgDatabase::create(&admin)?;
        let app_db = PgDatabase::create(&admin)?;
        let pg = engine(
            opts,
            &packs,
            &raw_db.url,
            &app_db.url,
            sync,
            PG_RAW_WRITERS,
            dir.path(),
            "_postgres",
        );
        results.extend(pg?);
    }
    println!();
    report::print_table(&results);
    let path = report::write_json(&results)?;
    println!("\nwritten to {}", path.display());
    let failed: u64 = results.iter().map(|r| r.errors).sum();
    if failed > 0 {
        eprintln!("{failed} requests failed");
    }
    Ok(failed == 0)
}

/// Baselines and scenarios on one engine.
#[allow(clippy::too_many_arguments)]
fn engine(
    opts: &Options,
    packs: &[Pack],
    raw_url: &str,
    app_url: &str,
    sync: SqliteSync,
    raw_writers: usize,
    dir: &std::path::Path,
    suffix: &str,
) -> anyhow::Result<Vec<ScenarioResult>> {
    let engine = match Backend::of_url(app_url) {
        Backend::Sqlite => "SQLite",
        Backend::Postgres => "PostgreSQL",
    };
    let raw_pool = store::connect(raw_url, raw_writers as u32 + 1, sync)?;
    store::migrate(&mut *raw_pool.get()?)?;
    let raw_rate = raw::write_rate(&raw_pool, packs, raw_writers, opts.raw_seconds)?;
    drop(raw_pool);
    println!(
        "{engine}: raw answer-row write transactions ({raw_writers} writer(s)): {raw_rate:.0}/s"
    );

    let t0 = Instant::now();
    let seed_pool = store::connect(app_url, 2, SqliteSync::Normal)?;
    let conn = &mut seed_pool.get()?;
    store::migrate(conn)?;
    let org = seed::generate(conn, opts.learners, packs, chrono::Utc::now())?;
    drop(seed_pool);
    println!(
        "{engine}: generated {} learners in {:.1} s",
        org.learner_ids.len(),
        t0.elapsed().as_secs_f64()
    );

    let secret = hex::encode(rand::random::<[u8; 32]>());
    let mut server =
        server::Server::start(app_url, &secret, &dir.join(format!("server{suffix}.log")))?;
    let keys = TokenKeys::new(secret.as_bytes(), 3600);
    let now = chrono::Utc::now().timestamp();
    let tokens = |ids: &[UserId]| -> Vec<String> {
        ids.iter()
            .map(|id| keys.issue(id, &org.org_id, Role::Learner, FIRST_AUTH_VERSION, now))
            .collect()
    };
    let (reader_tokens, answerer_tokens) = (tokens(&org.learner_ids), tokens(&org.answerer_ids));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(opts.client_threads.max(1))
        .enable_all()
        .build()?;
    let addr = server.addr;
    let learners = Arc::new(load::Learners {
        readers: rt.block_on(load::prepare(addr, reader_tokens, opts.clients))?,
        answerers: rt.block_on(load::prepare(addr, answerer_tokens, opts.clients))?,
    });
    let duration = Duration::from_secs_f64(opts.seconds);
    // About one answer per learner, untimed: a running organization has a history, and PostgreSQL
    // plans statements from its tables' statistics. Analyzed empty, the memory states were read
    // by sequential scans whose cached plans outlived the table's growth during the scenario.
    let history = rt.block_on(load::run(
        addr,
        Scenario::AnswerWrite,
        learners.clone(),
        opts.clients,
        Duration::from_secs(600),
        learners.answerers.len() as u64,
    ))?;
    if let Some(e) = &history.first_error {
        anyhow::bail!("{engine}: the answer history failed: {e}");
    }
    // A live PostgreSQL keeps planner statistics current through autovacuum; a database that
    // grew from empty moments ago has none, and plans chosen for near-empty tables (sequential
    // scans) made the scenario after the answer burst several times slower than either of its
    // parts. Refreshed before each scenario, as autovacuum would have done.
    let stats_pool = match Backend::of_url(app_url) {
        Backend::Postgres => Some(store::connect(app_url, 1, sync)?),
        Backend::Sqlite => None,
    };
    let measure = |scenario: Scenario| -> anyhow::Result<(load::Outcome, u64, f64)> {
        if let Some(pool) = &stats_pool {
            pool.get()?.batch_execute("ANALYZE")?;
        }
        server.reset_peak_rss();
        let cpu_before = server.cpu_seconds();
        let outcome = rt.block_on(load::run(
            addr,
            scenario,
            learners.clone(),
            opts.clients,
            duration,
            opts.max_requests,
        ))?;
        if let Some(e) = &outcome.first_error {
            eprintln!("{scenario:?}: {} errors, first: {e}", outcome.errors);
        }
        let cpu_ms = (server.cpu_seconds() - cpu_before) * 1000.0 / outcome.requests.max(1) as f64;
        Ok((outcome, server.peak_rss_bytes(), cpu_ms))
    };
    let (health, _, _) = measure(Scenario::Health)?;
    let health_rate = health.per_second();
    println!("{engine}: /healthz over HTTP: {health_rate:.0}/s");
    let mixed_baseline =
        1.0 / ((1.0 - MIXED_ANSWER_SHARE) / health_rate + MIXED_ANSWER_SHARE / raw_rate);
    let mut results = Vec::new();
    for (name, scenario, baseline, baseline_per_s) in [
        ("queue_read", Scenario::QueueRead, "/healthz", health_rate),
        (
            "answer_write",
            Scenario::AnswerWrite,
            "raw write transactions",
            raw_rate,
        ),
        (
            "mixed",
            Scenario::Mixed,
            "80 % /healthz + 20 % raw writes",
            mixed_baseline,
        ),
    ] {
        let (o, rss, cpu_ms) = measure(scenario)?;
        let r = ScenarioResult {
            name: format!("{name}{suffix}"),
            requests: o.requests,
            requests_per_s: o.per_second(),
            p50_ms: o.percentile_ms(0.5),
            p99_ms: o.percentile_ms(0.99),
            errors: o.errors,
            practice_answers: o.practice,
            baseline: baseline.into(),
            baseline_per_s,
            ratio_to_baseline: o.per_second() / baseline_per_s,
            peak_rss_bytes: rss,
            server_cpu_ms_per_request: cpu_ms,
        };
        println!(
            "{engine}: {:<12} {:>7.0}/s p50 {:.2} ms p99 {:.2} ms, {} errors, peak RSS {:.1} MB, \
             server CPU {:.3} ms/request",
            name,
            r.requests_per_s,
            r.p50_ms,
            r.p99_ms,
            r.errors,
            rss as f64 / 1_048_576.0,
            cpu_ms
        );
        if o.practice > 0 {
            eprintln!(
                "{engine}: {name}: {} answers were taken as practice: the answerers ran out of \
                 nuggets, so this scenario measured cheaper writes (fewer --seconds or more \
                 --learners)",
                o.practice
            );
        }
        results.push(r);
    }
    if results.iter().any(|r| r.errors > 0) {
        eprintln!("server log (last lines):\n{}", server.log_tail(20));
    }
    Ok(results)
}

/// A throwaway database on the PostgreSQL server of an admin URL, dropped at the end.
struct PgDatabase {
    admin: String,
    name: String,
    url: String,
}

impl PgDatabase {
    fn create(admin: &str) -> anyhow::Result<PgDatabase> {
        let name = format!("reprise_bench_{}", uuid::Uuid::new_v4().simple());
        let mut conn = diesel::pg::PgConnection::establish(admin)?;
        diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut conn)?;
        let (main, query) = match admin.split_once('?') {
            Some((main, query)) => (main, format!("?{query}")),
            None => (admin, String::new()),
        };
        let (base, _) = main
            .rsplit_once('/')
            .ok_or_else(|| anyhow::anyhow!("REPRISE_BENCH_DATABASE_URL names no database"))?;
        Ok(PgDatabase {
            admin: admin.into(),
            url: format!("{base}/{name}{query}"),
            name,
        })
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Ok(mut conn) = diesel::pg::PgConnection::establish(&self.admin) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut conn);
        }
    }
}
