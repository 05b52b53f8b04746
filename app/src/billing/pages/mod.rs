//! Billing pages: the Billing Portal, a document seen by its customer or
//! through an e-mailed link, and the staff's documents, editor and actions.
//! Every form is a plain form post, so the pages work without JavaScript.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::{use_params_map, use_query_map};

use super::*;
use crate::components::{
    field_of, last_error, ErrorNotice, FieldError, FormError, ReturnHere, TextField,
};
use entity::PaymentMethod;

mod document;
mod lists;
mod staff;
use document::*;
pub use document::{CustomerDocumentPage, LinkDocumentPage, OpenLinkPage};
pub use lists::{BillingHome, StaffBillingPage};
pub use staff::{DocumentEditorPage, StaffDocumentPage};

/// Blank line rows the editor offers below the existing ones.
const BLANK_LINES: usize = 3;

fn done_notice(done: &str) -> Option<&'static str> {
    Some(match done {
        "sent" => "Sent. The recipients' earlier links no longer work.",
        "payment" => "Payment recorded.",
        "void" => "The invoice is void.",
        "accepted" => "Thank you: accepted. We will be in touch.",
        "declined" => "Declined. Thank you for letting us know.",
        "account-link" => "We e-mailed a link to set the password to the address this document was sent to. Open it from that mailbox.",
        _ => return None,
    })
}

#[component]
fn Notices() -> impl IntoView {
    let query = use_query_map();
    move || {
        let q = query.read();
        let text = q
            .get("done")
            .and_then(|d| done_notice(&d))
            .or_else(|| q.get("saved").map(|_| "Saved."));
        text.map(|t| view! { <p class="notice success" role="status">{t}</p> })
    }
}

#[component]
fn StatusBadge(#[prop(into)] status: String) -> impl IntoView {
    let class = format!("badge status-{status}");
    view! { <span class=class>{label_of(STATUSES, &status)}</span> }
}
