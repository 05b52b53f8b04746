//! What the index holds of each ticket, organization (with its contacts)
//! and document, read from the database in batches.

use std::collections::HashMap;

use entity::{contact, document, organization, ticket, ticket_comment, ticket_follower};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};

use crate::core::search::Entry;

/// The names of organizations `ids`.
async fn organization_names<C: ConnectionTrait>(
    db: &C,
    ids: Vec<i32>,
) -> Result<HashMap<i32, String>, DbErr> {
    Ok(organization::Entity::find()
        .filter(organization::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|o| (o.id, o.name))
        .collect())
}

/// The most of one ticket's conversation the index reads (a ticket with a
/// very long conversation is found by its first 200 KB).
const MAX_TEXT: usize = 200_000;

/// Adds `part` on a line of its own, up to [`MAX_TEXT`] in all.
pub(super) fn push(text: &mut String, part: &str) {
    if text.len() >= MAX_TEXT || part.is_empty() {
        return;
    }
    if !text.is_empty() {
        text.push('\n');
    }
    let room = MAX_TEXT - text.len();
    let mut end = part.len().min(room);
    while !part.is_char_boundary(end) {
        end -= 1;
    }
    text.push_str(&part[..end]);
}

/// The tickets `ids` (those that exist), with their conversations: public
/// comments are its body, internal notes its restricted text; it is found
/// by its requester and followers.
pub async fn tickets<C: ConnectionTrait>(db: &C, ids: &[i32]) -> Result<Vec<Entry>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ts = ticket::Entity::find()
        .filter(ticket::Column::Id.is_in(ids.to_vec()))
        .all(db)
        .await?;
    let comments = ticket_comment::Entity::find()
        .filter(ticket_comment::Column::TicketId.is_in(ids.to_vec()))
        .order_by_asc(ticket_comment::Column::Id)
        .all(db)
        .await?;
    let followers = ticket_follower::Entity::find()
        .filter(ticket_follower::Column::TicketId.is_in(ids.to_vec()))
        .all(db)
        .await?;
    let requester_ids: Vec<i32> = ts.iter().map(|t| t.requester_contact_id).collect();
    let requesters: HashMap<i32, contact::Model> = contact::Entity::find()
        .filter(contact::Column::Id.is_in(requester_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    // Found by their organization's name too ("acme replication").
    let orgs = organization_names(db, ts.iter().map(|t| t.organization_id).collect()).await?;
    let mut by_ticket: HashMap<i32, Entry> = ts
        .into_iter()
        .map(|t| {
            let mut body = String::new();
            push(&mut body, &t.description);
            if let Some(r) = requesters.get(&t.requester_contact_id) {
                push(&mut body, &r.name);
                push(&mut body, &r.email);
            }
            push(
                &mut body,
                orgs.get(&t.organization_id).map_or("", String::as_str),
            );
            push(&mut body, &t.product);
            push(&mut body, &t.version);
            let e = Entry {
                kind: super::TICKET,
                id: t.id,
                org: Some(t.organization_id),
                people: vec![t.requester_contact_id],
                status: t.status,
                title: format!("#{} {}", t.id, t.subject),
                body,
                restricted: String::new(),
            };
            (t.id, e)
        })
        .collect();
    for c in comments {
        if let Some(e) = by_ticket.get_mut(&c.ticket_id) {
            if c.internal {
                push(&mut e.restricted, &c.body);
            } else {
                push(&mut e.body, &c.body);
            }
        }
    }
    for f in followers {
        if let Some(e) = by_ticket.get_mut(&f.ticket_id) {
            if !e.people.contains(&f.contact_id) {
                e.people.push(f.contact_id);
            }
        }
    }
    Ok(by_ticket.into_values().collect())
}

/// The organizations `ids` and all their contacts.
pub async fn organizations<C: ConnectionTrait>(db: &C, ids: &[i32]) -> Result<Vec<Entry>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let orgs = organization::Entity::find()
        .filter(organization::Column::Id.is_in(ids.to_vec()))
        .all(db)
        .await?;
    let contacts = contact::Entity::find()
        .filter(contact::Column::OrganizationId.is_in(ids.to_vec()))
        .all(db)
        .await?;
    let mut out: Vec<Entry> = orgs
        .into_iter()
        .map(|o| {
            let mut body = String::new();
            push(&mut body, &o.legal_name);
            push(&mut body, &o.address);
            push(&mut body, o.vat_id.as_deref().unwrap_or_default());
            Entry {
                kind: super::ORGANIZATION,
                id: o.id,
                org: Some(o.id),
                title: o.name,
                body,
                ..Entry::default()
            }
        })
        .collect();
    out.extend(contacts.into_iter().map(|c| {
        let mut body = String::new();
        push(&mut body, &c.email);
        push(&mut body, c.phone.as_deref().unwrap_or_default());
        Entry {
            kind: super::CONTACT,
            id: c.id,
            org: Some(c.organization_id),
            people: vec![c.id],
            status: if c.active { "active" } else { "inactive" }.into(),
            title: c.name,
            body,
            restricted: String::new(),
        }
    }));
    Ok(out)
}

/// The documents `ids`: found by number, organization, purchase order and notes.
pub async fn documents<C: ConnectionTrait>(db: &C, ids: &[i32]) -> Result<Vec<Entry>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let docs = document::Entity::find()
        .filter(document::Column::Id.is_in(ids.to_vec()))
        .all(db)
        .await?;
    let orgs = organization_names(db, docs.iter().map(|d| d.organization_id).collect()).await?;
    Ok(docs
        .into_iter()
        .map(|d| {
            let mut body = String::new();
            push(
                &mut body,
                orgs.get(&d.organization_id).map_or("", String::as_str),
            );
            push(&mut body, d.purchase_order.as_deref().unwrap_or_default());
            push(
                &mut body,
                crate::billing::label_of(crate::billing::KINDS, &d.kind),
            );
            push(&mut body, &d.notes);
            Entry {
                kind: super::DOCUMENT,
                id: d.id,
                org: Some(d.organization_id),
                status: d.status,
                title: d.number.unwrap_or_else(|| "Draft".into()),
                body,
                ..Entry::default()
            }
        })
        .collect())
}
