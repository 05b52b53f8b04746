//! Mail to the support address. Server-only.
//!
//! A message from an active contact who may use the Support Portal opens a
//! ticket, or — when its subject carries a ticket token (`[#T-1a2b3c]`, as
//! in every ticket e-mail Portico sends) of a ticket that sender may see —
//! becomes a comment on it. Anything else (unknown senders, staff, people
//! without Support Portal access, unknown tokens) is kept and shown to staff
//! for review: nothing is dropped. Every message is recorded with its outcome.

use chrono::Utc;
use entity::{inbound_message, ticket, user};
use mail_parser::MessageParser;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

use super::ssr::{open_ticket_as, post_comment, visible};
use super::TicketForm;
use crate::auth::ssr::{session, Actor};
use crate::error::AppError;
use crate::state::AppState;

/// The largest message accepted (the SMTP listener refuses bigger ones).
pub const MAX_MESSAGE_BYTES: usize = 10 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Ticket(i32),
    Comment(i32),
    Held(i32, String),
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Ticket(id) => write!(f, "opened ticket #{id}"),
            Outcome::Comment(id) => write!(f, "added a comment to ticket #{id}"),
            Outcome::Held(id, why) => write!(f, "held for staff review as message {id}: {why}"),
        }
    }
}

/// The ticket token in a subject: `[#T-<hex>]`.
pub fn token_in(subject: &str) -> Option<&str> {
    let start = subject.find("[#T-")? + 4;
    let rest = &subject[start..];
    let end = rest.find(']')?;
    let token = &rest[..end];
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
        message_id: Set(r.message_id.map(|m| m.chars().take(300).collect())),
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

/// Files one raw RFC 5322 message.
pub async fn ingest(state: &AppState, raw: &[u8]) -> Result<Outcome, AppError> {
    if raw.len() > MAX_MESSAGE_BYTES {
        return Err(AppError::invalid(
            "message",
            "The message is larger than 10 MB.",
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

    // Who wrote: an active account whose contact may use the Support Portal.
    let actor = match user::Entity::find()
        .filter(user::Column::Email.eq(from.as_str()))
        .one(&state.db)
        .await?
    {
        Some(u) => session::role_of(&state.db, &u).await?.map(|role| Actor {
            user_id: u.id,
            session_id_hash: String::new(),
            name: u.name.clone(),
            email: u.email.clone(),
            role,
        }),
        None => None,
    };
    let why = match &actor {
        None => Some(hold("unknown or inactive sender")),
        Some(a) if a.staff_role().is_some() => {
            Some(hold("sent by staff: answer in the Staff Console"))
        }
        Some(a) if !a.can_use_support() => Some(hold("the sender may not use the Support Portal")),
        Some(_) => None,
    };
    if let Some(why) = why {
        let id = record(state, &received, "held", None, Some(why.clone())).await?;
        return Ok(Outcome::Held(id, why));
    }
    let actor = actor.ok_or(AppError::Internal)?;
    if let Some(token) = token_in(&subject) {
        let t = ticket::Entity::find()
            .filter(ticket::Column::Token.eq(token))
            .one(&state.db)
            .await?;
        let seen = match t {
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
        post_comment(state, &actor, t, staff, fresh_text(&body), false, None).await?;
        record(state, &received, "comment", Some(id), None).await?;
        return Ok(Outcome::Comment(id));
    }
    let form = TicketForm {
        subject: if subject.is_empty() {
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
            body.clone()
        },
        severity: "3".into(),
        product: String::new(),
        version: String::new(),
    };
    match open_ticket_as(state, &actor, form).await {
        Ok(id) => {
            record(state, &received, "ticket", Some(id), None).await?;
            Ok(Outcome::Ticket(id))
        }
        Err(e) => {
            let why = format!("could not open a ticket: {e}");
            let id = record(state, &received, "held", None, Some(why.clone())).await?;
            Ok(Outcome::Held(id, why))
        }
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
    }
}
