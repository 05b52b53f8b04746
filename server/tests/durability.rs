//! What is committed is never lost: the real `server` binary, under a load
//! of comment writes, is killed with SIGKILL, then stopped with SIGTERM;
//! every write it acknowledged is there after a restart, with the e-mail it
//! queued in the same transaction. A backup taken under the same load
//! restores whole. SQLite and PostgreSQL.

mod common;

use std::collections::HashSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{drop_database, fresh_database, session_cookie, tempdir::TempDir, Backend};
use entity::{outbox_message, ticket_comment};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

backend_tests!(
    no_acknowledged_write_is_lost,
    a_backup_taken_under_load_restores_whole
);

/// Concurrent writers; each posts comments one after another.
const WRITERS: usize = 8;

/// A `server serve` process on `url`.
struct Process {
    child: Child,
    base: String,
    client: reqwest::Client,
}

impl Process {
    async fn start(url: &str, dir: &Path) -> Process {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let base = format!("http://127.0.0.1:{port}");
        let child = common::server_bin()
            .args([
                "--database-url",
                url,
                "--bind",
                &format!("127.0.0.1:{port}"),
            ])
            .args(["--base-url", &base, "--site-root", "target/site", "--demo"])
            .arg("--data-dir")
            .arg(dir)
            .arg("serve")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("server binary");
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let start = Instant::now();
        loop {
            if let Ok(res) = client.get(format!("{base}/healthz")).send().await {
                if res.status() == 200 {
                    break;
                }
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "server did not start"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Process {
            child,
            base,
            client,
        }
    }

    async fn call(
        &self,
        endpoint: &str,
        cookie: Option<&str>,
        form: &[(&str, &str)],
    ) -> reqwest::Result<reqwest::Response> {
        let mut req = self
            .client
            .post(format!("{}/api/{endpoint}", self.base))
            .header("origin", &self.base)
            .header("accept", "application/json")
            .form(form);
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        req.send().await
    }

    async fn sign_in(&self, email: &str) -> String {
        let res = self
            .call(
                "sign_in",
                None,
                &[("email", email), ("password", common::PASSWORD)],
            )
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "sign-in of {email}");
        session_cookie(&res).expect("session cookie")
    }

    fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{name}");
    }

    /// Waits for the process to end; its exit status.
    async fn wait(mut self, within: Duration) -> std::process::ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(start.elapsed() < within, "the server did not stop");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the writers saw: bodies the server acknowledged (200), and any
/// answer that was neither 200 nor a dropped connection.
#[derive(Default)]
struct Outcome {
    acknowledged: Vec<String>,
    bad_answers: Vec<String>,
}

/// Starts `WRITERS` tasks posting staff replies to `ticket` until the server
/// stops answering; returns them and what they saw.
fn start_writers(
    srv: &Process,
    cookie: &str,
    ticket: i32,
    round: &str,
) -> (Vec<tokio::task::JoinHandle<()>>, Arc<Mutex<Outcome>>) {
    let outcome = Arc::new(Mutex::new(Outcome::default()));
    let tasks = (0..WRITERS)
        .map(|w| {
            let (client, base, cookie) = (srv.client.clone(), srv.base.clone(), cookie.to_owned());
            let (ticket, round, outcome) = (ticket.to_string(), round.to_owned(), outcome.clone());
            tokio::spawn(async move {
                for i in 0.. {
                    let body = format!("{round}-{w}-{i}");
                    let res = client
                        .post(format!("{base}/api/add_comment"))
                        .header("origin", &base)
                        .header("accept", "application/json")
                        .header("cookie", &cookie)
                        .form(&[("ticket_id", ticket.as_str()), ("body", body.as_str())])
                        .send()
                        .await;
                    // A connection the dying server dropped ends this writer.
                    let Ok(res) = res else { return };
                    let status = res.status();
                    let Ok(text) = res.text().await else { return };
                    let mut o = outcome.lock().unwrap();
                    if status == 200 {
                        o.acknowledged.push(body);
                    } else {
                        o.bad_answers.push(format!("{status}: {text}"));
                    }
                }
            })
        })
        .collect();
    (tasks, outcome)
}

/// Waits until the writers have `n` acknowledged writes.
async fn until_acknowledged(outcome: &Mutex<Outcome>, n: usize) {
    let start = Instant::now();
    while outcome.lock().unwrap().acknowledged.len() < n {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "writes are not being acknowledged"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Every acknowledged comment is stored, and so is its notification to the
/// requester (queued in the same transaction).
async fn all_kept(url: &str, ticket: i32, acknowledged: &[String]) {
    let db = server::connect(url).await.unwrap();
    let stored: HashSet<String> = ticket_comment::Entity::find()
        .filter(ticket_comment::Column::TicketId.eq(ticket))
        .all(&db)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.body)
        .collect();
    let mail: Vec<String> = outbox_message::Entity::find()
        .filter(outbox_message::Column::ToAddr.eq("tech1@acme.example"))
        .filter(outbox_message::Column::Kind.eq("ticket_update"))
        .all(&db)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.body)
        .collect();
    for body in acknowledged {
        assert!(stored.contains(body), "acknowledged comment {body} lost");
        let line = format!("\n\n{body}\n\n");
        assert!(
            mail.iter().any(|m| m.contains(&line)),
            "the e-mail about acknowledged comment {body} lost"
        );
    }
    let _ = db.close().await;
}

async fn open_ticket(srv: &Process, cookie: &str, subject: &str) -> i32 {
    let form = [
        ("ticket[subject]", subject),
        ("ticket[description]", "Nothing acknowledged may be lost."),
        ("ticket[severity]", "3"),
    ];
    let res = srv.call("open_ticket", Some(cookie), &form).await.unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

async fn no_acknowledged_write_is_lost(backend: Backend) {
    let dir = TempDir::new();
    let Some((url, pg)) = fresh_database(backend, &dir).await else {
        return;
    };
    let srv = Process::start(&url, &dir.0).await;
    let tech1 = srv.sign_in("tech1@acme.example").await;
    let agent = srv.sign_in("agent@example.com").await;
    let ticket = open_ticket(&srv, &tech1, "Writes under a crash").await;

    // SIGKILL in the middle of writes: no chance to finish anything.
    let (writers, outcome) = start_writers(&srv, &agent, ticket, "KILLED");
    until_acknowledged(&outcome, 40).await;
    srv.signal("KILL");
    let _ = srv.wait(Duration::from_secs(10)).await;
    for w in writers {
        w.await.unwrap();
    }
    let killed = std::mem::take(&mut *outcome.lock().unwrap());
    assert!(killed.bad_answers.is_empty(), "{:?}", killed.bad_answers);
    all_kept(&url, ticket, &killed.acknowledged).await;

    // Restarted on the same database (the demo is not loaded twice), then
    // SIGTERM under load: requests in flight finish, new ones are refused
    // at the door, the process exits cleanly.
    let srv = Process::start(&url, &dir.0).await;
    let agent = srv.sign_in("agent@example.com").await;
    let (writers, outcome) = start_writers(&srv, &agent, ticket, "TERMINATED");
    until_acknowledged(&outcome, 40).await;
    srv.signal("TERM");
    let exit = srv.wait(Duration::from_secs(20)).await;
    assert!(exit.success(), "SIGTERM exit status {exit:?}");
    for w in writers {
        w.await.unwrap();
    }
    let terminated = std::mem::take(&mut *outcome.lock().unwrap());
    assert!(
        terminated.bad_answers.is_empty(),
        "{:?}",
        terminated.bad_answers
    );
    all_kept(&url, ticket, &terminated.acknowledged).await;
    all_kept(&url, ticket, &killed.acknowledged).await;

    if let Some(pg) = pg {
        drop_database(pg).await;
    }
}

/// `server backup` while eight writers write: the copy opens as a working
/// Portico with the ticket, its attachment and every comment acknowledged
/// before the backup began; a second backup into the same folder is refused.
async fn a_backup_taken_under_load_restores_whole(backend: Backend) {
    let dir = TempDir::new();
    let Some((url, pg)) = fresh_database(backend, &dir).await else {
        return;
    };
    let srv = Process::start(&url, &dir.0).await;
    let tech1 = srv.sign_in("tech1@acme.example").await;
    let ticket = open_ticket(&srv, &tech1, "Backed up").await;
    let evidence = b"kernel: the evidence\n".to_vec();
    let part = reqwest::multipart::Part::bytes(evidence.clone()).file_name("evidence.log");
    let res = srv
        .client
        .post(format!("{}/tickets/{ticket}/attachments", srv.base))
        .header("origin", &srv.base)
        .header("accept", "application/json")
        .header("cookie", &tech1)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let attachment: i32 = res.json().await.unwrap();

    let agent = srv.sign_in("agent@example.com").await;
    let (writers, outcome) = start_writers(&srv, &agent, ticket, "BACKUP");
    until_acknowledged(&outcome, 20).await;
    let before = outcome.lock().unwrap().acknowledged.clone();
    let backups = TempDir::new();
    let folder = backups.0.join("portico-backup");
    let backup = || {
        common::server_bin()
            .args(["--database-url", &url, "--data-dir"])
            .arg(&dir.0)
            .args(["backup", "--to"])
            .arg(&folder)
            .output()
            .unwrap()
    };
    let out = backup();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("1 uploaded file(s)"), "{stdout}");
    let again = backup();
    assert!(
        !again.status.success(),
        "a second backup into the same folder"
    );
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already exists"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    srv.signal("TERM");
    assert!(srv.wait(Duration::from_secs(20)).await.success());
    for w in writers {
        w.await.unwrap();
    }
    assert!(outcome.lock().unwrap().bad_answers.is_empty());

    // Restore: SQLite, the folder is a data directory; PostgreSQL, pg_restore
    // into a new database, with the folder's files.
    let (restored_url, restored_pg) = match backend {
        Backend::Sqlite => (
            format!("sqlite://{}/portico.db?mode=rwc", folder.display()),
            None,
        ),
        Backend::Postgres => {
            let (u, pg) = fresh_database(backend, &backups).await.unwrap();
            let status = Command::new("pg_restore")
                .args(["--no-owner", &format!("--dbname={u}")])
                .arg(folder.join("portico.pgdump"))
                .status()
                .unwrap();
            assert!(status.success(), "pg_restore");
            (u, pg)
        }
    };
    let restored = Process::start(&restored_url, &folder).await;
    let tech1 = restored.sign_in("tech1@acme.example").await;
    let ticket_id = ticket.to_string();
    let res = restored
        .call("load_ticket", Some(&tech1), &[("ticket_id", &ticket_id)])
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("Backed up"));
    let res = restored
        .client
        .get(format!(
            "{}/tickets/{ticket}/attachments/{attachment}",
            restored.base
        ))
        .header("cookie", &tech1)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.bytes().await.unwrap().to_vec(), evidence);
    drop(restored);
    all_kept(&restored_url, ticket, &before).await;

    for pg in [pg, restored_pg].into_iter().flatten() {
        drop_database(pg).await;
    }
}
