//! The `server` binary itself: --help, migrate, create-staff, SQLite
//! settings, and a graceful stop on SIGTERM.

mod common;

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Statement};

fn temp_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!(
        "portico-cli-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn help_documents_every_setting_and_its_environment_variable() {
    let out = common::server_bin().arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for (flag, env) in [
        ("--database-url", "DATABASE_URL"),
        ("--bind", "PORTICO_BIND"),
        ("--base-url", "PORTICO_BASE_URL"),
        ("--data-dir", "PORTICO_DATA_DIR"),
        ("--smtp-host", "PORTICO_SMTP_HOST"),
        ("--smtp-port", "PORTICO_SMTP_PORT"),
        ("--session-idle-minutes", "PORTICO_SESSION_IDLE_MINUTES"),
        ("--session-absolute-hours", "PORTICO_SESSION_ABSOLUTE_HOURS"),
        ("--activation-link-days", "PORTICO_ACTIVATION_LINK_DAYS"),
    ] {
        assert!(
            help.contains(flag) && help.contains(env),
            "{flag} / {env} missing from --help"
        );
    }
    for cmd in ["serve", "migrate", "create-staff", "backup"] {
        assert!(help.contains(cmd), "{cmd} missing");
    }
}

#[tokio::test]
async fn migrate_then_create_staff_from_stdin_on_a_wal_database() {
    let dir = temp_dir();
    let url = format!("sqlite://{}/p.db?mode=rwc", dir.display());
    let out = common::server_bin()
        .args(["--database-url", &url, "migrate"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The password never appears as an argument: it comes on stdin.
    let mut child = common::server_bin()
        .args([
            "--database-url",
            &url,
            "create-staff",
            "--email",
            "Grace@Example.com",
            "--role",
            "agent",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a long staff password\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Too short a password is refused with the reason, and nothing is created.
    let mut child = common::server_bin()
        .args([
            "--database-url",
            &url,
            "create-staff",
            "--email",
            "short@example.com",
            "--role",
            "admin",
        ])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"short\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 12"));

    let db = server::connect(&url).await.unwrap();
    let u = entity::user::Entity::find()
        .filter(entity::user::Column::Email.eq("grace@example.com"))
        .one(&db)
        .await
        .unwrap()
        .expect("created, e-mail lower-cased");
    assert_eq!(u.staff_role, Some(entity::StaffRole::Agent));
    assert!(u
        .password_hash
        .unwrap()
        .starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    assert!(entity::user::Entity::find()
        .filter(entity::user::Column::Email.eq("short@example.com"))
        .one(&db)
        .await
        .unwrap()
        .is_none());

    // SQLite runs with WAL, synchronous=FULL and foreign keys.
    let pragma = |sql: &'static str| {
        let db = db.clone();
        async move {
            let row = db
                .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
                .await
                .unwrap()
                .unwrap();
            row.try_get_by_index::<String>(0)
                .or_else(|_| row.try_get_by_index::<i64>(0).map(|n| n.to_string()))
                .unwrap()
        }
    };
    assert_eq!(pragma("PRAGMA journal_mode").await, "wal");
    assert_eq!(pragma("PRAGMA synchronous").await, "2", "2 = FULL");
    assert_eq!(pragma("PRAGMA foreign_keys").await, "1");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn sigterm_stops_the_server_gracefully() {
    let dir = temp_dir();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = common::server_bin()
        .args([
            "--data-dir",
            dir.to_str().unwrap(),
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--demo",
            "serve",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let start = Instant::now();
    let exit = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "no exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "exit status {exit:?}");
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut out).unwrap();
    assert!(
        out.contains(&format!("http://127.0.0.1:{port}")) && out.contains("admin@example.com"),
        "prints the URL and demo logins: {out}"
    );
    let _ = std::fs::remove_dir_all(dir);
}
