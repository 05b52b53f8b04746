//! The dashboards' figures against values worked out by hand on a small
//! fixture: SLA attainment, medians and 90th percentiles in business and
//! calendar time (a business-hours level, a paused clock), backlog, reopen
//! rate, load, renewals, recurring revenue, invoice ageing and offers
//! awaiting an answer; the durations a ticket's life records; the Main
//! Contact's record; and the CSV exports by role.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use entity::{document, level, organization, subscription, ticket, ticket_sla, SubscriptionStatus};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde_json::Value;

use crate::common::{self, org_id, TestServer};
use crate::db_tests;

db_tests!(
    support_figures_match_the_hand_worked_fixture,
    business_figures_match_the_hand_worked_fixture,
    a_ticket_life_records_its_durations_and_reopens,
);

/// No tickets but the fixture's.
async fn clear_tickets(srv: &TestServer) {
    for table in [
        "ticket_attachments",
        "ticket_comments",
        "ticket_events",
        "ticket_slas",
        "ticket_followers",
        "ticket_servers",
        "inbound_messages",
        "tickets",
    ] {
        srv.state
            .db
            .execute_unprepared(&format!("DELETE FROM {table}"))
            .await
            .unwrap();
    }
}

fn at(day: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
    day.and_hms_opt(hour, minute, 0).unwrap().and_utc()
}

async fn new_level(srv: &TestServer, name: &str, price_minor: i64, period: &str) -> i32 {
    let any = level::Entity::find()
        .one(&srv.state.db)
        .await
        .unwrap()
        .unwrap();
    level::ActiveModel {
        program_id: Set(any.program_id),
        name: Set(name.into()),
        max_technical_contacts: Set(3),
        included_servers: Set(5),
        repository_channels: Set(String::new()),
        kb_tier: Set("standard".into()),
        price_minor: Set(price_minor),
        currency: Set("CHF".into()),
        billing_period: Set(period.into()),
        // Every day, 09:00 to 17:00 UTC.
        timezone: Set("UTC".into()),
        business_days: Set("1-7".into()),
        business_hours_start: Set("09:00".into()),
        business_hours_end: Set("17:00".into()),
        holidays: Set(String::new()),
        active: Set(true),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&srv.state.db)
    .await
    .unwrap()
    .id
}

struct Fixture {
    org: i32,
    requester: i32,
}

impl Fixture {
    #[allow(clippy::too_many_arguments)]
    async fn ticket(
        &self,
        srv: &TestServer,
        level: i32,
        severity: i16,
        created: DateTime<Utc>,
        solved: Option<DateTime<Utc>>,
        assignee: Option<i32>,
        reopens: i32,
    ) -> i32 {
        ticket::ActiveModel {
            organization_id: Set(self.org),
            requester_contact_id: Set(self.requester),
            subject: Set(format!("Fixture {created}")),
            description: Set(String::new()),
            severity: Set(severity),
            product: Set(String::new()),
            version: Set(String::new()),
            status: Set(if solved.is_some() { "solved" } else { "open" }.into()),
            assignee_user_id: Set(assignee),
            token: Set(common::tempdir::uuid()),
            level_id: Set(Some(level)),
            created_at: Set(created),
            updated_at: Set(created),
            solved_at: Set(solved),
            is_open: Set(solved.is_none()),
            reopens: Set(reopens),
            ..Default::default()
        }
        .insert(&srv.state.db)
        .await
        .unwrap()
        .id
    }
}

/// A clock with `runs`, met at `met` and breached at `breached`, its
/// durations left for the scheduler to work out (as for clocks met before
/// durations were kept).
#[allow(clippy::too_many_arguments)]
async fn clock(
    srv: &TestServer,
    ticket_id: i32,
    target: &str,
    minutes: i32,
    around: bool,
    runs: &[(DateTime<Utc>, Option<DateTime<Utc>>)],
    met: Option<DateTime<Utc>>,
    breached: Option<DateTime<Utc>>,
) {
    // An unmet clock is due: in a month, or when it was breached.
    let due = met
        .is_none()
        .then(|| breached.unwrap_or(Utc::now() + Duration::days(30)));
    ticket_sla::ActiveModel {
        ticket_id: Set(ticket_id),
        target: Set(target.into()),
        minutes: Set(minutes),
        around_the_clock: Set(around),
        runs: Set(serde_json::to_string(runs).unwrap()),
        due_at: Set(due),
        fulfilled_at: Set(met),
        breached_at: Set(breached),
        warned_at: Set(breached),
        warn_at: Set(due.filter(|_| breached.is_none())),
        ..Default::default()
    }
    .insert(&srv.state.db)
    .await
    .unwrap();
}

async fn figures(srv: &TestServer, cookie: &str, period: &str) -> Value {
    let res = srv
        .call(
            "load_support_dashboard",
            Some(cookie),
            &[("period", period)],
        )
        .await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

fn attainment(rows: &Value, label: &str, target: &str) -> (u64, u64, u64) {
    let r = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["label"] == label && r["target"] == target)
        .unwrap_or_else(|| panic!("no row {label} / {target} in {rows}"));
    (
        r["met"].as_u64().unwrap(),
        r["breached"].as_u64().unwrap(),
        r["running"].as_u64().unwrap(),
    )
}

fn spread(v: &Value) -> (u64, i64, i64) {
    (
        v["count"].as_u64().unwrap(),
        v["median_secs"].as_i64().unwrap(),
        v["p90_secs"].as_i64().unwrap(),
    )
}

async fn support_figures_match_the_hand_worked_fixture(srv: &TestServer) {
    clear_tickets(srv).await;
    let db = &srv.state.db;
    let today = Utc::now().date_naive();
    let d = today - Duration::days(2);
    let (d0, d1) = (d - Duration::days(1), d + Duration::days(1));
    let business = new_level(srv, "Fixture Business", 100_000, "yearly").await;
    let allday = new_level(srv, "Fixture 24x7", 100_000, "yearly").await;
    let agent = entity::user::Entity::find()
        .filter(entity::user::Column::Email.eq("agent@example.com"))
        .one(db)
        .await
        .unwrap()
        .unwrap();
    let f = Fixture {
        org: org_id(srv, "Acme Corp").await,
        requester: common::contact_id(srv, "tech1@acme.example").await,
    };
    // T1, business hours: first response 08:00 → 10:00 (one business
    // hour, two calendar hours); resolution 08:00 → 12:00, paused 12:00 →
    // 14:00 waiting on the customer, 14:00 → 15:00 (four business hours,
    // seven calendar hours).
    let t1 = f
        .ticket(srv, business, 1, at(d, 8, 0), Some(at(d, 15, 0)), None, 0)
        .await;
    clock(
        srv,
        t1,
        "first_response",
        120,
        false,
        &[(at(d, 8, 0), Some(at(d, 10, 0)))],
        Some(at(d, 10, 0)),
        None,
    )
    .await;
    clock(
        srv,
        t1,
        "resolution",
        600,
        false,
        &[
            (at(d, 8, 0), Some(at(d, 12, 0))),
            (at(d, 14, 0), Some(at(d, 15, 0))),
        ],
        Some(at(d, 15, 0)),
        None,
    )
    .await;
    // T2, business hours, assigned: first response (target 90 business
    // minutes) 16:00 → next day 10:00 (17:00 closes after one hour,
    // 09:00–10:00 one more: two business hours, eighteen calendar hours),
    // breached at 09:30; resolution running.
    let t2 = f
        .ticket(srv, business, 2, at(d, 16, 0), None, Some(agent.id), 0)
        .await;
    clock(
        srv,
        t2,
        "first_response",
        90,
        false,
        &[(at(d, 16, 0), Some(at(d1, 10, 0)))],
        Some(at(d1, 10, 0)),
        Some(at(d1, 9, 30)),
    )
    .await;
    clock(
        srv,
        t2,
        "resolution",
        600,
        false,
        &[(at(d, 16, 0), None)],
        None,
        None,
    )
    .await;
    // T3, around the clock, solved after being reopened once: first response
    // in 30 minutes, resolution in 6 hours.
    let t3 = f
        .ticket(srv, allday, 1, at(d, 0, 0), Some(at(d, 6, 0)), None, 1)
        .await;
    clock(
        srv,
        t3,
        "first_response",
        60,
        true,
        &[(at(d, 0, 0), Some(at(d, 0, 30)))],
        Some(at(d, 0, 30)),
        None,
    )
    .await;
    clock(
        srv,
        t3,
        "resolution",
        480,
        true,
        &[(at(d, 0, 0), Some(at(d, 6, 0)))],
        Some(at(d, 6, 0)),
        None,
    )
    .await;
    // T4, around the clock, opened the day before: first response (target
    // an hour) breached at 13:00, unmet.
    let t4 = f.ticket(srv, allday, 3, at(d0, 12, 0), None, None, 0).await;
    clock(
        srv,
        t4,
        "first_response",
        60,
        true,
        &[(at(d0, 12, 0), None)],
        None,
        Some(at(d0, 13, 0)),
    )
    .await;
    for t in [t1, t2, t3, t4] {
        app::support::ssr::sync_queue(db, t).await.unwrap();
    }
    // The scheduler works out the durations, then the figures.
    app::support::ssr::sweep(&srv.state, Duration::days(3650))
        .await
        .unwrap();
    let used: Vec<Option<i64>> = ticket_sla::Entity::find()
        .filter(ticket_sla::Column::TicketId.eq(t1))
        .order_by_asc(ticket_sla::Column::Id)
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.used_secs)
        .collect();
    assert_eq!(
        used,
        vec![Some(3600), Some(4 * 3600)],
        "business time, pause left out"
    );
    app::dashboards::ssr::refresh(db, Utc::now()).await.unwrap();

    let admin = srv.sign_in("admin@example.com").await;
    let v = figures(srv, &admin, "7d").await;
    let fig = &v["figures"];
    let level = &fig["by_level"];
    assert_eq!(
        attainment(level, "Fixture Business", "First response"),
        (1, 1, 0)
    );
    assert_eq!(
        attainment(level, "Fixture Business", "Resolution"),
        (1, 0, 1)
    );
    assert_eq!(
        attainment(level, "Fixture 24x7", "First response"),
        (1, 1, 0)
    );
    assert_eq!(attainment(level, "Fixture 24x7", "Resolution"), (1, 0, 0));
    let sev = &fig["by_severity"];
    assert_eq!(attainment(sev, "1 — Critical", "First response"), (2, 0, 0));
    assert_eq!(attainment(sev, "1 — Critical", "Resolution"), (2, 0, 0));
    assert_eq!(attainment(sev, "2 — High", "First response"), (0, 1, 0));
    assert_eq!(attainment(sev, "2 — High", "Resolution"), (0, 0, 1));
    assert_eq!(attainment(sev, "3 — Medium", "First response"), (0, 1, 0));
    // First responses, business [1800, 3600, 7200]: median 3600, p90 the
    // third; calendar [1800, 7200, 64800].
    let first = &fig["durations"][0];
    assert_eq!(first["target"], "First response");
    assert_eq!(spread(&first["business"]), (3, 3600, 7200));
    assert_eq!(spread(&first["calendar"]), (3, 7200, 64800));
    // Resolutions, business [14400, 21600]: median their mean; calendar
    // [21600, 25200].
    let res = &fig["durations"][1];
    assert_eq!(spread(&res["business"]), (2, 18000, 21600));
    assert_eq!(spread(&res["calendar"]), (2, 23400, 25200));
    assert_eq!(fig["opened"], 4);
    assert_eq!(fig["solved"], 2);
    assert_eq!(fig["reopened"], 1);
    // Backlog at each day's end: T4 from d0; T2 from d (T1 and T3 solved the same day).
    let backlog: Vec<(String, u64, u64, u64)> = fig["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["from"].as_str().unwrap().to_string(),
                b["opened"].as_u64().unwrap(),
                b["solved"].as_u64().unwrap(),
                b["backlog"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(backlog.len(), 7);
    let day = |x: NaiveDate| {
        backlog
            .iter()
            .find(|b| b.0 == x.to_string())
            .cloned()
            .unwrap()
    };
    assert_eq!(
        day(d0 - Duration::days(1)),
        ((d0 - Duration::days(1)).to_string(), 0, 0, 0)
    );
    assert_eq!(day(d0), (d0.to_string(), 1, 0, 1));
    assert_eq!(day(d), (d.to_string(), 3, 2, 2));
    assert_eq!(day(today), (today.to_string(), 0, 0, 2));
    let load: Vec<(String, u64)> = fig["load"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["name"].as_str().unwrap().into(),
                l["open"].as_u64().unwrap(),
            )
        })
        .collect();
    let mut want = vec![(agent.name.clone(), 1), ("Unassigned".to_string(), 1)];
    want.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(load, want);
    // Live: T2 and T4 open, T4 unassigned and past due, T2's resolution
    // due in a month.
    let live = &v["live"];
    assert_eq!(live["open"]["count"], 2);
    assert_eq!(live["unassigned"]["count"], 1);
    assert_eq!(live["overdue"]["count"], 1);
    assert_eq!(live["due_soon"]["count"], 0);
    // The quarter before: nothing of the fixture (unless the fixture's days
    // reach back into it, in a quarter's first days).
    let last = figures(srv, &admin, "last-quarter").await;
    let last_to: NaiveDate = last["figures"]["to"].as_str().unwrap().parse().unwrap();
    if d0 >= last_to {
        assert_eq!(last["figures"]["opened"], 0);
        assert!(last["figures"]["by_level"].as_array().unwrap().is_empty());
    }

    // A bar leads to the tickets it counts: those opened that day.
    let listed = |opened: String| {
        let admin = admin.clone();
        async move {
            let res = srv
                .call(
                    "list_tickets",
                    Some(&admin),
                    &[
                        ("filter[queue]", "all"),
                        ("filter[opened]", opened.as_str()),
                    ],
                )
                .await;
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap())
        }
    };
    let ids = |v: &Value| {
        let mut ids: Vec<i64> = v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_i64().unwrap())
            .collect();
        ids.sort_unstable();
        ids
    };
    let (status, day) = listed(d.to_string()).await;
    assert_eq!(status, 200);
    assert_eq!(ids(&day), vec![i64::from(t1), i64::from(t2), i64::from(t3)]);
    let (_, days) = listed(format!("{d0}..{d}")).await;
    assert_eq!(ids(&days).len(), 4);
    // And the solved bar to those solved that day.
    let res = srv
        .call(
            "list_tickets",
            Some(&admin),
            &[
                ("filter[queue]", "all"),
                ("filter[solved]", d.to_string().as_str()),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        ids(&res.json().await.unwrap()),
        vec![i64::from(t1), i64::from(t3)]
    );
    let res = srv
        .call(
            "list_tickets",
            Some(&admin),
            &[("filter[queue]", "all"), ("filter[solved]", "yesterday")],
        )
        .await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("day solved"));
    for wrong in ["2026-13-01", "+262142-12-31", "2026-12-07..2026-12-01"] {
        let (status, bad) = listed(wrong.into()).await;
        assert_eq!(status, 400, "{wrong}: {bad}");
    }
    let (status, bad) = listed("2026-13-01".into()).await;
    assert_eq!(status, 400, "{bad}");
    // The queue keeps the day in its tabs and offers to drop it.
    let queue = srv
        .get(
            &format!("/staff/tickets?queue=all&opened={d}"),
            Some(&admin),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(queue.contains(&format!("queue=open&amp;status=&amp;severity=&amp;organization_id=&amp;organization=&amp;opened={d}")), "tabs keep it");
    assert!(queue.contains("Any time"));
    assert!(
        bad.to_string().contains("2026-12-01..2026-12-07"),
        "says what to write: {bad}"
    );
    assert!(
        figures_page_links(srv, &admin, d).await,
        "the day's bar links to its tickets"
    );

    // The page draws the charts on the server, readable without script.
    let page = srv
        .get("/staff?period=7d", Some(&admin))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("<svg"), "chart drawn");
    assert!(page.contains("Opened and solved per day"));
    assert!(page.contains("Fixture Business"));
    assert!(
        page.contains("aria-current=\"page\">Last 7 days"),
        "period marked"
    );

    // The organization search and the period survive each other.
    let both = srv
        .get("/staff?period=7d&org=Acm", Some(&admin))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        both.contains("href=\"/staff?period=90d&amp;org=Acm\""),
        "period links keep the search"
    );
    assert!(
        both.contains("name=\"period\" value=\"7d\""),
        "the search keeps the period"
    );

    // CSV: the same figures, for the roles that see them.
    let csv = srv
        .get(
            "/staff/figures.csv?table=response-times&period=7d",
            Some(&admin),
        )
        .await;
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let body = csv.text().await.unwrap();
    assert!(
        body.contains("First response,3,3600,7200,7200,64800\r\n"),
        "{body}"
    );
    let billing = srv.sign_in("billing@example.com").await;
    for (who, table, want) in [
        (&billing, "response-times", 403),
        (&billing, "invoice-ageing", 200),
        (&admin, "nonsense", 404),
    ] {
        let r = srv
            .get(&format!("/staff/figures.csv?table={table}"), Some(who))
            .await;
        assert_eq!(r.status(), want, "{table}");
    }
    let agent_cookie = srv.sign_in("agent@example.com").await;
    let r = srv
        .get("/staff/figures.csv?table=renewals", Some(&agent_cookie))
        .await;
    assert_eq!(r.status(), 403, "agents do not see the business figures");
    let r = srv.get("/staff/figures.csv?table=agent-load", None).await;
    assert!(matches!(r.status().as_u16(), 401 | 303), "{}", r.status());

    // The Main Contact's record: open tickets by severity, this quarter's
    // clocks (those of the fixture that fall in it), and no subjects.
    let acme_id = org_id(srv, "Acme Corp").await;
    let due_in = Some(today + Duration::days(10));
    document(srv, acme_id, "invoice", "sent", 10_000, 0, due_in, None).await;
    let main = srv.sign_in("main@acme.example").await;
    let rec: Value = srv
        .call("load_customer_record", Some(&main), &[])
        .await
        .json()
        .await
        .unwrap();
    let open: Vec<(String, u64)> = serde_json::from_value(rec["open_by_severity"].clone()).unwrap();
    assert_eq!(open, vec![("2 — High".into(), 1), ("3 — Medium".into(), 1)]);
    let quarter_from: NaiveDate = rec["quarter_from"].as_str().unwrap().parse().unwrap();
    let inq = |x: NaiveDate| u64::from(x >= quarter_from);
    // Met on time: T1 ×2 and T3 ×2 (day d); breached: T2 (d1), T4 (d0).
    assert_eq!(rec["met"], 4 * inq(d));
    assert_eq!(rec["breached"], inq(d1) + inq(d0));
    assert!(
        !rec.to_string().contains("Fixture 20"),
        "no ticket subjects: {rec}"
    );
    assert_eq!(rec["invoices_shown"], true);
    let owed = rec["invoices_due"].as_array().unwrap();
    assert_eq!(owed.len(), 1, "{rec}");
    assert!(owed[0]["link"]
        .as_str()
        .unwrap()
        .starts_with("/billing/documents/"));

    // The same record on the organization's staff page: invoices for the
    // roles that work documents, the tickets' link for those that work tickets.
    let acme = org_id(srv, "Acme Corp").await.to_string();
    for (who, invoices, tickets) in [
        ("agent@example.com", false, true),
        ("billing@example.com", true, false),
        ("admin@example.com", true, true),
    ] {
        let cookie = srv.sign_in(who).await;
        let staff: Value = srv
            .call(
                "load_organization_record",
                Some(&cookie),
                &[("organization_id", &acme)],
            )
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            (&staff["met"], &staff["breached"]),
            (&rec["met"], &rec["breached"]),
            "{who}"
        );
        assert_eq!(staff["open_by_severity"], rec["open_by_severity"], "{who}");
        assert_eq!(staff["invoices_shown"], invoices, "{who}");
        assert_eq!(staff["tickets_link"].is_string(), tickets, "{who}");
        // Acme owes on one invoice: staff open it in the console.
        let due = staff["invoices_due"].as_array().unwrap();
        assert_eq!(due.len(), usize::from(invoices), "{who}: {staff}");
        assert!(due
            .iter()
            .all(|i| i["link"].as_str().unwrap().starts_with("/staff/billing/")));
    }
    let page = srv
        .get(&format!("/staff/organizations/{acme}"), Some(&admin))
        .await
        .text()
        .await
        .unwrap();
    let (record, contacts) = (
        page.find("Support record"),
        page.find("id=\"contacts-title\""),
    );
    assert!(
        record.is_some() && record < contacts,
        "on the organization's page, after its subscription and before its contacts"
    );
}

#[allow(clippy::too_many_arguments)]
async fn document(
    srv: &TestServer,
    org: i32,
    kind: &str,
    status: &str,
    total: i64,
    paid: i64,
    due: Option<NaiveDate>,
    sent: Option<DateTime<Utc>>,
) {
    document::ActiveModel {
        organization_id: Set(org),
        kind: Set(kind.into()),
        status: Set(status.into()),
        currency: Set("CHF".into()),
        payment_terms_days: Set(30),
        due_date: Set(due),
        discount_percent: Set("0".into()),
        notes: Set(String::new()),
        narrative: Set(String::new()),
        terms: Set(String::new()),
        subtotal_minor: Set(total),
        discount_minor: Set(0),
        tax_minor: Set(0),
        total_minor: Set(total),
        paid_minor: Set(paid),
        created_at: Set(Utc::now()),
        updated_at: Set(Utc::now()),
        sent_at: Set(sent),
        ..Default::default()
    }
    .insert(&srv.state.db)
    .await
    .unwrap();
}

async fn business_figures_match_the_hand_worked_fixture(srv: &TestServer) {
    let db = &srv.state.db;
    let now = Utc::now();
    let today = now.date_naive();
    let days = |n: i64| today + Duration::days(n);
    let yearly = new_level(srv, "Fixture Yearly", 100_000, "yearly").await;
    let monthly = new_level(srv, "Fixture Monthly", 10_000, "monthly").await;
    let org = org_id(srv, "Globex").await;
    for (n, (level, end, status)) in [
        (yearly, days(10), SubscriptionStatus::Active),
        (yearly, days(30), SubscriptionStatus::Active),
        (monthly, days(31), SubscriptionStatus::Active),
        (yearly, days(90), SubscriptionStatus::Active),
        (yearly, days(91), SubscriptionStatus::Active),
        // Over (not yet marked expired), and cancelled: neither counts.
        (yearly, days(-1), SubscriptionStatus::Active),
        (yearly, days(20), SubscriptionStatus::Cancelled),
    ]
    .into_iter()
    .enumerate()
    {
        // Each its own organization's.
        let customer = organization::ActiveModel {
            name: Set(format!("Fixture Customer {n}")),
            legal_name: Set(format!("Fixture Customer {n} Ltd")),
            address: Set(String::new()),
            shared_tickets: Set(false),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await
        .unwrap();
        subscription::ActiveModel {
            organization_id: Set(customer.id),
            level_id: Set(level),
            term_start: Set(end - Duration::days(365)),
            term_end: Set(end),
            status: Set(status),
            payment_method: Set("bank_transfer".into()),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await
        .unwrap();
    }
    // A renewed subscription: the term ending in 5 days already has its next
    // term (starting then). Neither is due; only the running one is revenue.
    for (start, end) in [(days(-360), days(5)), (days(5), days(370))] {
        subscription::ActiveModel {
            organization_id: Set(org_id(srv, "Acme Corp").await),
            level_id: Set(yearly),
            term_start: Set(start),
            term_end: Set(end),
            status: Set(SubscriptionStatus::Active),
            payment_method: Set("bank_transfer".into()),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await
        .unwrap();
    }
    let sent = Some(now - Duration::days(5));
    for (kind, status, total, paid, due) in [
        ("invoice", "sent", 10_000, 0, Some(days(0))),
        ("invoice", "partially_paid", 50_000, 20_000, Some(days(-1))),
        ("invoice", "viewed", 5_000, 0, Some(days(-30))),
        ("invoice", "sent", 1_000, 0, Some(days(-31))),
        ("invoice", "sent", 2_000, 0, Some(days(-90))),
        ("invoice", "sent", 3_000, 0, Some(days(-91))),
        ("invoice", "paid", 9_999, 9_999, Some(days(-100))),
        ("invoice", "draft", 9_999, 0, None),
        ("estimate", "sent", 7_000, 0, None),
        ("estimate", "accepted", 9_999, 0, None),
        ("proposal", "viewed", 8_000, 0, None),
    ] {
        document(srv, org, kind, status, total, paid, due, sent).await;
    }
    let billing = srv.sign_in("billing@example.com").await;
    app::dashboards::ssr::refresh(db, now).await.unwrap();
    let v: Value = srv
        .call("load_business_dashboard", Some(&billing), &[])
        .await
        .json()
        .await
        .unwrap();
    let f = &v["figures"];
    let chf = |amounts: &Value| -> Option<i64> {
        amounts
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["currency"] == "CHF")
            .map(|a| a["minor"].as_i64().unwrap())
    };
    let windows = f["renewals"].as_array().unwrap();
    assert_eq!(
        windows
            .iter()
            .map(|w| w["days"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        vec![30, 60, 90]
    );
    assert_eq!(
        chf(&windows[0]["value"]),
        Some(200_000),
        "two yearly terms end within 30 days"
    );
    assert_eq!(
        chf(&windows[1]["value"]),
        Some(120_000),
        "one monthly level in 31–60, a year of it"
    );
    assert_eq!(
        chf(&windows[2]["value"]),
        Some(100_000),
        "one yearly term in 61–90"
    );
    let recurring = |name: &str| {
        f["recurring"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["level"] == name)
            .map(|r| {
                (
                    r["subscriptions"].as_u64().unwrap(),
                    r["yearly"]["minor"].as_i64().unwrap(),
                )
            })
    };
    assert_eq!(
        recurring("Fixture Yearly"),
        Some((5, 500_000)),
        "four customers', and Acme's running term"
    );
    assert_eq!(recurring("Fixture Monthly"), Some((1, 120_000)));
    let ageing = f["ageing"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["currency"] == "CHF")
        .cloned()
        .unwrap();
    let minor: Vec<i64> = ageing["amounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["minor"].as_i64().unwrap())
        .collect();
    assert_eq!(minor, vec![10_000, 35_000, 1_000, 2_000, 3_000]);
    assert_eq!(ageing["counts"], serde_json::json!([1, 2, 1, 1, 1]));
    assert_eq!(ageing["total"]["text"], "510.00 CHF");
    let awaiting = f["awaiting"].as_array().unwrap();
    assert_eq!(awaiting[0]["kind"], "Estimates");
    assert_eq!(chf(&awaiting[0]["value"]), Some(7_000));
    assert_eq!(chf(&awaiting[1]["value"]), Some(8_000));
    // The longest-waiting offer: the fixture's, or an older one of the demo.
    let oldest: NaiveDate = awaiting[1]["oldest"].as_str().unwrap().parse().unwrap();
    assert!(oldest <= today - Duration::days(5), "{oldest}");
    let csv = srv
        .get("/staff/figures.csv?table=invoice-ageing", Some(&billing))
        .await
        .text()
        .await
        .unwrap();
    assert!(csv.contains("CHF,31–60 days overdue,1,10.00\r\n"), "{csv}");
    // The page shows it to the billing clerk, with no support figures.
    let page = srv
        .get("/staff", Some(&billing))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("510.00 CHF"));
    assert!(
        !page.contains("SLA attainment"),
        "no support figures for billing"
    );
}

/// Through the product: a staff answer records the first response's
/// durations; solving records the resolution's; a customer's reply to a
/// solved ticket reopens it (counted) and forgets the resolution's.
async fn a_ticket_life_records_its_durations_and_reopens(srv: &TestServer) {
    let tech1 = srv.sign_in("tech1@acme.example").await;
    let agent = srv.sign_in("agent@example.com").await;
    let id = super::open(srv, &tech1, "Durations", "2").await;
    let s = id.to_string();
    let clocks = || async {
        ticket_sla::Entity::find()
            .filter(ticket_sla::Column::TicketId.eq(id))
            .all(&srv.state.db)
            .await
            .unwrap()
    };
    let res = srv
        .call(
            "add_comment",
            Some(&agent),
            &[
                ("ticket_id", s.as_str()),
                ("body", "Looking."),
                ("status", "solved"),
            ],
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    for c in clocks().await {
        assert!(c.fulfilled_at.is_some(), "{}", c.target);
        let (used, wall) = (c.used_secs.unwrap(), c.wall_secs.unwrap());
        assert!((0..600).contains(&wall), "{}: {wall}", c.target);
        assert!(
            used <= wall,
            "{}: business time within calendar time",
            c.target
        );
    }
    let res = srv
        .call(
            "add_comment",
            Some(&tech1),
            &[("ticket_id", s.as_str()), ("body", "Still broken.")],
        )
        .await;
    assert_eq!(res.status(), 200);
    let t = ticket::Entity::find_by_id(id)
        .one(&srv.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((t.status.as_str(), t.reopens), ("open", 1));
    let resolution = clocks()
        .await
        .into_iter()
        .find(|c| c.target == "resolution")
        .unwrap();
    assert_eq!((resolution.used_secs, resolution.wall_secs), (None, None));
}

/// Whether the 7-day chart's bar for day `d` (three opened) links to that day's tickets.
async fn figures_page_links(srv: &TestServer, cookie: &str, d: NaiveDate) -> bool {
    let page = srv
        .get("/staff?period=7d", Some(cookie))
        .await
        .text()
        .await
        .unwrap();
    let bar = format!(
        "<a href=\"/staff/tickets?queue=all&amp;opened={d}\" aria-label=\"{}: 3 opened\">",
        d.format("%m-%d")
    );
    let solved = format!(
        "<a href=\"/staff/tickets?queue=all&amp;solved={d}\" aria-label=\"{}: 2 solved\">",
        d.format("%m-%d")
    );
    page.contains(&bar) && page.contains(&solved) && page.contains("role=\"group\"")
}
