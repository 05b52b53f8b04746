//! Command line and environment. Every setting has a flag, an environment
//! variable and a default that serves the embedded demo.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "server",
    version,
    about = "Portico: support and billing portals and the staff console in one server."
)]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply migrations and serve HTTP (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// File one e-mail message (RFC 5322, read from standard input) as mail
    /// to the support address: a new ticket, a comment, or held for review.
    IngestMail,
    /// Write a consistent copy of the database and the uploaded files to a new
    /// folder while Portico keeps running. SQLite: the folder is a data
    /// directory (`--data-dir FOLDER` starts from it). PostgreSQL: a pg_dump
    /// archive, `portico.pgdump`, for pg_restore (needs PostgreSQL's client
    /// tools), beside the files.
    Backup {
        /// The folder to create; it must not exist yet.
        #[arg(long)]
        to: std::path::PathBuf,
    },
    /// Add a large synthetic dataset (organizations, contacts, years of
    /// tickets with clocks and comments, subscriptions and documents) to a database holding the demo data,
    /// for measuring at scale (`make bench`). Never on a real installation.
    SeedScale {
        #[arg(long, default_value_t = 2_000)]
        organizations: u32,
        #[arg(long, default_value_t = 250_000)]
        tickets: u32,
        #[arg(long, default_value_t = 10)]
        comments_per_ticket: u32,
        #[arg(long, default_value_t = 50_000)]
        documents: u32,
    },
    /// Create a staff account, or reset its password and role. The password is
    /// read from the terminal, or from standard input when it is not a terminal.
    CreateStaff {
        /// E-mail address the staff member signs in with.
        #[arg(long)]
        email: String,
        /// What they may do.
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Display name (defaults to the part of the e-mail before the @).
        #[arg(long)]
        name: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    Admin,
    Agent,
    Billing,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum SmtpSecurity {
    Starttls,
    Tls,
    None,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Database URL: `sqlite://PATH?mode=rwc` (embedded) or `postgres://user@host/db`.
    /// Defaults to `sqlite://DATA_DIR/portico.db?mode=rwc`.
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,

    /// Address and port to listen on.
    #[arg(
        long,
        env = "PORTICO_BIND",
        default_value = "127.0.0.1:3000",
        global = true
    )]
    pub bind: SocketAddr,

    /// Public URL people reach Portico at; used for links in e-mails, the
    /// Origin check and the cookie's Secure flag (set when it is https).
    /// Defaults to http://BIND.
    #[arg(long, env = "PORTICO_BASE_URL", global = true)]
    pub base_url: Option<String>,

    /// Directory for the embedded database and uploaded files (created if absent).
    #[arg(
        long,
        env = "PORTICO_DATA_DIR",
        default_value = "./data",
        global = true
    )]
    pub data_dir: PathBuf,

    /// Directory holding the built site (`pkg/` with the WASM, JS and CSS).
    #[arg(
        long,
        env = "LEPTOS_SITE_ROOT",
        default_value = "target/site",
        global = true
    )]
    pub site_root: String,

    /// Load the demo organizations and accounts when the database has no users.
    #[arg(long, env = "PORTICO_DEMO", default_value_t = false, global = true)]
    pub demo: bool,

    /// Minutes without a request after which a session ends.
    #[arg(
        long,
        env = "PORTICO_SESSION_IDLE_MINUTES",
        default_value_t = 120,
        global = true
    )]
    pub session_idle_minutes: u64,

    /// Hours after sign-in after which a session ends, however active.
    #[arg(
        long,
        env = "PORTICO_SESSION_ABSOLUTE_HOURS",
        default_value_t = 24,
        global = true
    )]
    pub session_absolute_hours: u64,

    /// Days an account-activation link stays valid.
    #[arg(
        long,
        env = "PORTICO_ACTIVATION_LINK_DAYS",
        default_value_t = 7,
        global = true
    )]
    pub activation_link_days: u64,

    /// Days an e-mailed document (invoice, estimate, proposal) link stays valid.
    #[arg(
        long,
        env = "PORTICO_DOCUMENT_LINK_DAYS",
        default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(1..=3650),
        global = true
    )]
    pub document_link_days: u64,

    /// Days from sending an invoice to its due date.
    #[arg(long, env = "PORTICO_PAYMENT_TERMS_DAYS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(0..=365), global = true)]
    pub payment_terms_days: u32,

    /// Days between two reminders of one overdue invoice.
    #[arg(long, env = "PORTICO_REMINDER_DAYS", default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=365), global = true)]
    pub reminder_days: u32,

    /// Invoice number prefix: PREFIX-YEAR-00001.
    #[arg(long, env = "PORTICO_INVOICE_PREFIX", default_value = "INV", value_parser = number_prefix, global = true)]
    pub invoice_prefix: String,

    /// Estimate number prefix.
    #[arg(long, env = "PORTICO_ESTIMATE_PREFIX", default_value = "EST", value_parser = number_prefix, global = true)]
    pub estimate_prefix: String,

    /// Proposal number prefix.
    #[arg(long, env = "PORTICO_PROPOSAL_PREFIX", default_value = "PRO", value_parser = number_prefix, global = true)]
    pub proposal_prefix: String,

    /// Listen for mail to the support address on this port (SMTP). Off when unset.
    #[arg(long, env = "PORTICO_INBOUND_SMTP_PORT", global = true)]
    pub inbound_smtp_port: Option<u16>,

    /// Address the inbound SMTP listener binds to.
    #[arg(
        long,
        env = "PORTICO_INBOUND_SMTP_BIND",
        default_value = "127.0.0.1",
        global = true
    )]
    pub inbound_smtp_bind: std::net::IpAddr,

    /// SMTP peers (the MTA in front of Portico) whose Authentication-Results header is trusted,
    /// comma-separated IP addresses. Their mail is not checked again by Portico.
    #[arg(
        long,
        env = "PORTICO_INBOUND_TRUSTED_RELAY",
        value_delimiter = ',',
        global = true
    )]
    pub inbound_trusted_relay: Vec<std::net::IpAddr>,

    /// The authserv-id those relays (and `ingest-mail`'s MTA) write Authentication-Results under,
    /// e.g. mx.example.com. Unset: no such header is read from anyone.
    #[arg(long, env = "PORTICO_INBOUND_TRUSTED_AUTHSERV_ID", global = true)]
    pub inbound_trusted_authserv_id: Option<String>,

    /// Check DKIM, SPF and DMARC for mail handed over directly (not by a trusted relay).
    /// Mail that does not pass is held for staff either way.
    #[arg(long, env = "PORTICO_INBOUND_VERIFY", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub inbound_verify: bool,

    /// DNS server for those checks, e.g. 127.0.0.53:53 (default: the system's resolvers).
    #[arg(long, env = "PORTICO_INBOUND_DNS_SERVER", global = true)]
    pub inbound_dns_server: Option<std::net::SocketAddr>,

    /// Largest message the listener takes, in MB (default: the attachment limit as base64, and 10%).
    #[arg(long, env = "PORTICO_INBOUND_MAX_MESSAGE_MB", value_parser = clap::value_parser!(u64).range(1..=2048), global = true)]
    pub inbound_max_message_mb: Option<u64>,

    /// SMTP connections the listener serves at once; more are answered 421 (try later).
    #[arg(long, env = "PORTICO_INBOUND_MAX_CONNECTIONS", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=10000), global = true)]
    pub inbound_max_connections: u32,

    /// Seconds one SMTP connection may last in all; then it is answered 421 and closed.
    #[arg(long, env = "PORTICO_INBOUND_SESSION_SECONDS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=86400), global = true)]
    pub inbound_session_seconds: u64,

    /// Tickets one customer may open in an hour (the next is refused, saying so).
    #[arg(long, env = "PORTICO_QUOTA_TICKETS_PER_HOUR", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=100000), global = true)]
    pub quota_tickets_per_hour: u64,

    /// Contacts (each sent an invitation) one Main Contact may add in a day.
    #[arg(long, env = "PORTICO_QUOTA_INVITATIONS_PER_DAY", default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=100000), global = true)]
    pub quota_invitations_per_day: u64,

    /// Live ticket pages one browser session may hold open (more get 429).
    #[arg(long, env = "PORTICO_QUOTA_LIVE_PAGES_PER_SESSION", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=1000000), global = true)]
    pub quota_live_pages_per_session: u32,

    /// Comments (a file counts as one) one customer may add in an hour.
    #[arg(long, env = "PORTICO_QUOTA_COMMENTS_PER_HOUR", default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..=100000), global = true)]
    pub quota_comments_per_hour: u64,

    /// Files one ticket may hold (uploads and mail attachments).
    #[arg(long, env = "PORTICO_QUOTA_FILES_PER_TICKET", default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=100000), global = true)]
    pub quota_files_per_ticket: u64,

    /// MB one organization's people may upload in a day (staff uploads are not counted).
    #[arg(long, env = "PORTICO_QUOTA_UPLOAD_MB_PER_DAY", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=10000000), global = true)]
    pub quota_upload_mb_per_day: u64,

    /// The support address: the only recipient the listener accepts (any when unset).
    #[arg(long, env = "PORTICO_SUPPORT_ADDRESS", global = true)]
    pub support_address: Option<String>,

    /// Largest ticket attachment accepted, in MB.
    #[arg(
        long,
        env = "PORTICO_ATTACHMENT_MAX_MB",
        default_value_t = 25,
        value_parser = clap::value_parser!(u64).range(1..=2048),
        global = true
    )]
    pub attachment_max_mb: u64,

    /// Days after which a solved ticket closes by itself.
    #[arg(long, env = "PORTICO_CLOSE_SOLVED_DAYS", default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=365), global = true)]
    pub close_solved_days: u32,

    /// Seconds the dashboards' figures are kept before the scheduler computes them again.
    #[arg(long, env = "PORTICO_DASHBOARD_REFRESH_SECONDS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=86400), global = true)]
    pub dashboard_refresh_seconds: u64,

    /// Seconds between the search index's looks at what changed in the database (beside the
    /// changes it hears at once); also the most a change it did not hear takes to be found.
    #[arg(long, env = "PORTICO_SEARCH_LOOK_SECONDS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600), global = true)]
    pub search_look_seconds: u64,

    /// Days a subscription stays open after its term ends (the Support Portal and everything the
    /// level opens); then it closes at once, and the scheduler records it as expired.
    #[arg(long, env = "PORTICO_SUBSCRIPTION_GRACE_DAYS", default_value_t = 7, value_parser = clap::value_parser!(u32).range(0..=90), global = true)]
    pub subscription_grace_days: u32,

    /// Seconds between runs of the scheduler (overdue reminders, expired offers, subscription notices and expiry, SLA breaches and warnings, closing solved tickets).
    #[arg(
        long,
        env = "PORTICO_SCHEDULER_SECONDS",
        default_value_t = 60,
        value_parser = clap::value_parser!(u64).range(1..=86400),
        global = true
    )]
    pub scheduler_seconds: u64,

    /// Take the client address from X-Forwarded-For. Only behind a proxy you run.
    #[arg(
        long,
        env = "PORTICO_TRUST_FORWARDED_FOR",
        default_value_t = false,
        global = true
    )]
    pub trust_forwarded_for: bool,

    /// SMTP relay host for outgoing mail. Unset: mail stays in the outbox, readable by staff.
    #[arg(long, env = "PORTICO_SMTP_HOST", global = true)]
    pub smtp_host: Option<String>,

    /// SMTP relay port.
    #[arg(long, env = "PORTICO_SMTP_PORT", default_value_t = 25, global = true)]
    pub smtp_port: u16,

    /// SMTP user name, when the relay requires authentication.
    #[arg(long, env = "PORTICO_SMTP_USERNAME", global = true)]
    pub smtp_username: Option<String>,

    /// SMTP password (prefer the environment variable over the flag).
    #[arg(
        long,
        env = "PORTICO_SMTP_PASSWORD",
        hide_env_values = true,
        global = true
    )]
    pub smtp_password: Option<String>,

    /// How to secure the SMTP connection: `starttls` (port 587), `tls` (port 465) or
    /// `none` (a relay on this machine or a trusted network only).
    #[arg(long, env = "PORTICO_SMTP_SECURITY", value_enum, default_value_t = SmtpSecurity::Starttls, global = true)]
    pub smtp_security: SmtpSecurity,

    /// Seconds between looks at the outbox for mail that is due.
    #[arg(
        long,
        env = "PORTICO_MAIL_POLL_SECONDS",
        default_value_t = 2,
        global = true
    )]
    pub mail_poll_seconds: u64,

    /// Sender address of outgoing mail.
    #[arg(
        long,
        env = "PORTICO_SMTP_FROM",
        default_value = "Portico <portico@localhost>",
        global = true
    )]
    pub smtp_from: String,

    /// Log format.
    #[arg(long, env = "PORTICO_LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty, global = true)]
    pub log_format: LogFormat,
}

impl Config {
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}/portico.db?mode=rwc", self.data_dir.display()))
    }

    /// The largest inbound message, in bytes.
    pub fn inbound_message_max_bytes(&self) -> u64 {
        match self.inbound_max_message_mb {
            Some(mb) => mb << 20,
            // Base64 makes files a third larger; then 10% for the rest.
            None => (self.attachment_max_mb << 20) / 30 * 44,
        }
    }

    pub fn base_url(&self) -> String {
        self.base_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.bind))
            .trim_end_matches('/')
            .to_string()
    }
}

/// A document-number prefix: 1 to 12 letters, digits or dashes.
fn number_prefix(s: &str) -> Result<String, String> {
    if !s.is_empty() && s.len() <= 12 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        Ok(s.to_owned())
    } else {
        Err("use 1 to 12 letters, digits or dashes, e.g. INV".into())
    }
}
