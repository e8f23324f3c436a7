//! Online backup and restore. SQLite: `VACUUM INTO` writes a consistent copy while the service
//! keeps running, and the copy is itself a database. PostgreSQL: the engine's own `pg_dump` and
//! `pg_restore` (custom format), which must be on the PATH.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context};
use diesel::RunQueryDsl;

use crate::store::{self, Backend, DbConnection};

fn sqlite_file(url: &str) -> &str {
    url.strip_prefix("sqlite://").unwrap_or(url)
}

/// Writes a backup of the database at `url` to `to` (which must not exist), mode 0600.
pub fn backup(url: &str, to: &Path) -> anyhow::Result<()> {
    if to.exists() {
        bail!("{} exists already; choose a new file", to.display());
    }
    // A backup holds everything the database does: created readable by this user only, before
    // anything is written into it (SQLite's VACUUM INTO and pg_dump keep an existing file's mode).
    store::create_private_file(to)
        .with_context(|| format!("cannot create the backup file {}", to.display()))?;
    match Backend::of_url(url) {
        Backend::Sqlite => {
            let pool = store::connect(url, 1, store::SqliteSync::Full)?;
            let mut conn = pool.get()?;
            let target = to.to_str().context("backup path is not valid UTF-8")?;
            match &mut *conn {
                DbConnection::Sqlite(c) => {
                    diesel::sql_query("VACUUM INTO ?")
                        .bind::<diesel::sql_types::Text, _>(target)
                        .execute(c)?;
                }
                DbConnection::Pg(_) => unreachable!("URL selected SQLite"),
            }
            Ok(())
        }
        Backend::Postgres => run(Command::new("pg_dump")
            .args(["--format=custom", "--no-owner", "--file"])
            .arg(to)
            .arg(url)),
    }
}

/// Restores a backup made by `backup` into the database at `url`. SQLite: the target file must
/// not exist (stop the service and move the old file away first). PostgreSQL: the target
/// database must exist and be empty or hold a previous copy (objects are replaced).
pub fn restore(url: &str, from: &Path) -> anyhow::Result<()> {
    if !from.is_file() {
        bail!("no backup at {}", from.display());
    }
    match Backend::of_url(url) {
        Backend::Sqlite => {
            let target = Path::new(sqlite_file(url));
            if target.exists() {
                bail!(
                    "{} exists; stop the service and move it away before restoring",
                    target.display()
                );
            }
            if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::copy(from, target)
                .with_context(|| format!("copying to {}", target.display()))?;
            Ok(())
        }
        Backend::Postgres => run(Command::new("pg_restore")
            .args([
                "--clean",
                "--if-exists",
                "--no-owner",
                "--exit-on-error",
                "--dbname",
            ])
            .arg(url)
            .arg(from)),
    }
}

fn run(cmd: &mut Command) -> anyhow::Result<()> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let out = cmd
        .output()
        .with_context(|| format!("running {program} (is it installed and on the PATH?)"))?;
    if !out.status.success() {
        bail!(
            "{program} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}
