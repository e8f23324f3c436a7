//! Operational safety: backups restore to an identical database, a stopping server finishes
//! the requests it has accepted, and a request can be followed in the logs.

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

/// What a request logs carries its spans: the handler's (organization and caller) and the
/// service's below it (what it acted on). The password of a login appears nowhere.
#[actix_web::test]
async fn requests_are_followed_in_the_logs_by_organization_and_user() {
    let app = spawn_app().await;
    let org = app.create_org("Acme", "ada@acme.example").await;
    let (sam_id, _) = app.create_user(&org, "sam@acme.example", "learner").await;
    let org_id = app.org_id(&org.admin_token).await;

    let logs = captured_logs();
    let line = |event: &str| {
        logs.lines()
            .find(|l| l.contains(event) && l.contains(&sam_id))
            .unwrap_or_else(|| panic!("no {event:?} line for {sam_id} in the logs"))
            .to_string()
    };
    let created = line("user created");
    let caller = format!("org_id={org_id} user_id={}", org.admin_id);
    assert!(created.contains("POST /api/v1/users"), "{created}");
    assert!(
        created.contains(&format!("create_user{{{caller}}}")),
        "{created}"
    );
    assert!(
        created.contains(&format!("create{{{caller} subject_id={sam_id}}}")),
        "{created}"
    );
    let login = line("logged in");
    assert!(login.contains("POST /api/v1/auth/login"), "{login}");
    assert!(
        login.contains(&format!("log_in{{org_id={org_id} user_id={sam_id}}}")),
        "{login}"
    );
    assert!(!logs.contains(PASSWORD), "a password appears in the logs");
}
