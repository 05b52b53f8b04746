//! Saved replies, and merging one ticket into another.

use super::*;

pub async fn list_canned_replies() -> Result<Vec<CannedReplyView>, AppError> {
    crate::core::web::require_staff(Capability::CannedReplies)?;
    let state = app_state()?;
    Ok(canned_reply::Entity::find()
        .order_by_asc(canned_reply::Column::Title)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|c| CannedReplyView {
            id: c.id,
            title: c.title,
            body: c.body,
        })
        .collect())
}

pub async fn save_canned_reply(title: String, body: String) -> Result<i32, AppError> {
    let actor = crate::core::web::require_staff(Capability::CannedReplies)?;
    let state = app_state()?;
    let mut p = Problems::default();
    let title = p.check("title", validate::required("title", &title, 120));
    let body = p.check("body", validate::required_text("reply", &body, 20_000));
    p.into_result()?;
    let (Some(title), Some(body)) = (title, body) else {
        return Err(AppError::Internal);
    };
    let exists = canned_reply::Entity::find()
        .filter(canned_reply::Column::Title.eq(title.as_str()))
        .one(&state.db)
        .await?
        .is_some();
    if exists {
        return Err(AppError::invalid(
            "title",
            "A saved reply with this title exists; choose another title.",
        ));
    }
    let c = canned_reply::ActiveModel {
        title: Set(title),
        body: Set(body),
        created_by: Set(Some(actor.user_id)),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&state.db)
    .await?;
    redirect_back_with("done=canned");
    Ok(c.id)
}

pub async fn delete_canned_reply(id: i32) -> Result<(), AppError> {
    crate::core::web::require_staff(Capability::CannedReplies)?;
    let state = app_state()?;
    let r = canned_reply::Entity::delete_by_id(id)
        .exec(&state.db)
        .await?;
    if r.rows_affected == 0 {
        return Err(AppError::NotFound);
    }
    redirect_back_with("done=canned-deleted");
    Ok(())
}

/// Merges duplicate ticket `id` into `into`: its conversation moves over,
/// its requester follows the surviving ticket, and it closes.
/// Merges duplicate `id` into ticket `into`: the conversation moves, its
/// file links follow, and this one closes. Its requester follows the kept
/// ticket only when staff say so (`share`) or the organization shares
/// tickets anyway: following shows the kept ticket's whole conversation,
/// which in a private organization is someone else's.
pub async fn merge_ticket(id: i32, into: String, share: bool) -> Result<(), AppError> {
    let (state, actor, t, staff) = current(id).await?;
    if !staff {
        return Err(AppError::Forbidden);
    }
    let into: i32 = into.trim().trim_start_matches('#').parse().map_err(|_| {
        AppError::invalid("into", "Enter the number of the ticket to keep, e.g. 42.")
    })?;
    if into == id {
        return Err(AppError::invalid(
            "into",
            "A ticket cannot be merged into itself.",
        ));
    }
    let target = ticket::Entity::find_by_id(into)
        .one(&state.db)
        .await?
        .filter(|x| x.organization_id == t.organization_id)
        .ok_or_else(|| {
            AppError::invalid("into", "Enter an open ticket of the same organization.")
        })?;
    if t.status == "closed" || target.status == "closed" {
        return Err(AppError::invalid(
            "into",
            "Closed tickets are not merged; both must be open.",
        ));
    }
    let now = Utc::now();
    let txn = begin_write(&state.db).await?;
    ticket_comment::Entity::update_many()
        .col_expr(ticket_comment::Column::TicketId, Expr::value(target.id))
        .filter(ticket_comment::Column::TicketId.eq(t.id))
        .exec(&txn)
        .await?;
    entity::ticket_attachment::Entity::update_many()
        .col_expr(
            entity::ticket_attachment::Column::TicketId,
            Expr::value(target.id),
        )
        .filter(entity::ticket_attachment::Column::TicketId.eq(t.id))
        .exec(&txn)
        .await?;
    // Files linked from the moved comments live on the kept ticket now: so
    // do their links (a download checks the ticket in its address).
    let (from, to) = (
        format!("/tickets/{}/attachments/", t.id),
        format!("/tickets/{}/attachments/", target.id),
    );
    ticket_comment::Entity::update_many()
        .col_expr(
            ticket_comment::Column::Body,
            Expr::expr(sea_orm::sea_query::Func::cust("REPLACE").args([
                Expr::col(ticket_comment::Column::Body),
                Expr::val(from.clone()),
                Expr::val(to),
            ])),
        )
        .filter(ticket_comment::Column::TicketId.eq(target.id))
        .filter(ticket_comment::Column::Body.contains(&from))
        .exec(&txn)
        .await?;
    // The servers the duplicate named are affected on the surviving ticket too.
    for s in ticket_server::Entity::find()
        .filter(ticket_server::Column::TicketId.eq(t.id))
        .all(&txn)
        .await?
    {
        ticket_server::Entity::insert(ticket_server::ActiveModel {
            ticket_id: Set(target.id),
            covered_server_id: Set(s.covered_server_id),
        })
        .on_conflict(
            sea_orm::sea_query::OnConflict::columns([
                ticket_server::Column::TicketId,
                ticket_server::Column::CoveredServerId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
    }
    let shared = entity::organization::Entity::find_by_id(t.organization_id)
        .one(&txn)
        .await?
        .is_some_and(|o| o.shared_tickets);
    if t.requester_contact_id != target.requester_contact_id && (share || shared) {
        ticket_follower::Entity::insert(ticket_follower::ActiveModel {
            ticket_id: Set(target.id),
            contact_id: Set(t.requester_contact_id),
        })
        .on_conflict(
            sea_orm::sea_query::OnConflict::columns([
                ticket_follower::Column::TicketId,
                ticket_follower::Column::ContactId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
    }
    ticket_comment::ActiveModel {
        ticket_id: Set(target.id),
        author_user_id: Set(Some(actor.user_id)),
        author_name: Set(actor.name.clone()),
        by_staff: Set(true),
        internal: Set(false),
        body: Set(format!(
            "Ticket #{} (\"{}\") was merged into this one.\n\n{}",
            t.id, t.subject, t.description
        )),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    // The duplicate's clocks stop; the surviving ticket's keep running.
    ticket_sla::Entity::update_many()
        .col_expr(
            ticket_sla::Column::DueAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(
            ticket_sla::Column::WarnAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(ticket_sla::Column::FulfilledAt, Expr::value(Some(now)))
        .filter(ticket_sla::Column::TicketId.eq(t.id))
        .filter(ticket_sla::Column::FulfilledAt.is_null())
        .exec(&txn)
        .await?;
    let closed = ticket::Entity::update_many()
        .col_expr(ticket::Column::Status, Expr::value("closed"))
        .col_expr(ticket::Column::ClosedAt, Expr::value(Some(now)))
        .col_expr(ticket::Column::UpdatedAt, Expr::value(now))
        .filter(ticket::Column::Id.eq(t.id))
        .filter(ticket::Column::Status.ne("closed"))
        .exec(&txn)
        .await?;
    if closed.rows_affected != 1 {
        return Err(AppError::invalid(
            "into",
            "This ticket was closed at the same moment.",
        ));
    }
    event(
        &txn,
        t.id,
        "merged",
        &actor.name,
        Some(format!("into #{}", target.id)),
        false,
    )
    .await?;
    event(
        &txn,
        target.id,
        "merged",
        &actor.name,
        Some(format!("#{} merged in", t.id)),
        false,
    )
    .await?;
    sync_queue(&txn, t.id).await?;
    txn.commit().await?;
    crate::core::live::publish(&state, crate::core::live::Change::Ticket(t.id)).await;
    crate::core::live::publish(&state, crate::core::live::Change::Ticket(target.id)).await;
    if request_parts().is_ok_and(|p| is_plain_form_post(&p)) {
        leptos_axum::redirect(&format!("/staff/tickets/{}?done=merged", target.id));
    }
    Ok(())
}
