//! Test harness: a real Portico server on an ephemeral port, over a fresh
//! SQLite file or a fresh PostgreSQL database, with the real migrations and
//! the demo data.
#![allow(dead_code)]

use std::time::Duration;

use app::core::state::AppState;
use clap::Parser as _;
use entity::{contact, level, organization, outbox_message};
use reqwest::header::{HeaderMap, HeaderValue, ORIGIN, SET_COOKIE};
use sea_orm::{ColumnTrait, ConnectionTrait, Database, EntityTrait, QueryFilter, QueryOrder};

pub const PASSWORD: &str = "portico-demo";

#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestServer {
    pub base: String,
    pub state: AppState,
    pub client: reqwest::Client,
    pub db_url: String,
    pg_drop: Option<(String, String)>,
    _dir: Option<tempdir::TempDir>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

pub mod tempdir {
    /// A directory removed when dropped.
    pub struct TempDir(pub std::path::PathBuf);
    impl TempDir {
        pub fn new() -> Self {
            let p = std::env::temp_dir().join(format!("portico-test-{}", uuid()));
            std::fs::create_dir_all(&p).expect("temp dir");
            TempDir(p)
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    pub fn uuid() -> String {
        use rand::RngCore as _;
        let mut b = [0u8; 8];
        rand::rngs::OsRng.fill_bytes(&mut b);
        b.iter().map(|x| format!("{x:02x}")).collect()
    }
}

/// The `server` binary, without the caller's settings (they must not leak
/// into a run that tests the binary's own defaults and flags).
pub fn server_bin() -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_server"));
    for var in [
        "DATABASE_URL",
        "PORTICO_BIND",
        "PORTICO_BASE_URL",
        "PORTICO_DATA_DIR",
        "PORTICO_SMTP_HOST",
        "PORTICO_DEMO",
    ] {
        c.env_remove(var);
    }
    c
}

/// Where PostgreSQL tests connect (an admin connection that may create databases).
pub fn pg_admin_url() -> String {
    std::env::var("PORTICO_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn pg_required() -> bool {
    std::env::var("PORTICO_REQUIRE_PG").is_ok_and(|v| v == "1")
}

impl TestServer {
    /// Starts a server, or returns `None` (after saying so) when PostgreSQL is
    /// unreachable and not required.
    pub async fn start(backend: Backend) -> Option<TestServer> {
        Self::start_with(backend, None).await
    }

    /// Like `start`, delivering mail to an SMTP server on `smtp_port`.
    pub async fn start_with(backend: Backend, smtp_port: Option<u16>) -> Option<TestServer> {
        Self::start_full(backend, smtp_port, &[]).await
    }

    /// Like `start`, with `extra` command-line settings (`--quota-…`, say).
    pub async fn start_args(backend: Backend, extra: &[&str]) -> Option<TestServer> {
        Self::start_full(backend, None, extra).await
    }

    async fn start_full(
        backend: Backend,
        smtp_port: Option<u16>,
        extra: &[&str],
    ) -> Option<TestServer> {
        let dir = tempdir::TempDir::new();
        let (url, pg_drop) = fresh_database(backend, &dir).await?;

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut args = vec![
            "server".to_string(),
            "--database-url".into(),
            url.clone(),
            "--bind".into(),
            addr.to_string(),
            "--base-url".into(),
            format!("http://{addr}"),
            "--site-root".into(),
            "target/site".into(),
            "--data-dir".into(),
            dir.0.display().to_string(),
        ];
        if let Some(port) = smtp_port {
            args.extend(
                [
                    "--smtp-host",
                    "127.0.0.1",
                    "--smtp-security",
                    "none",
                    "--mail-poll-seconds",
                    "1",
                    "--smtp-port",
                ]
                .map(String::from),
            );
            args.push(port.to_string());
        }
        args.extend(extra.iter().map(|a| a.to_string()));
        let config = server::config::Cli::parse_from(args).config;
        let db = server::connect(&url).await.expect("connect");
        server::migrate(&db).await.expect("migrate");
        assert!(server::seed::load_demo_if_empty(&db).await.expect("seed"));
        let mail_worker = server::start_mail_worker(&config, db.clone()).expect("mail worker");
        let state = server::state(&config, db);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let serve_state = state.clone();
        tokio::spawn(async move {
            server::serve(listener, serve_state, async {
                let _ = rx.await;
            })
            .await
            .expect("serve");
            let _ = mail_worker.send(true);
        });
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client");
        Some(TestServer {
            base: format!("http://{addr}"),
            state,
            client,
            pg_drop,
            _dir: Some(dir),
            shutdown: Some(tx),
            db_url: url,
        })
    }

    /// A second server process on the same database (no migrations, no demo).
    pub async fn second_process(&self) -> TestServer {
        self.second_process_with(&[]).await
    }

    /// Like [`TestServer::second_process`], with more command-line arguments.
    pub async fn second_process_with(&self, extra: &[&str]) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        // Its own data directory, as on another machine.
        let dir = tempdir::TempDir::new();
        let args = [
            "server",
            "--database-url",
            &self.db_url,
            "--bind",
            &addr.to_string(),
            "--base-url",
            &format!("http://{addr}"),
            "--site-root",
            "target/site",
            "--data-dir",
            &dir.0.display().to_string(),
        ]
        .map(String::from)
        .into_iter()
        .chain(extra.iter().map(|a| a.to_string()));
        let config = server::config::Cli::parse_from(args).config;
        let db = server::connect(&self.db_url).await.expect("connect");
        let state = server::state(&config, db);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let serve_state = state.clone();
        tokio::spawn(async move {
            server::serve(listener, serve_state, async {
                let _ = rx.await;
            })
            .await
            .expect("serve");
        });
        TestServer {
            base: format!("http://{addr}"),
            state,
            client: self.client.clone(),
            pg_drop: None,
            _dir: Some(dir),
            shutdown: Some(tx),
            db_url: self.db_url.clone(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Headers a same-origin browser request carries.
    pub fn same_origin(&self) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(ORIGIN, HeaderValue::from_str(&self.base).unwrap());
        h
    }

    /// Calls a server function the way the hydrated page does.
    pub async fn call(
        &self,
        endpoint: &str,
        cookie: Option<&str>,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut req = self
            .client
            .post(self.url(&format!("/api/{endpoint}")))
            .headers(self.same_origin())
            .header("accept", "application/json")
            .form(form);
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        req.send().await.expect("request")
    }

    pub async fn sign_in_response(&self, email: &str, password: &str) -> reqwest::Response {
        self.call("sign_in", None, &[("email", email), ("password", password)])
            .await
    }

    /// Signs in and returns the `name=value` cookie pair.
    pub async fn sign_in(&self, email: &str) -> String {
        let res = self.sign_in_response(email, PASSWORD).await;
        assert_eq!(res.status(), 200, "sign-in of {email} failed");
        session_cookie(&res).expect("session cookie")
    }

    pub async fn get(&self, path: &str, cookie: Option<&str>) -> reqwest::Response {
        let mut req = self.client.get(self.url(path));
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        req.send().await.expect("request")
    }

    /// The e-mail of whoever `cookie` signs in, if anyone.
    pub async fn whoami(&self, cookie: &str) -> Option<String> {
        let res = self.call("current_viewer", Some(cookie), &[]).await;
        assert_eq!(res.status(), 200);
        let v: serde_json::Value = res.json().await.expect("json");
        v.get("email").and_then(|e| e.as_str()).map(str::to_owned)
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = self.state.db.clone().close().await;
        if let Some(pg) = self.pg_drop.take() {
            drop_database(pg).await;
        }
    }
}

/// A new, empty database: a SQLite file in `dir`, or a PostgreSQL database
/// (dropped by [`drop_database`]). `None`, after saying so, when PostgreSQL is
/// unreachable and not required.
pub async fn fresh_database(
    backend: Backend,
    dir: &tempdir::TempDir,
) -> Option<(String, Option<(String, String)>)> {
    match backend {
        Backend::Sqlite => Some((
            format!("sqlite://{}/portico.db?mode=rwc", dir.0.display()),
            None,
        )),
        Backend::Postgres => {
            let admin_url = pg_admin_url();
            let admin = match Database::connect(admin_url.as_str()).await {
                Ok(c) => c,
                Err(e) => {
                    if pg_required() {
                        panic!("PostgreSQL is required (PORTICO_REQUIRE_PG=1) but unreachable at {admin_url}: {e}");
                    }
                    eprintln!("SKIPPED: PostgreSQL unreachable at {admin_url} ({e}); set PORTICO_TEST_PG_URL to run the PostgreSQL half");
                    return None;
                }
            };
            let name = format!("portico_test_{}", tempdir::uuid());
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .expect("create test database");
            let _ = admin.close().await;
            let base = admin_url
                .rsplit_once('/')
                .map(|(b, _)| b.to_string())
                .unwrap_or(admin_url.clone());
            Some((format!("{base}/{name}"), Some((admin_url, name))))
        }
    }
}

/// Drops a PostgreSQL database made by [`fresh_database`]: (admin URL, name).
pub async fn drop_database((admin_url, name): (String, String)) {
    if let Ok(admin) = Database::connect(admin_url.as_str()).await {
        let _ = admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await;
    }
}

/// A real SMTP server on loopback (aiosmtpd), writing what it receives as JSON.
pub struct SmtpSink {
    pub port: u16,
    dir: tempdir::TempDir,
    child: Option<std::process::Child>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut sink = SmtpSink {
            port,
            dir: tempdir::TempDir::new(),
            child: None,
        };
        sink.restart().await;
        sink
    }

    pub async fn restart(&mut self) {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/smtp_sink.py");
        let child = std::process::Command::new("/usr/bin/python3")
            .args([script, "127.0.0.1", &self.port.to_string()])
            .arg(&self.dir.0)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("cannot start the SMTP sink: is Debian's python3-aiosmtpd installed? (make test installs it)");
        self.child = Some(child);
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the SMTP sink did not start on port {}", self.port);
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn messages(&self) -> Vec<serde_json::Value> {
        let mut names: Vec<_> = std::fs::read_dir(&self.dir.0)
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        names.retain(|p: &std::path::PathBuf| p.extension().is_some_and(|x| x == "json"));
        names.sort();
        names
            .iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .filter_map(|t| serde_json::from_str(&t).ok())
            .collect()
    }

    /// Waits until at least `n` messages arrived.
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<serde_json::Value> {
        let start = std::time::Instant::now();
        loop {
            let m = self.messages();
            if m.len() >= n || start.elapsed() > within {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The one-time token in a link of a mail body.
pub fn token_in(body: &str) -> String {
    let i = body.find("token=").expect("a link with a token") + 6;
    body[i..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

/// The `portico_session=...` pair from a response's Set-Cookie, if it sets one.
pub fn session_cookie(res: &reqwest::Response) -> Option<String> {
    set_cookie_lines(res)
        .into_iter()
        .find(|l| l.starts_with("portico_session=") && !l.starts_with("portico_session=;"))
        .and_then(|l| l.split(';').next().map(str::to_owned))
}

pub fn set_cookie_lines(res: &reqwest::Response) -> Vec<String> {
    res.headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect()
}

/// Runs each named `async fn(&TestServer)` against SQLite and against PostgreSQL.
#[macro_export]
macro_rules! db_tests {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let srv = $crate::common::TestServer::start($crate::common::Backend::Sqlite)
                    .await
                    .expect("sqlite server");
                super::$name(&srv).await;
                srv.stop().await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(srv) = $crate::common::TestServer::start($crate::common::Backend::Postgres).await else {
                    return;
                };
                super::$name(&srv).await;
                srv.stop().await;
            }
        }
    )*};
}

/// Like `db_tests!`, for cases that start their own servers: each
/// `async fn name(backend: Backend)` runs as `name::sqlite` and
/// `name::postgres` (which returns early, having said so, without PostgreSQL).
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::common::Backend::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::common::Backend::Postgres).await;
            }
        }
    )*};
}

// ---- customers: shared by the feature suites ----------------------------------

pub async fn level_id(srv: &TestServer, name: &str) -> String {
    level::Entity::find()
        .filter(level::Column::Name.eq(name))
        .one(&srv.state.db)
        .await
        .unwrap()
        .unwrap()
        .id
        .to_string()
}

/// The id of a catalog release, e.g. ("Portico Server", "2.4").
pub async fn release_id(srv: &TestServer, product: &str, version: &str) -> String {
    let p = entity::product::Entity::find()
        .filter(entity::product::Column::Name.eq(product))
        .one(&srv.state.db)
        .await
        .unwrap()
        .expect("demo product");
    entity::product_version::Entity::find()
        .filter(entity::product_version::Column::ProductId.eq(p.id))
        .filter(entity::product_version::Column::Version.eq(version))
        .one(&srv.state.db)
        .await
        .unwrap()
        .expect("demo version")
        .id
        .to_string()
}

pub fn order(
    org: &str,
    level: &str,
    main_email: &str,
    techs: &[(&str, &str, bool)],
) -> Vec<(String, String)> {
    let mut f: Vec<(String, String)> = [
        ("organization_name", org.to_string()),
        ("legal_name", format!("{org} S.A.")),
        ("address", "1 Main Street\nSpringfield".into()),
        ("vat_id", "ES12345678".into()),
        ("level_id", level.into()),
        ("term_start", "2027-01-01".into()),
        ("term_end", "2027-12-31".into()),
        ("main_name", "Mona Main".into()),
        ("main_email", main_email.into()),
        ("main_phone", "+34 600 000 000".into()),
        ("purchase_order", "PO-77".into()),
        ("payment_method", "purchase_order".into()),
    ]
    .into_iter()
    .map(|(k, v)| (format!("order[{k}]"), v))
    .collect();
    for (i, (name, email, dl)) in techs.iter().enumerate() {
        f.push((
            format!("order[technical_contacts][{i}][name]"),
            name.to_string(),
        ));
        f.push((
            format!("order[technical_contacts][{i}][email]"),
            email.to_string(),
        ));
        if *dl {
            f.push((
                format!("order[technical_contacts][{i}][distribution_list]"),
                "on".into(),
            ));
        }
    }
    f
}

pub async fn call_form(
    srv: &TestServer,
    endpoint: &str,
    cookie: Option<&str>,
    form: &[(String, String)],
) -> reqwest::Response {
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    srv.call(endpoint, cookie, &pairs).await
}

pub async fn outbox(srv: &TestServer) -> Vec<outbox_message::Model> {
    outbox_message::Entity::find()
        .order_by_asc(outbox_message::Column::Id)
        .all(&srv.state.db)
        .await
        .unwrap()
}

pub async fn mail_to(srv: &TestServer, to: &str) -> Vec<outbox_message::Model> {
    outbox(srv)
        .await
        .into_iter()
        .filter(|m| m.to_addr == to)
        .collect()
}

pub async fn contact_id(srv: &TestServer, email: &str) -> i32 {
    contact::Entity::find()
        .filter(contact::Column::Email.eq(email))
        .one(&srv.state.db)
        .await
        .unwrap()
        .unwrap()
        .id
}

pub async fn org_id(srv: &TestServer, name: &str) -> i32 {
    organization::Entity::find()
        .filter(organization::Column::Name.eq(name))
        .one(&srv.state.db)
        .await
        .unwrap()
        .unwrap()
        .id
}

pub async fn activate(srv: &TestServer, token: &str, pw: &str) -> reqwest::Response {
    srv.call(
        "activate_account",
        None,
        &[
            ("token", token),
            ("new_password", pw),
            ("confirm_password", pw),
        ],
    )
    .await
}

/// The nine people of the authorization matrices, in this order:
/// anonymous, the three staff roles, Acme's Main, Technical and (newly added)
/// Administrative Contact, Globex's Main and (newly added) Technical Contact.
/// Returns their names and session cookies (`None` for anonymous).
pub async fn matrix_people(srv: &TestServer) -> ([&'static str; 9], Vec<Option<String>>) {
    for (main, role, name, email) in [
        (
            "main@acme.example",
            "administrative",
            "Ada Books",
            "books@acme.example",
        ),
        (
            "main@globex.example",
            "technical",
            "Gil Tech",
            "techg@globex.example",
        ),
    ] {
        let cookie = srv.sign_in(main).await;
        let res = srv
            .call(
                "add_contact",
                Some(&cookie),
                &[
                    ("role", role),
                    ("name", name),
                    ("email", email),
                    ("phone", ""),
                ],
            )
            .await;
        assert_eq!(res.json::<String>().await.unwrap(), "Added");
        let token = token_in(&mail_to(srv, email).await[0].body);
        assert_eq!(activate(srv, &token, PASSWORD).await.status(), 200);
    }
    let people = [
        "anonymous",
        "admin@example.com",
        "agent@example.com",
        "billing@example.com",
        "main@acme.example",
        "tech1@acme.example",
        "books@acme.example",
        "main@globex.example",
        "techg@globex.example",
    ];
    let mut cookies = vec![None];
    for p in &people[1..] {
        cookies.push(Some(srv.sign_in(p).await));
    }
    (people, cookies)
}
