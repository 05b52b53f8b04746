//! The subscription life cycle. The services are called directly (no HTTP
//! server): the scheduler's notices and expiry on chosen days, renewing and
//! cancelling with their refusals. Then through the server: a cancelled
//! subscription closes the Support Portal at once and a renewal opens it.

use chrono::{Duration as Days, NaiveDate, Utc};
use clap::Parser as _;
use sea_orm::{ActiveModelTrait, IntoActiveModel, QueryOrder, Set};

use super::common::{drop_database, fresh_database, tempdir::TempDir};
use super::*;
use app::core::actor::{Actor, ActorRole};
use app::core::ctx::Ctx;
use app::core::entitlements::{self, Standing};
use app::core::state::AppState;
use app::customers::ssr::subscriptions::{cancel, renew, sweep};
use app::error::AppError;
use entity::{subscription_notice, EndNotice, SubscriptionStatus};

backend_tests!(subscription_services_run_without_a_server);
db_tests!(a_cancelled_subscription_closes_the_support_portal_at_once);

/// Migrated demo data and the state the server would build, with no server.
async fn services(backend: Backend) -> Option<(AppState, TempDir, Option<(String, String)>)> {
    let dir = TempDir::new();
    let (url, pg) = fresh_database(backend, &dir).await?;
    let config = server::config::Cli::parse_from([
        "server",
        "--database-url",
        &url,
        "--data-dir",
        &dir.0.display().to_string(),
        "--subscription-grace-days",
        "7",
    ])
    .config;
    let db = server::connect(&url).await.expect("connect");
    server::migrate(&db).await.expect("migrate");
    assert!(server::seed::load_demo_if_empty(&db).await.expect("seed"));
    Some((server::state(&config, db), dir, pg))
}

async fn staff(state: &AppState, email: &str) -> Ctx {
    let u = user::Entity::find()
        .filter(user::Column::Email.eq(email))
        .one(&state.db)
        .await
        .unwrap()
        .unwrap();
    Ctx {
        state: state.clone(),
        actor: Actor {
            user_id: u.id,
            session_id_hash: String::new(),
            name: u.name,
            email: u.email,
            role: ActorRole::Staff(u.staff_role.unwrap()),
        },
        client_addr: Some("192.0.2.1".into()),
    }
}

async fn notices_to(state: &AppState, to: &str) -> Vec<String> {
    outbox_message::Entity::find()
        .filter(outbox_message::Column::ToAddr.eq(to))
        .filter(outbox_message::Column::Kind.starts_with("subscription_"))
        .order_by_asc(outbox_message::Column::Id)
        .all(&state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.subject)
        .collect()
}

async fn standing(state: &AppState, org: i32, on: NaiveDate) -> Standing {
    entitlements::of_organization(&state.db, org, on, 7)
        .await
        .unwrap()
        .standing
}

fn field(e: AppError) -> Vec<String> {
    match e {
        AppError::Invalid { field, .. } => field.into_iter().collect(),
        AppError::Form { problems } => problems.into_iter().map(|p| p.field).collect(),
        other => panic!("expected a refusal naming fields, got {other:?}"),
    }
}

async fn subscription_services_run_without_a_server(backend: Backend) {
    let Some((state, _dir, pg)) = services(backend).await else {
        return;
    };
    let db = &state.db;
    let acme = organization::Entity::find()
        .filter(organization::Column::Name.eq("Acme Corp"))
        .one(db)
        .await
        .unwrap()
        .expect("demo organization");
    let today = Utc::now().date_naive();
    let end = today + Days::days(31);
    let term = subscription::Entity::find()
        .filter(subscription::Column::OrganizationId.eq(acme.id))
        .one(db)
        .await
        .unwrap()
        .unwrap();
    let mut a = term.clone().into_active_model();
    a.term_end = Set(end);
    a.update(db).await.unwrap();
    let main = "main@acme.example";
    let before = |days: i64| end - Days::days(days);

    // Each notice on the first day of its window, once, however often (and
    // however concurrently) the scheduler runs.
    sweep(&state, before(31)).await.unwrap();
    assert!(
        notices_to(&state, main).await.is_empty(),
        "31 days before: nothing yet"
    );
    let (a, b) = tokio::join!(sweep(&state, before(30)), sweep(&state, before(30)));
    a.unwrap();
    b.unwrap();
    let sent = notices_to(&state, main).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].contains(&end.to_string()), "{sent:?}");
    sweep(&state, before(8)).await.unwrap();
    assert_eq!(
        notices_to(&state, main).await.len(),
        1,
        "8 days before: no second notice"
    );
    let (a, b) = tokio::join!(sweep(&state, before(7)), sweep(&state, before(7)));
    a.unwrap();
    b.unwrap();
    sweep(&state, end).await.unwrap();
    assert_eq!(notices_to(&state, main).await.len(), 2);
    let mail = outbox_message::Entity::find()
        .filter(outbox_message::Column::ToAddr.eq(main))
        .filter(outbox_message::Column::Kind.eq("subscription_notice"))
        .order_by_asc(outbox_message::Column::Id)
        .all(db)
        .await
        .unwrap();
    assert!(mail[1].body.contains("in 7 days"), "{}", mail[1].body);

    // Open through the grace period, closed the day after, before the scheduler records it.
    assert_eq!(
        standing(&state, acme.id, end).await,
        Standing::Active { term_end: end }
    );
    assert!(matches!(
        standing(&state, acme.id, end + Days::days(7)).await,
        Standing::Grace { .. }
    ));
    let lapsed = Standing::Lapsed {
        term_end: end,
        status: SubscriptionStatus::Expired,
    };
    assert_eq!(standing(&state, acme.id, end + Days::days(8)).await, lapsed);
    // Within the grace period the scheduler leaves it alone.
    sweep(&state, end + Days::days(7)).await.unwrap();
    let t = subscription::Entity::find_by_id(term.id)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(t.status, SubscriptionStatus::Active);
    // After it: expired, recorded, and the Main Contact told once.
    sweep(&state, end + Days::days(8)).await.unwrap();
    sweep(&state, end + Days::days(9)).await.unwrap();
    let t = subscription::Entity::find_by_id(term.id)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(t.status, SubscriptionStatus::Expired);
    let sent = notices_to(&state, main).await;
    assert_eq!(sent.len(), 3, "{sent:?}");
    assert!(
        sent[2].starts_with("Your subscription has ended"),
        "{sent:?}"
    );
    let kinds: Vec<EndNotice> = subscription_notice::Entity::find()
        .filter(subscription_notice::Column::SubscriptionId.eq(term.id))
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.kind)
        .collect();
    assert_eq!(kinds.len(), 3, "{kinds:?}");
    let expired = audit_event::Entity::find()
        .filter(audit_event::Column::Action.eq("subscription.expired"))
        .filter(audit_event::Column::OrganizationId.eq(acme.id))
        .count(db)
        .await
        .unwrap();
    assert_eq!(expired, 1);

    // Renewing: only roles with the capability; bad dates name the field and change nothing.
    let admin = staff(&state, "admin@example.com").await;
    let agent = staff(&state, "agent@example.com").await;
    let clerk = staff(&state, "billing@example.com").await;
    let later = (end + Days::days(400)).to_string();
    assert!(matches!(
        renew(&agent, acme.id, &later).await,
        Err(AppError::Forbidden)
    ));
    for bad in ["", "next year", &end.to_string()] {
        let e = renew(&admin, acme.id, bad).await.unwrap_err();
        assert_eq!(field(e), ["term_end"], "{bad:?}");
    }
    let terms = || {
        subscription::Entity::find()
            .filter(subscription::Column::OrganizationId.eq(acme.id))
            .count(db)
    };
    assert_eq!(terms().await.unwrap(), 1);
    let new_id = renew(&admin, acme.id, &later).await.unwrap();
    let new = subscription::Entity::find_by_id(new_id)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (new.term_start, new.term_end.to_string(), new.level_id),
        (end + Days::days(1), later.clone(), term.level_id),
        "the new term follows the last one, at its level"
    );
    assert!(matches!(
        standing(&state, acme.id, end + Days::days(9)).await,
        Standing::Active { .. }
    ));

    // Cancelling: confirmed and with a reason, else nothing changes.
    assert!(matches!(
        cancel(&agent, acme.id, "Contract ended", true).await,
        Err(AppError::Forbidden)
    ));
    let mut refused = field(cancel(&clerk, acme.id, " ", false).await.unwrap_err());
    refused.sort();
    assert_eq!(refused, ["confirm", "reason"]);
    let new = subscription::Entity::find_by_id(new_id)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(new.status, SubscriptionStatus::Active);
    cancel(&clerk, acme.id, "Contract ended early", true)
        .await
        .unwrap();
    let sent = notices_to(&state, main).await;
    assert_eq!(sent.len(), 4, "{sent:?}");
    assert!(sent[3].contains("cancelled"), "{sent:?}");
    assert!(matches!(
        standing(&state, acme.id, end + Days::days(9)).await,
        Standing::Lapsed {
            status: SubscriptionStatus::Cancelled,
            ..
        }
    ));
    // Nothing left to cancel: a clear refusal, no second e-mail.
    let e = cancel(&clerk, acme.id, "Again", true).await.unwrap_err();
    assert_eq!(field(e), ["reason"]);
    assert_eq!(notices_to(&state, main).await.len(), 4);
    let _ = state.db.clone().close().await;
    if let Some(pg) = pg {
        drop_database(pg).await;
    }
}

async fn a_cancelled_subscription_closes_the_support_portal_at_once(srv: &TestServer) {
    let tech = srv.sign_in("tech1@acme.example").await;
    let main = srv.sign_in("main@acme.example").await;
    let clerk = srv.sign_in("billing@example.com").await;
    let agent = srv.sign_in("agent@example.com").await;
    let acme = org_id(srv, "Acme Corp").await.to_string();
    assert_eq!(srv.get("/support", Some(&tech)).await.status(), 200);
    let res = srv
        .call(
            "open_ticket",
            Some(&tech),
            &[
                ("ticket[subject]", "Before cancelling"),
                ("ticket[description]", "A question."),
                ("ticket[severity]", "3"),
            ],
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let ticket = res.json::<i32>().await.unwrap().to_string();
    let reply = |body: &'static str| {
        let (agent, ticket) = (agent.clone(), ticket.clone());
        async move {
            let res = srv
                .call(
                    "add_comment",
                    Some(&agent),
                    &[("ticket_id", ticket.as_str()), ("body", body)],
                )
                .await;
            assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
        }
    };
    let replies_to_tech = || async {
        mail_to(srv, "tech1@acme.example")
            .await
            .iter()
            .filter(|m| m.body.contains("Reply number"))
            .count()
    };
    reply("Reply number one").await;
    assert_eq!(replies_to_tech().await, 1, "the positive control");

    // Refused without the confirmation: still open.
    let res = srv
        .call(
            "cancel_subscription",
            Some(&clerk),
            &[("organization_id", &acme), ("reason", "Unpaid")],
        )
        .await;
    assert_eq!(res.status(), 400);
    let refusal = res.text().await.unwrap();
    assert!(
        refusal.contains("\"confirm\"") && refusal.contains("Tick the box"),
        "{refusal}"
    );
    assert_eq!(srv.get("/support", Some(&tech)).await.status(), 200);

    let res = srv
        .call(
            "cancel_subscription",
            Some(&clerk),
            &[
                ("organization_id", &acme),
                ("reason", "Unpaid"),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    // The same session, the next request: closed everywhere it opened.
    assert_eq!(srv.get("/support", Some(&tech)).await.status(), 403);
    let res = srv
        .call(
            "open_ticket",
            Some(&tech),
            &[
                ("ticket[subject]", "After cancelling"),
                ("ticket[description]", "Is support still open?"),
                ("ticket[severity]", "3"),
            ],
        )
        .await;
    assert_eq!(res.status(), 403);
    assert_eq!(
        srv.call("list_tickets", Some(&tech), &[]).await.status(),
        403
    );
    // Staff may still write on the ticket, but no mail reaches the closed organization.
    reply("Reply number two").await;
    assert_eq!(replies_to_tech().await, 1);
    // The account page says why; the Billing Portal stays open to pay and read invoices.
    let viewer: Value = srv
        .call("current_viewer", Some(&tech), &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(viewer["landing"], "Account");
    assert!(
        viewer["subscription_note"]
            .as_str()
            .is_some_and(|n| n.contains("Cancelled")),
        "{viewer}"
    );
    assert_eq!(srv.get("/billing", Some(&main)).await.status(), 200);
    assert!(mail_to(srv, "main@acme.example")
        .await
        .iter()
        .any(|m| m.subject.contains("cancelled") && m.body.contains("Unpaid")));

    // Renewed: open again at once.
    let until = (Utc::now().date_naive() + Days::days(365)).to_string();
    let res = srv
        .call(
            "renew_subscription",
            Some(&clerk),
            &[("organization_id", &acme), ("term_end", &until)],
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert_eq!(srv.get("/support", Some(&tech)).await.status(), 200);
    reply("Reply number three").await;
    assert_eq!(replies_to_tech().await, 2);
    // The staff page shows the terms and where they stand.
    let page = srv
        .get(&format!("/staff/organizations/{acme}"), Some(&clerk))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("All terms") && page.contains("Cancelled"),
        "{page}"
    );
    assert!(page.contains(&format!("Active until {until}")));
}
