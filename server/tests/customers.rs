//! Customers: order intake, contacts and their rules, activation links,
//! mail through a real SMTP server, and who may do what. SQLite and PostgreSQL.

mod common;
#[path = "customers/products.rs"]
mod products;
#[path = "customers/subscriptions.rs"]
mod subscriptions;

use std::time::Duration;

use common::{
    activate, call_form, contact_id, level_id, mail_to, order, org_id, outbox, session_cookie,
    token_in, Backend, SmtpSink, TestServer, PASSWORD,
};
use entity::{
    activation_link, audit_event, contact, level, organization, outbox_message, subscription, user,
};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::Value;

db_tests!(
    processing_an_order_creates_everything_and_queues_the_welcome_mail,
    order_validation_names_every_field_and_saves_nothing,
    a_sole_main_contact_gets_both_messages_and_the_support_portal,
    activation_links_are_single_use_expire_and_are_revoked_by_a_resend,
    contact_rules_hold,
    authorization_matrix,
    administrators_manage_the_catalog,
    only_administrators_and_the_main_contact_change_sign_in_addresses,
    a_new_sign_in_address_ends_sessions_and_old_links_and_tells_the_old_address,
);

async fn processing_an_order_creates_everything_and_queues_the_welcome_mail(srv: &TestServer) {
    let staff = srv.sign_in("billing@example.com").await;
    let lvl = level_id(srv, "Standard").await;
    let form = order(
        "Initech",
        &lvl,
        "Boss@Initech.example",
        &[
            ("Peter Tech", "peter@initech.example", false),
            ("Ops List", "ops@initech.example", true),
        ],
    );
    let res = call_form(srv, "process_order", Some(&staff), &form).await;
    assert_eq!(res.status(), 200);
    let id: i32 = res.json().await.unwrap();

    let db = &srv.state.db;
    let org = organization::Entity::find_by_id(id)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (org.name.as_str(), org.vat_id.as_deref()),
        ("Initech", Some("ES12345678"))
    );
    let sub = subscription::Entity::find()
        .filter(subscription::Column::OrganizationId.eq(id))
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (sub.status.as_str(), sub.purchase_order.as_deref()),
        ("active", Some("PO-77"))
    );
    let contacts = contact::Entity::find()
        .filter(contact::Column::OrganizationId.eq(id))
        .all(db)
        .await
        .unwrap();
    assert_eq!(contacts.len(), 3);
    assert_eq!(contacts.iter().filter(|c| c.is_main).count(), 1);
    assert!(
        contacts
            .iter()
            .any(|c| c.email == "boss@initech.example" && c.is_main),
        "e-mail lower-cased"
    );
    assert!(contacts
        .iter()
        .any(|c| c.email == "ops@initech.example" && c.is_distribution_list && c.is_technical));
    for c in &contacts {
        let u = user::Entity::find_by_id(c.user_id.unwrap())
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert!(u.password_hash.is_none(), "pending until activated");
    }

    let mails = mail_to(srv, "boss@initech.example").await;
    let kinds: Vec<&str> = mails.iter().map(|m| m.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["document", "welcome"],
        "the Main Contact gets the first invoice and the Welcome, not the Support Welcome (there are Technical Contacts)"
    );
    let welcome: Vec<_> = mails.into_iter().filter(|m| m.kind == "welcome").collect();
    assert!(welcome[0].subject.contains("Welcome") && welcome[0].subject.contains("Standard"));
    for needle in [
        "Initech",
        "2027-01-01 to 2027-12-31",
        "/billing",
        "PO-77",
        "9000.00 EUR",
    ] {
        assert!(
            welcome[0].body.contains(needle),
            "welcome lacks {needle}: {}",
            welcome[0].body
        );
    }
    for tech in ["peter@initech.example", "ops@initech.example"] {
        let m = mail_to(srv, tech).await;
        assert_eq!(m.len(), 1);
        assert!(m[0].subject.contains("Support Portal"));
        // Only the hash of the link's token is stored.
        let token = token_in(&m[0].body);
        assert_eq!(token.len(), 43, "256 bits, base64url");
        let link = activation_link::Entity::find()
            .filter(
                activation_link::Column::TokenHash.eq(app::auth::ssr::session::hash_token(&token)),
            )
            .one(db)
            .await
            .unwrap();
        assert!(link.is_some());
        assert_eq!(
            activation_link::Entity::find()
                .filter(activation_link::Column::TokenHash.eq(token))
                .count(db)
                .await
                .unwrap(),
            0
        );
    }
    let audit = audit_event::Entity::find()
        .filter(audit_event::Column::OrganizationId.eq(id))
        .all(db)
        .await
        .unwrap();
    assert!(audit.iter().any(|a| a.action == "order.processed"));

    // Staff see the audit trail on the organization page; the page lists the contacts.
    let view: Value = srv
        .call(
            "load_organization",
            Some(&staff),
            &[("organization_id", &id.to_string())],
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(view["contacts"].as_array().unwrap().len(), 3);
    assert!(view["audit"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["action"] == "order.processed"));
}

async fn order_validation_names_every_field_and_saves_nothing(srv: &TestServer) {
    let staff = srv.sign_in("admin@example.com").await;
    let count = |srv: &TestServer| {
        let db = srv.state.db.clone();
        async move {
            (
                organization::Entity::find().count(&db).await.unwrap(),
                user::Entity::find().count(&db).await.unwrap(),
                outbox_message::Entity::find().count(&db).await.unwrap(),
            )
        }
    };
    let before = count(srv).await;
    let problems = |v: &Value| -> Vec<(String, String)> {
        v["problems"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|p| {
                        (
                            p["field"].as_str().unwrap().to_string(),
                            p["message"].as_str().unwrap().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };

    // Nothing filled in.
    let res = srv
        .call(
            "process_order",
            Some(&staff),
            &[("order[organization_name]", "")],
        )
        .await;
    assert_eq!(res.status(), 400);
    let v: Value = res.json().await.unwrap();
    let fields: Vec<String> = problems(&v).into_iter().map(|p| p.0).collect();
    for f in [
        "organization_name",
        "legal_name",
        "address",
        "level_id",
        "term_start",
        "term_end",
        "main_name",
        "main_email",
        "payment_method",
    ] {
        assert!(
            fields.contains(&f.to_string()),
            "{f} not reported: {fields:?}"
        );
    }

    // Each mistake is named, with what to do.
    let basic = level_id(srv, "Basic").await;
    let mut f = order(
        "Umbrella",
        &basic,
        "not-an-email",
        &[
            ("A", "tech1@acme.example", false),
            ("B", "b@umbrella.example", false),
        ],
    );
    for (k, v) in f.iter_mut() {
        if k == "order[term_end]" {
            *v = "2026-06-01".into();
        }
    }
    let v: Value = call_form(srv, "process_order", Some(&staff), &f)
        .await
        .json()
        .await
        .unwrap();
    let p = problems(&v);
    let msg = |field: &str| {
        p.iter()
            .find(|x| x.0 == field)
            .map(|x| x.1.clone())
            .unwrap_or_else(|| panic!("{field} missing in {p:?}"))
    };
    assert!(msg("main_email").contains("not an e-mail address"));
    assert!(msg("term_end").contains("end after it starts"));
    assert!(msg("technical_contacts").contains("allows 1 Technical Contact"));
    assert!(msg("technical_contacts.0.email").contains("already has a Portico account"));

    // Duplicate address inside the form.
    let f = order(
        "Umbrella",
        &basic,
        "same@umbrella.example",
        &[("A", "same@umbrella.example", false)],
    );
    let v: Value = call_form(srv, "process_order", Some(&staff), &f)
        .await
        .json()
        .await
        .unwrap();
    assert!(problems(&v)
        .iter()
        .any(|p| p.0 == "technical_contacts.0.email" && p.1.contains("twice")));

    // A missing Main Contact.
    let mut f = order("Umbrella", &basic, "", &[]);
    f.retain(|(k, _)| k != "order[main_name]");
    let v: Value = call_form(srv, "process_order", Some(&staff), &f)
        .await
        .json()
        .await
        .unwrap();
    let fields: Vec<String> = problems(&v).into_iter().map(|p| p.0).collect();
    assert!(fields.contains(&"main_name".into()) && fields.contains(&"main_email".into()));

    assert_eq!(count(srv).await, before, "a refused order changes nothing");
}

async fn a_sole_main_contact_gets_both_messages_and_the_support_portal(srv: &TestServer) {
    let staff = srv.sign_in("billing@example.com").await;
    let basic = level_id(srv, "Basic").await;
    let res = call_form(
        srv,
        "process_order",
        Some(&staff),
        &order("Solo Ltd", &basic, "only@solo.example", &[]),
    )
    .await;
    assert_eq!(res.status(), 200);
    let mails: Vec<_> = mail_to(srv, "only@solo.example")
        .await
        .into_iter()
        .filter(|m| m.kind != "document")
        .collect();
    assert_eq!(mails.len(), 2, "Welcome and Support Welcome");
    assert!(
        mails.iter().any(|m| m.kind == "welcome")
            && mails.iter().any(|m| m.kind == "support_welcome")
    );
    let token = token_in(&mails[0].body);
    assert_eq!(token, token_in(&mails[1].body), "one account, one link");

    let res = activate(srv, &token, "solo password 123").await;
    assert_eq!(res.status(), 200);
    let cookie = session_cookie(&res).unwrap();
    assert_eq!(res.json::<String>().await.unwrap(), "/support");
    assert_eq!(srv.get("/support", Some(&cookie)).await.status(), 200);
    assert_eq!(srv.get("/billing", Some(&cookie)).await.status(), 200);
    assert_eq!(
        srv.sign_in_response("only@solo.example", "solo password 123")
            .await
            .status(),
        200
    );
}

async fn activation_links_are_single_use_expire_and_are_revoked_by_a_resend(srv: &TestServer) {
    let staff = srv.sign_in("admin@example.com").await;
    let std = level_id(srv, "Standard").await;
    let form = order(
        "Links Inc",
        &std,
        "main@links.example",
        &[
            ("One", "one@links.example", false),
            ("Two", "two@links.example", false),
            ("Three", "three@links.example", false),
        ],
    );
    assert_eq!(
        call_form(srv, "process_order", Some(&staff), &form)
            .await
            .status(),
        200
    );
    let token_of = |mails: Vec<outbox_message::Model>| token_in(&mails.last().unwrap().body);

    // Used once, then refused.
    let t1 = token_of(mail_to(srv, "one@links.example").await);
    let res = activate(srv, &t1, "first password!").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<String>().await.unwrap(), "/support");
    let res = activate(srv, &t1, "second password!").await;
    assert_eq!(res.status(), 400);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("cannot be used any more"));
    assert_eq!(
        srv.sign_in_response("one@links.example", "second password!")
            .await
            .status(),
        401
    );

    // Tampered.
    let t2 = token_of(mail_to(srv, "two@links.example").await);
    let mut tampered = t2.clone();
    tampered.replace_range(0..1, if t2.starts_with('A') { "B" } else { "A" });
    assert_eq!(
        activate(srv, &tampered, "some password!").await.status(),
        400
    );

    // Re-sent: the old link dies, the new one works.
    let two = contact_id(srv, "two@links.example").await;
    let res = srv
        .call(
            "resend_activation",
            Some(&staff),
            &[("contact_id", &two.to_string())],
        )
        .await;
    assert_eq!(res.status(), 200);
    let t2b = token_of(mail_to(srv, "two@links.example").await);
    assert_ne!(t2, t2b);
    assert_eq!(activate(srv, &t2, "some password!").await.status(), 400);
    assert_eq!(activate(srv, &t2b, "some password!").await.status(), 200);

    // Expired.
    let t3 = token_of(mail_to(srv, "three@links.example").await);
    activation_link::Entity::update_many()
        .col_expr(
            activation_link::Column::ExpiresAt,
            sea_orm::sea_query::Expr::value(chrono::Utc::now() - chrono::Duration::seconds(1)),
        )
        .filter(activation_link::Column::TokenHash.eq(app::auth::ssr::session::hash_token(&t3)))
        .exec(&srv.state.db)
        .await
        .unwrap();
    assert_eq!(activate(srv, &t3, "some password!").await.status(), 400);

    // Weak password: says what to fix and burns nothing.
    let main = token_of(mail_to(srv, "main@links.example").await);
    let res = activate(srv, &main, "short").await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("at least 12"));
    let res = activate(srv, &main, "long enough password").await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<String>().await.unwrap(),
        "/billing",
        "a Main Contact with Technical Contacts lands in billing"
    );
}

async fn contact_rules_hold(srv: &TestServer) {
    let db = &srv.state.db;
    let acme = org_id(srv, "Acme Corp").await;
    let main = srv.sign_in("main@acme.example").await;
    let add = |cookie: String, role: &'static str, name: &'static str, email: &'static str| async move {
        srv.call(
            "add_contact",
            Some(&cookie),
            &[
                ("role", role),
                ("name", name),
                ("email", email),
                ("phone", ""),
            ],
        )
        .await
    };

    // Technical Contact limit (Standard: 3; Acme has 2).
    let res = add(
        main.clone(),
        "technical",
        "Third Tech",
        "tech3@acme.example",
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<String>().await.unwrap(), "Added");
    let res = add(
        main.clone(),
        "technical",
        "Fourth Tech",
        "tech4@acme.example",
    )
    .await;
    assert_eq!(
        res.json::<String>().await.unwrap(),
        "Requested",
        "over the limit: staff decide"
    );
    assert!(contact::Entity::find()
        .filter(contact::Column::Email.eq("tech4@acme.example"))
        .one(db)
        .await
        .unwrap()
        .is_none());
    let agent = srv.sign_in("agent@example.com").await;
    let queue: Value = srv
        .call("load_staff_queue", Some(&agent), &[])
        .await
        .json()
        .await
        .unwrap();
    let req_id = queue["contact_requests"][0]["id"]
        .as_i64()
        .unwrap()
        .to_string();
    assert_eq!(
        srv.call(
            "decide_contact_request",
            Some(&agent),
            &[("request_id", &req_id), ("approve", "true")]
        )
        .await
        .status(),
        200
    );
    assert!(contact::Entity::find()
        .filter(contact::Column::Email.eq("tech4@acme.example"))
        .one(db)
        .await
        .unwrap()
        .is_some());
    assert!(
        mail_to(srv, "main@acme.example")
            .await
            .iter()
            .any(|m| m.subject.starts_with("Approved")),
        "the Main Contact is told"
    );
    let again = srv
        .call(
            "decide_contact_request",
            Some(&agent),
            &[("request_id", &req_id), ("approve", "false")],
        )
        .await;
    assert_eq!(again.status(), 400, "decided once");

    // A customer is not told whether an address has an account elsewhere.
    let res = add(main.clone(), "technical", "Someone", "main@globex.example").await;
    assert_eq!(res.status(), 400);
    let body = res.text().await.unwrap();
    assert!(
        body.contains("cannot be used") && !body.contains("already has a Portico account"),
        "{body}"
    );
    // One-line fields stay on one line (they end up in e-mails).
    let res = srv
        .call(
            "add_contact",
            Some(&main),
            &[
                ("role", "technical"),
                ("name", "Bob\n\nYour account is locked"),
                ("email", "bob@acme.example"),
                ("phone", ""),
            ],
        )
        .await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("one line"));

    // At most one Administrative Contact.
    assert_eq!(
        add(
            main.clone(),
            "administrative",
            "Ada Books",
            "books@acme.example"
        )
        .await
        .status(),
        200
    );
    let res = add(
        main.clone(),
        "administrative",
        "Other Books",
        "books2@acme.example",
    )
    .await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("only one"));

    // Exactly one Main Contact, always.
    let tech1 = contact_id(srv, "tech1@acme.example").await;
    let res = srv
        .call(
            "transfer_main_contact",
            Some(&main),
            &[("contact_id", &tech1.to_string())],
        )
        .await;
    assert_eq!(res.status(), 200);
    let mains = contact::Entity::find()
        .filter(contact::Column::OrganizationId.eq(acme))
        .filter(contact::Column::IsMain.eq(true))
        .filter(contact::Column::Active.eq(true))
        .all(db)
        .await
        .unwrap();
    assert_eq!(mains.len(), 1);
    assert_eq!(mains[0].email, "tech1@acme.example");
    // The former Main Contact no longer manages contacts; the new one does.
    let res = srv
        .call(
            "deactivate_contact",
            Some(&main),
            &[(
                "contact_id",
                &contact_id(srv, "tech2@acme.example").await.to_string(),
            )],
        )
        .await;
    assert_eq!(res.status(), 403);
    let new_main = srv.sign_in("tech1@acme.example").await;
    let res = srv
        .call(
            "deactivate_contact",
            Some(&new_main),
            &[("contact_id", &tech1.to_string())],
        )
        .await;
    assert_eq!(res.status(), 400, "the Main Contact cannot be deactivated");
    // The database holds the rule too.
    let dup = contact::Entity::update_many()
        .col_expr(
            contact::Column::IsMain,
            sea_orm::sea_query::Expr::value(true),
        )
        .filter(contact::Column::Email.eq("tech2@acme.example"))
        .exec(db)
        .await;
    assert!(
        dup.is_err(),
        "a second Main Contact violates the unique index"
    );

    // A deactivated contact is signed out at once and cannot sign in.
    let tech2_session = srv.sign_in("tech2@acme.example").await;
    let tech2 = contact_id(srv, "tech2@acme.example").await;
    assert_eq!(
        srv.call(
            "deactivate_contact",
            Some(&new_main),
            &[("contact_id", &tech2.to_string())]
        )
        .await
        .status(),
        200
    );
    assert_eq!(srv.whoami(&tech2_session).await, None);
    assert_eq!(
        srv.sign_in_response("tech2@acme.example", PASSWORD)
            .await
            .status(),
        401
    );

    // Every change left an audit event.
    let actions: Vec<String> = audit_event::Entity::find()
        .filter(audit_event::Column::OrganizationId.eq(acme))
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.action)
        .collect();
    for a in [
        "contact.added",
        "contact.requested",
        "contact_request.approved",
        "contact.main_transferred",
        "contact.deactivated",
    ] {
        assert!(
            actions.contains(&a.to_string()),
            "{a} not audited: {actions:?}"
        );
    }
    // Customers do not see the audit trail.
    let view: Value = srv
        .call("load_organization", Some(&new_main), &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(view["audit"].as_array().unwrap().len(), 0);
}

/// Every server function of this feature, for every kind of person, with
/// objects of their own and of another organization.
async fn authorization_matrix(srv: &TestServer) {
    let acme = org_id(srv, "Acme Corp").await.to_string();
    let globex_main = contact_id(srv, "main@globex.example").await.to_string();
    let acme_tech2 = contact_id(srv, "tech2@acme.example").await.to_string();
    let (people, cookies) = common::matrix_people(srv).await;
    // Expected status per person, in the order of `people`:
    //          anon admin agent billing main-A tech-A admin-A main-G tech-G
    type Case<'a> = (&'a str, Vec<(&'a str, String)>, [u16; 9]);
    let cases: Vec<Case> = vec![
        (
            "list_levels",
            vec![],
            [401, 200, 200, 200, 403, 403, 403, 403, 403],
        ),
        (
            "load_catalog",
            vec![],
            [401, 200, 200, 200, 403, 403, 403, 403, 403],
        ),
        (
            "create_program",
            vec![("name", "".into()), ("description", "".into())],
            [401, 400, 403, 403, 403, 403, 403, 403, 403],
        ),
        (
            "save_level",
            vec![("level[name]", "".into())],
            [401, 400, 403, 403, 403, 403, 403, 403, 403],
        ),
        (
            "process_order",
            vec![("order[organization_name]", "".into())],
            [401, 400, 403, 400, 403, 403, 403, 403, 403],
        ),
        (
            "load_organization",
            vec![],
            [401, 400, 400, 400, 200, 403, 200, 200, 403],
        ),
        (
            "load_organization",
            vec![("organization_id", acme.clone())],
            [401, 200, 200, 200, 200, 403, 200, 404, 404],
        ),
        (
            "update_contact",
            vec![
                ("contact_id", acme_tech2.clone()),
                ("name", "Tina Tech".into()),
                ("email", "tech2@acme.example".into()),
                ("phone", "".into()),
            ],
            [401, 200, 200, 403, 200, 403, 403, 404, 404],
        ),
        (
            "add_contact",
            vec![
                ("organization_id", acme.clone()),
                ("role", "bogus".into()),
                ("name", "X".into()),
                ("email", "x@acme.example".into()),
                ("phone", "".into()),
            ],
            [401, 400, 400, 400, 400, 403, 403, 404, 404],
        ),
        (
            "deactivate_contact",
            vec![("contact_id", globex_main.clone())],
            [401, 400, 403, 400, 404, 404, 404, 400, 403],
        ),
        (
            "transfer_main_contact",
            vec![("contact_id", globex_main.clone())],
            [401, 400, 403, 400, 404, 404, 404, 400, 403],
        ),
        (
            "remove_administrative_role",
            vec![("contact_id", acme_tech2.clone())],
            [401, 400, 403, 400, 400, 403, 403, 404, 404],
        ),
        (
            "resend_activation",
            vec![("contact_id", acme_tech2.clone())],
            [401, 400, 400, 403, 403, 403, 403, 403, 403],
        ),
        (
            "decide_contact_request",
            vec![("request_id", "999999".into()), ("approve", "true".into())],
            [401, 404, 404, 403, 403, 403, 403, 403, 403],
        ),
        (
            "declare_servers",
            vec![
                ("organization_id", acme.clone()),
                ("name", "n".into()),
                ("kind", "k".into()),
                ("quantity", "0".into()),
                ("note", "".into()),
            ],
            [401, 400, 400, 403, 400, 403, 403, 404, 404],
        ),
        (
            "decide_server_declaration",
            vec![
                ("declaration_id", "999999".into()),
                ("accept", "true".into()),
            ],
            [401, 404, 404, 403, 403, 403, 403, 403, 403],
        ),
        (
            "set_ticket_sharing",
            vec![
                ("organization_id", acme.clone()),
                ("shared", "false".into()),
            ],
            [401, 200, 200, 403, 403, 403, 403, 403, 403],
        ),
        (
            "load_staff_queue",
            vec![],
            [401, 200, 200, 200, 403, 403, 403, 403, 403],
        ),
        (
            "load_outbox",
            vec![("page", "0".into())],
            [401, 200, 403, 403, 403, 403, 403, 403, 403],
        ),
        (
            "load_support_dashboard",
            vec![("period", "7d".into())],
            [401, 200, 200, 403, 403, 403, 403, 403, 403],
        ),
        (
            "load_live_figures",
            vec![],
            [401, 200, 200, 403, 403, 403, 403, 403, 403],
        ),
        (
            "load_business_dashboard",
            vec![],
            [401, 200, 403, 200, 403, 403, 403, 403, 403],
        ),
        (
            "load_organization_record",
            vec![("organization_id", acme.clone())],
            [401, 200, 200, 200, 403, 403, 403, 403, 403],
        ),
        (
            "load_organization_record",
            vec![("organization_id", "999999".into())],
            [401, 404, 404, 404, 403, 403, 403, 403, 403],
        ),
        (
            // An Administrative Contact is answered with no record.
            "load_customer_record",
            vec![],
            [401, 403, 403, 403, 200, 403, 200, 200, 403],
        ),
        (
            // Staff by role, and whoever uses the Support Portal.
            "search",
            vec![("q", "disk".into())],
            [401, 200, 200, 200, 403, 200, 403, 403, 200],
        ),
        (
            "search",
            vec![("q", "disk".into()), ("kind", "document".into())],
            [401, 200, 400, 200, 403, 400, 403, 403, 400],
        ),
        (
            "activate_account",
            vec![
                ("token", "forged".into()),
                ("new_password", "long enough password".into()),
                ("confirm_password", "long enough password".into()),
            ],
            [400; 9],
        ),
    ];
    for (endpoint, args, expected) in cases {
        let form: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
        for ((person, cookie), want) in people.iter().zip(&cookies).zip(expected) {
            let res = srv.call(endpoint, cookie.as_deref(), &form).await;
            let status = res.status().as_u16();
            let body = res.text().await.unwrap();
            assert_eq!(status, want, "{person} → {endpoint}({args:?}): {body}");
            if person.contains('@') && !person.ends_with("example.com") {
                // Nothing of another organization, ever, in any answer.
                let foreign = if person.contains("globex") {
                    "Acme"
                } else {
                    "Globex"
                };
                assert!(
                    !body.contains(foreign),
                    "{person} → {endpoint} leaked {foreign}: {body}"
                );
            }
        }
    }
}

fn level_form(program: &str, name: &str, price: &str) -> Vec<(String, String)> {
    let mut f: Vec<(String, String)> = [
        ("program_id", program),
        ("name", name),
        ("max_technical_contacts", "4"),
        ("included_servers", "20"),
        ("repository_channels", "stable, edge"),
        ("kb_tier", "premium"),
        ("price", price),
        ("currency", "usd"),
        ("billing_period", "monthly"),
        ("timezone", "America/New_York"),
        ("business_days", "1-5"),
        ("business_hours_start", "08:00"),
        ("business_hours_end", "17:30"),
        ("holidays", "2027-07-04, 2027-12-25"),
    ]
    .into_iter()
    .map(|(k, v)| (format!("level[{k}]"), v.to_string()))
    .collect();
    for (i, (first, next, res)) in [
        (30, 60, 480),
        (120, 240, 1440),
        (480, 960, 4320),
        (1440, 2880, 10080),
    ]
    .iter()
    .enumerate()
    {
        f.push((
            format!("level[sla][{i}][first_response_minutes]"),
            first.to_string(),
        ));
        f.push((
            format!("level[sla][{i}][next_response_minutes]"),
            next.to_string(),
        ));
        f.push((
            format!("level[sla][{i}][resolution_minutes]"),
            res.to_string(),
        ));
        if i == 0 {
            f.push((format!("level[sla][{i}][around_the_clock]"), "on".into()));
        }
    }
    f
}

async fn administrators_manage_the_catalog(srv: &TestServer) {
    let db = &srv.state.db;
    let admin = srv.sign_in("admin@example.com").await;
    let res = srv
        .call(
            "create_program",
            Some(&admin),
            &[("name", "Edge Support"), ("description", "For edge sites")],
        )
        .await;
    assert_eq!(res.status(), 200);
    let program: i32 = res.json().await.unwrap();
    let dup = srv
        .call(
            "create_program",
            Some(&admin),
            &[("name", "Edge Support"), ("description", "")],
        )
        .await;
    assert_eq!(dup.status(), 400);
    assert!(dup.text().await.unwrap().contains("exists already"));

    let levels_before = level::Entity::find().count(db).await.unwrap();
    // Mistakes are named, field by field, and nothing is saved.
    let mut bad = level_form(&program.to_string(), "Edge Gold", "12.345");
    for (k, v) in bad.iter_mut() {
        match k.as_str() {
            "level[business_hours_end]" => *v = "07:00".into(),
            "level[sla][1][resolution_minutes]" => *v = "60".into(),
            "level[timezone]" => *v = "New York".into(),
            "level[holidays]" => *v = "Christmas".into(),
            _ => {}
        }
    }
    let res = call_form(srv, "save_level", Some(&admin), &bad).await;
    assert_eq!(res.status(), 400);
    let v: Value = res.json().await.unwrap();
    let fields: Vec<&str> = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["field"].as_str().unwrap())
        .collect();
    for f in [
        "price",
        "business_hours_end",
        "sla.1.resolution_minutes",
        "timezone",
        "holidays",
    ] {
        assert!(fields.contains(&f), "{f} not reported: {fields:?}");
    }
    assert_eq!(
        level::Entity::find().count(db).await.unwrap(),
        levels_before
    );

    let res = call_form(
        srv,
        "save_level",
        Some(&admin),
        &level_form(&program.to_string(), "Edge Gold", "1,250.5"),
    )
    .await;
    assert_eq!(res.status(), 200);
    let id: i32 = res.json().await.unwrap();
    let saved = level::Entity::find_by_id(id)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            saved.price_minor,
            saved.currency.as_str(),
            saved.max_technical_contacts
        ),
        (125_050, "USD", 4)
    );
    let targets = entity::sla_target::Entity::find()
        .filter(entity::sla_target::Column::LevelId.eq(id))
        .all(db)
        .await
        .unwrap();
    assert_eq!(targets.len(), 4);
    assert!(targets
        .iter()
        .any(|t| t.severity == 1 && t.around_the_clock && t.first_response_minutes == 30));
    assert!(targets
        .iter()
        .any(|t| t.severity == 2 && !t.around_the_clock));

    // Change it: the new limit is what orders see.
    let mut change = level_form(&program.to_string(), "Edge Gold", "1250.50");
    change.push(("level[id]".into(), id.to_string()));
    for (k, v) in change.iter_mut() {
        if k == "level[max_technical_contacts]" {
            *v = "1".into();
        }
    }
    assert_eq!(
        call_form(srv, "save_level", Some(&admin), &change)
            .await
            .status(),
        200
    );
    assert_eq!(
        level::Entity::find_by_id(id)
            .one(db)
            .await
            .unwrap()
            .unwrap()
            .max_technical_contacts,
        1
    );
    let billing = srv.sign_in("billing@example.com").await;
    let form = order(
        "Edge Co",
        &id.to_string(),
        "main@edge.example",
        &[
            ("A", "a@edge.example", false),
            ("B", "b@edge.example", false),
        ],
    );
    let res = call_form(srv, "process_order", Some(&billing), &form).await;
    assert_eq!(res.status(), 400, "the changed limit applies");
    assert!(
        audit_event::Entity::find()
            .filter(audit_event::Column::Action.eq("catalog.level_saved"))
            .count(db)
            .await
            .unwrap()
            >= 2
    );
}

// ---- mail over real SMTP (both backends) ----------------------------------------

backend_tests!(mail_reaches_a_real_smtp_server_and_survives_its_outage);

async fn mail_reaches_a_real_smtp_server_and_survives_its_outage(backend: Backend) {
    let mut sink = SmtpSink::start().await;
    let Some(srv) = TestServer::start_with(backend, Some(sink.port)).await else {
        return;
    };
    let staff = srv.sign_in("billing@example.com").await;
    let std = level_id(&srv, "Standard").await;
    let res = call_form(
        &srv,
        "process_order",
        Some(&staff),
        &order(
            "Mailco",
            &std,
            "boss@mailco.example",
            &[("Tech Mail", "tech@mailco.example", false)],
        ),
    )
    .await;
    assert_eq!(res.status(), 200);
    let org: i32 = res.json().await.unwrap();

    let got = sink.wait_for(3, Duration::from_secs(20)).await;
    assert_eq!(
        got.len(),
        3,
        "both welcome messages and the first invoice arrive: {got:?}"
    );
    let invoice = got
        .iter()
        .find(|m| m["subject"].as_str().unwrap().starts_with("Invoice "))
        .expect("the first invoice");
    let invoice_token = token_in(invoice["body"].as_str().unwrap());
    let tech = got
        .iter()
        .find(|m| m["rcpt_tos"][0] == "tech@mailco.example")
        .expect("support welcome");
    assert!(tech["subject"].as_str().unwrap().contains("Support Portal"));
    assert!(tech["to"].as_str().unwrap().contains("Tech Mail"));
    let body = tech["body"].as_str().unwrap();
    assert!(body.contains(&format!("{}/activate?token=", srv.base)));
    // The link in the e-mail works.
    let token = token_in(body);
    let page = srv.get(&format!("/activate?token={token}"), None).await;
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["referrer-policy"], "strict-origin");
    assert!(page.text().await.unwrap().contains("Set your password"));
    let res = activate(&srv, &token, "a fine long password").await;
    assert_eq!(res.status(), 200);
    // Once delivered (the worker marks it just after the relay accepts it),
    // the stored copy no longer holds the live token.
    for _ in 0..50 {
        if outbox(&srv).await.iter().all(|m| m.status == "sent") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for m in outbox(&srv).await {
        assert_eq!(m.status, "sent");
        assert!(!m.body.contains(&token) && !m.body.contains(&invoice_token));
    }

    // The relay goes away: mail waits, and nothing is lost.
    sink.stop();
    // Technical Contacts are a support agent's to add (billing clerks keep
    // Main and Administrative Contacts).
    let agent = srv.sign_in("agent@example.com").await;
    let res = srv
        .call(
            "add_contact",
            Some(&agent),
            &[
                ("organization_id", &org.to_string()),
                ("role", "technical"),
                ("name", "Late Tech"),
                ("email", "late@mailco.example"),
                ("phone", ""),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let waiting = mail_to(&srv, "late@mailco.example").await;
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].status, "pending");
    assert!(
        waiting[0].attempts >= 1 && waiting[0].last_error.is_some(),
        "the failure is recorded: {:?}",
        waiting[0]
    );
    sink.restart().await;
    let got = sink.wait_for(4, Duration::from_secs(30)).await;
    assert!(
        got.iter()
            .any(|m| m["rcpt_tos"][0] == "late@mailco.example"),
        "delivered after the outage: {got:?}"
    );
    // The worker marks it sent right after the relay accepts it.
    let mut status = String::new();
    for _ in 0..50 {
        status = mail_to(&srv, "late@mailco.example").await[0].status.clone();
        if status == "sent" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, "sent");
    srv.stop().await;
}

/// The sign-in address is a credential: only an administrator or the
/// organization's Main Contact changes it. Other staff may still correct the
/// rest of a contact's details they are allowed to change.
async fn only_administrators_and_the_main_contact_change_sign_in_addresses(srv: &TestServer) {
    let main = contact_id(srv, "main@acme.example").await.to_string();
    let tech = contact_id(srv, "tech2@acme.example").await.to_string();
    let update = |cookie: String, contact: String, name: &'static str, email: &'static str| async move {
        let res = srv
            .call(
                "update_contact",
                Some(&cookie),
                &[
                    ("contact_id", &contact),
                    ("name", name),
                    ("email", email),
                    ("phone", ""),
                ],
            )
            .await;
        let status = res.status().as_u16();
        (status, res.text().await.unwrap())
    };
    let billing = srv.sign_in("billing@example.com").await;
    let agent = srv.sign_in("agent@example.com").await;
    // The organization page offers each person only the changes they may make.
    let acme = org_id(srv, "Acme Corp").await.to_string();
    let flags = |cookie: String| {
        let acme = acme.clone();
        async move {
            let org: Value = srv
                .call(
                    "load_organization",
                    Some(&cookie),
                    &[("organization_id", &acme)],
                )
                .await
                .json()
                .await
                .unwrap();
            let of = |email: &str| {
                let c = org["contacts"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|c| c["email"] == email)
                    .unwrap()
                    .clone();
                (
                    c["can_edit"] == true,
                    c["can_change_email"] == true,
                    c["can_change_roles"] == true,
                )
            };
            let org_level = (
                org["can_share_tickets"] == true,
                org["can_bill"] == true,
                org["can_declare_servers"] == true,
            );
            (of("main@acme.example"), of("tech2@acme.example"), org_level)
        }
    };
    assert_eq!(
        flags(billing.clone()).await,
        (
            (true, false, true),
            (false, false, true),
            (false, true, false)
        )
    );
    assert_eq!(
        flags(agent.clone()).await,
        (
            (false, false, false),
            (true, false, false),
            (true, false, true)
        )
    );
    assert_eq!(
        flags(srv.sign_in("admin@example.com").await).await,
        ((true, true, true), (true, true, true), (true, true, true))
    );
    assert_eq!(
        flags(srv.sign_in("main@acme.example").await).await,
        ((true, true, true), (true, true, true), (false, false, true))
    );
    let (status, body) = update(
        billing.clone(),
        main.clone(),
        "Mia Main",
        "mia@elsewhere.example",
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("Only an administrator or the organization's Main Contact"),
        "{body}"
    );
    let (status, body) = update(
        agent.clone(),
        tech.clone(),
        "Tina Tech",
        "tina@elsewhere.example",
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("Only an administrator or the organization's Main Contact"),
        "{body}"
    );
    // Nor do support agents change a Main Contact at all.
    let (status, _) = update(agent.clone(), main.clone(), "Mia Main", "main@acme.example").await;
    assert_eq!(status, 403);
    let unchanged = contact::Entity::find_by_id(tech.parse::<i32>().unwrap())
        .one(&srv.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(unchanged.email, "tech2@acme.example");
    // The same people may still correct a name.
    let (status, body) = update(agent, tech.clone(), "Tina Techner", "tech2@acme.example").await;
    assert_eq!(status, 200, "{body}");
    // A billing clerk does not change Technical Contacts at all.
    let (status, _) = update(billing, tech.clone(), "Tina T", "tech2@acme.example").await;
    assert_eq!(status, 403);
    // An administrator and the Main Contact do change addresses.
    let admin = srv.sign_in("admin@example.com").await;
    let (status, body) = update(admin, tech.clone(), "Tina Techner", "tina@acme.example").await;
    assert_eq!(status, 200, "{body}");
    let acme_main = srv.sign_in("main@acme.example").await;
    let (status, body) = update(
        acme_main,
        tech.clone(),
        "Tina Techner",
        "tina.t@acme.example",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // Both the contact and its account took the new address.
    let c = contact::Entity::find_by_id(tech.parse::<i32>().unwrap())
        .one(&srv.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.email, "tina.t@acme.example");
    let u = entity::user::Entity::find_by_id(c.user_id.expect("an account"))
        .one(&srv.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(u.email, "tina.t@acme.example");
}

/// A changed sign-in address is a credential change: the old address's
/// activation links die (a mistyped address must not activate the account
/// under the new one), the person's sessions end (the Main Contact changing
/// their own stays signed in here), the old address is told, and a pending
/// account gets a fresh link at the new address.
async fn a_new_sign_in_address_ends_sessions_and_old_links_and_tells_the_old_address(
    srv: &TestServer,
) {
    let admin = srv.sign_in("admin@example.com").await;
    let main = srv.sign_in("main@acme.example").await;
    let acme = org_id(srv, "Acme Corp").await.to_string();
    let update = |cookie: String, contact: i32, name: &'static str, email: &'static str| async move {
        srv.call(
            "update_contact",
            Some(&cookie),
            &[
                ("contact_id", contact.to_string().as_str()),
                ("name", name),
                ("email", email),
                ("phone", ""),
            ],
        )
        .await
        .status()
        .as_u16()
    };
    // A pending contact invited at a mistyped address.
    let res = srv
        .call(
            "add_contact",
            Some(&main),
            &[
                ("organization_id", acme.as_str()),
                ("role", "technical"),
                ("name", "Typo Tom"),
                ("email", "tom@acme.exmaple"),
                ("phone", ""),
            ],
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let old_link = token_in(&mail_to(srv, "tom@acme.exmaple").await.last().unwrap().body);
    let tom = contact_id(srv, "tom@acme.exmaple").await;
    assert_eq!(
        update(main.clone(), tom, "Typo Tom", "tom@acme.example").await,
        200
    );
    let activate = |token: String| async move {
        srv.call(
            "activate_account",
            None,
            &[
                ("token", token.as_str()),
                ("new_password", "tom's long password"),
                ("confirm_password", "tom's long password"),
            ],
        )
        .await
        .status()
        .as_u16()
    };
    assert_eq!(
        activate(old_link).await,
        400,
        "the mistyped address's link died"
    );
    // The mistyped address never confirmed anything: it is not told where the account went.
    let told = mail_to(srv, "tom@acme.exmaple").await;
    assert!(told.iter().all(|m| !m.body.contains("tom@acme.example")));
    let fresh = mail_to(srv, "tom@acme.example").await;
    assert_eq!(activate(token_in(&fresh.last().unwrap().body)).await, 200);

    // An active account: its sessions end, and the person signs in with the new address.
    let tech = srv.sign_in("tech2@acme.example").await;
    let tech2 = contact_id(srv, "tech2@acme.example").await;
    assert_eq!(
        update(admin.clone(), tech2, "Tina Tech", "tina@acme.example").await,
        200
    );
    assert_eq!(srv.whoami(&tech).await, None, "signed out everywhere");
    assert!(mail_to(srv, "tech2@acme.example")
        .await
        .iter()
        .any(|m| m.kind == "address_changed"));
    let res = srv
        .sign_in_response("tina@acme.example", common::PASSWORD)
        .await;
    assert_eq!(res.status(), 200);
    // The Main Contact changing their own address stays signed in here.
    let elsewhere = srv.sign_in("main@acme.example").await;
    let me = contact_id(srv, "main@acme.example").await;
    assert_eq!(
        update(main.clone(), me, "Maria Main", "maria@acme.example").await,
        200
    );
    assert_eq!(
        srv.whoami(&main).await.as_deref(),
        Some("maria@acme.example")
    );
    assert_eq!(srv.whoami(&elsewhere).await, None);
}
