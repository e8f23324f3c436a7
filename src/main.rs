//! The `reprise` command line.

use clap::{Parser, Subcommand};

use reprise::clock::Clock;
use reprise::config::Settings;
use reprise::startup::{open_database, Application};
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

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP service (migrates the database first).
    Serve {
        /// Create the demo organization and its accounts if missing.
        #[arg(long)]
        demo: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the OpenAPI document.
    Openapi,
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    telemetry::init();
    let cli = Cli::parse();
    match cli.command {
        Command::Openapi => {
            println!("{}", http::openapi().to_pretty_json()?);
        }
        Command::Migrate => {
            let settings = Settings::from_env()?;
            open_database(&settings)?;
            println!("database is up to date");
        }
        Command::Serve { demo } => {
            let settings = Settings::from_env()?;
            let bind = settings.bind.clone();
            let app = Application::build(settings, Clock::System).await?;
            if demo {
                load_demo(&app).await?;
            }
            tracing::info!(%bind, port = app.port(), "Reprise is listening; API docs at /docs");
            app.run_until_stopped().await?;
        }
    }
    Ok(())
}

async fn load_demo(app: &Application) -> anyhow::Result<()> {
    let state = app.state();
    let created = actix_web::web::block(move || -> anyhow::Result<bool> {
        let mut conn = state.pool.get()?;
        Ok(demo::ensure(&mut conn, state.clock.now())?)
    })
    .await??;
    if created {
        println!(
            "Created the demo organization \"{}\". Accounts (password: {}):",
            demo::ORG_NAME,
            demo::PASSWORD
        );
    } else {
        println!(
            "Demo organization \"{}\" is present. Accounts (password: {}):",
            demo::ORG_NAME,
            demo::PASSWORD
        );
    }
    for (email, role) in demo::accounts() {
        println!("  {:<8} {email}", role.as_str());
    }
    Ok(())
}
