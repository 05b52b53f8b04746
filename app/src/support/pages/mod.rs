//! Support pages: the customer's tickets and the new-ticket form, one
//! ticket (customer and staff), and the staff queues. Plain forms: the pages
//! work without JavaScript.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::*;
use crate::components::{
    field_of, last_error, ErrorNotice, FieldError, FormError, ReturnHere, TextField,
};
use entity::Severity;

mod lists;
mod staff;
mod ticket;
mod upload;
pub use lists::{NewTicketPage, StaffTicketsPage, SupportHome};
pub use staff::{CannedRepliesPage, HeldMailPage};
pub use ticket::TicketPage;
use upload::*;

fn status_label(s: &str) -> &'static str {
    TICKET_STATUSES
        .iter()
        .find(|(k, _)| *k == s)
        .map(|(_, l)| *l)
        .unwrap_or("Unknown")
}

fn severity_text(s: i16) -> String {
    Severity::text_of(s)
}

#[component]
fn Done() -> impl IntoView {
    let query = use_query_map();
    move || {
        let q = query.read();
        let text = match q.get("done").as_deref() {
            Some("comment") => Some("Comment added."),
            Some("assigned") => Some("Assignment saved."),
            Some("severity") => Some("Severity changed."),
            Some("follower") => Some("Follower added."),
            Some("attached") => Some("File attached."),
            Some("merged") => {
                Some("Tickets merged: the duplicate is closed and its conversation is here.")
            }
            Some("canned") => Some("Saved reply added."),
            Some("canned-deleted") => Some("Saved reply deleted."),
            Some("filed") => Some("Ticket opened from the message; it is in the ticket queues."),
            Some("dismissed") => Some("Message dismissed."),
            _ => q
                .get("opened")
                .map(|_| "Ticket opened. We will answer within your SLA."),
        };
        text.map(|t| view! { <p class="notice success" role="status">{t}</p> })
    }
}
