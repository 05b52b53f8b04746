//! Support Portal: tickets with SLA clocks, comments and internal notes,
//! followers; the staff's queues.

#[cfg(feature = "ssr")]
pub mod attachments;
#[cfg(feature = "ssr")]
pub mod authenticity;
#[cfg(feature = "ssr")]
pub mod inbound;
#[cfg(feature = "ssr")]
pub mod live;
#[cfg(feature = "ssr")]
pub mod markdown;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod sla;
#[cfg(feature = "ssr")]
pub mod ssr;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupportHomeData {
    pub organization_name: String,
    pub shared_tickets: bool,
    pub distribution_list: bool,
}

#[server(prefix = "/api", endpoint = "load_support_home")]
pub async fn load_support_home() -> Result<SupportHomeData, AppError> {
    use crate::core::web::{app_state, require_actor};
    use entity::{contact, organization};
    use sea_orm::EntityTrait;

    async {
        let actor = require_actor()?;
        if !actor.can_use_support() {
            return Err(AppError::Forbidden);
        }
        let me = actor.customer().ok_or(AppError::Forbidden)?;
        let state = app_state()?;
        let org = organization::Entity::find_by_id(me.organization_id)
            .one(&state.db)
            .await?
            .ok_or(AppError::NotFound)?;
        let contact = contact::Entity::find_by_id(me.contact_id)
            .one(&state.db)
            .await?
            .ok_or(AppError::NotFound)?;
        Ok(SupportHomeData {
            organization_name: org.name,
            shared_tickets: org.shared_tickets,
            distribution_list: contact.is_distribution_list,
        })
    }
    .await
}

pub const TICKET_STATUSES: &[(&str, &str)] = &[
    ("new", "New"),
    ("open", "Open"),
    ("waiting", "Waiting on customer"),
    ("solved", "Solved"),
    ("closed", "Closed"),
];

pub const QUEUES: &[(&str, &str)] = &[
    ("open", "All open"),
    ("unassigned", "Unassigned"),
    ("mine", "Mine"),
    ("breaching", "Breaching soon"),
    ("all", "All, closed too"),
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketRow {
    pub id: i32,
    pub subject: String,
    pub organization: String,
    pub requester: String,
    pub severity: i16,
    pub status: String,
    pub assignee: Option<String>,
    pub updated_at: String,
    /// The earliest running SLA target: when it falls due.
    pub next_due: Option<String>,
    pub breached: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketList {
    pub rows: Vec<TicketRow>,
    /// Cursors for the pages before and after this one, when there are any.
    pub prev: Option<String>,
    pub next: Option<String>,
    /// How many tickets match, counted up to `COUNT_CAP`; `capped` when more do.
    pub total_rows: u64,
    pub capped: bool,
    pub staff: bool,
    /// The organization the list is narrowed to by `organization_id`, by name.
    pub organization: Option<String>,
    /// Why the list is empty when a filter matched nothing it could use.
    pub notice: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketFilter {
    #[serde(default)]
    pub queue: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub severity: String,
    /// Staff: one organization, by id (links from its page).
    #[serde(default)]
    pub organization_id: String,
    /// Staff: organizations whose name starts with this (any case).
    #[serde(default)]
    pub organization: String,
    /// Opened on a day (`2026-12-01`) or within days (`2026-12-01..2026-12-07`), UTC.
    #[serde(default)]
    pub opened: String,
    /// Solved on a day or within days, as `opened`.
    #[serde(default)]
    pub solved: String,
    /// A page cursor from a previous list: the page after, or before, it.
    #[serde(default)]
    pub after: String,
    #[serde(default)]
    pub before: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketSlaView {
    pub target: String,
    /// `running`, `paused`, `met` or `breached`.
    pub state: String,
    pub due: Option<String>,
    pub budget: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommentView {
    pub id: i32,
    pub author: String,
    pub by_staff: bool,
    pub internal: bool,
    /// Rendered from Markdown and sanitised on the server.
    pub body_html: String,
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketEventView {
    pub at: String,
    pub what: String,
    pub who: String,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketView {
    pub id: i32,
    pub subject: String,
    pub description_html: String,
    pub severity: i16,
    pub status: String,
    pub product: String,
    pub version: String,
    pub organization: String,
    pub requester: String,
    pub assignee: Option<String>,
    pub created_at: String,
    pub slas: Vec<TicketSlaView>,
    pub comments: Vec<CommentView>,
    pub events: Vec<TicketEventView>,
    pub followers: Vec<String>,
    /// The affected servers, as named in the inventory.
    pub servers: Vec<String>,
    /// Colleagues the viewer may add as followers: (contact id, name).
    pub colleagues: Vec<(i32, String)>,
    pub staff: bool,
    /// Staff who may be assigned: (user id, name).
    pub assignees: Vec<(i32, String)>,
    /// The largest attachment accepted, in MB.
    pub attachment_max_mb: u64,
    /// Staff: saved replies to answer with, (id, title).
    pub canned: Vec<(i32, String)>,
}

/// What a live page updates besides new comments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveTicket {
    pub status: String,
    pub severity: i16,
    pub assignee: Option<String>,
    pub slas: Vec<TicketSlaView>,
}

/// One message on a ticket's live WebSocket, server to page, as JSON
/// (`{"comment":{…}}`, `{"ticket":{…}}`, `{"end":"…"}`: externally tagged,
/// the cheapest form for the browser to read).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LiveEvent {
    /// A comment the viewer may see, newer than what the page has.
    Comment(CommentView),
    /// Status, severity, assignee or SLA clocks changed.
    Ticket(LiveTicket),
    /// The viewer's access ended (signed out, deactivated, no longer
    /// allowed): the page stops following and does not reconnect.
    End(String),
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketForm {
    #[serde(default)]
    pub subject: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub severity: String,
    /// The product and version it is about: a release id from the catalog
    /// products the level covers, or empty.
    #[serde(default)]
    pub release: String,
    /// Affected servers: ids from the organization's inventory.
    #[serde(default)]
    pub servers: Vec<i32>,
}

#[server(prefix = "/api", endpoint = "list_tickets")]
pub async fn list_tickets(#[server(default)] filter: TicketFilter) -> Result<TicketList, AppError> {
    ssr::list_tickets(filter).await
}

#[server(prefix = "/api", endpoint = "open_ticket")]
pub async fn open_ticket(ticket: TicketForm) -> Result<i32, AppError> {
    ssr::open_ticket(ticket).await
}

/// The releases (product and version) a new ticket may name: those of the
/// products the organization's level covers.
#[server(prefix = "/api", endpoint = "ticket_releases")]
pub async fn ticket_releases() -> Result<Vec<(i32, String)>, AppError> {
    ssr::ticket_releases().await
}

/// The servers of the viewer's organization a new ticket may name: (id, label).
#[server(prefix = "/api", endpoint = "ticket_servers")]
pub async fn ticket_servers() -> Result<Vec<(i32, String)>, AppError> {
    ssr::ticket_servers().await
}

#[server(prefix = "/api", endpoint = "load_ticket")]
pub async fn load_ticket(ticket_id: i32) -> Result<TicketView, AppError> {
    ssr::load_ticket(ticket_id).await
}

#[server(prefix = "/api", endpoint = "add_comment")]
pub async fn add_comment(
    ticket_id: i32,
    #[server(default)] body: String,
    internal: Option<String>,
    status: Option<String>,
    canned_id: Option<String>,
) -> Result<(), AppError> {
    // An empty choice in the form means no saved reply.
    let canned_id =
        match canned_id.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(v) => Some(v.parse::<i32>().map_err(|_| {
                AppError::invalid("canned_id", "Choose a saved reply from the list.")
            })?),
        };
    ssr::add_comment(ticket_id, body, internal.is_some(), status, canned_id).await
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CannedReplyView {
    pub id: i32,
    pub title: String,
    pub body: String,
}

#[server(prefix = "/api", endpoint = "list_canned_replies")]
pub async fn list_canned_replies() -> Result<Vec<CannedReplyView>, AppError> {
    ssr::list_canned_replies().await
}

#[server(prefix = "/api", endpoint = "save_canned_reply")]
pub async fn save_canned_reply(title: String, body: String) -> Result<i32, AppError> {
    ssr::save_canned_reply(title, body).await
}

#[server(prefix = "/api", endpoint = "delete_canned_reply")]
pub async fn delete_canned_reply(canned_id: i32) -> Result<(), AppError> {
    ssr::delete_canned_reply(canned_id).await
}

#[server(prefix = "/api", endpoint = "merge_ticket")]
pub async fn merge_ticket(
    ticket_id: i32,
    into: String,
    share: Option<String>,
) -> Result<(), AppError> {
    ssr::merge_ticket(ticket_id, into, share.is_some()).await
}

#[server(prefix = "/api", endpoint = "assign_ticket")]
pub async fn assign_ticket(ticket_id: i32, assignee_id: String) -> Result<(), AppError> {
    ssr::assign_ticket(ticket_id, assignee_id).await
}

#[server(prefix = "/api", endpoint = "change_severity")]
pub async fn change_severity(
    ticket_id: i32,
    severity: String,
    reason: String,
) -> Result<(), AppError> {
    ssr::change_severity(ticket_id, severity, reason).await
}

#[server(prefix = "/api", endpoint = "add_follower")]
pub async fn add_follower(ticket_id: i32, contact_id: i32) -> Result<(), AppError> {
    ssr::add_follower(ticket_id, contact_id).await
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldMail {
    pub id: i32,
    pub from: String,
    pub subject: String,
    pub reason: String,
    pub received_at: String,
    pub body: String,
}

/// Staff review of held mail: open a ticket from message `message_id` for
/// the customer whose account is `email`. Returns the ticket's id.
#[server(prefix = "/api", endpoint = "file_held_mail")]
pub async fn file_held_mail(message_id: i32, email: String) -> Result<i32, AppError> {
    let staff = crate::core::web::require_staff(crate::core::authz::Capability::HeldMail)?;
    let state = crate::core::web::app_state()?;
    let id = inbound::file_held(&state, &staff, message_id, &email).await?;
    crate::core::web::redirect_back_with("done=filed");
    Ok(id)
}

/// Staff review of held mail: take message `message_id` off the list.
#[server(prefix = "/api", endpoint = "dismiss_held_mail")]
pub async fn dismiss_held_mail(message_id: i32) -> Result<(), AppError> {
    let staff = crate::core::web::require_staff(crate::core::authz::Capability::HeldMail)?;
    let state = crate::core::web::app_state()?;
    inbound::dismiss_held(&state, &staff, message_id).await?;
    crate::core::web::redirect_back_with("done=dismissed");
    Ok(())
}

/// Mail to the support address that was held for staff review, newest first.
#[server(prefix = "/api", endpoint = "list_held_mail")]
pub async fn list_held_mail() -> Result<Vec<HeldMail>, AppError> {
    use entity::inbound_message;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
    crate::core::web::require_staff(crate::core::authz::Capability::HeldMail)?;
    let state = crate::core::web::app_state()?;
    Ok(inbound_message::Entity::find()
        .filter(inbound_message::Column::Outcome.eq("held"))
        .order_by_desc(inbound_message::Column::Id)
        .limit(200)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|m| HeldMail {
            id: m.id,
            from: m.from_addr,
            subject: m.subject,
            reason: m.reason.unwrap_or_default(),
            received_at: m.received_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            body: m.body.chars().take(2000).collect(),
        })
        .collect())
}
