//! What customers do with a document: accept or decline it, and save it to a new account.

use super::*;

pub async fn decide_document(id: i32, decision: String, name: String) -> Result<(), AppError> {
    let (state, d, access) = current_access(id).await?;
    if access.is_staff() {
        return Err(AppError::invalid(
            "decision",
            "The customer accepts or declines; staff cannot do it for them.",
        ));
    }
    let status = match decision.as_str() {
        "accept" => "accepted",
        "decline" => "declined",
        _ => return Err(AppError::invalid("decision", "Choose accept or decline.")),
    };
    let name = validate::required("your full name", &name, 200)
        .map_err(|m| AppError::invalid("name", m))?;
    if d.kind == "invoice" {
        return Err(AppError::invalid(
            "decision",
            "Invoices are not accepted or declined.",
        ));
    }
    if d.valid_until.is_some_and(|v| v < today()) {
        return Err(AppError::invalid(
            "decision",
            format!(
                "This offer expired on {}; ask us for a new one.",
                d.valid_until.map(day).unwrap_or_default()
            ),
        ));
    }
    let now = Utc::now();
    let addr = client_addr();
    let txn = crate::core::db::begin_write(&state.db).await?;
    let updated = document::Entity::update_many()
        .col_expr(document::Column::Status, Expr::value(status))
        .col_expr(
            document::Column::DecidedByName,
            Expr::value(Some(name.clone())),
        )
        .col_expr(document::Column::DecidedAt, Expr::value(Some(now)))
        .col_expr(document::Column::DecidedAddr, Expr::value(addr.clone()))
        .col_expr(document::Column::UpdatedAt, Expr::value(now))
        .filter(document::Column::Id.eq(id))
        .filter(document::Column::Status.is_in(["sent", "viewed"]))
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(AppError::invalid(
            "decision",
            "This document was decided already or is no longer open.",
        ));
    }
    event(
        &txn,
        id,
        status,
        &access.who(),
        Some(format!(
            "{name}{}",
            addr.map(|a| format!(" from {a}")).unwrap_or_default()
        )),
    )
    .await?;
    audit::Entry::new(
        if status == "accepted" {
            Action::DocumentAccepted
        } else {
            Action::DocumentDeclined
        },
        Target::Document(id),
    )
    .by(access.user_id())
    .org(d.organization_id)
    .before(Some(json!({"status": d.status}).to_string()))
    .after(Some(json!({"status": status, "name": name}).to_string()))
    .from(client_addr())
    .record(&txn)
    .await?;
    txn.commit().await?;
    redirect_back_with(&format!("done={status}"));
    Ok(())
}

pub(super) const SAVE_REFUSED: &str = "This link cannot create an account: the address it was sent to has an account already. Sign in with that address instead.";

/// "Save" on a document opened through its e-mailed link: mails the address
/// the link was sent to a link to set the first password of its account.
/// Whoever holds the link (a colleague it was forwarded to, say) can read
/// the document, not choose the password, and so not take the account.
pub async fn save_document_account(id: i32) -> Result<String, AppError> {
    use crate::auth::ssr::recovery::{send_link, Purpose, RESETS_PER_HOUR};
    let (state, _d, access) = current_access(id).await?;
    let Access::Link(link) = access else {
        return Err(AppError::invalid("document_id", SAVE_REFUSED));
    };
    let u = user::Entity::find()
        .filter(user::Column::Email.eq(link.email.as_str()))
        .filter(user::Column::Active.eq(true))
        .one(&state.db)
        .await?
        .filter(|u| u.password_hash.is_none())
        .ok_or_else(|| AppError::invalid("document_id", SAVE_REFUSED))?;
    // Whoever holds the link may ask once an hour (`saved_at`: when it last
    // asked), not mail the recipient at will.
    let now = Utc::now();
    if let Some(at) = link
        .saved_at
        .filter(|at| *at > now - ChronoDuration::hours(1))
    {
        return Err(AppError::invalid(
            "document_id",
            format!(
                "A link to create the account was e-mailed at {}; use that e-mail, or ask again in an hour.",
                stamp(at)
            ),
        ));
    }
    let txn = crate::core::db::begin_write(&state.db).await?;
    document_link::Entity::update_many()
        .col_expr(document_link::Column::SavedAt, Expr::value(Some(now)))
        .filter(document_link::Column::Id.eq(link.id))
        .exec(&txn)
        .await?;
    if !send_link(&txn, &state, &u, Purpose::FirstPassword).await? {
        return Err(AppError::invalid(
            "document_id",
            format!(
                "{RESETS_PER_HOUR} links were sent to this address in the last hour; use the newest e-mail."
            ),
        ));
    }
    let note = Some("a link to set the password was e-mailed".to_string());
    event(&txn, id, "account_link", &link.email, note).await?;
    txn.commit().await?;
    if request_parts().is_ok_and(|p| is_plain_form_post(&p)) {
        crate::core::web::redirect_back_with("done=account-link");
    }
    Ok(format!(
        "We e-mailed {} a link to set the password of the account. Open it from that mailbox.",
        link.email
    ))
}
