//! Comments: replies and internal notes, with attachments, status changes and the clocks they move.

use super::*;

pub async fn add_comment(
    id: i32,
    body: String,
    internal: bool,
    status: Option<String>,
    canned_id: Option<i32>,
) -> Result<(), AppError> {
    let (state, actor, t, staff) = current(id).await?;
    // Staff may answer with a saved reply instead of (or before) their own words.
    let body = match canned_id {
        Some(cid) if staff => {
            let c = canned_reply::Entity::find_by_id(cid)
                .one(&state.db)
                .await?
                .ok_or_else(|| {
                    AppError::invalid("canned_id", "Choose a saved reply from the list.")
                })?;
            if body.trim().is_empty() {
                c.body
            } else {
                format!("{}\n\n{}", body.trim_end(), c.body)
            }
        }
        Some(_) => {
            return Err(AppError::invalid(
                "canned_id",
                "Saved replies are for staff.",
            ))
        }
        None => body,
    };
    post_comment(&state, &actor, t, staff, body, internal, status).await?;
    redirect_back_with("done=comment");
    Ok(())
}

/// Adds a comment by `actor` to ticket `t` (already checked visible), with
/// every SLA, status, notification and live-page consequence. The page's
/// form and replies by mail both come here.
pub async fn post_comment(
    state: &AppState,
    actor: &Actor,
    t: ticket::Model,
    staff: bool,
    body: String,
    internal: bool,
    status: Option<String>,
) -> Result<(), AppError> {
    let body = validate::required_text("comment", &body, 50_000)
        .map_err(|m| AppError::invalid("body", m))?;
    record_comment(state, actor, t, staff, Said::Text(body), internal, status).await?;
    Ok(())
}

/// Adds a message by mail to ticket `t`: its text and the files it brought
/// (already stored), as one comment by `actor`.
pub async fn post_mail(
    state: &AppState,
    actor: &Actor,
    t: ticket::Model,
    staff: bool,
    body: String,
    files: Vec<StoredFile>,
) -> Result<(), AppError> {
    // Files alone are a message too; text alone must say something.
    let body = if body.trim().is_empty() && !files.is_empty() {
        String::new()
    } else {
        validate::required_text("comment", &body, 50_000)
            .map_err(|m| AppError::invalid("body", m))?
    };
    record_comment(state, actor, t, staff, Said::Mail(body, files), false, None).await?;
    Ok(())
}

/// A file stored under the data directory, not yet recorded.
pub struct StoredFile {
    pub name: String,
    pub storage: String,
    pub size: u64,
    pub sha256: String,
}

/// Records stored file `f` on ticket `t` as a comment by `actor` (linking to
/// it), with every consequence a comment has: a file is an answer too.
pub async fn post_attachment(
    state: &AppState,
    actor: &Actor,
    t: ticket::Model,
    staff: bool,
    f: StoredFile,
    internal: bool,
) -> Result<i32, AppError> {
    record_comment(state, actor, t, staff, Said::File(f), internal, None)
        .await
        .map(|a| a.unwrap_or_default())
}

/// What a comment says: text, a file it links to, or both (a message by
/// mail: its text and its attachments, in one comment).
pub(super) enum Said {
    Text(String),
    File(StoredFile),
    Mail(String, Vec<StoredFile>),
}

/// The one path of a comment into a ticket; returns the attachment's id
/// when it recorded a file.
pub(super) async fn record_comment(
    state: &AppState,
    actor: &Actor,
    t: ticket::Model,
    staff: bool,
    said: Said,
    internal: bool,
    status: Option<String>,
) -> Result<Option<i32>, AppError> {
    if internal && !staff {
        return Err(AppError::invalid(
            "internal",
            "Only staff write internal notes.",
        ));
    }
    let status = status.filter(|s| !s.is_empty());
    if let Some(s) = &status {
        if !staff || !["open", "waiting", "solved"].contains(&s.as_str()) {
            return Err(AppError::invalid(
                "status",
                "Choose open, waiting on customer or solved.",
            ));
        }
    }
    if t.status == "closed" {
        return Err(AppError::invalid(
            "body",
            "This ticket is closed. Open a new ticket and mention this one.",
        ));
    }
    let now = Utc::now();
    let txn = begin_write(&state.db).await?;
    if !staff {
        // One person cannot flood a ticket, its clocks and everyone's mail;
        // counted under their row lock, so parallel comments cannot all pass.
        entity::user::Entity::find_by_id(actor.user_id)
            .lock_exclusive()
            .one(&txn)
            .await?;
        let max = state.settings.quotas.comments_per_hour;
        let written = ticket_comment::Entity::find()
            .filter(ticket_comment::Column::AuthorUserId.eq(actor.user_id))
            .filter(ticket_comment::Column::CreatedAt.gt(now - Duration::hours(1)))
            .count(&txn)
            .await?;
        if written >= max {
            return Err(AppError::invalid(
                "body",
                format!("You added {written} comments in the last hour, the most Portico takes from one person. Try again later."),
            ));
        }
    }
    // Decide on the ticket as it is now, holding it until commit (PostgreSQL
    // row lock; SQLite's IMMEDIATE transaction already serialises writers).
    let t = ticket::Entity::find_by_id(t.id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    if t.status == "closed" {
        return Err(AppError::invalid(
            "body",
            "This ticket is closed. Open a new ticket and mention this one.",
        ));
    }
    let (text, files) = match said {
        Said::Text(body) => (Some(body), Vec::new()),
        Said::File(f) => (None, vec![f]),
        Said::Mail(body, files) => ((!body.is_empty()).then_some(body), files),
    };
    let mut lines: Vec<String> = text.into_iter().collect();
    let mut attachment = None;
    for f in files {
        let a = ticket_attachment::ActiveModel {
            ticket_id: Set(t.id),
            uploader_user_id: Set(Some(actor.user_id)),
            file_name: Set(f.name.clone()),
            storage_name: Set(f.storage),
            size_bytes: Set(f.size as i64),
            sha256: Set(f.sha256),
            internal: Set(internal),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        lines.push(format!(
            "Attached [{}](/tickets/{}/attachments/{}) ({}).",
            f.name,
            t.id,
            a.id,
            crate::support::attachments::human(f.size)
        ));
        attachment.get_or_insert(a.id);
    }
    let body = lines.join("\n\n");
    ticket_comment::ActiveModel {
        ticket_id: Set(t.id),
        author_user_id: Set(Some(actor.user_id)),
        author_name: Set(actor.name.clone()),
        by_staff: Set(staff),
        internal: Set(internal),
        body: Set(body.clone()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let mut next_status = t.status.clone();
    if staff && !internal {
        fulfil(
            &txn,
            &t,
            &["first_response", "next_response"],
            now,
            &actor.name,
        )
        .await?;
        if t.status == "new" {
            next_status = "open".into();
        }
    }
    if !staff {
        if matches!(t.status.as_str(), "waiting" | "solved") {
            next_status = "open".into();
            if t.status == "solved" {
                reopen_resolution(&txn, t.id).await?;
            }
            resume_clocks(&txn, &t, now, &actor.name).await?;
        }
        // A customer reply after a staff answer starts the next-response clock.
        let answered = ticket_sla::Entity::find()
            .filter(ticket_sla::Column::TicketId.eq(t.id))
            .filter(ticket_sla::Column::Target.eq("first_response"))
            .filter(ticket_sla::Column::FulfilledAt.is_not_null())
            .one(&txn)
            .await?
            .is_some();
        let waiting_next = !open_clocks(&txn, t.id)
            .await?
            .iter()
            .any(|s| s.target == "next_response");
        if answered && waiting_next {
            if let Some(target) = target_for(&txn, t.level_id, t.severity).await? {
                start_clock(
                    &txn,
                    &t,
                    "next_response",
                    target.next_response_minutes,
                    target.around_the_clock,
                    now,
                )
                .await?;
            }
        }
    }
    if let Some(s) = status {
        if t.status == "solved" && s != "solved" {
            // Staff reopen: the resolution clock is owed again.
            reopen_resolution(&txn, t.id).await?;
        }
        match s.as_str() {
            "waiting" => pause_clocks(&txn, &t, now, &actor.name).await?,
            "solved" => {
                // An internal note solves the ticket but answers nobody.
                let targets: &[&str] = if internal {
                    &["resolution"]
                } else {
                    &["first_response", "next_response", "resolution"]
                };
                fulfil(&txn, &t, targets, now, &actor.name).await?
            }
            _ => {
                if matches!(t.status.as_str(), "waiting" | "solved") {
                    resume_clocks(&txn, &t, now, &actor.name).await?;
                }
            }
        }
        next_status = s;
    }
    let mut a = t.clone().into_active_model();
    a.updated_at = Set(now);
    if next_status != t.status {
        event(
            &txn,
            t.id,
            "status",
            &actor.name,
            Some(format!("{} → {}", t.status, next_status)),
            false,
        )
        .await?;
        a.solved_at = Set((next_status == "solved").then_some(now));
        a.status = Set(next_status);
    }
    a.update(&txn).await?;
    // Notifications: public staff replies to the requester and followers;
    // customer replies to the assignee. Internal notes to nobody.
    // A closed subscription closes its ticket mail too.
    let entitled = staff
        && !internal
        && crate::core::entitlements::current(&txn, &state.settings, t.organization_id)
            .await?
            .support();
    if entitled {
        let mut ids: Vec<i32> = ticket_follower::Entity::find()
            .filter(ticket_follower::Column::TicketId.eq(t.id))
            .all(&txn)
            .await?
            .into_iter()
            .map(|f| f.contact_id)
            .collect();
        ids.push(t.requester_contact_id);
        let active_contacts = contact::Entity::find()
            .filter(contact::Column::OrganizationId.eq(t.organization_id))
            .filter(contact::Column::Active.eq(true))
            .count(&txn)
            .await?;
        for c in contact::Entity::find()
            .filter(contact::Column::Id.is_in(ids))
            .filter(contact::Column::Active.eq(true))
            .all(&txn)
            .await?
            .into_iter()
            // Only people who can still open the ticket: Technical Contacts,
            // or a Main Contact who is the sole contact.
            .filter(|c| c.is_technical || (c.is_main && active_contacts == 1))
        {
            enqueue(
                &txn,
                update_mail(state, &t, &c.email, &c.name, &actor.name, &body, false),
            )
            .await?;
        }
    } else if !staff {
        if let Some(u) = works_tickets(&txn, t.assignee_user_id).await? {
            enqueue(
                &txn,
                update_mail(state, &t, &u.email, &u.name, &actor.name, &body, true),
            )
            .await?;
        }
    }
    sync_queue(&txn, t.id).await?;
    txn.commit().await?;
    crate::core::live::publish(state, crate::core::live::Change::Ticket(t.id)).await;
    Ok(attachment)
}
