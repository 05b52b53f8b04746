//! The audit trail: who did what, to what, and when. Server-only.

use chrono::Utc;
use entity::audit_event;
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};

use crate::error::AppError;

/// Records one event. Call it inside the same transaction as the change it
/// describes, so the trail and the data never disagree.
#[allow(clippy::too_many_arguments)]
pub async fn record<C: ConnectionTrait>(
    db: &C,
    actor_user_id: Option<i32>,
    organization_id: Option<i32>,
    action: &str,
    target: &str,
    before: Option<String>,
    after: Option<String>,
    client_addr: Option<String>,
) -> Result<(), AppError> {
    audit_event::ActiveModel {
        actor_user_id: Set(actor_user_id),
        organization_id: Set(organization_id),
        action: Set(action.to_owned()),
        target: Set(target.to_owned()),
        before: Set(before),
        after: Set(after),
        client_addr: Set(client_addr),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}
