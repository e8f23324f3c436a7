//! The `reprise` command line.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use reprise::authoring::render;
use reprise::catalog_files;
use reprise::clock::Clock;
use reprise::config::{database_url_from_env, Settings};
use reprise::domain::content::{Format, ImportOptions};
use reprise::domain::eval::{self, reprise_format, simulate, sm18, Model, SplitOrder};
use reprise::domain::ids::UserId;
use reprise::memory_model::optimize_org;
use reprise::startup::{open_database_at, Application};
use reprise::store::{accounts, content, write_tx};
use reprise::{demo, http, telemetry};

#[derive(Parser)]
#[command(
    name = "reprise",
    version,
    about = "Reinforcement after sales training"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum ExportFormat {
    Yaml,
    Json,
    Gift,
    Csv,
}

#[derive(Clone, Copy, ValueEnum)]
enum EvalFormat {
    /// SuperMemo 18 repetition-history export (see docs/memory-model.md).
    Sm18,
    /// Reprise's own review export (`GET /api/v1/reviews/export`).
    Reprise,
}

/// `reprise simulate`: see docs/memory-model.md ("Simulation").
#[derive(clap::Args)]
struct SimulateArgs {
    /// Comma list of qstream-W-R, fsrs:R, planner, planner:Q.
    #[arg(long, default_value = "qstream-21-42,qstream-8-16,fsrs:0.8,planner")]
    policy: String,
    #[arg(long, default_value_t = 100)]
    learners: usize,
    #[arg(long, default_value_t = 60)]
    nuggets: usize,
    /// Last day measured (day 0 is the training event).
    #[arg(long, default_value_t = 120)]
    days: u32,
    /// Days whose mean true recall is the headline figure, A-B.
    #[arg(long, default_value = "30-120")]
    window: String,
    /// Questions per learner per day at most, for every policy.
    #[arg(long, default_value_t = 3)]
    budget: usize,
    /// Options per multiple-choice question (the guessing rate is 1/K).
    #[arg(long, default_value_t = 4)]
    options: u8,
    #[arg(long, default_value_t = 2024)]
    seed: u64,
    /// `default`: FSRS-6 defaults with per-learner and per-nugget spread.
    #[arg(long, default_value = "default", conflicts_with_all = ["truth_params", "truth_from"])]
    truth: String,
    /// The truth's FSRS-6 parameters, w0,...,w20.
    #[arg(long)]
    truth_params: Option<String>,
    /// FSRS-6 fitted per learner on this review history: one sub-population per real learner.
    #[arg(long)]
    truth_from: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "sm18")]
    format: EvalFormat,
    /// Only this learner of --truth-from.
    #[arg(long, requires = "truth_from")]
    truth_learner: Option<String>,
    /// Log standard deviation of the learners' personal clock.
    #[arg(long, default_value_t = simulate::truth::LEARNER_SPREAD)]
    learner_spread: f64,
    /// Log standard deviation of the nuggets' personal clock.
    #[arg(long, default_value_t = simulate::truth::NUGGET_SPREAD)]
    nugget_spread: f64,
    /// Schedule with parameters fitted on the population's answers up to this day.
    #[arg(long)]
    fit_after: Option<u32>,
    /// The planner aims at recall on this day instead of the window.
    #[arg(long)]
    target_day: Option<u32>,
    /// Print {"policies": [...]} as JSON.
    #[arg(long)]
    json: bool,
    /// Print the whole equal-effort comparison (every truth, 2/4/5 options, budgets 2/3/5) as
    /// Markdown; uses --truth-from for the fitted learners.
    #[arg(long)]
    grid: bool,
}

#[derive(Subcommand)]
enum SecretsAction {
    /// Print a new random key for REPRISE_SECRET_KEY.
    NewKey,
    /// Seal every stored secret again under REPRISE_SECRET_KEY; the keys that sealed them must
    /// be in REPRISE_SECRET_KEY_PREVIOUS.
    Rotate,
}

#[derive(Subcommand)]
enum UsersAction {
    /// Bring an organization's people in step with a roster CSV (`email,name,role,team,
    /// manager_email`; see docs/identity.md): all or nothing, every error with its line.
    Import {
        /// The roster file.
        file: PathBuf,
        /// Organization slug.
        #[arg(long)]
        org: String,
        /// Print what would change and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Deactivate the organization's active people the roster leaves out.
        #[arg(long)]
        deactivate_missing: bool,
    },
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP service (migrates the database first).
    Serve {
        /// Create the demo organization, publish the sample packs and assign them.
        #[arg(long)]
        demo: bool,
        /// A folder of packs for --demo to load instead of the sample packs built in.
        #[arg(long, env = "REPRISE_CONTENT_DIR")]
        content: Option<PathBuf>,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// An organization's people.
    Users {
        #[command(subcommand)]
        action: UsersAction,
    },
    /// Print the OpenAPI document.
    Openapi,
    /// Third-party secrets stored for organizations (sealed with REPRISE_SECRET_KEY).
    Secrets {
        #[command(subcommand)]
        action: SecretsAction,
    },
    /// Write a consistent backup of the database while the service runs (SQLite: a database
    /// file; PostgreSQL: a pg_dump custom-format archive).
    Backup {
        #[arg(long)]
        to: PathBuf,
    },
    /// Restore a backup into REPRISE_DATABASE_URL (SQLite: the file must not exist yet).
    Restore {
        #[arg(long)]
        from: PathBuf,
    },
    /// Check pack files (files or folders); prints every error and warning, exits 1 on errors.
    Validate {
        paths: Vec<PathBuf>,
        #[command(flatten)]
        leniency: Leniency,
    },
    /// Import pack files into an organization's drafts: all or nothing.
    Import {
        paths: Vec<PathBuf>,
        /// Organization slug.
        #[arg(long)]
        org: String,
        /// Publish each changed pack as a new version.
        #[arg(long)]
        publish: bool,
        #[command(flatten)]
        leniency: Leniency,
    },
    /// Print a pack's newest published version.
    Export {
        #[arg(long)]
        org: String,
        #[arg(long)]
        pack: String,
        #[arg(long, value_enum, default_value = "yaml")]
        format: ExportFormat,
    },
    /// Score memory models on real review histories (log loss, RMSE, AUC).
    Eval {
        file: PathBuf,
        #[arg(long, value_enum, default_value = "sm18")]
        format: EvalFormat,
        /// Print CSV instead of a table.
        #[arg(long)]
        csv: bool,
    },
    /// Fit an organization's FSRS parameters on its own answers and schedule with them.
    Optimize {
        /// Organization slug.
        #[arg(long)]
        org: String,
    },
    /// Generate an organization at scale (learners in teams, packs, assignments and days of
    /// answers up to today) for trying and timing the analytics views.
    Demo {
        /// Learners (default 1000; with --experiment, 400).
        #[arg(long)]
        learners: Option<usize>,
        #[arg(long, default_value_t = 100)]
        nuggets: usize,
        #[arg(long, default_value_t = 90)]
        days: u32,
        /// Organization slug: a new one (default scale-demo); with --experiment an existing one
        /// (default: the demo organization, created if missing).
        #[arg(long)]
        org: Option<String>,
        #[arg(long, default_value_t = 2024)]
        seed: u64,
        /// Instead: an experiment of two arms (FSRS control, Qstream) started --weeks ago, whose
        /// learners' answers and probes follow a known true recall per arm, to check the
        /// estimated difference against the true one.
        #[arg(long)]
        experiment: bool,
        /// With --experiment: weeks the experiment has run.
        #[arg(long, default_value_t = 8)]
        weeks: u32,
        /// With --experiment: true recall of the control arm and of the other arm.
        #[arg(long, value_delimiter = ',', num_args = 2, default_values_t = [0.80, 0.86])]
        true_recall: Vec<f64>,
    },
    /// Load benchmark on this machine: raw write and /healthz baselines, then answer writes,
    /// queue reads and a mix against `reprise serve` on a generated organization (SQLite, and
    /// PostgreSQL when REPRISE_BENCH_DATABASE_URL is set). Writes target/bench/latest.json.
    /// With --analytics: every analytics view timed on an organization at scale instead.
    /// Runs the `reprise-bench` executable beside this one (`reprise bench --help` for its
    /// options).
    #[command(disable_help_flag = true)]
    Bench {
        /// Options of the benchmark, handed to `reprise-bench` as they are.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Run one reminder pass now (what the service does every REPRISE_REMIND_INTERVAL_SECS):
    /// decide today's nudges, send what is pending, print what was sent and skipped.
    Remind {
        /// The time to act at instead of now (RFC 3339), e.g. to send a morning's nudges.
        #[arg(long)]
        at: Option<chrono::DateTime<chrono::FixedOffset>>,
    },
    /// Compare scheduling policies on a seeded simulated population at equal effort.
    Simulate(SimulateArgs),
}

/// How lenient a pack import is (warnings are printed; only errors fail).
#[derive(clap::Args)]
struct Leniency {
    /// Warnings are errors: a nugget without an explanation, a skipped question.
    #[arg(long)]
    strict: bool,
    /// GIFT: skip questions of types Reprise does not ask, each a warning on its line.
    #[arg(long)]
    skip_unsupported: bool,
}

impl From<Leniency> for ImportOptions {
    fn from(l: Leniency) -> Self {
        ImportOptions {
            strict: l.strict,
            skip_unsupported: l.skip_unsupported,
        }
    }
}

#[actix_web::main]
async fn main() -> anyhow::Result<ExitCode> {
    telemetry::init();
    match Cli::parse().command {
        Command::Openapi => println!("{}", http::openapi().to_pretty_json()?),
        Command::Backup { to } => {
            reprise::backup::backup(&database_url_from_env(), &to)?;
            println!("backup written to {}", to.display());
        }
        Command::Restore { from } => {
            let url = database_url_from_env();
            reprise::backup::restore(&url, &from)?;
            open_database_at(&url)?;
            println!("restored {} into the configured database", from.display());
        }
        Command::Secrets { action } => match action {
            SecretsAction::NewKey => println!("{}", reprise::secrets::SecretBox::generate_key()),
            SecretsAction::Rotate => {
                let settings = reprise::config::Settings::from_env()?;
                let secrets = reprise::secrets::SecretBox::new(
                    &settings.secret_key,
                    &settings.previous_secret_keys,
                )?;
                let pool = open_database_at(&settings.database_url)?;
                let resealed = reprise::secrets::reseal_all(&mut *pool.get()?, &secrets)?;
                println!("{resealed} stored secrets sealed again under the current key");
            }
        },
        Command::Migrate => {
            open_database_at(&database_url_from_env())?;
            println!("database is up to date");
        }
        Command::Users {
            action:
                UsersAction::Import {
                    file,
                    org,
                    dry_run,
                    deactivate_missing,
                },
        } => {
            let options = reprise::accounts::roster::ImportOptions {
                dry_run,
                deactivate_missing,
            };
            return import_roster(&file, &org, options).await;
        }
        Command::Validate { paths, leniency } => return validate(&paths, leniency.into()),
        Command::Import {
            paths,
            org,
            publish,
            leniency,
        } => return import(&paths, &org, publish, leniency.into()),
        Command::Export { org, pack, format } => {
            let pool = open_database_at(&database_url_from_env())?;
            let conn = &mut pool.get()?;
            let org = accounts::find_org_by_slug(conn, &org)?;
            let pack = content::version_as_pack(conn, &org.id, &pack, None)?;
            let format = match format {
                ExportFormat::Yaml => Format::Yaml,
                ExportFormat::Json => Format::Json,
                ExportFormat::Gift => Format::Gift,
                ExportFormat::Csv => Format::Csv,
            };
            print!(
                "{}",
                render(&pack, format)
                    .map_err(|e| anyhow::anyhow!(e.to_string()))?
                    .0
            );
        }
        Command::Eval { file, format, csv } => {
            let reader = std::fs::File::open(&file)?;
            // SM18 follows the published fsrs-vs-sm15 protocol; app exports are split by time
            // (leak-free) and carry no source-system prediction to score.
            let (learners, models, split): (_, &[Model], _) = match format {
                EvalFormat::Sm18 => (sm18::load(reader)?, &Model::ALL, SplitOrder::Item),
                EvalFormat::Reprise => (
                    reprise_format::load(reader)?,
                    &reprise_format::MODELS,
                    SplitOrder::ReviewTime,
                ),
            };
            let report = eval::evaluate(&learners, models, split)?;
            if csv {
                print!("{}", report.to_csv());
            } else {
                println!("{report}");
            }
        }
        Command::Optimize { org } => return optimize(&org),
        Command::Simulate(args) => simulate_command(args)?,
        Command::Demo {
            learners,
            nuggets,
            days,
            org,
            seed,
            experiment,
            weeks,
            true_recall,
        } => {
            if experiment {
                return demo_experiment(learners, org, seed, weeks, &true_recall);
            }
            let learners = learners.unwrap_or(1000);
            let org = org.unwrap_or_else(|| "scale-demo".into());
            if learners == 0 || nuggets == 0 || days == 0 {
                anyhow::bail!("--learners, --nuggets and --days must be at least 1");
            }
            let pool = open_database_at(&database_url_from_env())?;
            let plan = demo::scale::Plan {
                learners,
                nuggets,
                days,
                org_slug: org,
                seed,
            };
            let started = std::time::Instant::now();
            let mut last = 0;
            let out = demo::scale::generate(&pool, &plan, chrono::Utc::now(), |done, total| {
                if done * 10 / total != last {
                    last = done * 10 / total;
                    eprintln!(
                        "  {done}/{total} learners ({:.0} s)",
                        started.elapsed().as_secs_f64()
                    );
                }
            })?;
            println!(
                "Generated \"{}\" in {:.1} s: {learners} learners in {} teams, {} packs, {} memory states, {} answers.",
                plan.org_slug,
                started.elapsed().as_secs_f64(),
                out.teams,
                out.packs,
                out.memory_states,
                out.reviews
            );
            println!(
                "Log in as {} (or manager01@{}.example) with the password {}.",
                out.analyst_email,
                plan.org_slug,
                demo::PASSWORD
            );
        }
        Command::Bench { args } => return bench(args),
        Command::Remind { at } => {
            let settings = Settings::from_env()?;
            let reach = remind_service(&settings)?;
            let at = at.map_or_else(chrono::Utc::now, |t| t.with_timezone(&chrono::Utc));
            let report = reach.pass(at).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            print!("{report}");
        }
        Command::Serve { demo, content } => {
            let app = Application::build(Settings::from_env()?, Clock::System).await?;
            if demo {
                load_demo(&app, content).await?;
            }
            tracing::info!(
                port = app.port(),
                "Reprise is listening; API docs at /docs/"
            );
            app.run_until_stopped().await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The reminder service on the configured database, for `reprise remind`.
fn remind_service(settings: &Settings) -> anyhow::Result<reprise::reach::Reach> {
    use reprise::store::{Backend, Database};
    let pool = reprise::startup::open_database(settings)?;
    let database = Database::new(pool, Backend::of_url(&settings.database_url));
    let keys = std::sync::Arc::new(reprise::auth::jwt::TokenKeys::new(
        &settings.jwt_secret,
        settings.access_ttl_secs,
    ));
    let outbound = reprise::startup::build_outbound(settings)?;
    reprise::startup::build_reach(settings, database, Clock::System, outbound, keys)
}

/// `reprise bench …`: the benchmark is a binary of its own, `reprise-bench`, so that the service
/// does not link the load generator (docs/adr/0013-bench-binary.md). It is run in this process's
/// place with the same arguments, so its output and exit status are those of `reprise bench`.
fn bench(args: Vec<OsString>) -> anyhow::Result<ExitCode> {
    let exe = std::env::current_exe()?;
    let bench = exe.with_file_name(format!("reprise-bench{}", std::env::consts::EXE_SUFFIX));
    if !bench.is_file() {
        eprintln!(
            "error: `reprise bench` runs {}, which is missing: build it beside `reprise` with \
             `cargo build --release --bins`",
            bench.display()
        );
        return Ok(ExitCode::FAILURE);
    }
    let mut command = std::process::Command::new(&bench);
    command.args(args);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // Only returns if the executable could not be started.
        let error = command.exec();
        anyhow::bail!("could not run {}: {error}", bench.display())
    }
    #[cfg(not(unix))]
    {
        let status = command.status()?;
        Ok(status
            .code()
            .map_or(ExitCode::FAILURE, |code| ExitCode::from(code as u8)))
    }
}

/// Prints a set of files' warnings; exit status is the errors' business alone.
fn print_warnings(files: &catalog_files::Files) {
    for w in &files.warnings {
        eprintln!("{w}");
    }
    if !files.warnings.is_empty() {
        eprintln!("{} warnings", files.warnings.len());
    }
}

fn validate(paths: &[PathBuf], options: ImportOptions) -> anyhow::Result<ExitCode> {
    let files = catalog_files::collect(paths)?;
    match catalog_files::parse_all(&files, options) {
        Ok(files) => {
            print_warnings(&files);
            let nuggets: usize = files.packs.iter().map(|p| p.nuggets.len()).sum();
            println!("{} packs, {nuggets} nuggets: all valid", files.packs.len());
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            for e in &errors {
                eprintln!("{e}");
            }
            eprintln!("{} errors", errors.len());
            Ok(ExitCode::FAILURE)
        }
    }
}

fn import(
    paths: &[PathBuf],
    org: &str,
    publish: bool,
    options: ImportOptions,
) -> anyhow::Result<ExitCode> {
    let pool = open_database_at(&database_url_from_env())?;
    let conn = &mut pool.get()?;
    let org = accounts::find_org_by_slug(conn, org)
        .map_err(|_| anyhow::anyhow!("no organization {org:?}"))?;
    let options = ImportOptions {
        strict: options.strict || org.strict_imports,
        ..options
    };
    let files = catalog_files::collect(paths)?;
    let packs = match catalog_files::parse_all(&files, options) {
        Ok(files) => {
            print_warnings(&files);
            files.packs
        }
        Err(errors) => {
            for e in &errors {
                eprintln!("{e}");
            }
            eprintln!("{} errors: nothing imported", errors.len());
            return Ok(ExitCode::FAILURE);
        }
    };
    let now = chrono::Utc::now();
    let outcomes = write_tx(conn, |conn| -> anyhow::Result<Vec<String>> {
        let mut lines = Vec::new();
        for pack in &packs {
            let outcome = content::save_draft(conn, &org.id, pack, now)?;
            let mut line = format!("{}: {:?}", pack.slug, outcome).to_lowercase();
            if publish && outcome != reprise::domain::catalog::DraftOutcome::Unchanged {
                let v = content::publish(conn, &org.id, &pack.slug, &UserId::from("cli"), now)?;
                line.push_str(&format!(", published version {}", v.version));
            }
            lines.push(line);
        }
        Ok(lines)
    })?;
    for line in outcomes {
        println!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}

/// `reprise users import`: the roster applied as the service (`system` in the audit log).
/// Running servers see deactivations and new roles within REPRISE_AUTH_CACHE_SECS.
async fn import_roster(
    file: &std::path::Path,
    org: &str,
    options: reprise::accounts::roster::ImportOptions,
) -> anyhow::Result<ExitCode> {
    use reprise::accounts::roster::{self, Importer};
    use reprise::store::{Backend, Database};
    let url = database_url_from_env();
    let database = Database::new(open_database_at(&url)?, Backend::of_url(&url));
    let org = accounts::find_org_by_slug(&mut *database.pool().get()?, org)
        .map_err(|_| anyhow::anyhow!("no organization {org:?}"))?;
    let csv =
        std::fs::read(file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    // Hashing only: no login is verified here, so no decoy hash is needed.
    let passwords = reprise::accounts::passwords::Passwords::new(workers, 1 << 20, String::new());
    let access = reprise::accounts::access::AccessCache::new(0, 1);
    let importer = Importer {
        org_id: org.id,
        actor: reprise::store::audit::Actor::System,
        admin: None,
    };
    let now = chrono::Utc::now();
    match roster::import(
        &database, &passwords, &access, &importer, &csv, options, now,
    )
    .await
    {
        Ok(imported) => {
            let d = imported.diff;
            let verb = if d.dry_run { "would be" } else { "were" };
            println!(
                "{}: {} created, {} updated, {} deactivated, {} unchanged; {} teams {verb} made.",
                org.slug,
                d.created.len(),
                d.updated.len(),
                d.deactivated.len(),
                d.unchanged.len(),
                d.teams_created.len()
            );
            for team in &d.teams_created {
                println!("  team     {}", team.path);
            }
            for (what, list) in [
                ("created", &d.created),
                ("updated", &d.updated),
                ("deactivated", &d.deactivated),
            ] {
                for p in list {
                    let line = p.line.map_or(String::new(), |l| format!("line {l}: "));
                    let changes = if p.changes.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", p.changes.join(", "))
                    };
                    println!("  {what:<11} {line}{}{changes}", p.email);
                }
            }
            if d.dry_run {
                println!("Dry run: nothing was changed.");
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(reprise::error::ApiError::Validation { errors, .. }) => {
            eprintln!(
                "{}: nothing was imported; fix these and run again:",
                file.display()
            );
            for e in errors {
                let line = e.line.map_or(String::new(), |l| format!("line {l}: "));
                eprintln!("  {line}{}: {}", e.field, e.message);
            }
            Ok(ExitCode::from(1))
        }
        Err(e) => Err(anyhow::anyhow!("the import failed: {e}")),
    }
}

fn optimize(org: &str) -> anyhow::Result<ExitCode> {
    let pool = open_database_at(&database_url_from_env())?;
    let conn = &mut pool.get()?;
    let org = accounts::find_org_by_slug(conn, org)
        .map_err(|_| anyhow::anyhow!("no organization {org:?}"))?;
    let result = optimize_org(conn, &org.id, chrono::Utc::now())
        .map_err(|e| anyhow::anyhow!("fitting failed: {e}"))?;
    let (Some(before), Some(after), Some(parameters)) =
        (result.before, result.after, &result.parameters)
    else {
        println!(
            "{}: {}. Nothing stored.",
            org.slug,
            result.reason.as_deref().unwrap_or("not fitted")
        );
        return Ok(ExitCode::SUCCESS);
    };
    println!(
        "{}: fitted FSRS-6 parameters on {} reviews and stored them; they schedule every \
         answer from now on.",
        org.slug, result.have
    );
    println!("{:<16} {:>9} {:>10}", "", "log loss", "RMSE(bins)");
    println!(
        "{:<16} {:>9.4} {:>10.4}",
        "defaults", before.log_loss, before.rmse_bins
    );
    println!(
        "{:<16} {:>9.4} {:>10.4}",
        "fitted", after.log_loss, after.rmse_bins
    );
    println!("(later reviews in time order; the fitted figures come from a time-series split)");
    println!("parameters: {}", serde_json::to_string(parameters)?);
    Ok(ExitCode::SUCCESS)
}

/// `reprise demo --experiment`: the experiment with a known truth, and where to read it.
fn demo_experiment(
    learners: Option<usize>,
    org: Option<String>,
    seed: u64,
    weeks: u32,
    true_recall: &[f64],
) -> anyhow::Result<ExitCode> {
    let pool = open_database_at(&database_url_from_env())?;
    let plan = demo::experiment::ExperimentPlan {
        org_slug: org,
        learners: learners.unwrap_or(400),
        weeks,
        true_recall: [true_recall[0], true_recall[1]],
        seed,
        ..Default::default()
    };
    let out = demo::experiment::generate(&mut *pool.get()?, &plan, chrono::Utc::now())?;
    println!(
        "Generated experiment {} with {} learners and {} probes over {weeks} weeks; true difference {:+.3}.",
        out.experiment_id, out.learners, out.probes, out.true_difference
    );
    println!(
        "Read it at GET /api/v1/experiments/{} (authors and admins).",
        out.experiment_id
    );
    Ok(ExitCode::SUCCESS)
}

async fn load_demo(app: &Application, content_dir: Option<PathBuf>) -> anyhow::Result<()> {
    let state = app.state();
    let packs = demo::sample_packs(content_dir.as_deref())?;
    let (created, packs) = actix_web::web::block(move || -> anyhow::Result<(bool, usize)> {
        let mut conn = state.database.pool().get()?;
        let now = state.clock.now();
        let created = demo::ensure(&mut conn, now)?;
        let packs = demo::load_content(&mut conn, &packs, now)?;
        if demo::start_experiment(&mut conn, now)? {
            tracing::info!("started the demo experiment");
        }
        let answers = demo::generate_history(&mut conn, now)?;
        if answers > 0 {
            tracing::info!(answers, days = demo::HISTORY_DAYS, "generated demo history");
        }
        let kpis = demo::kpis::seed(&mut conn, now)?;
        if kpis > 0 {
            tracing::info!(kpis, period = %demo::kpis::quarter(now), "seeded demo KPIs");
        }
        let coaching = demo::coaching::seed(&mut conn, now)?;
        if coaching.refreshers + coaching.notes > 0 {
            tracing::info!(
                refreshers = coaching.refreshers,
                notes = coaching.notes,
                "seeded demo refreshers and coaching notes; leaderboards on"
            );
        }
        let observations = demo::observations::seed(&mut conn, now)?;
        if observations > 0 {
            tracing::info!(observations, "seeded demo field observations");
        }
        Ok((created, packs))
    })
    .await??;
    let verb = if created { "Created" } else { "Using" };
    println!(
        "{verb} the demo organization \"{}\" with {packs} sample packs. Accounts (password: {}):",
        demo::ORG_NAME,
        demo::PASSWORD
    );
    for (email, role) in demo::accounts() {
        println!("  {:<8} {email}", role.as_str());
    }
    Ok(())
}

fn simulate_command(args: SimulateArgs) -> anyhow::Result<()> {
    let window = args
        .window
        .split_once('-')
        .and_then(|(a, b)| Some((a.trim().parse().ok()?, b.trim().parse().ok()?)))
        .filter(|&(a, b): &(u32, u32)| 1 <= a && a <= b && b <= args.days)
        .ok_or_else(|| anyhow::anyhow!("--window must be A-B with 1 <= A <= B <= --days"))?;
    if args.learners == 0 || args.nuggets == 0 || args.options < 2 {
        anyhow::bail!("--learners and --nuggets must be at least 1, --options at least 2");
    }
    let config = simulate::SimConfig {
        learners: args.learners,
        nuggets: args.nuggets,
        days: args.days,
        window,
        budget: args.budget,
        options: args.options,
        seed: args.seed,
        fit_after: args.fit_after,
        target_day: args.target_day,
    };
    let spread = |mut truth: simulate::Truth| {
        truth.learner_spread = args.learner_spread;
        truth.nugget_spread = args.nugget_spread;
        truth
    };
    let fitted = match &args.truth_from {
        Some(path) => {
            let reader = std::fs::File::open(path)?;
            let learners = match args.format {
                EvalFormat::Sm18 => sm18::load(reader)?,
                EvalFormat::Reprise => reprise_format::load(reader)?,
            };
            let mut groups = simulate::fitted_groups(&learners)?;
            if let Some(name) = &args.truth_learner {
                groups.retain(|g| &g.name == name);
                if groups.is_empty() {
                    anyhow::bail!("no learner {name:?} in {}", path.display());
                }
            }
            Some(groups)
        }
        None => None,
    };
    if args.grid {
        let mut truths = vec![(
            "default".to_owned(),
            spread(simulate::Truth::default_population()),
        )];
        for group in fitted.into_iter().flatten() {
            truths.push((
                group.name.clone(),
                spread(simulate::Truth::from_groups(vec![group])),
            ));
        }
        let spec = simulate::grid::GridSpec::standard(config, truths);
        let result = simulate::grid::run_grid(&spec, |line| eprintln!("{line}"));
        print!("{}", simulate::grid::markdown(&spec, &result));
        return Ok(());
    }
    if args.truth != "default" {
        anyhow::bail!("--truth takes only `default` (or use --truth-params / --truth-from)");
    }
    let truth = match (fitted, &args.truth_params) {
        (Some(groups), _) => simulate::Truth::from_groups(groups),
        (None, Some(text)) => {
            let parameters = text
                .split(',')
                .map(|w| w.trim().parse::<f32>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| anyhow::anyhow!("--truth-params: {e}"))?;
            fsrs::FSRS::new(&parameters).map_err(|e| anyhow::anyhow!("--truth-params: {e}"))?;
            simulate::Truth::from_groups(vec![simulate::TruthGroup {
                name: "given".to_owned(),
                parameters,
            }])
        }
        (None, None) => simulate::Truth::default_population(),
    };
    let truth = spread(truth);
    let policies = simulate::parse_list(&args.policy).map_err(|e| anyhow::anyhow!(e))?;
    let reports: Vec<_> = policies
        .iter()
        .map(|p| simulate::run(&config, &truth, p))
        .collect();
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&simulate::Reports { policies: reports })?
        );
    } else {
        print!("{}", simulate::table(&reports));
    }
    Ok(())
}
