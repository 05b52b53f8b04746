//! The Portico server: configuration, state, router, and start-up.

pub mod backup;
pub mod config;
pub mod form_return;
pub mod inbound_smtp;
pub mod mailer;
pub mod scale;
pub mod security;
pub mod seed;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use app::core::actor::Actor;
use app::core::state::AuthRuntime;
use app::core::state::{AppState, BillingSettings, Settings};
use app::{shell, App};
use axum::extract::State;
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use leptos::config::LeptosOptions;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};
use tokio::net::TcpListener;
use tower_http::compression::CompressionLayer;
use tower_http::trace::TraceLayer;

use crate::config::Config;

/// Opens the database. SQLite gets WAL, `synchronous=FULL` (NORMAL can lose
/// the last commits on power loss in WAL mode), foreign keys and a busy timeout.
pub async fn connect(url: &str) -> anyhow::Result<DatabaseConnection> {
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.sqlx_logging(false)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10));
    if url.starts_with("sqlite:") {
        use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
        opts.max_connections(8).map_sqlx_sqlite_opts(|o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(5))
        });
    } else {
        opts.max_connections(16);
    }
    Database::connect(opts)
        .await
        .with_context(|| format!("cannot open the database at {}", redact(url)))
}

/// The URL without its password, fit for logs and error messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None).await.context("applying migrations")
}

pub fn settings(config: &Config) -> Settings {
    Settings {
        base_url: config.base_url(),
        session_idle: Duration::from_secs(config.session_idle_minutes.max(1) * 60),
        session_absolute: Duration::from_secs(config.session_absolute_hours.max(1) * 3600),
        trust_forwarded_for: config.trust_forwarded_for,
        smtp_configured: config.smtp_host.is_some(),
        activation_ttl: Duration::from_secs(config.activation_link_days.max(1) * 86400),
        billing: BillingSettings {
            invoice_prefix: config.invoice_prefix.clone(),
            estimate_prefix: config.estimate_prefix.clone(),
            proposal_prefix: config.proposal_prefix.clone(),
            payment_terms_days: config.payment_terms_days,
            document_link_ttl: Duration::from_secs(config.document_link_days.max(1) * 86400),
            reminder_days: config.reminder_days,
        },
        close_solved_days: config.close_solved_days,
        dashboard_refresh: Duration::from_secs(config.dashboard_refresh_seconds),
        search_look: Duration::from_secs(config.search_look_seconds),
        data_dir: config.data_dir.clone(),
        attachment_max_bytes: config.attachment_max_mb << 20,
        subscription_grace_days: config.subscription_grace_days,
        inbound: app::core::state::InboundTrust {
            authserv_id: config
                .inbound_trusted_authserv_id
                .as_ref()
                .map(|s| s.trim().to_ascii_lowercase()),
            relays: config.inbound_trusted_relay.clone(),
            verify: config.inbound_verify,
            dns: config.inbound_dns_server,
        },
        inbound_message_max_bytes: config.inbound_message_max_bytes(),
        quotas: app::core::state::Quotas {
            tickets_per_hour: config.quota_tickets_per_hour,
            invitations_per_day: config.quota_invitations_per_day,
            live_pages_per_session: config.quota_live_pages_per_session as usize,
            comments_per_hour: config.quota_comments_per_hour,
            files_per_ticket: config.quota_files_per_ticket,
            upload_bytes_per_day: config.quota_upload_mb_per_day << 20,
        },
    }
}

pub fn leptos_options(config: &Config) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("portico")
        .site_root(config.site_root.as_str())
        .site_pkg_dir("pkg")
        .site_addr(config.bind)
        .build()
}

pub fn state(config: &Config, db: DatabaseConnection) -> AppState {
    AppState {
        db,
        settings: Arc::new(settings(config)),
        leptos_options: leptos_options(config),
        auth: Arc::new(AuthRuntime::new()),
        live: Arc::new(app::core::live::Bus::default()),
        search: Default::default(),
    }
}

async fn healthz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    match state.db.ping().await {
        Ok(()) => (StatusCode::OK, "ok"),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
        }
    }
}

#[derive(serde::Deserialize)]
struct LinkQuery {
    token: Option<String>,
}

fn see_other(location: &str) -> axum::response::Response {
    axum::response::Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header(http::header::LOCATION, location)
        .body(axum::body::Body::empty())
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// The button on the page a document e-mail's link opens: the token is
/// swapped for a cookie for that one document, then a redirect to an
/// address without the token.
async fn open_document_link(
    State(state): State<AppState>,
    axum::extract::Form(q): axum::extract::Form<LinkQuery>,
) -> axum::response::Response {
    match app::billing::ssr::open_link(&state, q.token.as_deref()).await {
        Ok((id, cookie)) => {
            let mut res = see_other(&format!("/d/{id}"));
            if let Ok(v) = http::HeaderValue::from_str(&cookie) {
                res.headers_mut().insert(http::header::SET_COOKIE, v);
            }
            res
        }
        Err(app::error::AppError::NotFound) => see_other("/d/unusable"),
        Err(e) => {
            tracing::warn!(error = %e, "opening a document link failed");
            (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response()
        }
    }
}

/// A document's PDF, for whoever may see the document.
async fn document_pdf(
    State(state): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
    actor: Option<axum::Extension<Actor>>,
    headers: http::HeaderMap,
) -> axum::response::Response {
    let Ok(id) = id.parse::<i32>() else {
        return (StatusCode::NOT_FOUND, "Not found.").into_response();
    };
    match app::billing::ssr::pdf_bytes(&state, &headers, actor.as_ref().map(|a| &a.0), id).await {
        Ok((name, bytes)) => axum::response::Response::builder()
            .header(http::header::CONTENT_TYPE, "application/pdf")
            .header(
                http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            )
            .body(axum::body::Body::from(bytes))
            .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response()),
        Err(e) => (
            StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            e.to_string(),
        )
            .into_response(),
    }
}

#[derive(serde::Deserialize)]
struct CsvQuery {
    #[serde(default)]
    table: String,
    #[serde(default)]
    period: String,
}

/// A dashboard table as CSV, for the roles that see that dashboard.
async fn figures_csv(
    State(state): State<AppState>,
    axum::extract::Query(q): axum::extract::Query<CsvQuery>,
    actor: Option<axum::Extension<Actor>>,
) -> axum::response::Response {
    let actor = actor.as_ref().map(|a| &a.0);
    let refresh = state.settings.dashboard_refresh;
    match app::dashboards::ssr::csv_export(
        &state.db,
        actor,
        &q.table,
        &q.period,
        chrono::Utc::now(),
        refresh,
    )
    .await
    {
        Ok((name, body)) => axum::response::Response::builder()
            .header(http::header::CONTENT_TYPE, "text/csv; charset=utf-8")
            .header(
                http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            )
            .body(axum::body::Body::from(body))
            .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response()),
        Err(e) => (
            StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            e.to_string(),
        )
            .into_response(),
    }
}

/// Every server function (its path) and every page route the router serves:
/// what the authorization matrix test holds against `app::core::authz`.
pub fn route_inventory() -> (Vec<String>, Vec<String>) {
    let endpoints = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.to_string())
        .collect();
    let pages = page_routes().iter().map(|r| r.path().to_string()).collect();
    (endpoints, pages)
}

/// The page routes, generated once per process. Generating runs the whole
/// app with resource loading suppressed process-wide (leptos-rs/leptos#4773):
/// a page rendering meanwhile in the same process — another server in the
/// tests, a second router — would wait forever for its data.
fn page_routes() -> Vec<AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<AxumRouteListing>> = std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

pub fn router(state: AppState) -> Router {
    let routes = page_routes();
    let options = state.leptos_options.clone();
    let nonce_context = || {
        if let Some(nonce) = use_context::<http::request::Parts>()
            .and_then(|p| p.extensions.get::<security::CspNonce>().cloned())
        {
            provide_context(leptos::nonce::Nonce::from_value(nonce.0));
        }
    };
    Router::new()
        .route("/healthz", get(healthz))
        // GET is the page with the button (a route of the app); opening is the POST.
        .route("/documents/open", axum::routing::post(open_document_link))
        .route("/documents/{id}/pdf", get(document_pdf))
        .route("/staff/figures.csv", get(figures_csv))
        .route("/tickets/{id}/live", get(app::support::live::socket))
        .route(
            "/tickets/{id}/attachments",
            axum::routing::post(app::support::attachments::upload).layer(
                // The limit itself is enforced while streaming, with a clear message.
                axum::extract::DefaultBodyLimit::max(
                    (state.settings.attachment_max_bytes + (1 << 20)) as usize,
                ),
            ),
        )
        .route(
            "/tickets/{id}/attachments/{attachment}",
            get(app::support::attachments::download),
        )
        // Built assets straight from disk (the Leptos file handler is for the rest).
        .nest_service(
            "/pkg",
            tower_http::services::ServeDir::new(format!("{}/pkg", state.leptos_options.site_root)),
        )
        .leptos_routes_with_context(&state, routes, nonce_context, {
            let options = options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(nonce_context, shell))
        // Layers run bottom-up: headers outermost, then the Origin check,
        // then the session, then the page guard; innermost, where a plain
        // form post goes back to.
        .layer(from_fn_with_state(state.clone(), form_return::form_return))
        .layer(axum::middleware::from_fn(security::server_fn_error_status))
        .layer(axum::middleware::from_fn(security::guard))
        .layer(from_fn_with_state(state.clone(), security::resolve_session))
        .layer(from_fn_with_state(
            state.clone(),
            security::reject_cross_site,
        ))
        .layer(from_fn_with_state(
            state.clone(),
            security::security_headers,
        ))
        .layer(CompressionLayer::new())
        .layer(TraceLayer::new_for_http().make_span_with(
            |req: &http::Request<axum::body::Body>| {
                // The path only: query strings may carry tokens.
                tracing::info_span!("request", method = %req.method(), path = %req.uri().path())
            },
        ))
        .with_state(state)
}

/// Serves until `shutdown` resolves, then finishes the requests in flight.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    app::core::live::start_listener(state.clone());
    app::search::ssr::feed::start(state.clone());
    let live = state.live.clone();
    let shutdown = async move {
        shutdown.await;
        // Open live pages would hold the graceful shutdown forever.
        live.close();
    };
    let app = router(state);
    // Without it every second small response on a kept-alive connection
    // waits ~40 ms for the client's delayed ACK (Nagle's algorithm).
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::trace!(error = %e, "TCP_NODELAY not set");
        }
    });
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
    .context("serving HTTP")
}

/// Starts the mail worker when SMTP is configured; it stops when the
/// returned sender is dropped or sent `true`.
pub fn start_mail_worker(
    config: &Config,
    db: DatabaseConnection,
) -> anyhow::Result<tokio::sync::watch::Sender<bool>> {
    let (tx, rx) = tokio::sync::watch::channel(false);
    match mailer::Mailer::from_config(config)? {
        Some(m) => {
            tokio::spawn(mailer::run(
                db,
                m,
                Duration::from_secs(config.mail_poll_seconds.max(1)),
                rx,
            ));
        }
        None => tracing::info!(
            "no SMTP relay configured: mail waits in the outbox (Staff → Outgoing mail)"
        ),
    }
    Ok(tx)
}

/// Runs the scheduler (overdue reminders, expired offers, subscription
/// notices and expiry, SLA breaches and warnings, closing solved tickets)
/// every `every` until `stop` turns true.
pub fn start_scheduler(
    state: AppState,
    every: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    tokio::spawn(async move {
        loop {
            match app::billing::ssr::sweep(&state).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(documents = n, "billing scheduler ran"),
                Err(e) => tracing::warn!(error = %e, "billing scheduler failed; will retry"),
            }
            let today = chrono::Utc::now().date_naive();
            match app::customers::ssr::subscriptions::sweep(&state, today).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(subscriptions = n, "subscription scheduler ran"),
                Err(e) => tracing::warn!(error = %e, "subscription scheduler failed; will retry"),
            }
            let close_after = chrono::Duration::days(i64::from(state.settings.close_solved_days));
            match app::support::ssr::sweep(&state, close_after).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(tickets = n, "SLA scheduler ran"),
                Err(e) => tracing::warn!(error = %e, "SLA scheduler failed; will retry"),
            }
            if let Err(e) = app::core::throttle::forget_old(&state.db, chrono::Utc::now()).await {
                tracing::warn!(error = %e, "throttle tidy-up failed; will retry");
            }
            let started = std::time::Instant::now();
            let refresh = state.settings.dashboard_refresh;
            match app::dashboards::ssr::refresh_if_stale(&state.db, chrono::Utc::now(), refresh)
                .await
            {
                Ok(false) => {}
                Ok(true) => tracing::info!(
                    ms = started.elapsed().as_millis() as u64,
                    "dashboard figures computed"
                ),
                Err(e) => tracing::warn!(error = %e, "dashboard figures failed; will retry"),
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.changed() => return,
            }
            if *stop.borrow() {
                return;
            }
        }
    });
}

/// Resolves on SIGINT or SIGTERM. The handlers are installed when this is
/// called, not when the future is first polled: call it before binding the
/// listener, so a signal that arrives as soon as the port opens is not lost.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let signals = {
        use tokio::signal::unix::{signal, SignalKind};
        (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        )
    };
    async move {
        #[cfg(unix)]
        match signals {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {},
                    _ = int.recv() => {},
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        tracing::info!("shutting down: finishing requests in flight");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_passwords_only() {
        assert_eq!(
            super::redact("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(super::redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(
            super::redact("sqlite://./data/p.db"),
            "sqlite://./data/p.db"
        );
    }
}
