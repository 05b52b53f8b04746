//! The e-mailed link and the PDF, served as plain HTTP routes.

use super::*;

/// `GET /documents/open?token=…`: checks the e-mailed token, records the
/// view, swaps the token for a cookie scoped to that one document, and
/// redirects to the document's address, which carries no token.
pub async fn open_link(state: &AppState, token: Option<&str>) -> Result<(i32, String), AppError> {
    let token = token
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 128)
        .ok_or(AppError::NotFound)?;
    let now = Utc::now();
    let link = document_link::Entity::find()
        .filter(document_link::Column::TokenHash.eq(session::hash_token(token)))
        .one(&state.db)
        .await?
        .filter(|l| l.revoked_at.is_none() && l.expires_at > now)
        .ok_or(AppError::NotFound)?;
    if !still_a_recipient(&state.db, &link).await? {
        return Err(AppError::NotFound);
    }
    let access = session::new_token();
    let access_until = (now + ChronoDuration::hours(ACCESS_HOURS)).min(link.expires_at);
    let txn = crate::core::db::begin_write(&state.db).await?;
    document_link::Entity::update_many()
        .col_expr(
            document_link::Column::AccessHash,
            Expr::value(Some(session::hash_token(&access))),
        )
        .col_expr(
            document_link::Column::AccessExpiresAt,
            Expr::value(Some(access_until)),
        )
        .col_expr(document_link::Column::LastOpenedAt, Expr::value(Some(now)))
        .filter(document_link::Column::Id.eq(link.id))
        .exec(&txn)
        .await?;
    document::Entity::update_many()
        .col_expr(document::Column::Status, Expr::value("viewed"))
        .filter(document::Column::Id.eq(link.document_id))
        .filter(document::Column::Status.eq("sent"))
        .exec(&txn)
        .await?;
    event(
        &txn,
        link.document_id,
        "viewed",
        &link.email,
        Some("through the e-mailed link".into()),
    )
    .await?;
    txn.commit().await?;
    let max_age = (access_until - now).num_seconds().max(1);
    let cookie = format!(
        "{}={access}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{}",
        doc_cookie_name(&state.settings, link.document_id),
        if state.settings.cookie_secure() {
            "; Secure"
        } else {
            ""
        }
    );
    Ok((link.document_id, cookie))
}

/// The PDF of document `id`, for whoever may see it.
pub async fn pdf_bytes(
    state: &AppState,
    headers: &HeaderMap,
    actor: Option<&Actor>,
    id: i32,
) -> Result<(String, Vec<u8>), AppError> {
    let (d, a) = access(&state.db, &state.settings, headers, actor, id).await?;
    let view = view_of(&state.db, &d, &a).await?;
    let name = view
        .number
        .clone()
        .unwrap_or_else(|| format!("draft-{}", d.id));
    Ok((format!("{name}.pdf"), crate::billing::pdf::render(&view)))
}
