//! One-time account links: activation and password reset share them. A link
//! is a random token mailed to the address on file; only its SHA-256 is
//! kept, it works once, until it expires, and a newer one revokes it.

use chrono::Utc;
use entity::activation_link;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use super::session;
use crate::error::AppError;

/// A new, single-use link for `user_id`, valid for `ttl`; every older open
/// link of that person is revoked. Returns the token for the e-mail.
pub async fn issue<C: ConnectionTrait>(
    db: &C,
    user_id: i32,
    ttl: chrono::Duration,
) -> Result<String, AppError> {
    let now = Utc::now();
    activation_link::Entity::update_many()
        .col_expr(activation_link::Column::RevokedAt, Expr::value(Some(now)))
        .filter(activation_link::Column::UserId.eq(user_id))
        .filter(activation_link::Column::UsedAt.is_null())
        .filter(activation_link::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    let token = session::new_token();
    activation_link::ActiveModel {
        user_id: Set(user_id),
        token_hash: Set(session::hash_token(&token)),
        expires_at: Set(now + ttl),
        used_at: Set(None),
        revoked_at: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(token)
}
