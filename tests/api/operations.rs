//! Operational safety: backups restore to an identical database, and a stopping server finishes
//! the requests it has accepted.

use std::process::Command;

use reqwest::StatusCode;

use crate::helpers::*;

#[actix_web::test]
async fn a_backup_taken_while_serving_restores_to_the_same_data() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    let q = app.queue(&l.learner).await;
    for n in q["nuggets"].as_array().unwrap() {
        expect_json(
            app.answer(&l.learner, n["nugget_id"].as_str().unwrap(), &["b"])
                .await,
            StatusCode::CREATED,
        )
        .await;
    }
    let dir =
        std::env::temp_dir().join(format!("reprise-backup-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let archive = dir.join("reprise.backup");
    let out = Command::new(env!("CARGO_BIN_EXE_reprise"))
        .args(["backup", "--to"])
        .arg(&archive)
        .env("REPRISE_DATABASE_URL", &app.database_url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A backup, like the database, is readable by its owner only.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&archive), 0o600, "backup file mode");
        if let Some(path) = app.database_url.strip_prefix("sqlite://") {
            let path = std::path::Path::new(path);
            assert_eq!(mode(path), 0o600, "database file mode");
            let wal = path.with_extension("db-wal");
            if wal.exists() {
                assert_eq!(mode(&wal), 0o600, "WAL file mode");
            }
        }
    }

    let restored_url = fresh_database_url();
    let out = Command::new(env!("CARGO_BIN_EXE_reprise"))
        .args(["restore", "--from"])
        .arg(&archive)
        .env("REPRISE_DATABASE_URL", &restored_url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let original = table_counts(&app.database_url);
    assert_eq!(table_counts(&restored_url), original);
    assert!(original.iter().any(|(t, n)| *t == "reviews" && *n == 3));

    // A second backup to the same place is refused rather than overwritten.
    let out = Command::new(env!("CARGO_BIN_EXE_reprise"))
        .args(["backup", "--to"])
        .arg(&archive)
        .env("REPRISE_DATABASE_URL", &app.database_url)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let _ = std::fs::remove_dir_all(dir);
}
