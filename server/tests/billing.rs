//! Billing: documents and their money, numbering, sending, payments, the
//! e-mailed links and "Save", the PDF, reminders, and who may do what.
//! SQLite and PostgreSQL.

mod common;

use std::sync::{Arc, Mutex, OnceLock};

use common::{
    call_form, level_id, mail_to, order, org_id, outbox, session_cookie, set_cookie_lines,
    token_in, TestServer,
};
use entity::{document, document_event, document_link, outbox_message, payment};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, Set};
use serde_json::Value;

db_tests!(
    an_order_issues_the_first_invoice_and_the_welcome_mail_names_it,
    drafts_totals_validation_and_gapless_numbers,
    payments_partial_full_overpaid_and_void,
    estimates_are_accepted_declined_expired_and_converted,
    links_open_one_document_and_refuse_expired_revoked_tampered_and_reused,
    the_pdf_says_what_the_page_says,
    overdue_invoices_get_reminders_on_a_schedule,
    a_link_stops_when_its_recipient_loses_billing_access,
    empty_and_expired_documents_are_not_sent,
    authorization_matrix,
);

type Lines<'a> = &'a [(&'a str, &'a str, &'a str, &'a str)];

fn document_form(org: i32, kind: &str, currency: &str, lines: Lines) -> Vec<(String, String)> {
    let mut f: Vec<(String, String)> = [
        ("id", String::new()),
        ("organization_id", org.to_string()),
        ("kind", kind.to_string()),
        ("currency", currency.to_string()),
        ("purchase_order", "PO-9".to_string()),
        ("payment_terms_days", "30".to_string()),
        ("valid_until", String::new()),
        ("discount_percent", "0".to_string()),
        ("notes", "Thank you.".to_string()),
        ("narrative", String::new()),
        ("terms", String::new()),
    ]
    .into_iter()
    .map(|(k, v)| (format!("document[{k}]"), v))
    .collect();
    for (i, (d, q, p, t)) in lines.iter().enumerate() {
        for (k, v) in [
            ("description", d),
            ("quantity", q),
            ("unit_price", p),
            ("tax_rate", t),
        ] {
            f.push((format!("document[lines][{i}][{k}]"), v.to_string()));
        }
    }
    f
}

fn set(form: &mut [(String, String)], key: &str, value: &str) {
    let k = format!("document[{key}]");
    for (name, v) in form.iter_mut() {
        if *name == k {
            *v = value.to_string();
        }
    }
}

async fn create(srv: &TestServer, staff: &str, form: &[(String, String)]) -> i32 {
    let res = call_form(srv, "save_document", Some(staff), form).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    res.json().await.unwrap()
}

async fn send(srv: &TestServer, staff: &str, id: i32) -> reqwest::Response {
    srv.call(
        "send_document",
        Some(staff),
        &[("document_id", &id.to_string())],
    )
    .await
}

async fn doc(srv: &TestServer, id: i32) -> document::Model {
    document::Entity::find_by_id(id)
        .one(&srv.state.db)
        .await
        .unwrap()
        .unwrap()
}

/// A sent invoice for Acme with one line of `amount` EUR.
async fn sent_invoice(srv: &TestServer, staff: &str, amount: &str) -> i32 {
    let acme = org_id(srv, "Acme Corp").await;
    let id = create(
        srv,
        staff,
        &document_form(acme, "invoice", "EUR", &[("Support", "1", amount, "0")]),
    )
    .await;
    assert_eq!(send(srv, staff, id).await.status(), 200);
    id
}

async fn load(srv: &TestServer, cookie: Option<&str>, id: i32) -> reqwest::Response {
    srv.call("load_document", cookie, &[("document_id", &id.to_string())])
        .await
}

/// The latest document link e-mailed to `to`.
async fn link_token(srv: &TestServer, to: &str) -> String {
    let mails = mail_to(srv, to).await;
    let m = mails
        .iter()
        .rev()
        .find(|m| m.body.contains("/documents/open?token="))
        .expect("a document mail");
    token_in(&m.body)
}

/// The button on the page the e-mailed link opens (a plain form post).
async fn open_link(srv: &TestServer, token: &str) -> reqwest::Response {
    srv.client
        .post(srv.url("/documents/open"))
        .headers(srv.same_origin())
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
}

fn doc_cookie(res: &reqwest::Response) -> Option<String> {
    set_cookie_lines(res)
        .into_iter()
        .find(|l| l.starts_with("portico_doc_"))
        .and_then(|l| l.split(';').next().map(str::to_owned))
}

async fn an_order_issues_the_first_invoice_and_the_welcome_mail_names_it(srv: &TestServer) {
    let staff = srv.sign_in("billing@example.com").await;
    let lvl = level_id(srv, "Standard").await;
    let res = call_form(
        srv,
        "process_order",
        Some(&staff),
        &order("Initech", &lvl, "boss@initech.example", &[]),
    )
    .await;
    assert_eq!(res.status(), 200);
    let org: i32 = res.json().await.unwrap();
    let docs = document::Entity::find()
        .filter(document::Column::OrganizationId.eq(org))
        .all(&srv.state.db)
        .await
        .unwrap();
    assert_eq!(docs.len(), 1);
    let inv = &docs[0];
    let year = chrono::Utc::now().format("%Y").to_string();
    assert_eq!(inv.kind, "invoice");
    assert_eq!(inv.status, "sent");
    assert_eq!(
        inv.number.as_deref(),
        Some(format!("INV-{year}-00001").as_str())
    );
    assert_eq!(inv.purchase_order.as_deref(), Some("PO-77"));
    // The demo's Standard level costs 9,000.00 EUR a year.
    assert_eq!((inv.total_minor, inv.currency.as_str()), (900_000, "EUR"));
    let mails = mail_to(srv, "boss@initech.example").await;
    let welcome = mails.iter().find(|m| m.kind == "welcome").unwrap();
    assert!(
        welcome.body.contains(&format!("INV-{year}-00001")),
        "{}",
        welcome.body
    );
    let invoice_mail = mails.iter().find(|m| m.kind == "document").unwrap();
    assert!(invoice_mail.body.contains("9,000.00 EUR"));
    assert!(invoice_mail.body.contains("/documents/open?token="));
}

async fn drafts_totals_validation_and_gapless_numbers(srv: &TestServer) {
    let staff = srv.sign_in("billing@example.com").await;
    let acme = org_id(srv, "Acme Corp").await;

    // Everything wrong at once: every field named, nothing saved.
    let before = document::Entity::find()
        .all(&srv.state.db)
        .await
        .unwrap()
        .len();
    let mut bad = document_form(
        acme,
        "invoice",
        "XYZ",
        &[("Support", "-1", "10.12345", "150"), ("", "2", "", "")],
    );
    set(&mut bad, "discount_percent", "abc");
    set(&mut bad, "payment_terms_days", "999");
    let res = call_form(srv, "save_document", Some(&staff), &bad).await;
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    let fields: Vec<&str> = body["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["field"].as_str().unwrap())
        .collect();
    for f in [
        "currency",
        "discount_percent",
        "payment_terms_days",
        "lines[0][quantity]",
        "lines[0][unit_price]",
        "lines[0][tax_rate]",
        "lines[1][description]",
        "lines[1][unit_price]",
    ] {
        assert!(fields.contains(&f), "{f} missing from {body}");
    }
    assert_eq!(
        document::Entity::find()
            .all(&srv.state.db)
            .await
            .unwrap()
            .len(),
        before
    );

    // The rounding rule: per line, half away from zero, then sums.
    let mut form = document_form(
        acme,
        "invoice",
        "EUR",
        &[
            ("Consulting", "3", "0.335", "21"), // 1.005 → 1.01; tax 0.2121 → 0.21
            ("Licences", "2.5", "19.99", "21"), // 49.975 → 49.98; tax 10.4958 → 10.50
            ("Training", "1", "100", "10"),     // 100.00; tax 10.00
        ],
    );
    set(&mut form, "discount_percent", "0");
    let id = create(srv, &staff, &form).await;
    let d = doc(srv, id).await;
    assert_eq!((d.status.as_str(), d.number.as_deref()), ("draft", None));
    assert_eq!(
        (d.subtotal_minor, d.tax_minor, d.total_minor),
        (101 + 4998 + 10000, 21 + 1050 + 1000, 15099 + 2071)
    );
    // Customers never see drafts.
    let main = srv.sign_in("main@acme.example").await;
    assert_eq!(load(srv, Some(&main), id).await.status(), 404);

    // Yen have no minor unit.
    let yen = create(
        srv,
        &staff,
        &document_form(acme, "invoice", "JPY", &[("Support", "2", "149.5", "8")]),
    )
    .await;
    assert_eq!(doc(srv, yen).await.total_minor, 299 + 24);

    // Numbers are given at the first sending, in order, without gaps,
    // even when several are sent at once.
    let mut ids = vec![id, yen];
    for _ in 0..4 {
        ids.push(
            create(
                srv,
                &staff,
                &document_form(acme, "invoice", "EUR", &[("Support", "1", "10", "0")]),
            )
            .await,
        );
    }
    let sends = ids.iter().map(|id| send(srv, &staff, *id));
    for res in futures::future::join_all(sends).await {
        assert_eq!(res.status(), 200);
    }
    let mut seqs = Vec::new();
    for id in &ids {
        let d = doc(srv, *id).await;
        assert_eq!(d.status, "sent");
        assert!(d.due_date.is_some() && d.issue_date.is_some());
        seqs.push(d.number_seq.unwrap());
        assert!(d.number.unwrap().starts_with("INV-"));
    }
    seqs.sort();
    assert_eq!(seqs, (1..=6).collect::<Vec<_>>());
    // Another kind counts on its own; re-sending keeps the number.
    let est = create(
        srv,
        &staff,
        &document_form(acme, "estimate", "EUR", &[("Upgrade", "1", "500", "21")]),
    )
    .await;
    assert_eq!(send(srv, &staff, est).await.status(), 200);
    assert_eq!(doc(srv, est).await.number_seq, Some(1));
    assert_eq!(send(srv, &staff, est).await.status(), 200);
    assert_eq!(doc(srv, est).await.number_seq, Some(1));
    // A sent document is no longer a draft.
    let mut again = document_form(acme, "invoice", "EUR", &[("x", "1", "1", "0")]);
    set(&mut again, "id", &id.to_string());
    assert_eq!(
        call_form(srv, "save_document", Some(&staff), &again)
            .await
            .status(),
        400
    );
    // Documents go to the Main Contact only here (Acme has no Administrative
    // Contact), never to Technical Contacts.
    let mails = outbox(srv).await;
    assert!(mails
        .iter()
        .any(|m| m.kind == "document" && m.to_addr == "main@acme.example"));
    assert!(!mails
        .iter()
        .any(|m| m.kind == "document" && m.to_addr.starts_with("tech")));
}

async fn pay(
    srv: &TestServer,
    staff: &str,
    id: i32,
    amount: &str,
    date: &str,
) -> reqwest::Response {
    srv.call(
        "record_payment",
        Some(staff),
        &[
            ("document_id", &id.to_string()),
            ("method", "bank_transfer"),
            ("paid_on", date),
            ("amount", amount),
            ("reference", "TX-1"),
        ],
    )
    .await
}

async fn payments_partial_full_overpaid_and_void(srv: &TestServer) {
    let staff = srv.sign_in("billing@example.com").await;
    let id = sent_invoice(srv, &staff, "100").await;
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let today = today.as_str();
    // Bad input changes nothing.
    for (amount, date) in [
        ("0", today),
        ("10.001", today),
        ("abc", today),
        ("10", "2999-01-01"),
    ] {
        let res = pay(srv, &staff, id, amount, date).await;
        assert_eq!(res.status(), 400, "{amount} {date}");
    }
    assert_eq!(doc(srv, id).await.paid_minor, 0);
    assert_eq!(pay(srv, &staff, id, "40", today).await.status(), 200);
    let d = doc(srv, id).await;
    assert_eq!((d.status.as_str(), d.paid_minor), ("partially_paid", 4000));
    // Overpayment is refused with the open balance in the message.
    let res = pay(srv, &staff, id, "60.01", today).await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("60.00 EUR"));
    assert_eq!(pay(srv, &staff, id, "60", today).await.status(), 200);
    let d = doc(srv, id).await;
    assert_eq!((d.status.as_str(), d.paid_minor), ("paid", 10000));
    assert_eq!(
        payment::Entity::find()
            .filter(payment::Column::DocumentId.eq(id))
            .all(&srv.state.db)
            .await
            .unwrap()
            .len(),
        2
    );
    // Paid invoices are not voided; an unpaid one is, and its links stop working.
    let void = |id: i32, reason: &'static str| {
        let form = [
            ("document_id".to_string(), id.to_string()),
            ("reason".to_string(), reason.to_string()),
        ];
        let staff = staff.clone();
        async move { call_form(srv, "void_document", Some(&staff), &form).await }
    };
    assert_eq!(void(id, "mistake").await.status(), 400);
    let other = sent_invoice(srv, &staff, "5").await;
    let token = link_token(srv, "main@acme.example").await;
    assert_eq!(void(other, "").await.status(), 400);
    assert_eq!(void(other, "Issued twice").await.status(), 200);
    assert_eq!(doc(srv, other).await.status, "void");
    let res = open_link(srv, &token).await;
    assert_eq!(res.headers()["location"], "/d/unusable");
    // The activity shows who did what.
    let events: Vec<String> = document_event::Entity::find()
        .filter(document_event::Column::DocumentId.eq(id))
        .all(&srv.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| format!("{} {}", e.kind, e.actor))
        .collect();
    assert_eq!(
        events,
        [
            "created billing@example.com",
            "sent billing@example.com",
            "paid billing@example.com",
            "paid billing@example.com"
        ]
    );
}

async fn estimates_are_accepted_declined_expired_and_converted(srv: &TestServer) {
    let staff = srv.sign_in("billing@example.com").await;
    let main = srv.sign_in("main@acme.example").await;
    let acme = org_id(srv, "Acme Corp").await;
    let mut form = document_form(
        acme,
        "proposal",
        "EUR",
        &[("Premium upgrade", "1", "3000", "21")],
    );
    set(&mut form, "narrative", "Why Premium.\n\nWhat changes.");
    set(&mut form, "terms", "Valid for new servers only.");
    let prop = create(srv, &staff, &form).await;
    assert_eq!(send(srv, &staff, prop).await.status(), 200);
    let decide = |id: i32, cookie: String, decision: &'static str, name: &'static str| async move {
        srv.call(
            "decide_document",
            Some(&cookie),
            &[
                ("document_id", &id.to_string()),
                ("decision", decision),
                ("name", name),
            ],
        )
        .await
    };
    // Staff cannot decide for the customer; a name is required.
    assert_eq!(
        decide(prop, staff.clone(), "accept", "Bill").await.status(),
        400
    );
    assert_eq!(
        decide(prop, main.clone(), "accept", " ").await.status(),
        400
    );
    assert_eq!(
        decide(prop, main.clone(), "accept", "Mona Main")
            .await
            .status(),
        200
    );
    let d = doc(srv, prop).await;
    assert_eq!(d.status, "accepted");
    assert_eq!(d.decided_by_name.as_deref(), Some("Mona Main"));
    assert!(d.decided_at.is_some() && d.decided_addr.is_some());
    // Once decided, decided.
    assert_eq!(
        decide(prop, main.clone(), "decline", "Mona Main")
            .await
            .status(),
        400
    );
    // Converts once, to a draft invoice with the same lines.
    let res = srv
        .call(
            "convert_to_invoice",
            Some(&staff),
            &[("document_id", &prop.to_string())],
        )
        .await;
    assert_eq!(res.status(), 200);
    let inv: i32 = res.json().await.unwrap();
    let i = doc(srv, inv).await;
    assert_eq!(
        (
            i.kind.as_str(),
            i.status.as_str(),
            i.total_minor,
            i.source_document_id
        ),
        ("invoice", "draft", 363_000, Some(prop))
    );
    let res = srv
        .call(
            "convert_to_invoice",
            Some(&staff),
            &[("document_id", &prop.to_string())],
        )
        .await;
    assert_eq!(res.status(), 400);

    // Declined, and expired by the scheduler.
    let est = create(
        srv,
        &staff,
        &document_form(acme, "estimate", "EUR", &[("A", "1", "1", "0")]),
    )
    .await;
    assert_eq!(send(srv, &staff, est).await.status(), 200);
    assert_eq!(
        decide(est, main.clone(), "decline", "Mona Main")
            .await
            .status(),
        200
    );
    assert_eq!(doc(srv, est).await.status, "declined");
    let old = create(
        srv,
        &staff,
        &document_form(acme, "estimate", "EUR", &[("B", "1", "1", "0")]),
    )
    .await;
    assert_eq!(send(srv, &staff, old).await.status(), 200);
    let mut a = doc(srv, old).await.into_active_model();
    a.valid_until = Set(Some(
        chrono::Utc::now().date_naive() - chrono::Duration::days(1),
    ));
    a.update(&srv.state.db).await.unwrap();
    let res = decide(old, main.clone(), "accept", "Mona Main").await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("expired"));
    assert!(app::billing::ssr::sweep(&srv.state).await.unwrap() >= 1);
    assert_eq!(doc(srv, old).await.status, "expired");
}

/// Everything the server logged while this test binary ran.
fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let writer = buf.clone();
        let _ = tracing_subscriber::fmt()
            // The server's own logging (its crates, the HTTP layers, the database).
            .with_env_filter(
                "server=debug,app=debug,tower_http=debug,axum=debug,sea_orm=debug,sqlx=debug",
            )
            .with_ansi(false)
            .with_writer(move || LogWriter(writer.clone()))
            .try_init();
        buf
    })
    .clone()
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn links_open_one_document_and_refuse_expired_revoked_tampered_and_reused(srv: &TestServer) {
    let logs = captured_logs();
    let staff = srv.sign_in("billing@example.com").await;
    let lvl = level_id(srv, "Basic").await;
    // A new customer whose Main Contact has no password yet.
    let res = call_form(
        srv,
        "process_order",
        Some(&staff),
        &order("Umbrella", &lvl, "alice@umbrella.example", &[]),
    )
    .await;
    assert_eq!(res.status(), 200);
    let org: i32 = res.json().await.unwrap();
    let first = document::Entity::find()
        .filter(document::Column::OrganizationId.eq(org))
        .one(&srv.state.db)
        .await
        .unwrap()
        .unwrap();
    let id = create(
        srv,
        &staff,
        &document_form(
            org,
            "invoice",
            "EUR",
            &[("Extra servers", "2", "250", "21")],
        ),
    )
    .await;
    assert_eq!(send(srv, &staff, id).await.status(), 200);
    let token = link_token(srv, "alice@umbrella.example").await;

    // The e-mailed link itself (as a mail system's link scanner fetches it)
    // changes nothing: it shows a button that opens the document.
    let scanned = srv
        .get(&format!("/documents/open?token={token}"), None)
        .await;
    assert_eq!(scanned.status(), 200);
    assert!(doc_cookie(&scanned).is_none());
    assert_eq!(scanned.headers()["referrer-policy"], "strict-origin");
    let html = scanned.text().await.unwrap();
    assert!(html.contains("Open the document") && html.contains(&token));
    assert_eq!(
        doc(srv, id).await.status,
        "sent",
        "a scanner's GET is no view"
    );

    // Opening: a cookie for this document, and a redirect to an address without the token.
    let res = open_link(srv, &token).await;
    assert_eq!(res.status(), 303);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(location, format!("/d/{id}"));
    assert_eq!(res.headers()["referrer-policy"], "strict-origin");
    let line = set_cookie_lines(&res)
        .into_iter()
        .find(|l| l.starts_with("portico_doc_"))
        .unwrap();
    assert!(
        line.contains("HttpOnly") && line.contains("SameSite=Lax"),
        "{line}"
    );
    assert!(!line.contains(&token));
    let cookie = doc_cookie(&res).unwrap();
    assert_eq!(
        cookie.split('=').next().unwrap(),
        format!("portico_doc_{id}")
    );
    let page = srv.get(&location, Some(&cookie)).await;
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["referrer-policy"], "strict-origin");
    let html = page.text().await.unwrap();
    let number = doc(srv, id).await.number.unwrap();
    assert!(
        html.contains(&number) && html.contains("605.00 EUR"),
        "{html}"
    );
    assert!(html.contains("E-mail me a link to create my account"));
    assert_eq!(doc(srv, id).await.status, "viewed");
    let viewed = document_event::Entity::find()
        .filter(document_event::Column::DocumentId.eq(id))
        .filter(document_event::Column::Kind.eq("viewed"))
        .one(&srv.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(viewed.actor, "alice@umbrella.example");
    // No token in the logs, though the request was logged.
    let text = String::from_utf8_lossy(&logs.lock().unwrap()).to_string();
    assert!(
        text.contains("/documents/open"),
        "the request was not logged"
    );
    assert!(!text.contains(&token), "the token reached the logs");

    // The cookie opens this document only: not the first invoice, not the PDF of another.
    assert_eq!(load(srv, Some(&cookie), id).await.status(), 200);
    assert_eq!(load(srv, Some(&cookie), first.id).await.status(), 401);
    let renamed = cookie.replace(
        &format!("portico_doc_{id}"),
        &format!("portico_doc_{}", first.id),
    );
    assert_eq!(load(srv, Some(&renamed), first.id).await.status(), 401);
    assert_eq!(
        srv.get(&format!("/documents/{}/pdf", first.id), Some(&cookie))
            .await
            .status(),
        401
    );
    assert_eq!(
        srv.get(&format!("/documents/{id}/pdf"), Some(&cookie))
            .await
            .status(),
        200
    );

    // Tampered and unknown tokens.
    let mut tampered = token.clone();
    tampered.replace_range(0..1, if token.starts_with('A') { "B" } else { "A" });
    for t in [tampered.as_str(), "", "x"] {
        let res = open_link(srv, t).await;
        assert_eq!(res.headers()["location"], "/d/unusable", "{t}");
        assert!(doc_cookie(&res).is_none());
    }

    // Save: whoever holds the link (forwarded, say) asks; only the address the
    // link was sent to gets a link to set the password. No account is taken.
    let save = |cookie: String| async move {
        srv.call(
            "save_document_account",
            Some(&cookie),
            &[("document_id", &id.to_string())],
        )
        .await
    };
    let res = save(cookie.clone()).await;
    assert_eq!(res.status(), 200);
    assert!(
        session_cookie(&res).is_none(),
        "the holder is signed in as nobody"
    );
    assert!(res
        .json::<String>()
        .await
        .unwrap()
        .contains("alice@umbrella.example"));
    // Asked again at once: refused, so a link holder cannot mail the recipient at will.
    let res = save(cookie.clone()).await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("ask again in an hour"));
    let alice_user = entity::user::Entity::find()
        .filter(entity::user::Column::Email.eq("alice@umbrella.example"))
        .one(&srv.state.db)
        .await
        .unwrap()
        .unwrap();
    assert!(
        alice_user.password_hash.is_none(),
        "no password was chosen by the holder"
    );
    let mail = mail_to(srv, "alice@umbrella.example")
        .await
        .into_iter()
        .rev()
        .find(|m| m.subject == "Create your Portico account")
        .expect("a link to set the password, to alice");
    let res = srv
        .call(
            "activate_account",
            None,
            &[
                ("token", token_in(&mail.body).as_str()),
                ("new_password", "alice's long password"),
                ("confirm_password", "alice's long password"),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    // With the account made, Save is refused, however the link is opened again.
    let again = doc_cookie(&open_link(srv, &token).await).unwrap();
    let res = save(again).await;
    assert_eq!(res.status(), 400);
    let res = srv
        .sign_in_response("alice@umbrella.example", "alice's long password")
        .await;
    assert_eq!(res.status(), 200);
    let alice = session_cookie(&res).unwrap();
    let list = srv.call("list_documents", Some(&alice), &[]).await;
    let list: Value = list.json().await.unwrap();
    assert_eq!(list["rows"].as_array().unwrap().len(), 2);

    // Re-sending revokes the old link and its cookie.
    let before = doc_cookie(&open_link(srv, &token).await).unwrap();
    assert_eq!(send(srv, &staff, id).await.status(), 200);
    assert_eq!(
        open_link(srv, &token).await.headers()["location"],
        "/d/unusable"
    );
    assert_eq!(load(srv, Some(&before), id).await.status(), 401);
    let fresh = link_token(srv, "alice@umbrella.example").await;
    assert_ne!(fresh, token);
    assert_eq!(
        open_link(srv, &fresh).await.headers()["location"],
        format!("/d/{id}").as_str()
    );

    // Expired.
    let link = document_link::Entity::find()
        .filter(document_link::Column::TokenHash.eq(app::auth::ssr::session::hash_token(&fresh)))
        .one(&srv.state.db)
        .await
        .unwrap()
        .unwrap();
    let mut a = link.into_active_model();
    a.expires_at = Set(chrono::Utc::now() - chrono::Duration::seconds(1));
    a.update(&srv.state.db).await.unwrap();
    assert_eq!(
        open_link(srv, &fresh).await.headers()["location"],
        "/d/unusable"
    );
}

async fn the_pdf_says_what_the_page_says(srv: &TestServer) {
    let staff = srv.sign_in("billing@example.com").await;
    let acme = org_id(srv, "Acme Corp").await;
    let mut form = document_form(
        acme,
        "invoice",
        "EUR",
        &[
            ("Premium support (Año 2027) — 12 months", "1", "12000", "21"),
            ("On-site day", "2", "950.50", "21"),
        ],
    );
    set(&mut form, "discount_percent", "10");
    let id = create(srv, &staff, &form).await;
    assert_eq!(send(srv, &staff, id).await.status(), 200);
    let main = srv.sign_in("main@acme.example").await;
    let view: Value = load(srv, Some(&main), id).await.json().await.unwrap();
    let res = srv.get(&format!("/documents/{id}/pdf"), Some(&main)).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/pdf");
    let number = view["number"].as_str().unwrap().to_owned();
    assert_eq!(
        res.headers()["content-disposition"].to_str().unwrap(),
        format!("attachment; filename=\"{number}.pdf\"")
    );
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    let bytes = res.bytes().await.unwrap();
    assert!(bytes.starts_with(b"%PDF-1.4"));
    let dir = std::env::temp_dir().join(format!("portico-pdf-{}", common::tempdir::uuid()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("doc.pdf");
    std::fs::write(&file, &bytes).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args(["-layout", file.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext (poppler-utils) is installed by .ci/setup");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.status.success(), "pdftotext failed");
    let text = String::from_utf8_lossy(&out.stdout);
    // 12,000.00 + 1,901.00 = 13,901.00; −10% = 12,510.90; +21% = 15,138.19.
    assert_eq!(view["total"], "15,138.19 EUR");
    for expected in [
        number.as_str(),
        "Acme Corp",
        "15,138.19 EUR",
        "13,901.00 EUR",
        "Año 2027",
        "PO-9",
    ] {
        assert!(
            text.contains(expected),
            "{expected} not in PDF text:\n{text}"
        );
    }
}

async fn overdue_invoices_get_reminders_on_a_schedule(srv: &TestServer) {
    let staff = srv.sign_in("billing@example.com").await;
    let id = sent_invoice(srv, &staff, "70").await;
    assert_eq!(
        app::billing::ssr::sweep(&srv.state).await.unwrap(),
        0,
        "not due yet"
    );
    let mut a = doc(srv, id).await.into_active_model();
    a.due_date = Set(Some(
        chrono::Utc::now().date_naive() - chrono::Duration::days(3),
    ));
    a.update(&srv.state.db).await.unwrap();
    let main = srv.sign_in("main@acme.example").await;
    let view: Value = load(srv, Some(&main), id).await.json().await.unwrap();
    assert_eq!(view["status"], "overdue");
    let overdue: Value = srv
        .call(
            "list_documents",
            Some(&main),
            &[("filter[status]", "overdue")],
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(overdue["rows"].as_array().unwrap().len(), 1);

    assert_eq!(app::billing::ssr::sweep(&srv.state).await.unwrap(), 1);
    let reminders = || async {
        outbox_message::Entity::find()
            .filter(outbox_message::Column::Kind.eq("invoice_reminder"))
            .all(&srv.state.db)
            .await
            .unwrap()
    };
    let r = reminders().await;
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].to_addr, "main@acme.example");
    assert!(r[0].subject.contains("overdue") && r[0].body.contains("70.00 EUR"));
    // Not again until the interval has passed.
    assert_eq!(app::billing::ssr::sweep(&srv.state).await.unwrap(), 0);
    let mut a = doc(srv, id).await.into_active_model();
    a.last_reminder_at = Set(Some(chrono::Utc::now() - chrono::Duration::days(8)));
    a.update(&srv.state.db).await.unwrap();
    assert_eq!(app::billing::ssr::sweep(&srv.state).await.unwrap(), 1);
    assert_eq!(reminders().await.len(), 2);
    // Paid invoices are not chased.
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    assert_eq!(pay(srv, &staff, id, "70", &today).await.status(), 200);
    let mut a = doc(srv, id).await.into_active_model();
    a.last_reminder_at = Set(None);
    a.update(&srv.state.db).await.unwrap();
    assert_eq!(app::billing::ssr::sweep(&srv.state).await.unwrap(), 0);
}

async fn a_link_stops_when_its_recipient_loses_billing_access(srv: &TestServer) {
    let main = srv.sign_in("main@acme.example").await;
    let res = srv
        .call(
            "add_contact",
            Some(&main),
            &[
                ("role", "administrative"),
                ("name", "Ada Books"),
                ("email", "books@acme.example"),
                ("phone", ""),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    let staff = srv.sign_in("billing@example.com").await;
    let id = sent_invoice(srv, &staff, "12").await;
    // Both billing contacts received their own link.
    let token = link_token(srv, "books@acme.example").await;
    assert_ne!(token, link_token(srv, "main@acme.example").await);
    let cookie = doc_cookie(&open_link(srv, &token).await).unwrap();
    assert_eq!(load(srv, Some(&cookie), id).await.status(), 200);
    // The Main Contact takes the Administrative role away: the link and its cookie stop.
    let books = common::contact_id(srv, "books@acme.example")
        .await
        .to_string();
    let res = srv
        .call(
            "remove_administrative_role",
            Some(&main),
            &[("contact_id", &books)],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(load(srv, Some(&cookie), id).await.status(), 401);
    assert_eq!(
        open_link(srv, &token).await.headers()["location"],
        "/d/unusable"
    );
    // A cookie outlives its 12 hours only in the browser, not on the server.
    let mtoken = link_token(srv, "main@acme.example").await;
    let mcookie = doc_cookie(&open_link(srv, &mtoken).await).unwrap();
    let link = document_link::Entity::find()
        .filter(document_link::Column::TokenHash.eq(app::auth::ssr::session::hash_token(&mtoken)))
        .one(&srv.state.db)
        .await
        .unwrap()
        .unwrap();
    let mut a = link.into_active_model();
    a.access_expires_at = Set(Some(chrono::Utc::now() - chrono::Duration::seconds(1)));
    a.update(&srv.state.db).await.unwrap();
    assert_eq!(load(srv, Some(&mcookie), id).await.status(), 401);
}

async fn empty_and_expired_documents_are_not_sent(srv: &TestServer) {
    let staff = srv.sign_in("billing@example.com").await;
    let acme = org_id(srv, "Acme Corp").await;
    let free = create(
        srv,
        &staff,
        &document_form(acme, "invoice", "EUR", &[("Goodwill", "1", "0", "0")]),
    )
    .await;
    let res = send(srv, &staff, free).await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("above zero"));
    let mut form = document_form(acme, "estimate", "EUR", &[("Old offer", "1", "10", "0")]);
    set(&mut form, "valid_until", "2020-01-31");
    let old = create(srv, &staff, &form).await;
    let res = send(srv, &staff, old).await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("valid-until"));
    // Refused sendings take no number: the next one sent gets the next in line.
    assert!(doc(srv, free).await.number.is_none() && doc(srv, old).await.number.is_none());
    let ok = sent_invoice(srv, &staff, "1").await;
    assert_eq!(doc(srv, ok).await.number_seq, Some(1));
}

async fn authorization_matrix(srv: &TestServer) {
    let staff = srv.sign_in("billing@example.com").await;
    let acme = org_id(srv, "Acme Corp").await;
    let globex = org_id(srv, "Globex").await;
    let acme_sent = sent_invoice(srv, &staff, "10").await.to_string();
    let acme_draft = create(
        srv,
        &staff,
        &document_form(acme, "invoice", "EUR", &[("Draft", "1", "1", "0")]),
    )
    .await
    .to_string();
    let globex_sent = create(
        srv,
        &staff,
        &document_form(globex, "estimate", "EUR", &[("Globex work", "1", "1", "0")]),
    )
    .await;
    assert_eq!(send(srv, &staff, globex_sent).await.status(), 200);
    let globex_sent = globex_sent.to_string();
    let (people, cookies) = common::matrix_people(srv).await;
    //          anon admin agent billing main-A tech-A admin-A main-G tech-G
    type Case<'a> = (&'a str, Vec<(&'a str, String)>, [u16; 9]);
    let cases: Vec<Case> = vec![
        (
            "load_billing_home",
            vec![],
            [401, 403, 403, 403, 200, 403, 200, 200, 403],
        ),
        (
            "list_documents",
            vec![],
            [401, 200, 403, 200, 200, 403, 200, 200, 403],
        ),
        (
            "load_document",
            vec![("document_id", acme_sent.clone())],
            [401, 200, 403, 200, 200, 403, 200, 404, 403],
        ),
        (
            "load_document",
            vec![("document_id", acme_draft.clone())],
            [401, 200, 403, 200, 404, 403, 404, 404, 403],
        ),
        (
            "load_document",
            vec![("document_id", globex_sent.clone())],
            [401, 200, 403, 200, 404, 403, 404, 200, 403],
        ),
        (
            "load_document_editor",
            vec![],
            [401, 200, 403, 200, 403, 403, 403, 403, 403],
        ),
        (
            "save_document",
            vec![("document[kind]", "invoice".into())],
            [401, 400, 403, 400, 403, 403, 403, 403, 403],
        ),
        (
            "send_document",
            vec![("document_id", "999999".into())],
            [401, 404, 403, 404, 403, 403, 403, 403, 403],
        ),
        (
            "record_payment",
            vec![
                ("document_id", acme_sent.clone()),
                ("method", "card".into()),
                ("paid_on", "2020-01-01".into()),
                ("amount", "0".into()),
                ("reference", "".into()),
            ],
            [401, 400, 403, 400, 403, 403, 403, 403, 403],
        ),
        (
            "void_document",
            vec![("document_id", "999999".into()), ("reason", "x".into())],
            [401, 404, 403, 404, 403, 403, 403, 403, 403],
        ),
        (
            "convert_to_invoice",
            vec![("document_id", acme_sent.clone())],
            [401, 400, 403, 400, 403, 403, 403, 403, 403],
        ),
        (
            "decide_document",
            vec![
                ("document_id", acme_sent.clone()),
                ("decision", "accept".into()),
                ("name", "N".into()),
            ],
            [401, 400, 403, 400, 400, 403, 400, 404, 403],
        ),
        (
            "decide_document",
            vec![
                ("document_id", globex_sent.clone()),
                ("decision", "bogus".into()),
                ("name", "N".into()),
            ],
            [401, 400, 403, 400, 404, 403, 404, 400, 403],
        ),
        (
            "save_document_account",
            vec![("document_id", acme_sent.clone())],
            [401, 400, 403, 400, 400, 403, 400, 404, 403],
        ),
    ];
    for (endpoint, args, expected) in cases {
        let form: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
        for ((person, cookie), want) in people.iter().zip(&cookies).zip(expected) {
            let res = srv.call(endpoint, cookie.as_deref(), &form).await;
            let status = res.status().as_u16();
            let body = res.text().await.unwrap();
            assert_eq!(status, want, "{person} → {endpoint}({args:?}): {body}");
            assert_no_leak(person, endpoint, &body);
        }
    }
    // The PDF download follows the same rules.
    let pdf = |id: &str| format!("/documents/{id}/pdf");
    for (path, expected) in [
        (
            pdf(&acme_sent),
            [401, 200, 403, 200, 200, 403, 200, 404, 403],
        ),
        (
            pdf(&acme_draft),
            [401, 200, 403, 200, 404, 403, 404, 404, 403],
        ),
        (pdf("999999"), [401, 404, 403, 404, 404, 403, 404, 404, 403]),
        (pdf("abc"), [404; 9]),
    ] {
        for ((person, cookie), want) in people.iter().zip(&cookies).zip(expected) {
            let res = srv.get(&path, cookie.as_deref()).await;
            let status = res.status().as_u16();
            let body = String::from_utf8_lossy(&res.bytes().await.unwrap()).to_string();
            assert_eq!(status, want, "{person} → GET {path}");
            assert_no_leak(person, &path, &body);
        }
    }
    // Pages: Technical Contacts are kept out of the Billing Portal entirely.
    let tech = cookies[5].as_deref();
    for path in ["/billing", &format!("/billing/documents/{acme_sent}")] {
        let res = srv.get(path, tech).await;
        assert_eq!(res.status(), 403, "{path}");
        assert!(!res.text().await.unwrap().contains("10.00 EUR"));
    }
}

fn assert_no_leak(person: &str, what: &str, body: &str) {
    if person.contains('@') && !person.ends_with("example.com") {
        // Nothing of another organization, ever, in any answer.
        let foreign = if person.contains("globex") {
            "Acme"
        } else {
            "Globex"
        };
        assert!(
            !body.contains(foreign),
            "{person} → {what} leaked {foreign}: {body}"
        );
    }
    if person.starts_with("tech") {
        assert!(
            !body.contains("EUR"),
            "{person} → {what} got billing data: {body}"
        );
    }
}
