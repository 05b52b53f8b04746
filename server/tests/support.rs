//! Tickets: who sees what (requesters, colleagues, followers, shared
//! organizations, staff), internal notes, Markdown without anything that
//! runs, the SLA clock through a ticket's life, breaches and escalation.
//! SQLite and PostgreSQL.

mod common;
#[path = "support/dashboards.rs"]
mod dashboards;
#[path = "support/mail.rs"]
mod mail;
#[path = "support/queue.rs"]
mod queue;
#[path = "support/quotas.rs"]
mod quotas;
#[path = "support/search.rs"]
mod search;

use std::time::Duration;

use common::{contact_id, mail_to, org_id, outbox, Backend, SmtpSink, TestServer};
use entity::{
    covered_server, inbound_message, ticket, ticket_attachment, ticket_comment, ticket_event,
    ticket_sla,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, Set,
};
use serde_json::Value;

db_tests!(
    visibility_matrix,
    internal_notes_never_reach_customers,
    comments_render_markdown_and_nothing_that_runs,
    the_sla_clock_starts_pauses_resumes_and_is_met,
    breaches_are_recorded_and_escalated_and_assignees_warned,
    solved_tickets_reopen_on_a_reply_and_close_later,
    staff_assign_and_change_severity_with_a_reason,
    bad_input_is_refused_with_what_to_fix,
    live_streams_deliver_in_order_once_and_only_what_the_viewer_may_see,
    attachments_are_private_inert_and_bounded,
    saved_replies_and_merging_duplicates,
    affected_servers_come_from_the_organizations_inventory,
    admins_see_how_many_live_pages_the_server_holds,
    a_page_far_behind_gets_everything_it_missed_once,
    a_comment_that_commits_after_a_newer_one_still_reaches_the_page,
    open_pages_close_at_once_when_access_ends,
);

async fn open(srv: &TestServer, cookie: &str, subject: &str, severity: &str) -> i32 {
    let release = common::release_id(srv, "Portico Server", "2.4").await;
    let res = srv
        .call(
            "open_ticket",
            Some(cookie),
            &[
                ("ticket[subject]", subject),
                (
                    "ticket[description]",
                    "The **service** stops after an upgrade.",
                ),
                ("ticket[severity]", severity),
                ("ticket[release]", release.as_str()),
            ],
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    res.json().await.unwrap()
}

async fn comment(
    srv: &TestServer,
    cookie: &str,
    id: i32,
    body: &str,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let id = id.to_string();
    let mut form = vec![("ticket_id", id.as_str()), ("body", body)];
    form.extend_from_slice(extra);
    srv.call("add_comment", Some(cookie), &form).await
}

async fn load(srv: &TestServer, cookie: Option<&str>, id: i32) -> reqwest::Response {
    srv.call("load_ticket", cookie, &[("ticket_id", &id.to_string())])
        .await
}

async fn slas(srv: &TestServer, id: i32) -> Vec<ticket_sla::Model> {
    ticket_sla::Entity::find()
        .filter(ticket_sla::Column::TicketId.eq(id))
        .order_by_asc(ticket_sla::Column::Id)
        .all(&srv.state.db)
        .await
        .unwrap()
}

async fn event_kinds(srv: &TestServer, id: i32) -> Vec<String> {
    ticket_event::Entity::find()
        .filter(ticket_event::Column::TicketId.eq(id))
        .order_by_asc(ticket_event::Column::Id)
        .all(&srv.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect()
}

async fn set_sharing(srv: &TestServer, staff: &str, org: i32, shared: bool) {
    let res = srv
        .call(
            "set_ticket_sharing",
            Some(staff),
            &[
                ("organization_id", &org.to_string()),
                ("shared", &shared.to_string()),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
}

async fn visibility_matrix(srv: &TestServer) {
    let people = [
        "anonymous",
        "admin@example.com",
        "agent@example.com",
        "billing@example.com",
        "main@acme.example",
        "tech1@acme.example",
        "tech2@acme.example",
        "main@globex.example",
    ];
    let mut cookies = vec![None];
    for p in &people[1..] {
        cookies.push(Some(srv.sign_in(p).await));
    }
    let tech1 = cookies[5].clone().unwrap();
    let staff = cookies[1].clone().unwrap();
    let t = open(srv, &tech1, "Acme's outage", "2").await;
    let g = open(srv, cookies[7].as_deref().unwrap(), "Globex question", "4").await;
    let acme = org_id(srv, "Acme Corp").await;

    let check = |expected: [u16; 8], id: i32, what: &'static str| {
        let cookies = cookies.clone();
        async move {
            for ((person, cookie), want) in people.iter().zip(&cookies).zip(expected) {
                let res = load(srv, cookie.as_deref(), id).await;
                let status = res.status().as_u16();
                let body = res.text().await.unwrap();
                assert_eq!(status, want, "{what}: {person} → load_ticket({id}): {body}");
                if want != 200 {
                    assert!(
                        !body.contains("outage") && !body.contains("Globex question"),
                        "{person} saw {body}"
                    );
                }
                // The same answer on every path: the ticket page, and the list.
                let portal = if person.ends_with("@example.com") {
                    "staff"
                } else {
                    "support"
                };
                let page = srv
                    .get(&format!("/{portal}/tickets/{id}"), cookie.as_deref())
                    .await;
                let html = page.text().await.unwrap();
                assert_eq!(
                    html.contains("upgrade"),
                    want == 200,
                    "{what}: {person} page"
                );
                if let Some(c) = cookie {
                    let list: Value = srv
                        .call("list_tickets", Some(c), &[])
                        .await
                        .json()
                        .await
                        .unwrap_or(Value::Null);
                    let listed = list["rows"]
                        .as_array()
                        .is_some_and(|rows| rows.iter().any(|r| r["id"] == id));
                    assert_eq!(listed, want == 200, "{what}: {person} list");
                }
            }
        }
    };
    //                 anon admin agent billing main-A tech1 tech2 main-G
    check(
        [401, 200, 200, 403, 403, 200, 404, 404],
        t,
        "own ticket, not shared",
    )
    .await;
    check(
        [401, 200, 200, 403, 403, 404, 404, 200],
        g,
        "other organization",
    )
    .await;

    // A follower sees that one ticket.
    let tech2_id = contact_id(srv, "tech2@acme.example").await;
    let res = srv
        .call(
            "add_follower",
            Some(&tech1),
            &[
                ("ticket_id", &t.to_string()),
                ("contact_id", &tech2_id.to_string()),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    check([401, 200, 200, 403, 403, 200, 200, 404], t, "followed").await;
    // Only the requester (or staff) adds followers, and only colleagues.
    let tech2 = cookies[6].clone().unwrap();
    let globex_main = contact_id(srv, "main@globex.example").await.to_string();
    let t_s = t.to_string();
    let res = srv
        .call(
            "add_follower",
            Some(&tech2),
            &[("ticket_id", &t_s), ("contact_id", &tech2_id.to_string())],
        )
        .await;
    assert_eq!(res.status(), 403);
    let res = srv
        .call(
            "add_follower",
            Some(&tech1),
            &[("ticket_id", &t_s), ("contact_id", &globex_main)],
        )
        .await;
    assert_eq!(res.status(), 400);

    // Sharing shows the organization's tickets to every Technical Contact of it.
    let t2 = open(srv, &tech1, "Second outage", "3").await;
    check([401, 200, 200, 403, 403, 200, 404, 404], t2, "not followed").await;
    set_sharing(srv, &staff, acme, true).await;
    check([401, 200, 200, 403, 403, 200, 200, 404], t2, "shared").await;
    set_sharing(srv, &staff, acme, false).await;
    check(
        [401, 200, 200, 403, 403, 200, 404, 404],
        t2,
        "no longer shared",
    )
    .await;

    // Writing follows reading: no comments on tickets one cannot see.
    let res = comment(srv, &tech2, t2, "let me in", &[]).await;
    assert_eq!(res.status(), 404);
    let res = comment(srv, cookies[7].as_deref().unwrap(), t, "hello", &[]).await;
    assert_eq!(res.status(), 404);
    // Customers never assign or change severity.
    let res = srv
        .call(
            "assign_ticket",
            Some(&tech1),
            &[("ticket_id", &t_s), ("assignee_id", "")],
        )
        .await;
    assert_eq!(res.status(), 403);
    let res = srv
        .call(
            "change_severity",
            Some(&tech1),
            &[("ticket_id", &t_s), ("severity", "1"), ("reason", "urgent")],
        )
        .await;
    assert_eq!(res.status(), 403);
    // A deactivated contact loses the ticket at once.
    let main_a = cookies[4].clone().unwrap();
    let res = srv
        .call(
            "deactivate_contact",
            Some(&main_a),
            &[("contact_id", &tech2_id.to_string())],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(load(srv, Some(&tech2), t).await.status(), 401);
}

async fn internal_notes_never_reach_customers(srv: &TestServer) {
    let tech1 = srv.sign_in("tech1@acme.example").await;
    let agent = srv.sign_in("agent@example.com").await;
    let t = open(srv, &tech1, "Slow queries", "3").await;
    // tech2 follows, so the public reply goes to two people.
    let tech2_id = contact_id(srv, "tech2@acme.example").await.to_string();
    let res = srv
        .call(
            "add_follower",
            Some(&tech1),
            &[("ticket_id", &t.to_string()), ("contact_id", &tech2_id)],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        comment(
            srv,
            &agent,
            t,
            "SECRET-NOTE: customer is on an old kernel",
            &[("internal", "on")]
        )
        .await
        .status(),
        200
    );
    assert_eq!(
        comment(srv, &agent, t, "PUBLIC-REPLY: please send the logs", &[])
            .await
            .status(),
        200
    );

    let staff_view: Value = load(srv, Some(&agent), t).await.json().await.unwrap();
    assert!(staff_view.to_string().contains("SECRET-NOTE"));
    for who in ["tech1@acme.example", "tech2@acme.example"] {
        let c = srv.sign_in(who).await;
        let view = load(srv, Some(&c), t).await.text().await.unwrap();
        assert!(
            view.contains("PUBLIC-REPLY") && !view.contains("SECRET-NOTE"),
            "{who}: {view}"
        );
        let page = srv
            .get(&format!("/support/tickets/{t}"), Some(&c))
            .await
            .text()
            .await
            .unwrap();
        assert!(
            page.contains("PUBLIC-REPLY") && !page.contains("SECRET-NOTE"),
            "{who} page"
        );
        let list = srv
            .call("list_tickets", Some(&c), &[])
            .await
            .text()
            .await
            .unwrap();
        assert!(!list.contains("SECRET-NOTE"));
        // E-mail: the public reply only.
        let mails = mail_to(srv, who).await;
        assert!(
            mails.iter().any(|m| m.body.contains("PUBLIC-REPLY")),
            "{who} got the reply"
        );
        assert!(
            mails.iter().all(|m| !m.body.contains("SECRET-NOTE")),
            "{who} got the note"
        );
    }
    assert!(
        outbox(srv)
            .await
            .iter()
            .all(|m| !m.body.contains("SECRET-NOTE")),
        "no mail carries the note"
    );
    // Customers cannot write internal notes.
    assert_eq!(
        comment(srv, &tech1, t, "x", &[("internal", "on")])
            .await
            .status(),
        400
    );
}

async fn comments_render_markdown_and_nothing_that_runs(srv: &TestServer) {
    let tech1 = srv.sign_in("tech1@acme.example").await;
    let t = open(srv, &tech1, "Markdown", "4").await;
    for body in app::support::markdown::XSS_CORPUS {
        assert_eq!(
            comment(srv, &tech1, t, body, &[]).await.status(),
            200,
            "{body}"
        );
    }
    assert_eq!(
        comment(
            srv,
            &tech1,
            t,
            "**bold** and [docs](https://example.com/d)",
            &[]
        )
        .await
        .status(),
        200
    );
    let view: Value = load(srv, Some(&tech1), t).await.json().await.unwrap();
    let comments = view["comments"].as_array().unwrap();
    assert_eq!(comments.len(), app::support::markdown::XSS_CORPUS.len() + 1);
    for c in comments {
        app::support::markdown::assert_harmless(c["body_html"].as_str().unwrap());
    }
    let last = comments.last().unwrap()["body_html"].as_str().unwrap();
    assert!(
        last.contains("<strong>bold</strong>") && last.contains(r#"href="https://example.com/d""#),
        "{last}"
    );
    // The page shows the payloads as text.
    let page = srv
        .get(&format!("/support/tickets/{t}"), Some(&tech1))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    for live in [
        "<script>alert",
        "<img src=x",
        "<svg onload",
        "<iframe src",
        "<a href=\"javascript:",
    ] {
        assert!(!page.contains(live), "{live} is live on the page");
    }
}

async fn the_sla_clock_starts_pauses_resumes_and_is_met(srv: &TestServer) {
    let tech1 = srv.sign_in("tech1@acme.example").await;
    let agent = srv.sign_in("agent@example.com").await;
    // Acme is on Standard: severity 1 → first response 2 h, next 4 h, resolution 2 d, 24x7.
    let t = open(srv, &tech1, "Down", "1").await;
    let s = slas(srv, t).await;
    let targets: Vec<(&str, i32, bool)> = s
        .iter()
        .map(|s| (s.target.as_str(), s.minutes, s.around_the_clock))
        .collect();
    assert_eq!(
        targets,
        [("first_response", 120, true), ("resolution", 2880, true)]
    );
    let due = s[0].due_at.unwrap();
    let opened = ticket::Entity::find_by_id(t)
        .one(&srv.state.db)
        .await
        .unwrap()
        .unwrap()
        .created_at;
    assert_eq!(due - opened, chrono::Duration::hours(2));
    let view: Value = load(srv, Some(&tech1), t).await.json().await.unwrap();
    assert_eq!(view["slas"][0]["state"], "running");

    // Staff answer and wait on the customer: first response met, resolution paused.
    assert_eq!(
        comment(srv, &agent, t, "Which version?", &[("status", "waiting")])
            .await
            .status(),
        200
    );
    let s = slas(srv, t).await;
    assert!(s[0].fulfilled_at.is_some() && s[0].breached_at.is_none());
    assert!(
        s[1].due_at.is_none() && s[1].fulfilled_at.is_none(),
        "paused"
    );
    let view: Value = load(srv, Some(&tech1), t).await.json().await.unwrap();
    assert_eq!(view["status"], "waiting");
    assert_eq!(view["slas"][1]["state"], "paused");

    // The customer answers: open again, resolution resumes, next response starts.
    assert_eq!(comment(srv, &tech1, t, "2.4.1", &[]).await.status(), 200);
    let s = slas(srv, t).await;
    assert!(s[1].due_at.is_some(), "resumed");
    let next = s
        .iter()
        .find(|s| s.target == "next_response")
        .expect("next response clock");
    assert_eq!(next.minutes, 240);
    let view: Value = load(srv, Some(&tech1), t).await.json().await.unwrap();
    assert_eq!(view["status"], "open");

    // Solved: every clock met.
    assert_eq!(
        comment(srv, &agent, t, "Fixed in 2.4.2", &[("status", "solved")])
            .await
            .status(),
        200
    );
    assert!(slas(srv, t)
        .await
        .iter()
        .all(|s| s.fulfilled_at.is_some() && s.due_at.is_none()));
    let kinds = event_kinds(srv, t).await;
    for k in [
        "opened",
        "sla.start",
        "sla.fulfil",
        "sla.pause",
        "sla.resume",
        "status",
    ] {
        assert!(kinds.iter().any(|x| x == k), "{k} missing from {kinds:?}");
    }
    // Business-hours targets use the level's calendar: severity 3 on Standard is 8 h of business hours.
    let t3 = open(srv, &tech1, "Question", "3").await;
    let s3 = slas(srv, t3).await;
    assert!(!s3[0].around_the_clock);
    let due = s3[0].due_at.unwrap();
    let cal = app::support::sla::Calendar::BusinessHours(
        app::support::sla::BusinessHours::parse(
            "Europe/Madrid",
            "1-5",
            "09:00",
            "18:00",
            "2026-12-25, 2027-01-01, 2027-01-06",
        )
        .unwrap(),
    );
    let opened = ticket::Entity::find_by_id(t3)
        .one(&srv.state.db)
        .await
        .unwrap()
        .unwrap()
        .created_at;
    assert_eq!(cal.working_between(opened, due), chrono::Duration::hours(8));
    queue::assert_queue_keys_hold(srv).await;
}

async fn breaches_are_recorded_and_escalated_and_assignees_warned(srv: &TestServer) {
    let tech1 = srv.sign_in("tech1@acme.example").await;
    let admin = srv.sign_in("admin@example.com").await;
    let t = open(srv, &tech1, "Urgent", "1").await;
    let agent_id = entity::user::Entity::find()
        .filter(entity::user::Column::Email.eq("agent@example.com"))
        .one(&srv.state.db)
        .await
        .unwrap()
        .unwrap()
        .id;
    let res = srv
        .call(
            "assign_ticket",
            Some(&admin),
            &[
                ("ticket_id", &t.to_string()),
                ("assignee_id", &agent_id.to_string()),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    let week = chrono::Duration::days(7);
    assert_eq!(
        app::support::ssr::sweep(&srv.state, week).await.unwrap(),
        0,
        "nothing due yet"
    );
    // 100 of 120 minutes used: the assignee is warned, once.
    let s = slas(srv, t).await;
    let now = chrono::Utc::now();
    let mut a = s[0].clone().into_active_model();
    a.runs = Set(serde_json::json!([[now - chrono::Duration::minutes(100), null]]).to_string());
    a.due_at = Set(Some(now + chrono::Duration::minutes(20)));
    // As for a clock from before warning times were kept: the scheduler
    // works it out from the runs (90 of 120 minutes: ten minutes ago).
    a.warn_at = Set(None);
    a.update(&srv.state.db).await.unwrap();
    app::support::ssr::sync_queue(&srv.state.db, t)
        .await
        .unwrap();
    assert_eq!(app::support::ssr::sweep(&srv.state, week).await.unwrap(), 1);
    assert_eq!(app::support::ssr::sweep(&srv.state, week).await.unwrap(), 0);
    let warned = mail_to(srv, "agent@example.com").await;
    assert!(warned.iter().any(|m| m.kind == "sla_warning"));
    // Past due: breached, recorded once, administrators e-mailed.
    let mut a = slas(srv, t).await[0].clone().into_active_model();
    a.due_at = Set(Some(now - chrono::Duration::minutes(1)));
    a.update(&srv.state.db).await.unwrap();
    app::support::ssr::sync_queue(&srv.state.db, t)
        .await
        .unwrap();
    assert_eq!(app::support::ssr::sweep(&srv.state, week).await.unwrap(), 1);
    assert_eq!(app::support::ssr::sweep(&srv.state, week).await.unwrap(), 0);
    assert!(slas(srv, t).await[0].breached_at.is_some());
    assert_eq!(
        event_kinds(srv, t)
            .await
            .iter()
            .filter(|k| *k == "sla.breach")
            .count(),
        1
    );
    let escalations = mail_to(srv, "admin@example.com").await;
    assert!(escalations
        .iter()
        .any(|m| m.kind == "sla_breach" && m.subject.contains(&format!("#{t}"))));
    // The staff queue puts it first and marks it.
    let list: Value = srv
        .call(
            "list_tickets",
            Some(&admin),
            &[("filter[queue]", "breaching")],
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["rows"][0]["id"], t);
    assert_eq!(list["rows"][0]["breached"], true);
    // Queues sort by the earliest running clock: due in an hour, then in three
    // days, then tickets whose clocks are all paused.
    let due_in = |id: i32, due: Option<chrono::Duration>| async move {
        for s in slas(srv, id).await {
            let mut a = s.into_active_model();
            a.due_at = Set(due.map(|d| now + d));
            a.update(&srv.state.db).await.unwrap();
        }
        app::support::ssr::sync_queue(&srv.state.db, id)
            .await
            .unwrap();
    };
    let soon = open(srv, &tech1, "Due soon", "4").await;
    let far = open(srv, &tech1, "Due in days", "4").await;
    let paused = open(srv, &tech1, "Paused", "1").await;
    due_in(soon, Some(chrono::Duration::hours(1))).await;
    due_in(far, Some(chrono::Duration::days(3))).await;
    due_in(paused, None).await;
    let admin = &admin;
    let ids = |queue: &'static str| async move {
        let list: Value = srv
            .call("list_tickets", Some(admin), &[("filter[queue]", queue)])
            .await
            .json()
            .await
            .unwrap();
        list["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_i64().unwrap() as i32)
            .collect::<Vec<_>>()
    };
    assert_eq!(ids("breaching").await, [t, soon]);
    let all = ids("all").await;
    let at = |id: i32| all.iter().position(|x| *x == id).unwrap();
    assert!(
        at(t) < at(soon) && at(soon) < at(far) && at(far) < at(paused),
        "{all:?}"
    );
    let mine: Value = srv
        .call("list_tickets", Some(admin), &[("filter[queue]", "mine")])
        .await
        .json()
        .await
        .unwrap();
    assert!(
        mine["rows"].as_array().unwrap().is_empty(),
        "assigned to the agent, not the admin"
    );
}

async fn solved_tickets_reopen_on_a_reply_and_close_later(srv: &TestServer) {
    let tech1 = srv.sign_in("tech1@acme.example").await;
    let agent = srv.sign_in("agent@example.com").await;
    let t = open(srv, &tech1, "Reopen me", "2").await;
    assert_eq!(
        comment(srv, &agent, t, "Done", &[("status", "solved")])
            .await
            .status(),
        200
    );
    assert_eq!(
        comment(srv, &tech1, t, "Not quite", &[]).await.status(),
        200
    );
    let row = ticket::Entity::find_by_id(t)
        .one(&srv.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, "open");
    let res = slas(srv, t).await;
    let resolution = res.iter().find(|s| s.target == "resolution").unwrap();
    assert!(
        resolution.fulfilled_at.is_none() && resolution.due_at.is_some(),
        "resolution runs again"
    );
    assert_eq!(
        comment(srv, &agent, t, "Now it is", &[("status", "solved")])
            .await
            .status(),
        200
    );
    // Staff reopen it themselves: the resolution clock is owed (and running) again.
    assert_eq!(
        comment(
            srv,
            &agent,
            t,
            "Reopening: regression found",
            &[("status", "open")]
        )
        .await
        .status(),
        200
    );
    let resolution = slas(srv, t)
        .await
        .into_iter()
        .find(|s| s.target == "resolution")
        .unwrap();
    assert!(resolution.fulfilled_at.is_none() && resolution.due_at.is_some());
    assert_eq!(
        comment(srv, &agent, t, "Solved again", &[("status", "solved")])
            .await
            .status(),
        200
    );
    // An internal note that solves a fresh ticket meets no response target.
    let quiet = open(srv, &tech1, "Quiet", "4").await;
    assert_eq!(
        comment(
            srv,
            &agent,
            quiet,
            "dup of something",
            &[("internal", "on"), ("status", "solved")]
        )
        .await
        .status(),
        200
    );
    let first = slas(srv, quiet)
        .await
        .into_iter()
        .find(|s| s.target == "first_response")
        .unwrap();
    assert!(first.fulfilled_at.is_none(), "no customer was answered");
    // Closed after the configured days.
    let mut a = ticket::Entity::find_by_id(t)
        .one(&srv.state.db)
        .await
        .unwrap()
        .unwrap()
        .into_active_model();
    a.solved_at = Set(Some(chrono::Utc::now() - chrono::Duration::days(8)));
    a.update(&srv.state.db).await.unwrap();
    assert_eq!(
        app::support::ssr::sweep(&srv.state, chrono::Duration::days(7))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        ticket::Entity::find_by_id(t)
            .one(&srv.state.db)
            .await
            .unwrap()
            .unwrap()
            .status,
        "closed"
    );
    let res = comment(srv, &tech1, t, "One more thing", &[]).await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("closed"));
    queue::assert_queue_keys_hold(srv).await;
}

async fn staff_assign_and_change_severity_with_a_reason(srv: &TestServer) {
    let tech1 = srv.sign_in("tech1@acme.example").await;
    let agent = srv.sign_in("agent@example.com").await;
    let t = open(srv, &tech1, "Sev change", "3").await;
    let ts = t.to_string();
    let res = srv
        .call(
            "change_severity",
            Some(&agent),
            &[("ticket_id", &ts), ("severity", "1"), ("reason", "")],
        )
        .await;
    assert_eq!(res.status(), 400);
    let res = srv
        .call(
            "change_severity",
            Some(&agent),
            &[
                ("ticket_id", &ts),
                ("severity", "1"),
                ("reason", "REASON-X production down"),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    let s = slas(srv, t).await;
    assert_eq!(
        (s[0].minutes, s[0].around_the_clock),
        (120, true),
        "severity 1 targets apply"
    );
    // The customer sees the change, not the reason.
    let view = load(srv, Some(&tech1), t).await.text().await.unwrap();
    assert!(view.contains("3 → 1") && !view.contains("REASON-X"));
    let staff_view = load(srv, Some(&agent), t).await.text().await.unwrap();
    assert!(staff_view.contains("REASON-X"));
    // Only active agents and administrators take tickets.
    let billing_id = entity::user::Entity::find()
        .filter(entity::user::Column::Email.eq("billing@example.com"))
        .one(&srv.state.db)
        .await
        .unwrap()
        .unwrap()
        .id
        .to_string();
    let res = srv
        .call(
            "assign_ticket",
            Some(&agent),
            &[("ticket_id", &ts), ("assignee_id", &billing_id)],
        )
        .await;
    assert_eq!(res.status(), 400);

    // Ticket mail follows the role, not an old assignment: an assignee whose
    // role changes to billing clerk gets no more customer replies.
    let agent_user = entity::user::Entity::find()
        .filter(entity::user::Column::Email.eq("agent@example.com"))
        .one(&srv.state.db)
        .await
        .unwrap()
        .unwrap();
    let res = srv
        .call(
            "assign_ticket",
            Some(&agent),
            &[
                ("ticket_id", &ts),
                ("assignee_id", &agent_user.id.to_string()),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    let set_role = |role: entity::StaffRole| {
        let mut a = agent_user.clone().into_active_model();
        a.staff_role = Set(Some(role));
        a.update(&srv.state.db)
    };
    let mails_about = |marker: &'static str| async move {
        mail_to(srv, "agent@example.com")
            .await
            .into_iter()
            .filter(|m| m.body.contains(marker))
            .count()
    };
    set_role(entity::StaffRole::Billing).await.unwrap();
    assert_eq!(
        comment(srv, &tech1, t, "MARK-AS-BILLING", &[])
            .await
            .status(),
        200
    );
    assert_eq!(mails_about("MARK-AS-BILLING").await, 0);
    set_role(entity::StaffRole::Agent).await.unwrap();
    assert_eq!(
        comment(srv, &tech1, t, "MARK-AS-AGENT", &[]).await.status(),
        200
    );
    assert_eq!(mails_about("MARK-AS-AGENT").await, 1);
}

async fn bad_input_is_refused_with_what_to_fix(srv: &TestServer) {
    let tech1 = srv.sign_in("tech1@acme.example").await;
    let res = srv
        .call(
            "open_ticket",
            Some(&tech1),
            &[
                ("ticket[subject]", "two\nlines"),
                ("ticket[description]", " "),
                ("ticket[severity]", "9"),
            ],
        )
        .await;
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    let fields: Vec<&str> = body["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["subject", "description", "severity"]);
    assert!(
        ticket::Entity::find()
            .all(&srv.state.db)
            .await
            .unwrap()
            .is_empty(),
        "nothing saved"
    );
    let t = open(srv, &tech1, "Fine", "4").await;
    assert_eq!(comment(srv, &tech1, t, "   ", &[]).await.status(), 400);
    let agent = srv.sign_in("agent@example.com").await;
    assert_eq!(
        comment(srv, &agent, t, "x", &[("status", "closed")])
            .await
            .status(),
        400
    );
    for bad in ["abc", "99999999999"] {
        let res = srv
            .call("load_ticket", Some(&tech1), &[("ticket_id", bad)])
            .await;
        assert_eq!(res.status(), 400, "{bad}");
    }
    let res: Value = srv
        .call(
            "list_tickets",
            Some(&tech1),
            &[("filter[after]", "d99999999999.x.1")],
        )
        .await
        .json()
        .await
        .unwrap();
    // A cursor nobody wrote reads as the first page.
    assert!(res["prev"].is_null(), "{res}");
    assert!(!res["rows"].as_array().unwrap().is_empty(), "{res}");
}

/// A ticket's live socket, read over a real WebSocket connection.
struct Stream {
    ws: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    /// The last ticket snapshot `next_comment` stepped over.
    skipped: Option<Ev>,
}

/// One live message, parsed with the type the browser parses it with.
#[derive(Debug)]
struct Ev {
    kind: String,
    /// The comment id, for comments.
    id: String,
    /// The message's content as JSON.
    data: String,
}

impl Ev {
    fn parse(text: &str) -> Ev {
        use app::support::LiveEvent;
        let event: LiveEvent =
            serde_json::from_str(text).unwrap_or_else(|e| panic!("not a LiveEvent ({e}): {text}"));
        let (kind, id, data) = match event {
            LiveEvent::Comment(c) => ("comment", c.id.to_string(), serde_json::to_string(&c)),
            LiveEvent::Ticket(t) => ("ticket", String::new(), serde_json::to_string(&t)),
            LiveEvent::End(reason) => ("end", String::new(), Ok(reason)),
        };
        Ev {
            kind: kind.into(),
            id,
            data: data.unwrap(),
        }
    }
}

impl Stream {
    async fn open(
        srv: &TestServer,
        cookie: Option<&str>,
        id: i32,
        after: Option<i32>,
    ) -> Result<Stream, u16> {
        let query = after.map(|a| format!("after={a}")).unwrap_or_default();
        Self::open_with(srv, cookie, id, &query, &[]).await
    }

    /// Opens the socket with extra handshake headers; `Err(status)` when the
    /// server refuses the upgrade.
    async fn open_with(
        srv: &TestServer,
        cookie: Option<&str>,
        id: i32,
        query: &str,
        headers: &[(&'static str, &str)],
    ) -> Result<Stream, u16> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        use tokio_tungstenite::tungstenite::Error;
        let path = format!("/tickets/{id}/live?{query}");
        let url = srv.url(&path).replacen("http://", "ws://", 1);
        let mut req = url.into_client_request().expect("a WebSocket request");
        if let Some(c) = cookie {
            req.headers_mut().insert("cookie", c.parse().unwrap());
        }
        for (k, v) in headers {
            req.headers_mut().insert(*k, v.parse().unwrap());
        }
        match tokio_tungstenite::connect_async(req).await {
            Ok((ws, res)) => {
                assert_eq!(res.status(), 101);
                Ok(Stream { ws, skipped: None })
            }
            Err(Error::Http(res)) => Err(res.status().as_u16()),
            Err(e) => panic!("live socket: {e}"),
        }
    }

    /// The next message (pings skipped), or `None` once the socket closes or
    /// after `within`.
    async fn next(&mut self, within: Duration) -> Option<Ev> {
        use futures::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Ok(Some(Ok(Message::Text(text)))) => return Some(Ev::parse(&text)),
                Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
                _ => return None,
            }
        }
    }

    /// The next comment event, skipping ticket snapshots.
    async fn next_comment(&mut self) -> Option<Ev> {
        loop {
            let ev = self.next(Duration::from_secs(5)).await?;
            if ev.kind != "ticket" {
                return Some(ev);
            }
            self.skipped = Some(ev);
        }
    }

    /// The first snapshot that `shows`, looking at the last one skipped too:
    /// a comment and the snapshot its change produced are separate messages,
    /// and the snapshot may come first (a page that reads between the
    /// comment's read and the ticket's sends the new state, then the comment).
    async fn snapshot_where(&mut self, shows: impl Fn(&Ev) -> bool) -> Option<Ev> {
        if let Some(ev) = self.skipped.take().filter(|ev| shows(ev)) {
            return Some(ev);
        }
        loop {
            let ev = self.next(Duration::from_secs(5)).await?;
            if ev.kind == "ticket" && shows(&ev) {
                return Some(ev);
            }
        }
    }
}

async fn live_streams_deliver_in_order_once_and_only_what_the_viewer_may_see(srv: &TestServer) {
    let tech1 = srv.sign_in("tech1@acme.example").await;
    let agent = srv.sign_in("agent@example.com").await;
    let t = open(srv, &tech1, "Live", "2").await;

    // Only those who may see the ticket may follow it.
    assert_eq!(Stream::open(srv, None, t, None).await.err(), Some(401));
    for who in ["tech2@acme.example", "main@globex.example"] {
        let c = srv.sign_in(who).await;
        assert_eq!(
            Stream::open(srv, Some(&c), t, None).await.err(),
            Some(404),
            "{who}"
        );
    }
    let main_a = srv.sign_in("main@acme.example").await;
    assert_eq!(
        Stream::open(srv, Some(&main_a), t, None).await.err(),
        Some(403)
    );
    // A handshake from another site is refused before the socket opens (the
    // cookie would ride along): by Origin, and by Sec-Fetch-Site. Our own
    // origin opens it.
    for header in [
        ("origin", "https://evil.example"),
        ("sec-fetch-site", "cross-site"),
    ] {
        assert_eq!(
            Stream::open_with(srv, Some(&tech1), t, "", &[header])
                .await
                .err(),
            Some(403),
            "{header:?}"
        );
    }
    let ours = [("origin", srv.base.as_str())];
    let ours = Stream::open_with(srv, Some(&tech1), t, "", &ours).await;
    assert!(ours.is_ok(), "same-origin handshake");
    // A plain GET, without the upgrade, is told what is wrong; nothing streams.
    let res = srv
        .client
        .get(srv.url(&format!("/tickets/{t}/live")))
        .header("cookie", &tech1)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error(), "{}", res.status());

    let mut customer = Stream::open(srv, Some(&tech1), t, None).await.unwrap();
    let mut staff = Stream::open(srv, Some(&agent), t, None).await.unwrap();
    let first = customer
        .next(Duration::from_secs(5))
        .await
        .expect("snapshot");
    assert_eq!(first.kind, "ticket");
    assert!(first.data.contains("\"status\":\"new\""), "{first:?}");

    assert_eq!(
        comment(
            srv,
            &agent,
            t,
            "SECRET-LIVE internal",
            &[("internal", "on")]
        )
        .await
        .status(),
        200
    );
    assert_eq!(
        comment(srv, &agent, t, "HELLO-1 from support", &[])
            .await
            .status(),
        200
    );
    // The customer gets the public reply, never the note; staff get both, in order.
    let c1 = customer.next_comment().await.expect("public reply arrives");
    assert_eq!(c1.kind, "comment");
    assert!(
        c1.data.contains("HELLO-1") && !c1.data.contains("SECRET"),
        "{c1:?}"
    );
    let s1 = staff.next_comment().await.unwrap();
    let s2 = staff.next_comment().await.unwrap();
    assert!(s1.data.contains("SECRET-LIVE") && s2.data.contains("HELLO-1"));
    assert!(s1.id.parse::<i32>().unwrap() < s2.id.parse::<i32>().unwrap());
    // Status and SLA changes arrive too.
    let snap = customer
        .snapshot_where(|ev| {
            ev.data.contains("\"status\":\"open\"") && ev.data.contains("\"state\":\"met\"")
        })
        .await
        .expect("a snapshot with the reply's status and met first-response clock");
    assert_eq!(snap.kind, "ticket");

    // A customer comment reaches the staff page.
    assert_eq!(
        comment(srv, &tech1, t, "CUSTOMER-2 thanks", &[])
            .await
            .status(),
        200
    );
    let s3 = staff.next_comment().await.unwrap();
    assert!(s3.data.contains("CUSTOMER-2"));

    // Reconnecting with the last id seen: what was missed, once, in order.
    drop(customer);
    assert_eq!(
        comment(srv, &agent, t, "HELLO-3 while you were away", &[])
            .await
            .status(),
        200
    );
    assert_eq!(
        comment(srv, &agent, t, "SECRET-2", &[("internal", "on")])
            .await
            .status(),
        200
    );
    let mut back = Stream::open(srv, Some(&tech1), t, Some(c1.id.parse().unwrap()))
        .await
        .unwrap();
    let r1 = back.next_comment().await.unwrap();
    let r2 = back.next_comment().await.unwrap();
    assert!(r1.data.contains("CUSTOMER-2"), "{r1:?}");
    assert!(r2.data.contains("HELLO-3"), "{r2:?}");
    assert!(
        back.next_comment().await.is_none(),
        "nothing twice, no internal note"
    );

    // Access ends: the stream says so and closes.
    let tech1_contact = contact_id(srv, "tech1@acme.example").await.to_string();
    let res = srv
        .call(
            "deactivate_contact",
            Some(&main_a),
            &[("contact_id", &tech1_contact)],
        )
        .await;
    assert_eq!(res.status(), 200);
    let end = back.next_comment().await.expect("end event");
    assert_eq!(end.kind, "end");
    assert!(back.next(Duration::from_secs(2)).await.is_none(), "closed");
}

/// Open pages share one read of a ticket's newest comments; a page that
/// comes back from further behind than that reads its own, and still gets
/// everything it missed, in order, once, without internal notes.
async fn a_page_far_behind_gets_everything_it_missed_once(srv: &TestServer) {
    let tech1 = srv.sign_in("tech1@acme.example").await;
    let agent = srv.sign_in("agent@example.com").await;
    let t = open(srv, &tech1, "Long conversation", "3").await;
    // A page open all along keeps the shared view warm.
    let mut open_all_along = Stream::open(srv, Some(&tech1), t, None).await.unwrap();
    assert_eq!(
        open_all_along
            .next(Duration::from_secs(5))
            .await
            .unwrap()
            .kind,
        "ticket"
    );
    for i in 0..45 {
        let internal: &[(&str, &str)] = if i % 5 == 4 {
            &[("internal", "on")]
        } else {
            &[]
        };
        let body = format!(
            "{}-{i:02}",
            if internal.is_empty() {
                "PUBLIC"
            } else {
                "SECRET"
            }
        );
        assert_eq!(comment(srv, &agent, t, &body, internal).await.status(), 200);
    }
    let mut seen_live = Vec::new();
    while let Some(ev) = open_all_along.next_comment().await {
        seen_live.push(ev.data);
        if seen_live.len() == 36 {
            break;
        }
    }
    let public: Vec<String> = (0..45)
        .filter(|i| i % 5 != 4)
        .map(|i| format!("PUBLIC-{i:02}"))
        .collect();
    assert_eq!(seen_live.len(), public.len());
    for (got, want) in seen_live.iter().zip(&public) {
        assert!(got.contains(want.as_str()), "{want} expected, got {got}");
    }

    let first = ticket_comment::Entity::find()
        .filter(ticket_comment::Column::TicketId.eq(t))
        .order_by_asc(ticket_comment::Column::Id)
        .one(&srv.state.db)
        .await
        .unwrap()
        .unwrap()
        .id;
    // Back after the first comment: 44 behind, more than the shared tail.
    let mut back = Stream::open(srv, Some(&tech1), t, Some(first))
        .await
        .unwrap();
    let mut got = Vec::new();
    while let Some(ev) = back.next_comment().await {
        assert_eq!(ev.kind, "comment", "{ev:?}");
        assert!(!ev.data.contains("SECRET"), "{ev:?}");
        got.push(ev.data);
    }
    assert_eq!(
        got.len(),
        public.len() - 1,
        "everything after the first, once"
    );
    for (got, want) in got.iter().zip(&public[1..]) {
        assert!(got.contains(want.as_str()), "{want} expected, got {got}");
    }
}

/// Ids are taken at insert and seen at commit: a comment may take a lower id
/// than one the page already shows and commit after it. The page says which
/// of its newest comments it has, so such a comment still reaches it, and
/// nothing it has is sent again.
async fn a_comment_that_commits_after_a_newer_one_still_reaches_the_page(srv: &TestServer) {
    let tech1 = srv.sign_in("tech1@acme.example").await;
    let agent = srv.sign_in("agent@example.com").await;
    let t = open(srv, &tech1, "Out of order", "3").await;
    for body in ["FIRST", "LATE", "THIRD"] {
        assert_eq!(comment(srv, &agent, t, body, &[]).await.status(), 200);
    }
    let rows = ticket_comment::Entity::find()
        .filter(ticket_comment::Column::TicketId.eq(t))
        .order_by_asc(ticket_comment::Column::Id)
        .all(&srv.state.db)
        .await
        .unwrap();
    let (first, late, third) = (rows[0].id, rows[1].clone(), rows[2].id);
    // "LATE" is not committed yet when the page reads the ticket.
    ticket_comment::Entity::delete_by_id(late.id)
        .exec(&srv.state.db)
        .await
        .unwrap();
    let query = format!("after={third}&have={first},{third}");
    let mut page = Stream::open_with(srv, Some(&tech1), t, &query, &[])
        .await
        .unwrap();
    assert_eq!(
        page.next(Duration::from_secs(5)).await.unwrap().kind,
        "ticket"
    );
    // Now it commits, and the change is published as any comment's is.
    late.clone()
        .into_active_model()
        .reset_all()
        .insert(&srv.state.db)
        .await
        .unwrap();
    app::core::live::publish(&srv.state, app::core::live::Change::Ticket(t)).await;
    let got = page.next_comment().await.expect("the late comment arrives");
    assert_eq!(got.id, late.id.to_string());
    assert!(got.data.contains("LATE"), "{got:?}");
    assert!(
        page.next_comment().await.is_none(),
        "nothing else, nothing twice"
    );
    // A page that connects after the commit gets it at once; one that has
    // it gets nothing; garbage in `have` is ignored.
    let mut page = Stream::open_with(srv, Some(&tech1), t, &query, &[])
        .await
        .unwrap();
    assert!(page.next_comment().await.unwrap().data.contains("LATE"));
    let all = format!(
        "after={third}&have={first},{},{third},x,-5,99999999999",
        late.id
    );
    let mut page = Stream::open_with(srv, Some(&tech1), t, &all, &[])
        .await
        .unwrap();
    assert!(page.next_comment().await.is_none());
}

/// Two server processes on one PostgreSQL database: a comment posted through
/// one reaches a page open on the other (LISTEN/NOTIFY).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_comment_through_one_process_reaches_a_page_on_another() {
    let Some(srv) = TestServer::start(Backend::Postgres).await else {
        return;
    };
    let other = srv.second_process().await;
    let tech1 = srv.sign_in("tech1@acme.example").await;
    let agent = srv.sign_in("agent@example.com").await;
    let t = open(&srv, &tech1, "Across processes", "3").await;
    let mut page = Stream::open(&other, Some(&tech1), t, None).await.unwrap();
    assert_eq!(
        page.next(Duration::from_secs(5)).await.unwrap().kind,
        "ticket"
    );
    // Give the other process's LISTEN a moment to be in place.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        comment(&srv, &agent, t, "ACROSS from process one", &[])
            .await
            .status(),
        200
    );
    let c = page.next_comment().await.expect("delivered through NOTIFY");
    assert!(c.data.contains("ACROSS"), "{c:?}");
    other.stop().await;
    srv.stop().await;
}

async fn upload(
    srv: &TestServer,
    cookie: Option<&str>,
    ticket: i32,
    name: &str,
    bytes: Vec<u8>,
    internal: bool,
) -> reqwest::Response {
    let part = reqwest::multipart::Part::bytes(bytes).file_name(name.to_string());
    let mut form = reqwest::multipart::Form::new().part("file", part);
    if internal {
        form = form.text("internal", "on");
    }
    let mut req = srv
        .client
        .post(srv.url(&format!("/tickets/{ticket}/attachments")))
        .headers(srv.same_origin())
        .header("accept", "application/json")
        .multipart(form);
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    req.send().await.expect("upload")
}

async fn fetch(srv: &TestServer, cookie: Option<&str>, ticket: i32, id: i32) -> reqwest::Response {
    srv.get(&format!("/tickets/{ticket}/attachments/{id}"), cookie)
        .await
}

fn stored_files(srv: &TestServer) -> usize {
    std::fs::read_dir(srv.state.settings.data_dir.join("attachments"))
        .map(|d| d.count())
        .unwrap_or(0)
}

async fn attachments_are_private_inert_and_bounded(srv: &TestServer) {
    let tech1 = srv.sign_in("tech1@acme.example").await;
    let agent = srv.sign_in("agent@example.com").await;
    let t = open(srv, &tech1, "Logs attached", "3").await;

    let res = upload(
        srv,
        Some(&tech1),
        t,
        "notes.txt",
        b"hello logs".to_vec(),
        false,
    )
    .await;
    assert_eq!(res.status(), 200);
    let a: i32 = res.json().await.unwrap();
    let res = fetch(srv, Some(&tech1), t, a).await;
    assert_eq!(res.status(), 200);
    let h = res.headers().clone();
    assert_eq!(h["content-type"], "application/octet-stream");
    assert!(h["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment; filename=\"notes.txt\""));
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["content-security-policy"], "sandbox; default-src 'none'");
    assert_eq!(res.bytes().await.unwrap().as_ref(), b"hello logs");
    // The upload is a comment linking to it, so it shows (and streams) like one.
    let view: Value = load(srv, Some(&tech1), t).await.json().await.unwrap();
    let last = view["comments"].as_array().unwrap().last().unwrap()["body_html"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        last.contains(&format!("href=\"/tickets/{t}/attachments/{a}\"")),
        "{last}"
    );

    // Who may download: exactly who may see the ticket.
    assert_eq!(fetch(srv, None, t, a).await.status(), 401);
    for who in ["tech2@acme.example", "main@globex.example"] {
        let c = srv.sign_in(who).await;
        assert_eq!(fetch(srv, Some(&c), t, a).await.status(), 404, "{who}");
        assert_eq!(
            upload(srv, Some(&c), t, "x.txt", b"x".to_vec(), false)
                .await
                .status(),
            404,
            "{who}"
        );
    }
    assert_eq!(fetch(srv, Some(&agent), t, a).await.status(), 200);
    // Another ticket's id in the path does not reach this file.
    let other = open(srv, &tech1, "Other", "4").await;
    assert_eq!(fetch(srv, Some(&tech1), other, a).await.status(), 404);

    // Active content is served inert, with server-made storage names.
    for (name, body) in [
        (
            "evil.svg",
            "<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>",
        ),
        ("page.html", "<script>alert(document.cookie)</script>"),
        ("../../../etc/passwd", "root:x:0:0"),
    ] {
        let res = upload(srv, Some(&tech1), t, name, body.as_bytes().to_vec(), false).await;
        assert_eq!(res.status(), 200, "{name}");
        let id: i32 = res.json().await.unwrap();
        let row = ticket_attachment::Entity::find_by_id(id)
            .one(&srv.state.db)
            .await
            .unwrap()
            .unwrap();
        assert!(
            !row.file_name.contains('/') && !row.file_name.contains(".."),
            "{row:?}"
        );
        assert!(
            row.storage_name.len() == 32 && row.storage_name.chars().all(|c| c.is_ascii_hexdigit())
        );
        let res = fetch(srv, Some(&tech1), t, id).await;
        assert_eq!(res.headers()["content-type"], "application/octet-stream");
        assert!(res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment;"));
    }
    assert!(!srv.state.settings.data_dir.join("etc").exists());
    // A file name with a line break cannot add a header.
    let part =
        reqwest::multipart::Part::bytes(b"x".to_vec()).file_name("a\r\nSet-Cookie: pwned=1.txt");
    let res = srv
        .client
        .post(srv.url(&format!("/tickets/{t}/attachments")))
        .headers(srv.same_origin())
        .header("accept", "application/json")
        .header("cookie", &tech1)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    assert!(
        res.status() == 200 || res.status() == 400,
        "{}",
        res.status()
    );
    if res.status() == 200 {
        let id: i32 = res.json().await.unwrap();
        let res = fetch(srv, Some(&tech1), t, id).await;
        assert!(res
            .headers()
            .get_all("set-cookie")
            .iter()
            .all(|v| !v.to_str().unwrap().contains("pwned")));
        assert!(!res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains('\n'));
    }

    // Internal files: staff only, and only staff attach them.
    let res = upload(
        srv,
        Some(&agent),
        t,
        "internal.txt",
        b"staff eyes only".to_vec(),
        true,
    )
    .await;
    assert_eq!(res.status(), 200);
    let internal: i32 = res.json().await.unwrap();
    assert_eq!(fetch(srv, Some(&tech1), t, internal).await.status(), 404);
    assert_eq!(fetch(srv, Some(&agent), t, internal).await.status(), 200);
    let view = load(srv, Some(&tech1), t).await.text().await.unwrap();
    assert!(!view.contains("internal.txt"));
    assert_eq!(
        upload(srv, Some(&tech1), t, "x.txt", b"x".to_vec(), true)
            .await
            .status(),
        400
    );

    // Past the limit: refused with the limit in the message, nothing kept.
    let files = stored_files(srv);
    let rows = ticket_attachment::Entity::find()
        .all(&srv.state.db)
        .await
        .unwrap()
        .len();
    let limit = srv.state.settings.attachment_max_bytes as usize;
    let res = upload(
        srv,
        Some(&tech1),
        t,
        "huge.bin",
        vec![7u8; limit + 1],
        false,
    )
    .await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("larger than 25.0 MB"));
    assert_eq!(stored_files(srv), files);
    assert_eq!(
        ticket_attachment::Entity::find()
            .all(&srv.state.db)
            .await
            .unwrap()
            .len(),
        rows
    );
    // Exactly the limit is fine; empty is not.
    assert_eq!(
        upload(srv, Some(&tech1), t, "max.bin", vec![1u8; limit], false)
            .await
            .status(),
        200
    );
    assert_eq!(
        upload(srv, Some(&tech1), t, "empty.txt", Vec::new(), false)
            .await
            .status(),
        400
    );
}

async fn saved_replies_and_merging_duplicates(srv: &TestServer) {
    let agent = srv.sign_in("agent@example.com").await;
    let tech1 = srv.sign_in("tech1@acme.example").await;
    let tech2 = srv.sign_in("tech2@acme.example").await;
    let save = |cookie: String, title: &'static str, body: &'static str| async move {
        srv.call(
            "save_canned_reply",
            Some(&cookie),
            &[("title", title), ("body", body)],
        )
        .await
    };
    assert_eq!(save(tech1.clone(), "Logs", "Send logs").await.status(), 403);
    assert_eq!(save(agent.clone(), "", "Send logs").await.status(), 400);
    let res = save(
        agent.clone(),
        "Ask for logs",
        "Please attach `journalctl -u portico` output.",
    )
    .await;
    assert_eq!(res.status(), 200);
    let canned: i32 = res.json().await.unwrap();
    assert_eq!(
        save(agent.clone(), "Ask for logs", "again").await.status(),
        400,
        "titles are unique"
    );

    let t = open(srv, &tech1, "Crash on start", "2").await;
    let ts = t.to_string();
    let cs = canned.to_string();
    let res = srv
        .call(
            "add_comment",
            Some(&agent),
            &[("ticket_id", &ts), ("body", ""), ("canned_id", &cs)],
        )
        .await;
    assert_eq!(res.status(), 200);
    let view: Value = load(srv, Some(&tech1), t).await.json().await.unwrap();
    let last = view["comments"].as_array().unwrap().last().unwrap()["body_html"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        last.contains("<code>journalctl -u portico</code>"),
        "{last}"
    );
    let res = srv
        .call(
            "add_comment",
            Some(&tech1),
            &[("ticket_id", &ts), ("body", "x"), ("canned_id", &cs)],
        )
        .await;
    assert_eq!(res.status(), 400, "saved replies are for staff");

    // tech2 opened the same problem: merged into tech1's ticket.
    let dup = open(srv, &tech2, "Crash on start (me too)", "2").await;
    assert_eq!(
        comment(srv, &tech2, dup, "DUP-COMMENT same here", &[])
            .await
            .status(),
        200
    );
    let ds = dup.to_string();
    let globex = srv.sign_in("main@globex.example").await;
    let foreign = open(srv, &globex, "Globex thing", "4").await.to_string();
    for (into, who, want) in [
        (ds.as_str(), &agent, 400),      // into itself
        (foreign.as_str(), &agent, 400), // another organization
        ("abc", &agent, 400),
        (ts.as_str(), &tech2, 403), // customers do not merge
    ] {
        let res = srv
            .call(
                "merge_ticket",
                Some(who),
                &[("ticket_id", &ds), ("into", into)],
            )
            .await;
        assert_eq!(res.status(), want, "into {into}");
    }
    // Without "let them follow", a private organization's duplicate requester
    // does not get to read the kept ticket; the files of the moved comments
    // still download, at the kept ticket's address.
    let quiet = open(srv, &tech2, "Crash on start (again)", "2").await;
    assert_eq!(
        upload(
            srv,
            Some(&tech2),
            quiet,
            "crash.log",
            b"boom".to_vec(),
            false
        )
        .await
        .status(),
        200
    );
    let res = srv
        .call(
            "merge_ticket",
            Some(&agent),
            &[("ticket_id", &quiet.to_string()), ("into", &ts)],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert!(load(srv, Some(&tech2), t).await.status().is_client_error());
    let file = ticket_attachment::Entity::find()
        .filter(ticket_attachment::Column::FileName.eq("crash.log"))
        .one(&srv.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(file.ticket_id, t);
    let moved = ticket_comment::Entity::find()
        .filter(ticket_comment::Column::TicketId.eq(t))
        .filter(ticket_comment::Column::Body.contains("crash.log"))
        .one(&srv.state.db)
        .await
        .unwrap()
        .unwrap();
    let link = format!("/tickets/{t}/attachments/{}", file.id);
    assert!(moved.body.contains(&link), "{}", moved.body);
    assert_eq!(srv.get(&link, Some(&agent)).await.status(), 200);

    // With it, tech2 follows the kept ticket.
    let res = srv
        .call(
            "merge_ticket",
            Some(&agent),
            &[
                ("ticket_id", &ds),
                ("into", &format!("#{t}")),
                ("share", "on"),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        ticket::Entity::find_by_id(dup)
            .one(&srv.state.db)
            .await
            .unwrap()
            .unwrap()
            .status,
        "closed"
    );
    // tech2 now follows the surviving ticket and sees the whole conversation.
    let view = load(srv, Some(&tech2), t).await;
    assert_eq!(view.status(), 200);
    let text = view.text().await.unwrap();
    assert!(
        text.contains("DUP-COMMENT") && text.contains("was merged into this one"),
        "{text}"
    );
    assert!(event_kinds(srv, t).await.contains(&"merged".to_string()));
    let res = srv
        .call(
            "merge_ticket",
            Some(&agent),
            &[("ticket_id", &ds), ("into", &ts)],
        )
        .await;
    assert_eq!(res.status(), 400, "a closed ticket is not merged again");

    let res = srv
        .call("delete_canned_reply", Some(&agent), &[("canned_id", &cs)])
        .await;
    assert_eq!(res.status(), 200);
    let res = srv
        .call("delete_canned_reply", Some(&agent), &[("canned_id", &cs)])
        .await;
    assert_eq!(res.status(), 404);
}

async fn add_server(srv: &TestServer, org: &str, name: &str, status: &str) -> i32 {
    let now = chrono::Utc::now();
    covered_server::ActiveModel {
        organization_id: Set(org_id(srv, org).await),
        name: Set(name.into()),
        kind: Set(String::new()),
        quantity: Set(1),
        note: Set(String::new()),
        status: Set(status.into()),
        requested_by: Set(None),
        decided_by: Set(None),
        decided_at: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&srv.state.db)
    .await
    .unwrap()
    .id
}

async fn affected_servers_come_from_the_organizations_inventory(srv: &TestServer) {
    let tech1 = srv.sign_in("tech1@acme.example").await;
    let offered: Vec<(i32, String)> = srv
        .call("ticket_servers", Some(&tech1), &[])
        .await
        .json()
        .await
        .unwrap();
    let labels: Vec<&str> = offered.iter().map(|(_, l)| l.as_str()).collect();
    assert_eq!(
        labels,
        ["db-1 (bare metal)", "db-2 (bare metal)", "web-1 (VM)"]
    );
    let id_of = |label: &str| {
        offered
            .iter()
            .find(|(_, l)| l == label)
            .unwrap()
            .0
            .to_string()
    };
    let (web, db2) = (id_of("web-1 (VM)"), id_of("db-2 (bare metal)"));
    let globex = add_server(srv, "Globex", "gx-1", "accepted")
        .await
        .to_string();
    let pending = add_server(srv, "Acme Corp", "new-1", "pending")
        .await
        .to_string();
    let tickets = || async {
        ticket::Entity::find()
            .all(&srv.state.db)
            .await
            .unwrap()
            .len()
    };

    // Opens a ticket naming `servers` as form fields `ticket[servers][i]`.
    let open_naming = |servers: Vec<(usize, String)>| {
        let tech1 = tech1.clone();
        async move {
            let names: Vec<String> = servers
                .iter()
                .map(|(i, _)| format!("ticket[servers][{i}]"))
                .collect();
            let mut form = vec![
                ("ticket[subject]", "Slow disks"),
                ("ticket[description]", "Since the upgrade."),
                ("ticket[severity]", "3"),
            ];
            form.extend(
                names
                    .iter()
                    .zip(&servers)
                    .map(|(n, (_, id))| (n.as_str(), id.as_str())),
            );
            srv.call("open_ticket", Some(&tech1), &form).await
        }
    };

    // Checked boxes arrive with gaps in their indexes, as a browser sends them.
    let res = open_naming(vec![(0, web.clone()), (2, db2)]).await;
    assert_eq!(res.status(), 200);
    let t: i32 = res.json().await.unwrap();
    let view: Value = srv
        .call(
            "load_ticket",
            Some(&tech1),
            &[("ticket_id", &t.to_string())],
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        view["servers"],
        serde_json::json!(["db-2 (bare metal)", "web-1 (VM)"])
    );
    let page = srv
        .get(&format!("/support/tickets/{t}"), Some(&tech1))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("db-2 (bare metal), web-1 (VM)"), "{page}");

    // Another organization's server, or one not accepted yet: refused, nothing saved.
    let before = tickets().await;
    for other in [globex.clone(), pending] {
        let res = open_naming(vec![(0, web.clone()), (1, other)]).await;
        assert_eq!(res.status(), 400);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["problems"][0]["field"], "servers", "{body}");
    }
    assert_eq!(tickets().await, before, "nothing saved");

    // Globex's sole contact sees only Globex's servers; staff open no tickets.
    let gus = srv.sign_in("main@globex.example").await;
    let theirs: Vec<(i32, String)> = srv
        .call("ticket_servers", Some(&gus), &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(theirs, [(globex.parse().unwrap(), "gx-1".to_string())]);
    let agent = srv.sign_in("agent@example.com").await;
    assert_eq!(
        srv.call("ticket_servers", Some(&agent), &[]).await.status(),
        403
    );
    assert_eq!(srv.call("ticket_servers", None, &[]).await.status(), 401);
}

async fn admins_see_how_many_live_pages_the_server_holds(srv: &TestServer) {
    let tech1 = srv.sign_in("tech1@acme.example").await;
    let admin = srv.sign_in("admin@example.com").await;
    let agent = srv.sign_in("agent@example.com").await;
    let t = open(srv, &tech1, "Watched", "3").await;
    let figures = |cookie: String| async move {
        let v: Value = srv
            .call("load_staff_dashboard", Some(&cookie), &[])
            .await
            .json()
            .await
            .unwrap();
        v["server"].clone()
    };
    let open_pages = || async { figures(admin.clone()).await["live_pages"].as_u64().unwrap() };
    assert_eq!(open_pages().await, 0);
    let mut page = Stream::open(srv, Some(&tech1), t, None).await.unwrap();
    assert!(page.next(Duration::from_secs(5)).await.is_some());
    assert_eq!(open_pages().await, 1);
    let server = figures(admin.clone()).await;
    assert!(server["heap_bytes"].as_u64().unwrap() > 0, "{server}");
    assert!(figures(agent.clone()).await.is_null(), "admins only");
    // A page that goes away stops counting.
    drop(page);
    let mut left = 1;
    for _ in 0..50 {
        left = open_pages().await;
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(left, 0, "the closed page's stream ended");
}

/// A change to the ticket reuses each page's last access decision; what
/// ends access tells every page at once (well before the periodic check):
/// signing out, and the subscription being cancelled.
async fn open_pages_close_at_once_when_access_ends(srv: &TestServer) {
    let tech1 = srv.sign_in("tech1@acme.example").await;
    let other_tab = srv.sign_in("tech1@acme.example").await;
    let agent = srv.sign_in("agent@example.com").await;
    let t = open(srv, &tech1, "Access ends", "3").await;
    let mut signed_out = Stream::open(srv, Some(&tech1), t, None).await.unwrap();
    let mut cancelled = Stream::open(srv, Some(&other_tab), t, None).await.unwrap();
    let mut staff = Stream::open(srv, Some(&agent), t, None).await.unwrap();
    assert_eq!(
        comment(srv, &agent, t, "STILL-HERE", &[]).await.status(),
        200
    );
    for s in [&mut signed_out, &mut cancelled, &mut staff] {
        let ev = s.next_comment().await.expect("the comment");
        assert!(ev.data.contains("STILL-HERE"), "{ev:?}");
    }

    let res = srv.call("sign_out", Some(&tech1), &[]).await;
    assert_eq!(res.status(), 200);
    let end = signed_out.next_comment().await.expect("end event");
    assert_eq!(end.kind, "end");
    assert!(
        signed_out.next(Duration::from_secs(2)).await.is_none(),
        "closed"
    );

    let clerk = srv.sign_in("billing@example.com").await;
    let acme = org_id(srv, "Acme Corp").await.to_string();
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
    assert_eq!(res.status(), 200);
    let end = cancelled.next_comment().await.expect("end event");
    assert_eq!(end.kind, "end");
    // Staff pages stay open and keep getting the ticket's changes.
    assert_eq!(
        comment(srv, &agent, t, "STAFF-STILL", &[]).await.status(),
        200
    );
    let ev = staff.next_comment().await.expect("staff still live");
    assert!(ev.data.contains("STAFF-STILL"), "{ev:?}");
}
