//! Mail to the support address. Server-only.
//!
//! A message from an active contact who may use the Support Portal opens a
//! ticket, or — when it answers a ticket that sender may see — becomes a
//! comment on it. A message answers a ticket when its subject carries the
//! ticket's token (`[#T-1a2b3c]`, as in every ticket e-mail Portico sends),
//! or its `In-Reply-To`/`References` name a ticket e-mail (whose Message-ID
//! carries the token) or an earlier message filed on the ticket. Anything else (unknown senders, staff, people
//! without Support Portal access, unknown tokens) is kept and shown to staff
//! for review: nothing is dropped. Every message is recorded with its outcome.

use chrono::Utc;
use entity::{inbound_message, ticket, user};
use mail_parser::MessageParser;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

use super::attachments::{attach_arrived, check_arrived, Arrived};
use super::authenticity::{self, Envelope, Verdict};
use super::ssr::{open_ticket_as, open_ticket_counted, visible};
use super::TicketForm;
use crate::auth::ssr::session;
use crate::core::actor::Actor;
use crate::core::state::AppState;
use crate::error::AppError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Ticket(i32),
    Comment(i32),
    Held(i32, String),
    /// Already filed (same Message-ID): nothing filed again.
    Duplicate(i32),
    /// An automatic message (an auto-reply, a bounce): recorded, not filed.
    Automatic(i32),
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Ticket(id) => write!(f, "opened ticket #{id}"),
            Outcome::Comment(id) => write!(f, "added a comment to ticket #{id}"),
            Outcome::Held(id, why) => write!(f, "held for staff review as message {id}: {why}"),
            Outcome::Duplicate(id) => write!(f, "already filed as message {id}; not filed again"),
            Outcome::Automatic(id) => {
                write!(
                    f,
                    "an automatic message, recorded as message {id}; not filed"
                )
            }
        }
    }
}

/// The ticket token in a subject: `[#T-<hex>]`.
pub fn token_in(subject: &str) -> Option<&str> {
    let start = subject.find("[#T-")? + 4;
    let rest = &subject[start..];
    let end = rest.find(']')?;
    well_formed(&rest[..end])
}

/// `token` if it can be a ticket token (1 to 16 hex digits).
fn well_formed(token: &str) -> Option<&str> {
    (!token.is_empty() && token.len() <= 16 && token.chars().all(|c| c.is_ascii_hexdigit()))
        .then_some(token)
}

/// Drops the quoted history of a reply (from "On … wrote:" or the first
/// line starting with ">"), so a comment holds what was written now.
fn fresh_text(body: &str) -> String {
    let mut out = Vec::new();
    for line in body.lines() {
        let l = line.trim_start();
        if l.starts_with('>') || (l.starts_with("On ") && l.trim_end().ends_with("wrote:")) {
            break;
        }
        out.push(line);
    }
    let text = out.join("\n").trim().to_string();
    if text.is_empty() {
        body.trim().to_string()
    } else {
        text
    }
}

/// A Message-ID as recorded (and so as looked up): its first 300 characters.
fn stored_id(id: &str) -> String {
    id.chars().take(300).collect()
}

/// What arrived, as recorded.
struct Received<'a> {
    from: &'a str,
    subject: &'a str,
    body: &'a str,
    message_id: Option<&'a str>,
}

async fn record(
    state: &AppState,
    r: &Received<'_>,
    outcome: &str,
    ticket_id: Option<i32>,
    reason: Option<String>,
) -> Result<i32, AppError> {
    let m = inbound_message::ActiveModel {
        from_addr: Set(r.from.chars().take(320).collect()),
        subject: Set(r.subject.chars().take(300).collect()),
        body: Set(r.body.chars().take(200_000).collect()),
        message_id: Set(r.message_id.map(stored_id)),
        outcome: Set(outcome.to_owned()),
        ticket_id: Set(ticket_id),
        reason: Set(reason),
        received_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&state.db)
    .await?;
    Ok(m.id)
}

/// The ticket token in a Message-ID Portico made (`ticket.<token>.<n>@…`,
/// or the thread's root `ticket.<token>@…`), as mail-parser gives it
/// (without angle brackets).
pub fn token_in_message_id(id: &str) -> Option<&str> {
    let rest = id.trim_matches(['<', '>']).strip_prefix("ticket.")?;
    well_formed(&rest[..rest.find(['.', '@'])?])
}

/// Which ticket a message answers: by the token in its subject, else by the
/// messages it names in `In-Reply-To` and `References` (newest first) —
/// Portico's own ticket mail, or an earlier message filed on a ticket.
/// `Some(None)` when it names a ticket that does not exist; `None` when it
/// answers no ticket (a new one).
async fn thread_of(
    state: &AppState,
    subject: &str,
    referenced: &[&str],
) -> Result<Option<Option<ticket::Model>>, AppError> {
    let by_token = |token: &str| {
        ticket::Entity::find()
            .filter(ticket::Column::Token.eq(token))
            .one(&state.db)
    };
    if let Some(token) = token_in(subject) {
        return Ok(Some(by_token(token).await?));
    }
    for r in referenced.iter().rev().take(20) {
        if let Some(token) = token_in_message_id(r) {
            return Ok(Some(by_token(token).await?));
        }
        let filed = inbound_message::Entity::find()
            .filter(inbound_message::Column::MessageId.eq(stored_id(r)))
            .filter(inbound_message::Column::TicketId.is_not_null())
            .one(&state.db)
            .await?;
        if let Some(ticket_id) = filed.and_then(|m| m.ticket_id) {
            return Ok(Some(
                ticket::Entity::find_by_id(ticket_id).one(&state.db).await?,
            ));
        }
    }
    Ok(None)
}

/// The active account with e-mail address `email`, as an actor (no session).
async fn account(state: &AppState, email: &str) -> Result<Option<Actor>, AppError> {
    let Some(u) = user::Entity::find()
        .filter(user::Column::Email.eq(email.trim().to_lowercase()))
        .one(&state.db)
        .await?
    else {
        return Ok(None);
    };
    Ok(session::role_of(&state.db, &state.settings, &u)
        .await?
        .map(|role| Actor {
            user_id: u.id,
            session_id_hash: String::new(),
            name: u.name.clone(),
            email: u.email.clone(),
            role,
        }))
}

/// A new ticket from a message: its subject (one line) and text, severity 3.
fn ticket_form(subject: &str, body: &str) -> TicketForm {
    TicketForm {
        subject: if subject.trim().is_empty() {
            "(no subject)".into()
        } else {
            subject
                .chars()
                .take(200)
                .collect::<String>()
                .replace(['\r', '\n'], " ")
        },
        description: if body.trim().is_empty() {
            "(no text)".into()
        } else {
            body.to_owned()
        },
        severity: "3".into(),
        release: String::new(),
        servers: Vec::new(),
    }
}

/// Moves message `id` from outcome `from` to `to` with `note` as its reason,
/// once: `false` when it no longer is `from` (someone else handled it).
async fn move_outcome(
    state: &AppState,
    id: i32,
    from: &str,
    to: &str,
    note: String,
) -> Result<bool, AppError> {
    use sea_orm::sea_query::Expr;
    let r = inbound_message::Entity::update_many()
        .col_expr(inbound_message::Column::Outcome, Expr::value(to))
        .col_expr(inbound_message::Column::Reason, Expr::value(Some(note)))
        .filter(inbound_message::Column::Id.eq(id))
        .filter(inbound_message::Column::Outcome.eq(from))
        .exec(&state.db)
        .await?;
    Ok(r.rows_affected == 1)
}

fn already_handled() -> AppError {
    AppError::invalid(
        "message_id",
        "Someone already handled this message; reload the list.",
    )
}

async fn held(state: &AppState, id: i32) -> Result<inbound_message::Model, AppError> {
    let m = inbound_message::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    if m.outcome != "held" {
        return Err(already_handled());
    }
    Ok(m)
}

/// Staff review: opens a ticket from held message `id` for the customer
/// account `email` (a contact who may use the Support Portal — the sender
/// wrote from another address, say). Returns the ticket's id.
pub async fn file_held(
    state: &AppState,
    staff: &Actor,
    id: i32,
    email: &str,
) -> Result<i32, AppError> {
    let m = held(state, id).await?;
    let requester = account(state, email)
        .await?
        .filter(|a| a.customer().is_some() && a.can_use_support())
        .ok_or_else(|| {
            AppError::invalid(
                "email",
                "Enter the e-mail address of an active contact who may use the Support Portal.",
            )
        })?;
    let was = m.reason.clone().unwrap_or_default();
    let note = format!("{was}; filed by {}", staff.name);
    if !move_outcome(state, id, "held", "ticket", note).await? {
        return Err(already_handled());
    }
    // Staff decided to file it: not counted against the person's hourly quota.
    let form = ticket_form(&m.subject, &m.body);
    match open_ticket_counted(state, &requester, form, false).await {
        Ok(ticket_id) => {
            let mut a: inbound_message::ActiveModel = m.into();
            a.ticket_id = Set(Some(ticket_id));
            a.update(&state.db).await?;
            Ok(ticket_id)
        }
        Err(e) => {
            // Back on the list: nothing was filed.
            move_outcome(state, id, "ticket", "held", was).await?;
            Err(e)
        }
    }
}

/// Staff review: takes held message `id` off the list (spam, say). The
/// message stays recorded with who dismissed it.
pub async fn dismiss_held(state: &AppState, staff: &Actor, id: i32) -> Result<(), AppError> {
    let m = held(state, id).await?;
    let was = m.reason.unwrap_or_default();
    let note = format!("{was}; dismissed by {}", staff.name);
    if !move_outcome(state, id, "held", "dismissed", note).await? {
        return Err(already_handled());
    }
    Ok(())
}

/// What is wrong, for the held-mail list: a form's problems one by one.
fn in_words(e: &AppError) -> String {
    match e {
        AppError::Form { problems } => problems
            .iter()
            .map(|p| p.message.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        e => e.to_string(),
    }
}

/// The files a message brings.
fn arrived<'a>(msg: &'a mail_parser::Message<'a>) -> Vec<Arrived<'a>> {
    use mail_parser::MimeHeaders as _;
    msg.attachments()
        .map(|part| Arrived {
            name: part.attachment_name().unwrap_or("attachment"),
            bytes: part.contents(),
        })
        .collect()
}

/// Why a message sent automatically (an auto-reply, a bounce) should not be
/// filed, if it is one (RFC 3834): filing it would
/// answer it, and the answer would be answered again.
fn automatic(msg: &mail_parser::Message<'_>, envelope: &Envelope) -> Option<String> {
    let header = |name: &str| {
        msg.header_raw(name)
            .map(|v| v.trim().to_ascii_lowercase())
            .filter(|v| !v.is_empty())
    };
    if let Some(v) = header("Auto-Submitted").filter(|v| v != "no") {
        return Some(format!("Auto-Submitted: {v}"));
    }
    if envelope.peer.is_some() && envelope.mail_from.is_empty() {
        return Some("a bounce (empty reverse path)".into());
    }
    None
}

/// An earlier record that filed the message with Message-ID `id`.
async fn filed_before(state: &AppState, id: Option<&str>) -> Result<Option<i32>, AppError> {
    let Some(id) = id else { return Ok(None) };
    Ok(inbound_message::Entity::find()
        .filter(inbound_message::Column::MessageId.eq(stored_id(id)))
        .filter(inbound_message::Column::Outcome.is_in(["ticket", "comment"]))
        .one(&state.db)
        .await?
        .map(|m| m.id))
}

/// Files one raw RFC 5322 message that arrived by `envelope`.
pub async fn ingest(
    state: &AppState,
    envelope: &Envelope,
    raw: &[u8],
) -> Result<Outcome, AppError> {
    let max = state.settings.inbound_message_max_bytes;
    if raw.len() as u64 > max {
        return Err(AppError::invalid(
            "message",
            format!(
                "The message is larger than {}.",
                super::attachments::human(max)
            ),
        ));
    }
    let Some(msg) = MessageParser::default().parse(raw) else {
        let id = record(
            state,
            &Received {
                from: "",
                subject: "",
                body: &String::from_utf8_lossy(raw),
                message_id: None,
            },
            "held",
            None,
            Some("unreadable message".into()),
        )
        .await?;
        return Ok(Outcome::Held(id, "unreadable message".into()));
    };
    let from = msg
        .from()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .map(|a| a.trim().to_lowercase())
        .unwrap_or_default();
    let subject = msg.subject().unwrap_or("").trim().to_string();
    let body = msg.body_text(0).map(|b| b.to_string()).unwrap_or_default();
    let message_id = msg.message_id().map(str::to_owned);
    let received = Received {
        from: &from,
        subject: &subject,
        body: &body,
        message_id: message_id.as_deref(),
    };
    let hold = |why: &str| why.to_string();
    if let Some(earlier) = filed_before(state, message_id.as_deref()).await? {
        return Ok(Outcome::Duplicate(earlier));
    }
    if let Some(why) = automatic(&msg, envelope) {
        let id = record(state, &received, "automatic", None, Some(why)).await?;
        return Ok(Outcome::Automatic(id));
    }

    // Who wrote: an active account whose contact may use the Support Portal.
    let actor = account(state, &from).await?;
    let why = match &actor {
        None => Some(hold("unknown or inactive sender")),
        Some(a) if a.staff_role().is_some() => {
            Some(hold("sent by staff: answer in the Staff Console"))
        }
        Some(a) if !a.can_use_support() => Some(hold("the sender may not use the Support Portal")),
        Some(_) if msg.from().map_or(0, |a| a.iter().count()) > 1 => {
            Some(hold("the From: header names several senders"))
        }
        Some(_) => match authenticity::verdict(
            &state.settings.inbound,
            envelope,
            raw,
            msg.headers_raw(),
            &from,
        )
        .await
        {
            Verdict::Authentic => None,
            Verdict::Unverified(why) => Some(format!("not shown to come from {from}: {why}")),
            Verdict::TryLater(why) => {
                // Not filed, not recorded: the sender tries again (451).
                tracing::warn!(%from, %why, "sender check failed for now");
                return Err(AppError::Internal);
            }
        },
    };
    if let Some(why) = why {
        let id = record(state, &received, "held", None, Some(why.clone())).await?;
        return Ok(Outcome::Held(id, why));
    }
    let actor = actor.ok_or(AppError::Internal)?;
    let referenced: Vec<&str> = [msg.in_reply_to(), msg.references()]
        .into_iter()
        .filter_map(|h| h.as_text_list())
        .flatten()
        .map(|r| r.as_ref())
        .collect();
    if let Some(thread) = thread_of(state, &subject, &referenced).await? {
        let seen = match thread {
            Some(t) => visible(&state.db, &actor, t.id).await.ok(),
            None => None,
        };
        let Some((t, staff)) = seen else {
            let why =
                "a reply to a ticket the sender cannot see, or that does not exist".to_string();
            let id = record(state, &received, "held", None, Some(why.clone())).await?;
            return Ok(Outcome::Held(id, why));
        };
        if t.status == "closed" {
            let why = format!("a reply to closed ticket #{}", t.id);
            let id = record(state, &received, "held", Some(t.id), Some(why.clone())).await?;
            return Ok(Outcome::Held(id, why));
        }
        let id = t.id;
        let files = arrived(&msg);
        // One message, one comment: its text and its files, or — when it
        // cannot be filed as it is — held for staff with what is wrong.
        let text = fresh_text(&body);
        return match attach_arrived(state, &actor, t, staff, text, &files).await {
            Ok(()) => {
                record(state, &received, "comment", Some(id), None).await?;
                Ok(Outcome::Comment(id))
            }
            Err(e) if e.status() < 500 => {
                let why = format!("cannot be filed on ticket #{id}: {}", in_words(&e));
                let rec = record(state, &received, "held", Some(id), Some(why.clone())).await?;
                Ok(Outcome::Held(rec, why))
            }
            Err(e) => Err(e),
        };
    }
    let files = arrived(&msg);
    let org_id = actor.customer().map_or(0, |c| c.organization_id);
    let fit = match check_arrived(state, &files) {
        Ok(()) => super::attachments::fits_new_ticket(state, org_id, &files).await,
        Err(e) => Err(e),
    };
    if let Err(AppError::Invalid { message, .. }) = fit {
        let why = format!("cannot be filed: {message}");
        let id = record(state, &received, "held", None, Some(why.clone())).await?;
        return Ok(Outcome::Held(id, why));
    }
    match open_ticket_as(state, &actor, ticket_form(&subject, &body)).await {
        Ok(id) => {
            // The ticket is open: whatever happens to its files, the message
            // is recorded as filed, so a retry cannot open it twice.
            let mut note = None;
            if !files.is_empty() {
                let t = ticket::Entity::find_by_id(id).one(&state.db).await?;
                let stored = match t {
                    Some(t) => attach_arrived(state, &actor, t, false, String::new(), &files).await,
                    None => Err(AppError::NotFound),
                };
                if let Err(e) = stored {
                    tracing::error!(error = %e, ticket = id, "storing a mailed ticket's files");
                    note = Some(format!("its files could not be stored: {}", in_words(&e)));
                }
            }
            record(state, &received, "ticket", Some(id), note).await?;
            Ok(Outcome::Ticket(id))
        }
        Err(e) if e.status() < 500 => {
            let why = format!("could not open a ticket: {}", in_words(&e));
            let id = record(state, &received, "held", None, Some(why.clone())).await?;
            Ok(Outcome::Held(id, why))
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_quoted_text() {
        assert_eq!(token_in("Re: [#T-1a2b3c] Printer on fire"), Some("1a2b3c"));
        assert_eq!(token_in("[#T-] x"), None);
        assert_eq!(token_in("[#T-zz] x"), None);
        assert_eq!(token_in("no token"), None);
        assert_eq!(
            fresh_text("Thanks!\n\nOn Mon, Bob wrote:\n> old"),
            "Thanks!"
        );
        assert_eq!(fresh_text("> only quoted"), "> only quoted");
        assert_eq!(
            token_in_message_id("ticket.1a2b3c.7@portico"),
            Some("1a2b3c")
        );
        assert_eq!(
            token_in_message_id("<ticket.1a2b3c@portico>"),
            Some("1a2b3c")
        );
        assert_eq!(token_in_message_id("ticket.@portico"), None);
        assert_eq!(token_in_message_id("ticket.xyz.1@portico"), None);
        assert_eq!(token_in_message_id("outbox-4-17@portico"), None);
        assert_eq!(token_in_message_id("ticket.1a2b3c"), None);
    }
}
