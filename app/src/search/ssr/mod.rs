//! Search, server side: who may find what (the same rules as the pages),
//! the index asked within that, and every hit checked against the database.

use std::collections::HashMap;

use entity::{contact, document, organization, ticket, ticket_comment};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::{
    Hit, KindCount, Piece, SearchQuery, SearchResults, KINDS, MAX_PAGE, MAX_QUERY_CHARS, PAGE_SIZE,
};
use crate::core::actor::Actor;
use crate::core::authz::{self, Capability};
use crate::core::search::{self as index, Find, Text};
use crate::core::state::AppState;
use crate::error::AppError;
use crate::support::ssr::{condition, reach, Reach};

/// The rows of an entity with ids `$ids`, by id (no query for no ids).
macro_rules! by_id {
    ($db:expr, $entity:ident, $ids:expr) => {{
        let mut ids: Vec<i32> = $ids;
        ids.sort_unstable();
        ids.dedup();
        let rows = if ids.is_empty() {
            Vec::new()
        } else {
            $entity::Entity::find()
                .filter($entity::Column::Id.is_in(ids))
                .all($db)
                .await?
        };
        rows.into_iter()
            .map(|m| (m.id, m))
            .collect::<HashMap<i32, $entity::Model>>()
    }};
}

mod entries;
pub mod feed;

pub const TICKET: &str = "ticket";
pub const ORGANIZATION: &str = "organization";
pub const CONTACT: &str = "contact";
pub const DOCUMENT: &str = "document";

/// The longest snippet, in characters.
const SNIPPET_CHARS: usize = 180;

/// What `actor` may search: the kinds, and whose tickets.
struct Reachable {
    kinds: Vec<&'static str>,
    tickets: Option<Reach>,
    /// Internal notes are searched (roles that read them).
    internal: bool,
    staff: bool,
}

async fn reachable(state: &AppState, actor: &Actor) -> Result<Reachable, AppError> {
    let Some(role) = actor.staff_role() else {
        // Customers: the tickets they may see, or nothing (403 without the portal).
        let r = reach(&state.db, actor).await?;
        return Ok(Reachable {
            kinds: vec![TICKET],
            tickets: Some(r),
            internal: false,
            staff: false,
        });
    };
    let may = |c| authz::allows(role, c);
    let mut kinds = Vec::new();
    if may(Capability::TicketsWork) {
        kinds.push(TICKET);
    }
    if may(Capability::CustomersRead) {
        kinds.extend([ORGANIZATION, CONTACT]);
    }
    if may(Capability::Documents) {
        kinds.push(DOCUMENT);
    }
    Ok(Reachable {
        tickets: may(Capability::TicketsWork).then_some(Reach::Everything),
        internal: may(Capability::TicketsWork),
        kinds,
        staff: true,
    })
}

fn label(kind: &str) -> &'static str {
    crate::billing::label_of(KINDS, kind)
}

/// The singular of a kind's label ("Ticket").
fn one(kind: &str) -> String {
    label(kind).trim_end_matches('s').to_owned()
}

fn pieces(s: index::Snippet) -> Vec<Piece> {
    let fragment = s.text.as_str();
    let mut out = Vec::new();
    let plain = |text: &str| Piece {
        text: text.to_owned(),
        mark: false,
    };
    if s.cut_before {
        out.push(plain("… "));
    }
    let mut at = 0;
    for r in &s.marks {
        if r.start < at || r.end > fragment.len() {
            continue;
        }
        if r.start > at {
            out.push(plain(&fragment[at..r.start]));
        }
        out.push(Piece {
            text: fragment[r.clone()].to_owned(),
            mark: true,
        });
        at = r.end;
    }
    if at < fragment.len() {
        out.push(plain(&fragment[at..]));
    }
    if s.cut_after {
        out.push(plain(" …"));
    }
    out
}

/// The start of `text`, when no searched word is in it.
fn opening(text: &str) -> Vec<Piece> {
    let t: String = text.chars().take(SNIPPET_CHARS).collect();
    if t.trim().is_empty() {
        return Vec::new();
    }
    let more = text.chars().count() > SNIPPET_CHARS;
    vec![Piece {
        text: if more { format!("{t}…") } else { t },
        mark: false,
    }]
}

/// The query checked: what to fix is said for the field it is about.
fn checked(
    q: &SearchQuery,
    r: &Reachable,
) -> Result<(String, Option<&'static str>, usize), AppError> {
    let text = q.q.trim();
    if text.chars().count() > MAX_QUERY_CHARS {
        return Err(AppError::invalid(
            "q",
            format!("Search for at most {MAX_QUERY_CHARS} characters."),
        ));
    }
    let kind = match q.kind.trim() {
        "" => None,
        k => match r.kinds.iter().find(|x| **x == k) {
            Some(k) => Some(*k),
            None => {
                return Err(AppError::invalid(
                    "kind",
                    "Choose what to search from the list.",
                ))
            }
        },
    };
    let status = q.status.trim();
    if !status.is_empty() {
        if !crate::support::TICKET_STATUSES
            .iter()
            .any(|(k, _)| *k == status)
        {
            return Err(AppError::invalid(
                "status",
                "Choose a status from the list.",
            ));
        }
        if !r.kinds.contains(&TICKET) || kind.is_some_and(|k| k != TICKET) {
            return Err(AppError::invalid(
                "status",
                "A status narrows tickets only: choose Any status, or search tickets.",
            ));
        }
    }
    let page = match q.page.trim() {
        "" => 1,
        p => match p.parse::<usize>() {
            Ok(n) if (1..=MAX_PAGE).contains(&n) => n,
            _ => {
                return Err(AppError::invalid(
                    "page",
                    format!("Results stop at page {MAX_PAGE}: add a word to narrow the search."),
                ))
            }
        },
    };
    Ok((text.to_owned(), kind, page))
}

/// One page of what `query` finds among what `actor` may see.
pub async fn search(
    state: &AppState,
    actor: &Actor,
    query: &SearchQuery,
) -> Result<SearchResults, AppError> {
    let r = reachable(state, actor).await?;
    let (text, kind, page) = checked(query, &r)?;
    let scope_words = r
        .kinds
        .iter()
        .map(|k| label(k).to_lowercase())
        .collect::<Vec<_>>();
    let mut out = SearchResults {
        query: query.clone(),
        scope: scope_words.join(", "),
        staff: r.staff,
        page,
        ..SearchResults::default()
    };
    if r.kinds.is_empty() {
        return Err(AppError::Forbidden);
    }
    if r.kinds.len() > 1 {
        out.kinds = r
            .kinds
            .iter()
            .map(|k| KindCount {
                key: (*k).to_owned(),
                label: label(k).to_owned(),
                count: 0,
            })
            .collect();
    }
    let words = index::words(&text);
    if words.is_empty() {
        return Ok(out);
    }
    let Some(idx) = state.search.get() else {
        out.notice = Some("Search is not available on this server right now.".into());
        return Ok(out);
    };
    if !idx.is_complete() {
        out.notice = Some(
            "The search index is still being built: some results may be missing. Try again in a few minutes."
                .into(),
        );
    }
    let (org, person) = match r.tickets {
        Some(Reach::Organization(o)) => (Some(o), None),
        Some(Reach::Person {
            organization,
            contact,
        }) => (Some(organization), Some(contact)),
        _ => (None, None),
    };
    let status = (!query.status.trim().is_empty()).then(|| query.status.trim());
    // A status names ticket statuses: it confines the search to tickets.
    let chosen: Vec<&'static str> = match (kind, status) {
        (Some(k), _) => vec![k],
        (None, Some(_)) if r.kinds.contains(&TICKET) => vec![TICKET],
        (None, _) => r.kinds.clone(),
    };
    let offset = (page - 1) * PAGE_SIZE;
    let restricted = r.internal;
    let found = {
        let idx = idx.clone();
        let find_kinds = r.kinds.clone();
        let (words, chosen) = (words.clone(), chosen.clone());
        let status = status.map(str::to_owned);
        tokio::task::spawn_blocking(move || {
            let find = Find {
                words: &words,
                kinds: &chosen,
                restricted,
                org,
                person,
                status: status.as_deref(),
                offset,
                limit: PAGE_SIZE,
            };
            let count: &[&'static str] = if find_kinds.len() > 1 {
                &find_kinds
            } else {
                &[]
            };
            let found = idx.find_counting(&find, count)?;
            let counts = found.by_kind.clone();
            Ok::<_, AppError>((found, counts))
        })
        .await
        .map_err(|_| AppError::Internal)??
    };
    let (found, counts) = found;
    out.total = found.total as u64;
    out.pages = found.total.div_ceil(PAGE_SIZE).clamp(1, MAX_PAGE);
    if !counts.is_empty() {
        out.kinds = counts
            .into_iter()
            .map(|(k, n)| KindCount {
                key: k.to_owned(),
                label: label(k).to_owned(),
                count: n as u64,
            })
            .collect();
    }
    let loaded = load(state, &r, &found.hits).await?;
    let (staff, internal) = (r.staff, r.internal);
    out.hits = tokio::task::spawn_blocking(move || {
        hits(&loaded, staff, internal, &idx, &words, &found.hits)
    })
    .await
    .map_err(|_| AppError::Internal)?;
    Ok(out)
}

/// What the hits show, read from the database under the page's own rules.
struct Loaded {
    tickets: HashMap<i32, ticket::Model>,
    /// Per ticket, its public comments and (for staff) internal notes.
    conversation: HashMap<i32, (String, String)>,
    contacts: HashMap<i32, contact::Model>,
    documents: HashMap<i32, document::Model>,
    /// The organizations hit, and those the other hits belong to.
    organizations: HashMap<i32, organization::Model>,
    organizations_hit: Vec<i32>,
}

/// Loads what `found` names, each under the page's own rule (a hit the
/// index holds but the asker may not see is left out).
async fn load(
    state: &AppState,
    r: &Reachable,
    found: &[(String, i32)],
) -> Result<Loaded, AppError> {
    let db = &state.db;
    let ids = |kind: &str| -> Vec<i32> {
        if !r.kinds.contains(&kind) {
            return Vec::new();
        }
        found
            .iter()
            .filter(|(k, _)| k == kind)
            .map(|(_, id)| *id)
            .collect()
    };
    let (ticket_ids, org_ids, contact_ids, doc_ids) =
        (ids(TICKET), ids(ORGANIZATION), ids(CONTACT), ids(DOCUMENT));
    let tickets: HashMap<i32, ticket::Model> = match r.tickets {
        Some(reach) if !ticket_ids.is_empty() => {
            let (cond, _) = condition(reach);
            ticket::Entity::find()
                .filter(ticket::Column::Id.is_in(ticket_ids.clone()))
                .filter(cond)
                .all(db)
                .await?
                .into_iter()
                .map(|t| (t.id, t))
                .collect()
        }
        _ => HashMap::new(),
    };
    let mut conversation: HashMap<i32, (String, String)> = HashMap::new();
    if !tickets.is_empty() {
        let mut q = ticket_comment::Entity::find().filter(
            ticket_comment::Column::TicketId.is_in(tickets.keys().copied().collect::<Vec<_>>()),
        );
        if !r.internal {
            q = q.filter(ticket_comment::Column::Internal.eq(false));
        }
        for c in q.order_by_asc(ticket_comment::Column::Id).all(db).await? {
            let (public, internal) = conversation.entry(c.ticket_id).or_default();
            entries::push(if c.internal { internal } else { public }, &c.body);
        }
    }
    let contacts = by_id!(db, contact, contact_ids);
    let docs = by_id!(db, document, doc_ids);
    let mut org_names_wanted: Vec<i32> = org_ids.clone();
    org_names_wanted.extend(tickets.values().map(|t| t.organization_id));
    org_names_wanted.extend(contacts.values().map(|c| c.organization_id));
    org_names_wanted.extend(docs.values().map(|d| d.organization_id));
    let orgs = by_id!(db, organization, org_names_wanted);
    Ok(Loaded {
        tickets,
        conversation,
        contacts,
        documents: docs,
        organizations: orgs,
        organizations_hit: org_ids,
    })
}

/// The hits as the page shows them, snippets cut (blocking: the texts may be long).
fn hits(
    loaded: &Loaded,
    staff: bool,
    internal: bool,
    idx: &index::Opened,
    words: &[String],
    found: &[(String, i32)],
) -> Vec<Hit> {
    let Loaded {
        tickets,
        conversation,
        contacts,
        documents: docs,
        organizations: orgs,
        organizations_hit: org_ids,
    } = loaded;
    let org_name = |id: i32| orgs.get(&id).map(|o| o.name.clone()).unwrap_or_default();
    let ticket_base = if staff {
        "/staff/tickets"
    } else {
        "/support/tickets"
    };

    let snippet =
        |text: Text, body: &str| idx.snippet(words, text, body, SNIPPET_CHARS).map(pieces);
    let mut out = Vec::new();
    for (kind, id) in found {
        let hit = match kind.as_str() {
            TICKET => tickets.get(id).map(|t| {
                let (public, notes) = conversation.get(id).cloned().unwrap_or_default();
                let body = format!("{}\n{public}", t.description);
                let (snip, is_internal) = match snippet(Text::Body, &body) {
                    Some(s) => (s, false),
                    None => match internal
                        .then(|| snippet(Text::Restricted, &notes))
                        .flatten()
                    {
                        Some(s) => (s, true),
                        None => (opening(&t.description), false),
                    },
                };
                let mut facts = Vec::new();
                if staff {
                    facts.push(org_name(t.organization_id));
                }
                facts.push(
                    crate::billing::label_of(crate::support::TICKET_STATUSES, &t.status).to_owned(),
                );
                facts.push(format!("Updated {}", t.updated_at.format("%Y-%m-%d")));
                Hit {
                    kind: one(TICKET),
                    title: format!("#{} {}", t.id, t.subject),
                    href: format!("{ticket_base}/{}", t.id),
                    facts,
                    snippet: snip,
                    internal: is_internal,
                }
            }),
            ORGANIZATION => orgs.get(id).filter(|_| org_ids.contains(id)).map(|o| {
                let body = format!(
                    "{}\n{}\n{}",
                    o.legal_name,
                    o.address,
                    o.vat_id.clone().unwrap_or_default()
                );
                Hit {
                    kind: one(ORGANIZATION),
                    title: o.name.clone(),
                    href: format!("/staff/organizations/{}", o.id),
                    facts: vec![o.legal_name.clone()],
                    snippet: snippet(Text::Body, &body).unwrap_or_default(),
                    internal: false,
                }
            }),
            CONTACT => contacts.get(id).map(|c| {
                let mut facts = vec![org_name(c.organization_id), c.email.clone()];
                if !c.active {
                    facts.push("Deactivated".into());
                }
                Hit {
                    kind: one(CONTACT),
                    title: c.name.clone(),
                    href: format!("/staff/organizations/{}", c.organization_id),
                    facts,
                    snippet: Vec::new(),
                    internal: false,
                }
            }),
            DOCUMENT => docs.get(id).map(|d| {
                let mut facts = vec![
                    crate::billing::label_of(crate::billing::KINDS, &d.kind).to_owned(),
                    org_name(d.organization_id),
                    crate::billing::label_of(crate::billing::STATUSES, &d.status).to_owned(),
                ];
                if let Some(po) = d.purchase_order.as_deref().filter(|p| !p.is_empty()) {
                    facts.push(format!("PO {po}"));
                }
                Hit {
                    kind: one(DOCUMENT),
                    title: d
                        .number
                        .clone()
                        .unwrap_or_else(|| format!("Draft #{}", d.id)),
                    href: format!("/staff/billing/{}", d.id),
                    facts,
                    snippet: snippet(Text::Body, &d.notes).unwrap_or_default(),
                    internal: false,
                }
            }),
            _ => None,
        };
        out.extend(hit);
    }
    out
}
