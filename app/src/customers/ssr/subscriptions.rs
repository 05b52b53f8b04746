//! The subscription life cycle: staff renew a subscription (a new term) or
//! cancel it; the scheduler tells the Main Contact before a term ends (30
//! and 7 days) and when it has ended, and records ended terms as expired.
//! Whether a term still opens anything is decided by `core::entitlements`
//! on every request, so none of this has to run for access to close.
//!
//! Services: they take a [`Ctx`] (or the state, for the scheduler) and never
//! read the Leptos context.

use chrono::NaiveDate;
use entity::{subscription_notice, EndNotice, SubscriptionStatus};
use sea_orm::sea_query::{OnConflict, Query};

use super::*;
use crate::core::ctx::Ctx;
use crate::core::entitlements::{self, closes_on};
use crate::core::live::{publish, Change};

/// At most this many terms are expired, and as many notices of each kind
/// sent, in one scheduler run; the rest wait for the next run.
const PER_RUN: u64 = 200;
/// The longest term staff may enter at once.
const LONGEST_TERM_DAYS: i64 = 5 * 366;

/// A new term for organization `org_id` at the level of its last term,
/// starting the day after that term ends (today, if it has ended), until
/// `term_end`. Returns the new term's id.
pub async fn renew(ctx: &Ctx, org_id: i32, term_end: &str) -> Result<i32, AppError> {
    authz::require(&ctx.actor, Capability::Subscriptions)?;
    let state = &ctx.state;
    let txn = crate::core::db::begin_write(&state.db).await?;
    let org = locked_org(&txn, org_id).await?;
    let terms = subscription::Entity::find()
        .filter(subscription::Column::OrganizationId.eq(org_id))
        .all(&txn)
        .await?;
    let last = terms
        .iter()
        .max_by_key(|t| (t.term_end, t.id))
        .cloned()
        .ok_or_else(|| {
            AppError::invalid(
                "term_end",
                "This organization has no subscription to renew; process an Order Form instead.",
            )
        })?;
    let start = renewal_start(&terms, Utc::now().date_naive());
    let end =
        validate::date("new term's end", term_end).map_err(|m| AppError::invalid("term_end", m))?;
    if end <= start {
        return Err(AppError::invalid(
            "term_end",
            format!("The new term starts on {start}; its end must come after that."),
        ));
    }
    if end - start > ChronoDuration::days(LONGEST_TERM_DAYS) {
        return Err(AppError::invalid(
            "term_end",
            "A term can last at most five years; renew again later for more.",
        ));
    }
    let lvl = level::Entity::find_by_id(last.level_id)
        .one(&txn)
        .await?
        .ok_or(AppError::Internal)?;
    let term = subscription::ActiveModel {
        organization_id: Set(org.id),
        level_id: Set(last.level_id),
        term_start: Set(start),
        term_end: Set(end),
        status: Set(SubscriptionStatus::Active),
        purchase_order: Set(None),
        payment_method: Set(last.payment_method.clone()),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    audit::Entry::new(Action::SubscriptionRenewed, Target::Subscription(term.id))
        .by(ctx.actor.user_id)
        .org(org.id)
        .before(Some(
            json!({"subscription": last.id, "term_end": day(last.term_end)}).to_string(),
        ))
        .after(Some(
            json!({"level": lvl.name, "term_start": day(start), "term_end": day(end)}).to_string(),
        ))
        .from(ctx.client_addr.clone())
        .record(&txn)
        .await?;
    txn.commit().await?;
    publish(state, Change::AccessChanged).await;
    Ok(term.id)
}

/// The day a renewal starts: after the last term that was not cancelled,
/// and never in the past.
pub(super) fn renewal_start(terms: &[subscription::Model], today: NaiveDate) -> NaiveDate {
    terms
        .iter()
        .filter(|t| t.status != SubscriptionStatus::Cancelled)
        .map(|t| t.term_end + ChronoDuration::days(1))
        .max()
        .map_or(today, |d| d.max(today))
}

/// Ends every open term of organization `org_id` now, for `reason`, and
/// tells its Main Contact. `confirmed` is the staff member's explicit yes:
/// this closes the Support Portal at once and e-mails the customer.
pub async fn cancel(ctx: &Ctx, org_id: i32, reason: &str, confirmed: bool) -> Result<(), AppError> {
    authz::require(&ctx.actor, Capability::Subscriptions)?;
    let state = &ctx.state;
    let mut p = Problems::default();
    let reason = p.check(
        "reason",
        validate::required_text("reason for cancelling", reason, 500),
    );
    if !confirmed {
        p.add(
            "confirm",
            "Tick the box to confirm: cancelling closes the Support Portal at once and e-mails the Main Contact.",
        );
    }
    p.into_result()?;
    let reason = reason.unwrap_or_default();
    let txn = crate::core::db::begin_write(&state.db).await?;
    // Two cancels (or a cancel and the scheduler) queue here.
    let org = locked_org(&txn, org_id).await?;
    // Open terms, and renewals entered for later; a term past its grace
    // period is closed already (the scheduler records it).
    let today = Utc::now().date_naive();
    let grace = state.settings.subscription_grace_days;
    let open: Vec<subscription::Model> = subscription::Entity::find()
        .filter(subscription::Column::OrganizationId.eq(org_id))
        .filter(subscription::Column::Status.eq(SubscriptionStatus::Active))
        .all(&txn)
        .await?
        .into_iter()
        .filter(|t| closes_on(t.term_end, grace) >= today)
        .collect();
    if open.is_empty() {
        return Err(AppError::invalid(
            "reason",
            "This organization has no open subscription to cancel.",
        ));
    }
    for t in &open {
        let r = subscription::Entity::update_many()
            .col_expr(
                subscription::Column::Status,
                Expr::value(SubscriptionStatus::Cancelled),
            )
            .filter(subscription::Column::Id.eq(t.id))
            .filter(subscription::Column::Status.eq(SubscriptionStatus::Active))
            .exec(&txn)
            .await?;
        if r.rows_affected != 1 {
            // Changed since it was read: decide again on a fresh page.
            return Err(AppError::invalid(
                "reason",
                "The subscription changed meanwhile; reload the page and try again.",
            ));
        }
        audit::Entry::new(Action::SubscriptionCancelled, Target::Subscription(t.id))
            .by(ctx.actor.user_id)
            .org(org_id)
            .before(Some(
                json!({"status": "active", "term_end": day(t.term_end)}).to_string(),
            ))
            .after(Some(
                json!({"status": "cancelled", "reason": reason}).to_string(),
            ))
            .from(ctx.client_addr.clone())
            .record(&txn)
            .await?;
    }
    if let Some(to) = main_contact(&txn, org_id).await? {
        enqueue(
            &txn,
            notice(
                &to,
                "subscription_cancelled",
                format!("Your subscription has been cancelled ({})", org.name),
                format!(
                    "The subscription of {org} has been cancelled, with effect from today.\n\
                     Reason given: {reason}\n\n\
                     The Support Portal and everything your subscription opened are closed. Invoices stay\n\
                     available in the Billing Portal: {base}/billing\n\
                     If this is a mistake, reply to this e-mail or contact your account manager.",
                    org = org.name,
                    base = state.settings.base_url,
                ),
            ),
        )
        .await?;
    }
    txn.commit().await?;
    publish(state, Change::AccessChanged).await;
    Ok(())
}

/// Expires terms whose grace period is over (at most [`PER_RUN`]), each in
/// its own transaction, counting them in `touched` as they commit.
async fn expire(
    state: &AppState,
    today: NaiveDate,
    grace: u32,
    touched: &mut usize,
) -> Result<(), AppError> {
    // Terms whose grace period is over: closes_on(term_end) < today.
    let ended = subscription::Entity::find()
        .filter(subscription::Column::Status.eq(SubscriptionStatus::Active))
        .filter(subscription::Column::TermEnd.lt(today - ChronoDuration::days(i64::from(grace))))
        .order_by_asc(subscription::Column::TermEnd)
        .limit(PER_RUN)
        .all(&state.db)
        .await?;
    for t in &ended {
        let txn = crate::core::db::begin_write(&state.db).await?;
        let r = subscription::Entity::update_many()
            .col_expr(
                subscription::Column::Status,
                Expr::value(SubscriptionStatus::Expired),
            )
            .filter(subscription::Column::Id.eq(t.id))
            .filter(subscription::Column::Status.eq(SubscriptionStatus::Active))
            .exec(&txn)
            .await?;
        if r.rows_affected != 1 {
            continue;
        }
        audit::Entry::new(Action::SubscriptionExpired, Target::Subscription(t.id))
            .org(t.organization_id)
            .before(Some(json!({"status": "active"}).to_string()))
            .after(Some(
                json!({"status": "expired", "term_end": day(t.term_end)}).to_string(),
            ))
            .record(&txn)
            .await?;
        // A renewal that is already open keeps everything open: no notice.
        let still = entitlements::of_organization(&txn, t.organization_id, today, grace).await?;
        if !still.open() && claim(&txn, t.id, EndNotice::Ended).await? {
            end_notice(&txn, state, t, EndNotice::Ended, today).await?;
        }
        txn.commit().await?;
        *touched += 1;
    }
    Ok(())
}

/// The scheduler's subscription work on `today`: expires terms past their
/// grace period and sends the end notices, each at most once and at most
/// [`PER_RUN`] of each per run. Returns how many terms it touched.
pub async fn sweep(state: &AppState, today: NaiveDate) -> Result<usize, AppError> {
    let grace = state.settings.subscription_grace_days;
    let mut touched = 0;
    let result = expire(state, today, grace, &mut touched).await;
    // Open pages re-check at once, even when a later term failed: the
    // terms before it did expire.
    if touched > 0 {
        publish(state, Change::AccessChanged).await;
    }
    result?;
    for (kind, from, to) in [(EndNotice::In7Days, 0, 7), (EndNotice::In30Days, 8, 30)] {
        let due = subscription::Entity::find()
            .filter(subscription::Column::Status.eq(SubscriptionStatus::Active))
            .filter(subscription::Column::TermEnd.gte(today + ChronoDuration::days(from)))
            .filter(subscription::Column::TermEnd.lte(today + ChronoDuration::days(to)))
            .filter(
                subscription::Column::Id.not_in_subquery(
                    Query::select()
                        .column(subscription_notice::Column::SubscriptionId)
                        .from(subscription_notice::Entity)
                        .and_where(subscription_notice::Column::Kind.eq(kind))
                        .to_owned(),
                ),
            )
            .order_by_asc(subscription::Column::TermEnd)
            .limit(PER_RUN)
            .all(&state.db)
            .await?;
        for t in &due {
            let txn = crate::core::db::begin_write(&state.db).await?;
            // After any cancel in flight (it holds the same lock): still open?
            locked_org(&txn, t.organization_id).await?;
            let still = subscription::Entity::find_by_id(t.id)
                .filter(subscription::Column::Status.eq(SubscriptionStatus::Active))
                .one(&txn)
                .await?
                .is_some();
            // Claimed even when a renewal makes it moot, so the term leaves the list.
            if still && claim(&txn, t.id, kind).await? && !renewed(&txn, t).await? {
                end_notice(&txn, state, t, kind, today).await?;
                touched += 1;
            }
            txn.commit().await?;
        }
    }
    Ok(touched)
}

/// The organization, locked until the transaction ends (PostgreSQL row
/// lock; SQLite's IMMEDIATE transaction already serialises writers).
async fn locked_org(
    txn: &DatabaseTransaction,
    org_id: i32,
) -> Result<organization::Model, AppError> {
    organization::Entity::find_by_id(org_id)
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or(AppError::NotFound)
}

/// Records that notice `kind` of term `id` is sent; false when it already was.
async fn claim(txn: &DatabaseTransaction, id: i32, kind: EndNotice) -> Result<bool, AppError> {
    let n = subscription_notice::Entity::insert(subscription_notice::ActiveModel {
        subscription_id: Set(id),
        kind: Set(kind),
        sent_at: Set(Utc::now()),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([
            subscription_notice::Column::SubscriptionId,
            subscription_notice::Column::Kind,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(txn)
    .await?;
    Ok(n == 1)
}

/// Whether a later term of the same organization already continues `t`.
async fn renewed(txn: &DatabaseTransaction, t: &subscription::Model) -> Result<bool, AppError> {
    Ok(subscription::Entity::find()
        .filter(subscription::Column::OrganizationId.eq(t.organization_id))
        .filter(subscription::Column::Status.eq(SubscriptionStatus::Active))
        .filter(subscription::Column::TermStart.gt(t.term_end))
        .count(txn)
        .await?
        > 0)
}

async fn end_notice(
    txn: &DatabaseTransaction,
    state: &AppState,
    t: &subscription::Model,
    kind: EndNotice,
    today: NaiveDate,
) -> Result<(), AppError> {
    let Some(to) = main_contact(txn, t.organization_id).await? else {
        return Ok(());
    };
    let org = org_by_id(txn, t.organization_id).await?;
    let base = &state.settings.base_url;
    let closes = closes_on(t.term_end, state.settings.subscription_grace_days);
    let (subject, text) = match kind {
        EndNotice::In30Days | EndNotice::In7Days => (
            format!(
                "Your subscription ends on {} ({})",
                day(t.term_end),
                org.name
            ),
            format!(
                "The subscription of {org} ends on {end}, {when}. To keep the Support Portal and\n\
                 everything your subscription opens, renew it before then: reply to this e-mail or contact\n\
                 your account manager. Your invoices are in the Billing Portal: {base}/billing",
                org = org.name,
                end = day(t.term_end),
                when = match (t.term_end - today).num_days() {
                    0 => "today".to_string(),
                    1 => "tomorrow".to_string(),
                    n => format!("in {n} days"),
                },
            ),
        ),
        EndNotice::Ended => (
            format!("Your subscription has ended ({})", org.name),
            format!(
                "The subscription of {org} ended on {end} and its grace period on {closes}. The Support\n\
                 Portal and everything your subscription opened are now closed. Renew it to open them\n\
                 again: reply to this e-mail or contact your account manager. Your invoices stay in the\n\
                 Billing Portal: {base}/billing",
                org = org.name,
                end = day(t.term_end),
                closes = day(closes),
            ),
        ),
    };
    enqueue(txn, notice(&to, "subscription_notice", subject, text)).await
}
