//! Search finds only what each person may open: a customer their own
//! tickets (and followed ones; all of the organization's when it shares),
//! never another organization's; internal notes only for roles that read
//! them; each staff kind only for the roles that open it. The index is built
//! from the database at start, picks up changes made behind its back, and
//! is kept current across processes.

use std::time::{Duration, Instant};

use chrono::Utc;
use entity::{document, ticket};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::Value;

use super::{comment, open, set_sharing};
use crate::common::{contact_id, org_id, Backend, TestServer};
use crate::db_tests;

db_tests!(
    search_finds_only_what_each_person_may_see,
    search_is_built_from_the_database_and_follows_it,
    search_refuses_bad_input_with_what_to_fix,
);

async fn search(srv: &TestServer, cookie: &str, form: &[(&str, &str)]) -> reqwest::Response {
    srv.call("search", Some(cookie), form).await
}

async fn found(srv: &TestServer, cookie: &str, q: &str, extra: &[(&str, &str)]) -> Value {
    let mut form = vec![("q", q)];
    form.extend_from_slice(extra);
    let res = search(srv, cookie, &form).await;
    assert_eq!(res.status(), 200, "{q}");
    res.json().await.unwrap()
}

/// The titles of the hits.
fn titles(v: &Value) -> Vec<String> {
    v["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["title"].as_str().unwrap().to_owned())
        .collect()
}

/// Searches until `done` holds (the index takes a moment), then returns the answer.
async fn until(
    srv: &TestServer,
    cookie: &str,
    q: &str,
    within: Duration,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let start = Instant::now();
    loop {
        let v = found(srv, cookie, q, &[]).await;
        if done(&v) {
            return v;
        }
        assert!(
            start.elapsed() < within,
            "search for {q:?} never matched: {v}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn has(v: &Value, title_part: &str) -> bool {
    titles(v).iter().any(|t| t.contains(title_part))
}

async fn search_finds_only_what_each_person_may_see(srv: &TestServer) {
    let admin = srv.sign_in("admin@example.com").await;
    let agent = srv.sign_in("agent@example.com").await;
    let billing = srv.sign_in("billing@example.com").await;
    let tech1 = srv.sign_in("tech1@acme.example").await;
    let tech2 = srv.sign_in("tech2@acme.example").await;
    let globex = srv.sign_in("main@globex.example").await;

    let mine = open(srv, &tech1, "Quokka cluster stalls", "3").await;
    let colleague = open(srv, &tech2, "Quokka backups slow", "3").await;
    open(srv, &globex, "Quokka at Globex", "3").await;
    assert_eq!(
        comment(
            srv,
            &agent,
            mine,
            "Wombat: the customer runs an old kernel",
            &[("internal", "on")]
        )
        .await
        .status(),
        200
    );
    assert_eq!(
        comment(srv, &agent, mine, "Platypus logs please", &[])
            .await
            .status(),
        200
    );
    // A word in a public reply and in a note: the customer's snippet is cut
    // from the reply only.
    let note = [("internal", "on")];
    let res = comment(srv, &agent, mine, "Kiwi hidden-dingo detail", &note).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        comment(srv, &agent, mine, "Kiwi shown", &[]).await.status(),
        200
    );
    let wait = Duration::from_secs(15);
    // Staff who work tickets find all three, and the internal note.
    let all = until(srv, &agent, "quokka", wait, |v| v["total"] == 3).await;
    assert_eq!(
        all["hits"][0]["href"].as_str().unwrap().split('/').nth(1),
        Some("staff")
    );
    let note = until(srv, &agent, "wombat", wait, |v| v["total"] == 1).await;
    assert_eq!(
        note["hits"][0]["title"],
        format!("#{mine} Quokka cluster stalls")
    );
    assert_eq!(note["hits"][0]["internal"], true);
    let marked: Vec<&Value> = note["hits"][0]["snippet"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["mark"] == true)
        .collect();
    assert_eq!(marked[0]["text"], "Wombat", "{note}");
    assert_eq!(found(srv, &admin, "wombat", &[]).await["total"], 1);
    until(srv, &tech1, "platypus", wait, |v| v["total"] == 1).await;
    let kiwi = until(srv, &tech1, "kiwi", wait, |v| v["total"] == 1).await;
    assert!(!kiwi.to_string().contains("dingo"), "{kiwi}");
    assert_eq!(kiwi["hits"][0]["internal"], false);
    assert!(kiwi.to_string().contains("shown"), "{kiwi}");
    assert_eq!(found(srv, &tech1, "dingo", &[]).await["total"], 0);

    // A customer: their own tickets only (no colleague's, no other
    // organization's), never internal notes, opened in the Support Portal.
    let own = found(srv, &tech1, "quokka", &[]).await;
    assert_eq!(titles(&own), [format!("#{mine} Quokka cluster stalls")]);
    assert_eq!(own["hits"][0]["href"], format!("/support/tickets/{mine}"));
    assert_eq!(own["staff"], false);
    assert_eq!(found(srv, &tech1, "wombat", &[]).await["total"], 0);
    assert_eq!(found(srv, &tech1, "kernel", &[]).await["total"], 0);
    let theirs = found(srv, &globex, "quokka", &[]).await;
    assert_eq!(titles(&theirs).len(), 1, "{theirs}");
    assert!(has(&theirs, "Quokka at Globex"), "{theirs}");
    assert_eq!(titles(&found(srv, &tech2, "quokka", &[]).await).len(), 1);

    // Following a colleague's ticket finds it; sharing finds them all.
    let tech2_id = contact_id(srv, "tech2@acme.example").await.to_string();
    let res = srv
        .call(
            "add_follower",
            Some(&tech1),
            &[("ticket_id", &mine.to_string()), ("contact_id", &tech2_id)],
        )
        .await;
    assert_eq!(res.status(), 200);
    let followed = until(srv, &tech2, "quokka", wait, |v| v["total"] == 2).await;
    assert!(has(&followed, &format!("#{mine} ")) && has(&followed, &format!("#{colleague} ")));
    let acme = org_id(srv, "Acme Corp").await;
    set_sharing(srv, &agent, acme, true).await;
    let shared = found(srv, &tech1, "quokka", &[]).await;
    assert_eq!(shared["total"], 2, "{shared}");
    assert!(!has(&shared, "Globex"));
    set_sharing(srv, &agent, acme, false).await;
    assert_eq!(found(srv, &tech1, "quokka", &[]).await["total"], 1);

    // Billing clerks find no tickets (nor notes), but documents; agents no
    // documents. Everyone on staff finds organizations and contacts.
    document::ActiveModel {
        organization_id: Set(acme),
        kind: Set("invoice".into()),
        status: Set("sent".into()),
        number: Set(Some("INV-2026-04242".into())),
        purchase_order: Set(Some("PO-KESTREL-7".into())),
        currency: Set("CHF".into()),
        payment_terms_days: Set(30),
        discount_percent: Set("0".into()),
        notes: Set(String::new()),
        narrative: Set(String::new()),
        terms: Set(String::new()),
        subtotal_minor: Set(1000),
        discount_minor: Set(0),
        tax_minor: Set(0),
        total_minor: Set(1000),
        paid_minor: Set(0),
        created_at: Set(Utc::now()),
        updated_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&srv.state.db)
    .await
    .unwrap();
    let doc = until(srv, &billing, "kestrel", wait, |v| v["total"] == 1).await;
    assert_eq!(titles(&doc), ["INV-2026-04242"]);
    assert!(doc["hits"][0]["href"]
        .as_str()
        .unwrap()
        .starts_with("/staff/billing/"));
    assert_eq!(
        found(srv, &billing, "INV-2026-04242", &[]).await["total"],
        1
    );
    // By the customer's name too, as tickets are.
    let by_name = found(srv, &billing, "acme", &[("kind", "document")]).await;
    assert_eq!(titles(&by_name), ["INV-2026-04242"]);
    let tickets = found(srv, &agent, "acme quokka", &[]).await;
    assert_eq!(tickets["total"], 2, "{tickets}");
    assert_eq!(found(srv, &billing, "quokka", &[]).await["total"], 0);
    assert_eq!(found(srv, &billing, "wombat", &[]).await["total"], 0);
    assert_eq!(found(srv, &agent, "kestrel", &[]).await["total"], 0);
    assert_eq!(found(srv, &admin, "kestrel", &[]).await["total"], 1);
    let kinds = |v: &Value| -> Vec<String> {
        v["kinds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["key"].as_str().unwrap().to_owned())
            .collect()
    };
    let b = found(srv, &billing, "acme", &[]).await;
    assert_eq!(kinds(&b), ["organization", "contact", "document"]);
    let a = found(srv, &agent, "acme", &[]).await;
    assert_eq!(kinds(&a), ["ticket", "organization", "contact"]);
    let orgs = found(srv, &agent, "acme", &[("kind", "organization")]).await;
    assert_eq!(orgs["total"], 1, "{orgs}");
    assert_eq!(
        orgs["hits"][0]["href"],
        format!("/staff/organizations/{acme}")
    );
    let people = found(srv, &agent, "tech2", &[("kind", "contact")]).await;
    assert_eq!(people["total"], 1, "{people}");
    // A status confines to tickets.
    let solved = found(srv, &agent, "quokka", &[("status", "solved")]).await;
    assert_eq!(solved["total"], 0);
    // The agent's public reply moved the first out of "new".
    let fresh = found(srv, &agent, "quokka", &[("status", "new")]).await;
    assert_eq!(fresh["total"], 2, "{fresh}");
    assert!(!has(&fresh, "cluster"), "{fresh}");
    let answered = ticket::Entity::find_by_id(mine)
        .one(&srv.state.db)
        .await
        .unwrap()
        .unwrap();
    let theirs = found(
        srv,
        &agent,
        "quokka",
        &[("status", answered.status.as_str())],
    )
    .await;
    assert_eq!(titles(&theirs), [format!("#{mine} Quokka cluster stalls")]);
}

async fn search_is_built_from_the_database_and_follows_it(srv: &TestServer) {
    let agent = srv.sign_in("agent@example.com").await;
    let wait = Duration::from_secs(15);
    // The demo's organizations were in the database before the server
    // started: the index was built from it.
    let globex = until(srv, &agent, "globex", wait, |v| {
        v["total"].as_u64() > Some(0)
    })
    .await;
    assert!(has(&globex, "Globex"), "{globex}");
    let done = until(srv, &agent, "globex", wait, |v| v["notice"].is_null()).await;
    assert!(done["notice"].is_null());

    // A change written straight to the database (as another process with
    // no change feed, or an import, would) is found by the next look.
    let tech1 = srv.sign_in("tech1@acme.example").await;
    let t = open(srv, &tech1, "Ordinary subject", "3").await;
    until(srv, &agent, "ordinary", wait, |v| v["total"] == 1).await;
    ticket::Entity::update_many()
        .col_expr(
            ticket::Column::Subject,
            sea_orm::sea_query::Expr::value("Narwhal migration"),
        )
        .col_expr(
            ticket::Column::UpdatedAt,
            sea_orm::sea_query::Expr::value(Utc::now()),
        )
        .filter(ticket::Column::Id.eq(t))
        .exec(&srv.state.db)
        .await
        .unwrap();
    let renamed = until(srv, &agent, "narwhal", wait, |v| v["total"] == 1).await;
    assert_eq!(titles(&renamed), [format!("#{t} Narwhal migration")]);
    assert_eq!(found(srv, &agent, "ordinary", &[]).await["total"], 0);
    // Folded as typed: accents and case do not matter.
    assert_eq!(found(srv, &agent, "NÄRWHAL", &[]).await["total"], 1);

    // A contact's new name is found at once (the change feed), the old one
    // no more, on the contact and on the tickets they asked.
    let tech2_cookie = srv.sign_in("tech2@acme.example").await;
    let asked = open(srv, &tech2_cookie, "Asked by her", "3").await;
    until(srv, &agent, "tina", wait, |v| {
        v["total"].as_u64() >= Some(2)
    })
    .await;
    let main = srv.sign_in("main@acme.example").await;
    let tech2 = contact_id(srv, "tech2@acme.example").await.to_string();
    let res = srv
        .call(
            "update_contact",
            Some(&main),
            &[
                ("contact_id", tech2.as_str()),
                ("name", "Xanthippe Tech"),
                ("email", "tech2@acme.example"),
                ("phone", ""),
            ],
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let renamed = until(srv, &agent, "xanthippe", wait, |v| v["total"] == 2).await;
    assert!(has(&renamed, "Xanthippe Tech"), "{renamed}");
    assert!(
        has(&renamed, &format!("#{asked} Asked by her")),
        "{renamed}"
    );
    let old = found(srv, &agent, "tina", &[("kind", "contact")]).await;
    assert_eq!(old["total"], 0, "{old}");
    let old = found(srv, &agent, "tina", &[("kind", "ticket")]).await;
    assert_eq!(old["total"], 0, "{old}");

    // Another process, on its own data directory, builds its index from the
    // database (which holds these tickets) and, looking at the database only
    // once an hour, hears of nothing else.
    let other = srv
        .second_process_with(&["--search-look-seconds", "3600"])
        .await;
    let built = until(&other, &agent, "narwhal", wait, |v| v["total"] == 1).await;
    assert_eq!(titles(&built), [format!("#{t} Narwhal migration")]);
    assert!(built["notice"].is_null(), "{built}");
    other.stop().await;
}

async fn search_refuses_bad_input_with_what_to_fix(srv: &TestServer) {
    let agent = srv.sign_in("agent@example.com").await;
    let long = "a".repeat(201);
    for (form, field) in [
        (vec![("q", long.as_str())], "q"),
        (vec![("q", "disk"), ("page", "51")], "page"),
        (vec![("q", "disk"), ("page", "0")], "page"),
        (vec![("q", "disk"), ("page", "x")], "page"),
        (vec![("q", "disk"), ("status", "bogus")], "status"),
        (vec![("q", "disk"), ("kind", "document")], "kind"),
    ] {
        let res = search(srv, &agent, &form).await;
        assert_eq!(res.status(), 400, "{form:?}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["field"], field, "{body}");
        assert!(!body["message"].as_str().unwrap_or_default().is_empty());
    }
    // Nothing typed, or only punctuation: no results, no error.
    for q in ["", "  ", "\"*:()"] {
        let v = found(srv, &agent, q, &[]).await;
        assert_eq!(v["total"], 0);
        assert!(v["hits"].as_array().unwrap().is_empty());
    }
    // The page answers with the form and the message beside the field.
    let page = srv
        .get("/staff/search?q=disk&page=99", Some(&agent))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Results stop at page 50"), "{page}");
    assert!(page.contains("value=\"disk\""));
}

/// A ticket opened through one process is found through another (each with
/// its own index, as on two machines): the change reaches it through the
/// change feed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_on_another_process_finds_a_new_ticket() {
    let Some(srv) = TestServer::start(Backend::Postgres).await else {
        return;
    };
    // It looks at the database only once an hour: what it finds, it heard.
    let other = srv
        .second_process_with(&["--search-look-seconds", "3600"])
        .await;
    let agent = srv.sign_in("agent@example.com").await;
    let tech1 = srv.sign_in("tech1@acme.example").await;
    // The other process's index is built and listening.
    until(&other, &agent, "globex", Duration::from_secs(15), |v| {
        v["notice"].is_null() && v["total"].as_u64() > Some(0)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let t = open(&srv, &tech1, "Axolotl on the other side", "3").await;
    let start = Instant::now();
    let v = until(&other, &agent, "axolotl", Duration::from_secs(5), |v| {
        v["total"] == 1
    })
    .await;
    assert_eq!(titles(&v), [format!("#{t} Axolotl on the other side")]);
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    other.stop().await;
    srv.stop().await;
}
