//! Reading tickets: the queue and lists with their filters, one ticket with its comments and clocks, the live snapshot.

use super::*;

/// The comments of ticket `id` after comment `after`, oldest first; internal
/// notes only when `staff`. Bodies rendered and sanitised.
pub async fn comments_after<C: ConnectionTrait>(
    db: &C,
    id: i32,
    after: i32,
    staff: bool,
) -> Result<Vec<CommentView>, AppError> {
    comments_after_except(db, id, after, staff, &Default::default()).await
}

/// Like [`comments_after`], leaving out (and not rendering) the ids in `skip`.
pub async fn comments_after_except<C: ConnectionTrait>(
    db: &C,
    id: i32,
    after: i32,
    staff: bool,
    skip: &std::collections::BTreeSet<i32>,
) -> Result<Vec<CommentView>, AppError> {
    let mut q = ticket_comment::Entity::find()
        .filter(ticket_comment::Column::TicketId.eq(id))
        .filter(ticket_comment::Column::Id.gt(after));
    if !staff {
        // Internal notes never reach a customer: not here, not live, not by e-mail.
        q = q.filter(ticket_comment::Column::Internal.eq(false));
    }
    Ok(q.order_by_asc(ticket_comment::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .filter(|c| !skip.contains(&c.id))
        .map(comment_view)
        .collect())
}

/// The newest `n` comments of ticket `id`, oldest first, internal notes
/// included (for staff eyes, or to be filtered: see `live`), and whether
/// they are all the ticket has.
pub async fn comment_tail<C: ConnectionTrait>(
    db: &C,
    id: i32,
    n: u64,
) -> Result<(Vec<CommentView>, bool), AppError> {
    let mut rows = ticket_comment::Entity::find()
        .filter(ticket_comment::Column::TicketId.eq(id))
        .order_by_desc(ticket_comment::Column::Id)
        .limit(n)
        .all(db)
        .await?;
    let complete = (rows.len() as u64) < n;
    rows.reverse();
    Ok((rows.into_iter().map(comment_view).collect(), complete))
}

/// A comment as pages show it: the body rendered and sanitised.
pub(super) fn comment_view(c: ticket_comment::Model) -> CommentView {
    CommentView {
        id: c.id,
        author: c.author_name,
        by_staff: c.by_staff,
        internal: c.internal,
        body_html: crate::support::markdown::render(&c.body),
        at: stamp(c.created_at),
    }
}

pub(super) async fn sla_views<C: ConnectionTrait>(
    db: &C,
    id: i32,
) -> Result<Vec<TicketSlaView>, AppError> {
    let now = Utc::now();
    Ok(ticket_sla::Entity::find()
        .filter(ticket_sla::Column::TicketId.eq(id))
        .order_by_asc(ticket_sla::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|s| {
            let state = if s.fulfilled_at.is_some() {
                if s.breached_at.is_some() {
                    "breached"
                } else {
                    "met"
                }
            } else if s.breached_at.is_some() || s.due_at.is_some_and(|d| d < now) {
                "breached"
            } else if s.due_at.is_none() {
                "paused"
            } else {
                "running"
            };
            TicketSlaView {
                target: target_label(&s.target).to_string(),
                state: state.to_string(),
                due: s.due_at.map(stamp),
                budget: minutes_text(s.minutes),
            }
        })
        .collect())
}

/// What a live page shows besides comments (the same for every viewer).
pub async fn live_snapshot<C: ConnectionTrait>(db: &C, id: i32) -> Result<LiveTicket, AppError> {
    let t = ticket::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let assignee = match t.assignee_user_id {
        Some(u) => names_of_users(db, vec![u]).await?.remove(&u),
        None => None,
    };
    Ok(LiveTicket {
        status: t.status,
        severity: t.severity,
        assignee,
        slas: sla_views(db, id).await?,
    })
}

pub(super) async fn names_of_users<C: ConnectionTrait>(
    db: &C,
    ids: Vec<i32>,
) -> Result<std::collections::HashMap<i32, String>, AppError> {
    Ok(user::Entity::find()
        .filter(user::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect())
}

pub async fn list_tickets(f: TicketFilter) -> Result<TicketList, AppError> {
    use super::queue::{count_capped, page, Cursor, Key, COUNT_CAP};
    let actor = require_actor()?;
    let state = app_state()?;
    let db = &state.db;
    // One condition for what this viewer may see (the same as single loads).
    let (scope, access) = scope(db, &actor).await?;
    let staff = access.is_staff();
    let mut organization = None;
    if staff && !f.organization_id.trim().is_empty() {
        if let Ok(id) = f.organization_id.trim().parse::<i32>() {
            organization = organization::Entity::find_by_id(id)
                .one(db)
                .await?
                .map(|o| o.name);
            if organization.is_none() {
                return Ok(nothing_for(
                    staff,
                    None,
                    "No organization has that number: it may have been removed. Choose \"All organizations\" or search by name.".into(),
                ));
            }
        }
    }
    let name = f.organization.trim();
    let named = if staff && !name.is_empty() {
        let Some(ids) = organizations_named(db, name).await? else {
            return Ok(nothing_for(
                staff,
                organization,
                format!("No organization's name starts with “{name}”. Check the spelling, or clear the field."),
            ));
        };
        Some(ids)
    } else {
        None
    };
    let now = Utc::now();
    let q = super::queue::filtered(scope, staff, actor.user_id, &f, named, now)?;
    let cursor = match (f.after.trim(), f.before.trim()) {
        ("", "") => Cursor::First,
        (a, "") => Key::decode(a).map(Cursor::After).unwrap_or(Cursor::First),
        (_, b) => Key::decode(b).map(Cursor::Before).unwrap_or(Cursor::First),
    };
    let total_rows = count_capped(db, &q).await?;
    let found = page(db, &q, cursor).await?;
    let ids: Vec<i32> = found.rows.iter().map(|t| t.id).collect();
    // Whether a running clock is past due or was breached, for the page's rows.
    let mut breached = std::collections::HashSet::new();
    for s in ticket_sla::Entity::find()
        .filter(ticket_sla::Column::TicketId.is_in(ids))
        .filter(ticket_sla::Column::FulfilledAt.is_null())
        .all(db)
        .await?
    {
        if s.breached_at.is_some() || s.due_at.is_some_and(|d| d < now) {
            breached.insert(s.ticket_id);
        }
    }
    let orgs: std::collections::HashMap<i32, String> = organization::Entity::find()
        .filter(organization::Column::Id.is_in(found.rows.iter().map(|t| t.organization_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|o| (o.id, o.name))
        .collect();
    let contacts: std::collections::HashMap<i32, String> = contact::Entity::find()
        .filter(contact::Column::Id.is_in(found.rows.iter().map(|t| t.requester_contact_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect();
    let users = names_of_users(
        db,
        found
            .rows
            .iter()
            .filter_map(|t| t.assignee_user_id)
            .collect(),
    )
    .await?;
    let rows = found
        .rows
        .into_iter()
        .map(|t| TicketRow {
            id: t.id,
            organization: orgs.get(&t.organization_id).cloned().unwrap_or_default(),
            requester: contacts
                .get(&t.requester_contact_id)
                .cloned()
                .unwrap_or_default(),
            severity: t.severity,
            assignee: t.assignee_user_id.and_then(|u| users.get(&u).cloned()),
            updated_at: stamp(t.updated_at),
            next_due: t.next_due_at.map(stamp),
            breached: breached.contains(&t.id),
            subject: t.subject,
            status: t.status,
        })
        .collect();
    Ok(TicketList {
        rows,
        prev: found.prev.map(Key::encode),
        next: found.next.map(Key::encode),
        total_rows: total_rows.min(COUNT_CAP),
        capped: total_rows > COUNT_CAP,
        staff,
        organization,
        notice: None,
    })
}

/// An empty list that says why: a filter matched nothing it could use.
fn nothing_for(staff: bool, organization: Option<String>, notice: String) -> TicketList {
    TicketList {
        rows: Vec::new(),
        prev: None,
        next: None,
        total_rows: 0,
        capped: false,
        staff,
        organization,
        notice: Some(notice),
    }
}

/// Organizations whose name starts with `prefix`, in any case, as a subquery
/// (however many match), and whether any does.
async fn organizations_named<C: ConnectionTrait>(
    db: &C,
    prefix: &str,
) -> Result<Option<sea_orm::sea_query::SelectStatement>, AppError> {
    let matches = || crate::core::db::starts_with_any_case(organization::Column::Name, prefix);
    let any = organization::Entity::find()
        .filter(matches())
        .one(db)
        .await?
        .is_some();
    Ok(any.then(|| {
        sea_orm::sea_query::Query::select()
            .column(organization::Column::Id)
            .from(organization::Entity)
            .and_where(matches())
            .to_owned()
    }))
}

pub async fn load_ticket(id: i32) -> Result<TicketView, AppError> {
    let (state, actor, t, staff) = current(id).await?;
    let db = &state.db;
    let org = organization::Entity::find_by_id(t.organization_id)
        .one(db)
        .await?
        .ok_or(AppError::Internal)?;
    let requester = contact::Entity::find_by_id(t.requester_contact_id)
        .one(db)
        .await?
        .ok_or(AppError::Internal)?;
    let mut events_q = ticket_event::Entity::find().filter(ticket_event::Column::TicketId.eq(id));
    if !staff {
        // Staff-only history never reaches a customer.
        events_q = events_q.filter(ticket_event::Column::StaffOnly.eq(false));
    }
    let comments = comments_after(db, id, 0, staff).await?;
    let events = events_q
        .order_by_asc(ticket_event::Column::At)
        .order_by_asc(ticket_event::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|e| TicketEventView {
            at: stamp(e.at),
            what: e.kind,
            who: e.actor,
            detail: e.detail.unwrap_or_default(),
        })
        .collect();
    let slas = sla_views(db, id).await?;
    let follower_ids: Vec<i32> = ticket_follower::Entity::find()
        .filter(ticket_follower::Column::TicketId.eq(id))
        .all(db)
        .await?
        .into_iter()
        .map(|f| f.contact_id)
        .collect();
    let org_contacts = contact::Entity::find()
        .filter(contact::Column::OrganizationId.eq(t.organization_id))
        .filter(contact::Column::Active.eq(true))
        .order_by_asc(contact::Column::Name)
        .all(db)
        .await?;
    let followers = org_contacts
        .iter()
        .filter(|c| follower_ids.contains(&c.id))
        .map(|c| c.name.clone())
        .collect();
    // The requester (or staff) may add colleagues who can use the Support Portal.
    let may_add = staff
        || actor
            .customer()
            .is_some_and(|c| c.contact_id == t.requester_contact_id);
    let colleagues = if may_add {
        org_contacts
            .iter()
            .filter(|c| {
                c.is_technical && c.id != t.requester_contact_id && !follower_ids.contains(&c.id)
            })
            .map(|c| (c.id, c.name.clone()))
            .collect()
    } else {
        Vec::new()
    };
    let assignees = if staff {
        user::Entity::find()
            .filter(user::Column::StaffRole.is_in(authz::roles_with(Capability::TicketsWork)))
            .filter(user::Column::Active.eq(true))
            .order_by_asc(user::Column::Name)
            .all(db)
            .await?
            .into_iter()
            .map(|u| (u.id, u.name))
            .collect()
    } else {
        Vec::new()
    };
    let assignee = match t.assignee_user_id {
        Some(u) => names_of_users(db, vec![u]).await?.remove(&u),
        None => None,
    };
    let server_ids: Vec<i32> = ticket_server::Entity::find()
        .filter(ticket_server::Column::TicketId.eq(id))
        .all(db)
        .await?
        .into_iter()
        .map(|s| s.covered_server_id)
        .collect();
    let servers = if server_ids.is_empty() {
        Vec::new()
    } else {
        covered_server::Entity::find()
            .filter(covered_server::Column::Id.is_in(server_ids))
            .filter(covered_server::Column::OrganizationId.eq(t.organization_id))
            .order_by_asc(covered_server::Column::Name)
            .all(db)
            .await?
            .into_iter()
            .map(|s| server_label(&s))
            .collect()
    };
    Ok(TicketView {
        id: t.id,
        subject: t.subject,
        description_html: crate::support::markdown::render(&t.description),
        severity: t.severity,
        status: t.status,
        product: t.product,
        version: t.version,
        organization: org.name,
        requester: requester.name,
        assignee,
        created_at: stamp(t.created_at),
        slas,
        comments,
        events,
        followers,
        servers,
        colleagues,
        staff,
        assignees,
        attachment_max_mb: state.settings.attachment_max_bytes >> 20,
        canned: if staff {
            canned_reply::Entity::find()
                .order_by_asc(canned_reply::Column::Title)
                .all(db)
                .await?
                .into_iter()
                .map(|c| (c.id, c.title))
                .collect()
        } else {
            Vec::new()
        },
    })
}
