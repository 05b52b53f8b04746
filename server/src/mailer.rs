//! The mail worker: delivers what the outbox holds over SMTP, with retries
//! and backoff. Each message is leased before sending, so two servers on one
//! database never send it twice in the normal course; a crash mid-send
//! re-sends it after the lease (at least once, never lost).

use std::time::Duration;

use chrono::Utc;
use entity::outbox_message;
use lettre::message::{header::ContentType, Mailbox};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

use crate::config::{Config, SmtpSecurity};

/// How long a message is reserved for the worker that is sending it.
const LEASE: chrono::Duration = chrono::Duration::seconds(120);
const BATCH: u64 = 20;
/// About two days of retries at the 15-minute cap.
const MAX_ATTEMPTS: i32 = 200;

pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// `None` when no relay is configured: mail then waits in the outbox.
    pub fn from_config(config: &Config) -> anyhow::Result<Option<Mailer>> {
        let Some(host) = config.smtp_host.as_deref() else {
            return Ok(None);
        };
        let builder = match config.smtp_security {
            SmtpSecurity::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)?,
            SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)?,
            SmtpSecurity::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
        };
        let mut builder = builder
            .port(config.smtp_port)
            .timeout(Some(Duration::from_secs(20)));
        if let (Some(user), Some(pass)) = (&config.smtp_username, &config.smtp_password) {
            builder = builder.credentials(Credentials::new(user.clone(), pass.clone()));
        }
        let from: Mailbox = config.smtp_from.parse().map_err(|e| {
            anyhow::anyhow!("--smtp-from {:?} is not a mailbox: {e}", config.smtp_from)
        })?;
        Ok(Some(Mailer {
            transport: builder.build(),
            from,
        }))
    }

    async fn send(&self, m: &outbox_message::Model) -> anyhow::Result<()> {
        let to = Mailbox::new(Some(m.to_name.clone()), m.to_addr.parse()?);
        let mut msg = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(m.subject.clone());
        msg = match &m.thread {
            // Ticket mail: every message of a ticket names the ticket's thread
            // root, so mail clients group them and a reply (which repeats
            // these ids) finds its ticket even when the subject was edited.
            Some(token) => msg
                .message_id(Some(format!("<ticket.{token}.{}@portico>", m.id)))
                .in_reply_to(format!("<ticket.{token}@portico>"))
                .references(format!("<ticket.{token}@portico>")),
            None => msg.message_id(Some(format!(
                "<outbox-{}-{}@portico>",
                m.id,
                m.created_at.timestamp()
            ))),
        };
        let msg = msg.header(ContentType::TEXT_PLAIN).body(m.body.clone())?;
        self.transport.send(msg).await?;
        Ok(())
    }
}

/// Wait before the next try: 5 s, 10 s, 20 s … capped at 15 minutes.
pub fn backoff(attempts: i32) -> chrono::Duration {
    let secs = 5i64
        .saturating_mul(1i64 << attempts.clamp(0, 20))
        .min(15 * 60);
    chrono::Duration::seconds(secs)
}

/// Delivers what is due now; returns how many were sent.
pub async fn deliver_due(db: &DatabaseConnection, mailer: &Mailer) -> anyhow::Result<usize> {
    let now = Utc::now();
    let due = outbox_message::Entity::find()
        .filter(outbox_message::Column::Status.eq("pending"))
        .filter(outbox_message::Column::NextAttemptAt.lte(now))
        .order_by_asc(outbox_message::Column::Id)
        .limit(BATCH)
        .all(db)
        .await?;
    let mut sent = 0;
    for m in due {
        // Lease it: only the worker whose update matched sends it.
        let leased = outbox_message::Entity::update_many()
            .col_expr(
                outbox_message::Column::NextAttemptAt,
                sea_orm::sea_query::Expr::value(now + LEASE),
            )
            .filter(outbox_message::Column::Id.eq(m.id))
            .filter(outbox_message::Column::Status.eq("pending"))
            .filter(outbox_message::Column::NextAttemptAt.eq(m.next_attempt_at))
            .exec(db)
            .await?;
        if leased.rows_affected != 1 {
            continue;
        }
        let outcome = mailer.send(&m).await;
        let mut a = m.clone().into_active_model();
        match outcome {
            Ok(()) => {
                a.status = Set("sent".into());
                a.sent_at = Set(Some(Utc::now()));
                a.attempts = Set(m.attempts + 1);
                a.last_error = Set(None);
                // The one-time links in it have done their job in the mailbox.
                a.body = Set(app::mail::ssr::scrub_tokens(&m.body));
                sent += 1;
            }
            Err(e) => {
                let attempts = m.attempts + 1;
                let permanent = e
                    .downcast_ref::<lettre::transport::smtp::Error>()
                    .is_some_and(|e| e.is_permanent())
                    || e.downcast_ref::<lettre::address::AddressError>().is_some();
                a.attempts = Set(attempts);
                a.last_error = Set(Some(e.to_string().chars().take(500).collect()));
                if permanent || attempts >= MAX_ATTEMPTS {
                    // Refused for good: stop, keep it visible, drop its one-time links.
                    tracing::error!(id = m.id, attempts, error = %e, "mail delivery failed for good");
                    a.status = Set("failed".into());
                    a.body = Set(app::mail::ssr::scrub_tokens(&m.body));
                } else {
                    tracing::warn!(id = m.id, attempts, error = %e, "mail delivery failed; will retry");
                    a.next_attempt_at = Set(Utc::now() + backoff(attempts - 1));
                }
            }
        }
        a.update(db).await?;
    }
    Ok(sent)
}

/// Runs until `shutdown` fires.
pub async fn run(
    db: DatabaseConnection,
    mailer: Mailer,
    poll: Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    tracing::info!("mail worker started");
    loop {
        if let Err(e) = deliver_due(&db, &mailer).await {
            tracing::error!(error = %e, "mail worker: outbox unreadable");
        }
        tokio::select! {
            _ = tokio::time::sleep(poll) => {}
            _ = shutdown.changed() => break,
        }
    }
    tracing::info!("mail worker stopped");
}

#[cfg(test)]
mod tests {
    #[test]
    fn backoff_grows_and_caps() {
        assert_eq!(super::backoff(0).num_seconds(), 5);
        assert_eq!(super::backoff(1).num_seconds(), 10);
        assert_eq!(super::backoff(30).num_seconds(), 900);
    }
}
