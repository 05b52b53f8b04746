//! Search: one box over tickets (subject, conversation, requester),
//! organizations, contacts and documents for staff, each kind only for the
//! roles that may open it; a customer searches the tickets they may see.
//!
//! The index (`core::search`) is derived from the database: built from it
//! when missing, kept current by the change feed and a look at what changed
//! every few seconds (`ssr::feed`). Every hit is checked against the database
//! with the same rule as the pages before it is shown.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

mod pages;
#[cfg(feature = "ssr")]
pub mod ssr;

pub use pages::{StaffSearchPage, SupportSearchPage};

/// Hits on one page.
pub const PAGE_SIZE: usize = 20;
/// Results stop here: past it, more words find it faster.
pub const MAX_PAGE: usize = 50;
/// The longest search accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 200;

/// What can be searched, as the `kind` filter names it.
pub const KINDS: &[(&str, &str)] = &[
    ("ticket", "Tickets"),
    ("organization", "Organizations"),
    ("contact", "Contacts"),
    ("document", "Documents"),
];

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchQuery {
    pub q: String,
    /// One of [`KINDS`], or empty for every kind the person may search.
    pub kind: String,
    /// A ticket status (tickets only), or empty.
    pub status: String,
    /// 1-based; empty for the first.
    pub page: String,
}

/// A part of a snippet; `mark`: a searched word.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Piece {
    pub text: String,
    pub mark: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hit {
    /// "Ticket", "Organization", …
    pub kind: String,
    pub title: String,
    pub href: String,
    /// Short facts: organization, status, last change.
    pub facts: Vec<String>,
    pub snippet: Vec<Piece>,
    /// The snippet is from an internal note (staff only ever get these).
    pub internal: bool,
}

/// A kind tab: its key, label and how many entries match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindCount {
    pub key: String,
    pub label: String,
    pub count: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchResults {
    pub query: SearchQuery,
    /// What this person may search, in words ("tickets, organizations, …").
    pub scope: String,
    /// The kinds this person may search, with their counts (staff with more than one).
    pub kinds: Vec<KindCount>,
    pub hits: Vec<Hit>,
    /// Matches in the index for this search (across its pages).
    pub total: u64,
    pub page: usize,
    /// The last page one may open.
    pub pages: usize,
    /// Said above the results: the index is still being built, and so on.
    pub notice: Option<String>,
    pub staff: bool,
}

/// One page of what `q` finds among what the signed-in person may see.
#[server(prefix = "/api", endpoint = "search")]
pub async fn search(
    #[server(default)] q: String,
    #[server(default)] kind: String,
    #[server(default)] status: String,
    #[server(default)] page: String,
) -> Result<SearchResults, AppError> {
    use crate::core::web::{app_state, require_actor};
    let actor = require_actor()?;
    let state = app_state()?;
    let query = SearchQuery {
        q,
        kind,
        status,
        page,
    };
    ssr::search(&state, &actor, &query).await
}
