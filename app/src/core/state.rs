//! Server-side state shared by every request (not compiled into the browser).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use sea_orm::DatabaseConnection;

use super::live::Bus;
use super::password;

/// Settings the application logic needs; the server builds it from its
/// command line and environment.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Public URL people reach Portico at, e.g. `https://support.example.com`.
    pub base_url: String,
    /// Sign a session out after this long without a request.
    pub session_idle: Duration,
    /// Sign a session out this long after sign-in, whatever its activity.
    pub session_absolute: Duration,
    /// Take the client address from `X-Forwarded-For` (only behind a trusted proxy).
    pub trust_forwarded_for: bool,
    /// Whether a mail relay is configured (otherwise mail waits in the outbox).
    pub smtp_configured: bool,
    /// How long an account-activation link stays valid.
    pub activation_ttl: Duration,
    pub billing: BillingSettings,
    /// Days after which a solved ticket closes by itself.
    pub close_solved_days: u32,
    /// How old the dashboards' kept figures grow before the scheduler
    /// computes them again (a view computes them itself past twice that).
    pub dashboard_refresh: Duration,
    /// How often the search index looks at what changed in the database.
    pub search_look: Duration,
    /// Where uploaded files live (`attachments/` below it).
    pub data_dir: std::path::PathBuf,
    /// The largest attachment accepted, in bytes.
    pub attachment_max_bytes: u64,
    /// Days a subscription stays open after its term's end.
    pub subscription_grace_days: u32,
    /// Whom inbound mail's sender checks are trusted from.
    pub inbound: InboundTrust,
    /// The largest message to the support address accepted, in bytes.
    pub inbound_message_max_bytes: u64,
    pub quotas: Quotas,
}

/// How much one person or session may do, so that one account cannot flood
/// the queue, the mail or the server.
#[derive(Debug, Clone)]
pub struct Quotas {
    /// Tickets one customer opens in an hour.
    pub tickets_per_hour: u64,
    /// Invitations (new contacts, each e-mailed) one Main Contact sends in a day.
    pub invitations_per_day: u64,
    /// Live ticket pages one session holds open.
    pub live_pages_per_session: usize,
    /// Comments (and files) one customer adds in an hour.
    pub comments_per_hour: u64,
    /// Files one ticket holds.
    pub files_per_ticket: u64,
    /// Bytes one organization's people upload in a day (staff are not counted).
    pub upload_bytes_per_day: u64,
}

impl Default for Quotas {
    fn default() -> Self {
        Quotas {
            tickets_per_hour: 30,
            invitations_per_day: 20,
            live_pages_per_session: 20,
            comments_per_hour: 120,
            files_per_ticket: 100,
            upload_bytes_per_day: 1 << 30,
        }
    }
}

/// How Portico decides that mail to the support address comes from its
/// `From:` domain (see `support::authenticity`).
#[derive(Debug, Clone)]
pub struct InboundTrust {
    /// The authserv-id under which the relay in front of Portico writes
    /// `Authentication-Results`.
    pub authserv_id: Option<String>,
    /// SMTP peers whose `Authentication-Results` are read.
    pub relays: Vec<std::net::IpAddr>,
    /// Check DKIM, SPF and DMARC for mail from any other peer.
    pub verify: bool,
    /// The DNS server asked for keys and records (`None`: the system's).
    pub dns: Option<std::net::SocketAddr>,
}

impl Default for InboundTrust {
    fn default() -> Self {
        InboundTrust {
            authserv_id: None,
            relays: Vec::new(),
            verify: true,
            dns: None,
        }
    }
}

/// How documents are numbered, linked and chased.
#[derive(Debug, Clone)]
pub struct BillingSettings {
    /// Number prefixes: `INV-2027-00001`.
    pub invoice_prefix: String,
    pub estimate_prefix: String,
    pub proposal_prefix: String,
    /// Days from sending an invoice to its due date.
    pub payment_terms_days: u32,
    /// How long an e-mailed document link stays valid.
    pub document_link_ttl: Duration,
    /// Days between reminders for one overdue invoice.
    pub reminder_days: u32,
}

impl Default for BillingSettings {
    fn default() -> Self {
        BillingSettings {
            invoice_prefix: "INV".into(),
            estimate_prefix: "EST".into(),
            proposal_prefix: "PRO".into(),
            payment_terms_days: 30,
            document_link_ttl: Duration::from_secs(30 * 86400),
            reminder_days: 7,
        }
    }
}

impl Settings {
    /// Settings for unit tests: `base` and sensible small values.
    #[cfg(test)]
    pub fn for_tests(base: &str) -> Settings {
        Settings {
            base_url: base.into(),
            session_idle: Duration::from_secs(60),
            session_absolute: Duration::from_secs(3600),
            trust_forwarded_for: false,
            smtp_configured: false,
            activation_ttl: Duration::from_secs(7 * 86400),
            billing: BillingSettings::default(),
            close_solved_days: 7,
            dashboard_refresh: Duration::from_secs(300),
            search_look: Duration::from_secs(5),
            data_dir: std::env::temp_dir(),
            attachment_max_bytes: 25 << 20,
            subscription_grace_days: 7,
            inbound: InboundTrust::default(),
            inbound_message_max_bytes: 28 << 20,
            quotas: Quotas::default(),
        }
    }

    pub fn cookie_secure(&self) -> bool {
        self.base_url.starts_with("https://")
    }

    /// `scheme://host[:port]` of the base URL, as browsers send it in `Origin`.
    pub fn origin(&self) -> &str {
        let s = self.base_url.as_str();
        let after_scheme = s.find("://").map(|i| i + 3).unwrap_or(0);
        match s[after_scheme..].find('/') {
            Some(i) => &s[..after_scheme + i],
            None => s,
        }
    }
}

/// Process-wide authentication machinery.
pub struct AuthRuntime {
    pub passwords: password::Passwords,
    /// Password reset requests being looked up and sent apart from their
    /// answer: at most this many at once (more are dropped, and logged).
    pub resets: Arc<tokio::sync::Semaphore>,
}

impl AuthRuntime {
    pub fn new() -> Self {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        AuthRuntime {
            passwords: password::Passwords::new(cores),
            resets: Arc::new(tokio::sync::Semaphore::new(16)),
        }
    }
}

impl Default for AuthRuntime {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Clone, FromRef)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub settings: Arc<Settings>,
    pub leptos_options: LeptosOptions,
    pub auth: Arc<AuthRuntime>,
    /// Ticket changes for this process's live pages.
    pub live: Arc<Bus>,
    /// The search index (opened when the server starts serving).
    pub search: Arc<super::search::Search>,
}

/// Bytes the process has allocated and not freed (glibc's count, across its
/// arenas; `None` elsewhere). Unlike resident memory it does not include
/// freed memory the allocator keeps, so it shows what is held now.
pub fn heap_in_use() -> Option<u64> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallinfo2 only reads the allocator's counters.
        let m = unsafe { libc::mallinfo2() };
        Some((m.uordblks + m.hblkhd) as u64)
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_strips_path_and_keeps_port() {
        assert_eq!(
            Settings::for_tests("http://127.0.0.1:3000").origin(),
            "http://127.0.0.1:3000"
        );
        assert_eq!(
            Settings::for_tests("https://a.example/portal/").origin(),
            "https://a.example"
        );
        assert!(Settings::for_tests("https://a.example").cookie_secure());
        assert!(!Settings::for_tests("http://a.example").cookie_secure());
    }
}
