//! Quotas: one person or browser cannot flood the queue, the mail or the
//! server. Each is a setting; each is tested at its limit and one past it.

use super::*;

backend_tests!(quotas_refuse_one_past_the_limit_in_words);

async fn quotas_refuse_one_past_the_limit_in_words(backend: Backend) {
    let Some(srv) = TestServer::start_args(
        backend,
        &[
            "--quota-tickets-per-hour",
            "2",
            "--quota-invitations-per-day",
            "2",
            "--quota-live-pages-per-session",
            "2",
            "--quota-comments-per-hour",
            "2",
        ],
    )
    .await
    else {
        return;
    };
    check(&srv).await;
    srv.stop().await;
}

async fn check(srv: &TestServer) {
    let tech1 = srv.sign_in("tech1@acme.example").await;

    // Tickets: two in the hour, the third refused with what to do instead.
    let first = open(srv, &tech1, "One", "3").await;
    open(srv, &tech1, "Two", "3").await;
    let release = common::release_id(srv, "Portico Server", "2.4").await;
    let res = srv
        .call(
            "open_ticket",
            Some(&tech1),
            &[
                ("ticket[subject]", "Three"),
                ("ticket[description]", "one too many"),
                ("ticket[severity]", "3"),
                ("ticket[release]", release.as_str()),
            ],
        )
        .await;
    assert_eq!(res.status(), 400);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("2 tickets in the last hour"));
    // Comments: two in the hour, the third refused; staff are not counted.
    for body in ["first", "second"] {
        assert_eq!(comment(srv, &tech1, first, body, &[]).await.status(), 200);
    }
    let res = comment(srv, &tech1, first, "third", &[]).await;
    assert_eq!(res.status(), 400);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("2 comments in the last hour"));
    let agent = srv.sign_in("agent@example.com").await;
    for body in ["a", "b", "c"] {
        assert_eq!(comment(srv, &agent, first, body, &[]).await.status(), 200);
    }
    // Parallel opens cannot all pass the count: exactly two of five succeed.
    let globex = srv.sign_in("main@globex.example").await;
    let tries = (0..5).map(|i| {
        let globex = globex.clone();
        async move {
            let subject = format!("Parallel {i}");
            srv.call(
                "open_ticket",
                Some(&globex),
                &[
                    ("ticket[subject]", subject.as_str()),
                    ("ticket[description]", "at once"),
                    ("ticket[severity]", "3"),
                ],
            )
            .await
            .status()
            .as_u16()
        }
    });
    let statuses = futures::future::join_all(tries).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        2,
        "{statuses:?}"
    );
    // Another person is not held back by tech1's count.
    let tech2 = srv.sign_in("tech2@acme.example").await;
    open(srv, &tech2, "Mine", "3").await;

    // Live pages: two per session, the third refused (429) until one closes.
    let a = Stream::open(srv, Some(&tech1), first, None)
        .await
        .expect("first page");
    let _b = Stream::open(srv, Some(&tech1), first, None)
        .await
        .expect("second page");
    assert_eq!(
        Stream::open(srv, Some(&tech1), first, None).await.err(),
        Some(429)
    );
    let other = srv.sign_in("tech1@acme.example").await;
    assert!(
        Stream::open(srv, Some(&other), first, None).await.is_ok(),
        "another session has its own count"
    );
    drop(a);
    let mut opened = false;
    for _ in 0..50 {
        if Stream::open(srv, Some(&tech1), first, None).await.is_ok() {
            opened = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(opened, "a closed page frees its place");

    // Invitations: each new contact is e-mailed, so adding and removing an
    // Administrative Contact in a loop would mail any address. Two a day here.
    let main = srv.sign_in("main@acme.example").await;
    let acme = org_id(srv, "Acme Corp").await.to_string();
    let add = |email: &'static str| {
        let (main, acme) = (main.clone(), acme.clone());
        async move {
            srv.call(
                "add_contact",
                Some(&main),
                &[
                    ("organization_id", acme.as_str()),
                    ("role", "administrative"),
                    ("name", "New Person"),
                    ("email", email),
                    ("phone", ""),
                ],
            )
            .await
        }
    };
    for email in ["n1@acme.example", "n2@acme.example"] {
        assert_eq!(add(email).await.status(), 200);
        let id = common::contact_id(srv, email).await.to_string();
        let res = srv
            .call(
                "remove_administrative_role",
                Some(&main),
                &[("contact_id", &id)],
            )
            .await;
        assert_eq!(res.status(), 200);
    }
    let res = add("n3@acme.example").await;
    assert_eq!(res.status(), 400);
    // Moving a pending contact to new addresses mails each one: counted too.
    let n1 = common::contact_id(srv, "n1@acme.example").await.to_string();
    let res = srv
        .call(
            "update_contact",
            Some(&main),
            &[
                ("contact_id", n1.as_str()),
                ("name", "New Person"),
                ("email", "elsewhere@acme.example"),
                ("phone", ""),
            ],
        )
        .await;
    assert_eq!(res.status(), 400, "past the day's invitations");
    assert!(mail_to(srv, "elsewhere@acme.example").await.is_empty());
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("2 contacts in the last 24 hours"));
    assert!(mail_to(srv, "n3@acme.example").await.is_empty());
}

backend_tests!(files_per_ticket_and_uploads_per_day_are_capped);

/// A ticket holds at most so many files, and an organization's people
/// upload at most so much a day (staff are not counted); one past either is
/// refused in words and stores nothing.
async fn files_per_ticket_and_uploads_per_day_are_capped(backend: Backend) {
    let Some(srv) = TestServer::start_args(
        backend,
        &[
            "--quota-files-per-ticket",
            "2",
            "--quota-upload-mb-per-day",
            "1",
        ],
    )
    .await
    else {
        return;
    };
    check_files(&srv).await;
    srv.stop().await;
}

async fn check_files(srv: &TestServer) {
    let tech1 = srv.sign_in("tech1@acme.example").await;
    let t = open(srv, &tech1, "Logs", "3").await;
    for name in ["a.log", "b.log"] {
        let res = upload(srv, Some(&tech1), t, name, vec![b'x'; 1000], false).await;
        assert_eq!(res.status(), 200, "{name}");
    }
    let res = upload(srv, Some(&tech1), t, "c.log", vec![b'x'; 1000], false).await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("holds 2 files"));

    // 1 MB a day for Acme: 2,000 bytes used; 700 KB fits, then 400 KB does not.
    let t2 = open(srv, &tech1, "More logs", "3").await;
    let res = upload(
        srv,
        Some(&tech1),
        t2,
        "big.log",
        vec![b'y'; 700 << 10],
        false,
    )
    .await;
    assert_eq!(res.status(), 200);
    let before = stored_files(srv);
    let res = upload(
        srv,
        Some(&tech1),
        t2,
        "bigger.log",
        vec![b'z'; 400 << 10],
        false,
    )
    .await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("more today"));
    assert_eq!(stored_files(srv), before, "nothing stored past the quota");
    // Staff uploads are not counted against the customer's day.
    let agent = srv.sign_in("agent@example.com").await;
    let res = upload(
        srv,
        Some(&agent),
        t2,
        "fix.patch",
        vec![b'p'; 400 << 10],
        false,
    )
    .await;
    assert_eq!(res.status(), 200);
    let t3 = open(srv, &tech1, "Even more", "3").await;
    let res = upload(
        srv,
        Some(&tech1),
        t3,
        "small.log",
        vec![b's'; 100 << 10],
        false,
    )
    .await;
    assert_eq!(res.status(), 200, "the staff file took none of Acme's day");
}
