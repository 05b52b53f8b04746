use std::io::{BufRead as _, IsTerminal as _};

use anyhow::Context as _;
use chrono::Utc;
use clap::Parser as _;
use entity::{user, StaffRole};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, Set};
use server::config::{Cli, Command, Config, LogFormat, RoleArg};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    init_logging(cli.config.log_format);
    if let Err(err) = run(cli).await {
        tracing::error!("{err:#}");
        eprintln!("error: {err:#}");
        std::process::exit(1);
    }
}

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Pretty => builder.init(),
    }
}

async fn open(config: &Config) -> anyhow::Result<sea_orm::DatabaseConnection> {
    let url = config.database_url();
    if url.starts_with("sqlite:") {
        std::fs::create_dir_all(&config.data_dir).with_context(|| {
            format!("creating the data directory {}", config.data_dir.display())
        })?;
    }
    let db = server::connect(&url).await?;
    server::migrate(&db).await?;
    Ok(db)
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = cli.config;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Migrate => {
            open(&config).await?;
            println!(
                "Migrations applied to {}",
                server::redact(&config.database_url())
            );
            Ok(())
        }
        Command::Backup { to } => {
            let summary = server::backup::run(&config, &to).await?;
            println!("{summary}");
            Ok(())
        }
        Command::CreateStaff { email, role, name } => {
            create_staff(&config, email, role, name).await
        }
        Command::SeedScale {
            organizations,
            tickets,
            comments_per_ticket,
            documents,
        } => {
            let db = open(&config).await?;
            server::seed::load_demo_if_empty(&db).await?;
            let scale = server::scale::Scale {
                organizations,
                tickets,
                comments_per_ticket,
                documents,
            };
            println!("{}", server::scale::seed(&db, scale).await?);
            Ok(())
        }
        Command::IngestMail => {
            let mut raw = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut raw)?;
            let db = open(&config).await?;
            let state = server::state(&config, db);
            let outcome = app::support::inbound::ingest(
                &state,
                &app::support::authenticity::Envelope::local(),
                &raw,
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{outcome}");
            Ok(())
        }
        Command::Serve => {
            anyhow::ensure!(
                config.invoice_prefix != config.estimate_prefix
                    && config.invoice_prefix != config.proposal_prefix
                    && config.estimate_prefix != config.proposal_prefix,
                "--invoice-prefix, --estimate-prefix and --proposal-prefix must differ (document numbers must not collide)"
            );
            let db = open(&config).await?;
            let demo_loaded = config.demo && server::seed::load_demo_if_empty(&db).await?;
            let shutdown = server::shutdown_signal();
            let listener = tokio::net::TcpListener::bind(config.bind)
                .await
                .with_context(|| format!("cannot listen on {}", config.bind))?;
            let mail_worker = server::start_mail_worker(&config, db.clone())?;
            let state = server::state(&config, db);
            if demo_loaded {
                server::seed::load_demo_documents(&state).await?;
                tracing::info!("demo data loaded");
            }
            server::start_scheduler(
                state.clone(),
                std::time::Duration::from_secs(config.scheduler_seconds),
                mail_worker.subscribe(),
            );
            if let Some(port) = config.inbound_smtp_port {
                let addr = std::net::SocketAddr::new(config.inbound_smtp_bind, port);
                let smtp = tokio::net::TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("cannot listen for mail on {addr}"))?;
                tokio::spawn(server::inbound_smtp::serve_with(
                    smtp,
                    state.clone(),
                    config.support_address.as_ref().map(|a| a.to_lowercase()),
                    server::inbound_smtp::Limits {
                        connections: config.inbound_max_connections as usize,
                        session: std::time::Duration::from_secs(config.inbound_session_seconds),
                    },
                ));
                println!("Receiving support mail on {addr}");
            }
            println!("Portico is running at {}", config.base_url());
            if config.demo {
                println!("Demo logins (password: {}):", server::seed::DEMO_PASSWORD);
                for l in server::seed::DEMO_LOGINS {
                    println!("  {:<24} {}", l.email, l.what);
                }
            }
            server::serve(listener, state, shutdown).await?;
            let _ = mail_worker.send(true);
            Ok(())
        }
    }
}

fn read_password() -> anyhow::Result<String> {
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ")?;
        let second = rpassword::prompt_password("Repeat password: ")?;
        anyhow::ensure!(first == second, "the two passwords differ");
        first
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_string()
    };
    app::core::password::validate_new_password("password", &password)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(password)
}

async fn create_staff(
    config: &Config,
    email: String,
    role: RoleArg,
    name: Option<String>,
) -> anyhow::Result<()> {
    let email = email.trim().to_lowercase();
    anyhow::ensure!(
        email.contains('@') && email.len() <= 320 && !email.contains(char::is_whitespace),
        "--email must be an e-mail address, like ada@example.com"
    );
    let role = match role {
        RoleArg::Admin => StaffRole::Admin,
        RoleArg::Agent => StaffRole::Agent,
        RoleArg::Billing => StaffRole::Billing,
    };
    let password = read_password()?;
    let db = open(config).await?;
    let hash = app::core::password::Passwords::new(1)
        .hash(&password)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let now = Utc::now();
    let display = name.unwrap_or_else(|| email.split('@').next().unwrap_or("staff").to_string());
    match user::Entity::find()
        .filter(user::Column::Email.eq(email.clone()))
        .one(&db)
        .await?
    {
        Some(existing) => {
            anyhow::ensure!(
                existing.staff_role.is_some(),
                "{email} belongs to a customer contact; staff need their own address"
            );
            let mut a = existing.into_active_model();
            a.password_hash = Set(Some(hash.0));
            a.staff_role = Set(Some(role));
            a.active = Set(true);
            a.updated_at = Set(now);
            let u = a.update(&db).await?;
            app::auth::ssr::session::end_all_for_user(&db, u.id)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "Updated {email}: role {}, new password, sessions ended.",
                role.label()
            );
        }
        None => {
            user::ActiveModel {
                email: Set(email.clone()),
                name: Set(display),
                password_hash: Set(Some(hash.0)),
                staff_role: Set(Some(role)),
                active: Set(true),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(&db)
            .await?;
            println!("Created {email} ({}).", role.label());
        }
    }
    Ok(())
}
