//! Accounts and sessions over real HTTP, on SQLite and PostgreSQL.

mod common;
#[path = "auth/recovery.rs"]
mod recovery;

use std::time::{Duration, Instant};

use chrono::Utc;
use common::{session_cookie, set_cookie_lines, TestServer, PASSWORD};
use entity::{session, user};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

db_tests!(
    sign_in_sets_a_hardened_session_cookie,
    wrong_email_and_wrong_password_are_indistinguishable,
    throttling_answers_429_with_retry_after_and_lets_the_owner_back_soon,
    parallel_guesses_are_counted_before_the_password_is_checked,
    an_oversized_server_function_body_answers_413_in_words,
    throttling_per_client_address,
    session_id_is_replaced_at_sign_in,
    sign_out_kills_the_old_cookie,
    password_change_ends_every_other_session,
    cross_site_state_changes_are_refused,
    get_never_changes_state,
    security_headers_on_every_response,
    plain_form_post_signs_in_without_javascript,
    deactivated_people_cannot_sign_in_and_lose_their_sessions,
    idle_and_absolute_expiry_end_sessions,
    malformed_input_is_a_clear_4xx,
    private_pages_redirect_and_refuse_by_role,
    health_check_reports_the_database,
    every_route_keeps_to_its_gate,
    pages_render_while_another_router_is_built,
    the_throttle_counts_in_the_database,
    server_processes_share_the_throttle,
);

async fn sign_in_sets_a_hardened_session_cookie(srv: &TestServer) {
    let res = srv.sign_in_response("Admin@Example.com", PASSWORD).await;
    assert_eq!(res.status(), 200);
    let line = set_cookie_lines(&res)
        .into_iter()
        .find(|l| l.starts_with("portico_session="))
        .expect("Set-Cookie");
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="] {
        assert!(line.contains(attr), "{attr} missing from {line}");
    }
    // The base URL is http here, so the cookie must not be Secure (or it would never come back).
    assert!(!line.contains("Secure"), "{line}");
    let landing: String = res.json().await.unwrap();
    assert_eq!(landing, "/staff");

    let cookie = line.split(';').next().unwrap().to_string();
    assert_eq!(
        srv.whoami(&cookie).await.as_deref(),
        Some("admin@example.com")
    );

    // Only the hash of the token is stored.
    let token = cookie.trim_start_matches("portico_session=");
    let stored = session::Entity::find().all(&srv.state.db).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0].id_hash, token);
    assert_eq!(
        stored[0].id_hash,
        app::auth::ssr::session::hash_token(token)
    );

    // Customers land on their portal.
    let res = srv.sign_in_response("tech1@acme.example", PASSWORD).await;
    assert_eq!(res.json::<String>().await.unwrap(), "/support");
    let res = srv.sign_in_response("main@acme.example", PASSWORD).await;
    assert_eq!(res.json::<String>().await.unwrap(), "/billing");
    let res = srv.sign_in_response("main@globex.example", PASSWORD).await;
    assert_eq!(
        res.json::<String>().await.unwrap(),
        "/support",
        "a sole contact uses the Support Portal"
    );
}

async fn timed_failure(srv: &TestServer, email: &str) -> (u16, String, Duration) {
    let start = Instant::now();
    let res = srv.sign_in_response(email, "not-the-password").await;
    let took = start.elapsed();
    (res.status().as_u16(), res.text().await.unwrap(), took)
}

async fn wrong_email_and_wrong_password_are_indistinguishable(srv: &TestServer) {
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    // One failure per account (the per-account throttle stays out of it),
    // known and unknown interleaved so they share the machine's noise.
    for (i, email) in [
        "tech1@acme.example",
        "tech2@acme.example",
        "agent@example.com",
        "billing@example.com",
        "main@acme.example",
        "main@globex.example",
        "admin@example.com",
    ]
    .iter()
    .enumerate()
    {
        let (s1, b1, t1) = timed_failure(srv, email).await;
        let (s2, b2, t2) = timed_failure(srv, &format!("nobody{i}@nowhere.example")).await;
        assert_eq!((s1, s2), (401, 401));
        assert_eq!(b1, b2, "the answers must be identical");
        assert!(
            b1.contains("e-mail address or password is not correct"),
            "{b1}"
        );
        known.push(t1);
        unknown.push(t2);
    }
    // Load only ever adds time, so the fastest answer of each kind is the
    // fair comparison. Unknown accounts are verified against a dummy hash:
    // without it they would answer in a few percent of the time.
    let k = known.iter().min().unwrap().as_secs_f64();
    let u = unknown.iter().min().unwrap().as_secs_f64();
    assert!(
        u > k * 0.3 && k > u * 0.3,
        "fastest known {k:.4}s vs fastest unknown {u:.4}s"
    );
}

async fn throttling_answers_429_with_retry_after_and_lets_the_owner_back_soon(srv: &TestServer) {
    for _ in 0..5 {
        let res = srv.sign_in_response("agent@example.com", "guess").await;
        assert_eq!(res.status(), 401);
    }
    // Even the right password waits now: the answer must not reveal it.
    let res = srv.sign_in_response("agent@example.com", PASSWORD).await;
    assert_eq!(res.status(), 429);
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "retry-after {retry}");
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Too many sign-in attempts"));
    // Other people are not affected.
    assert_eq!(
        srv.sign_in_response("admin@example.com", PASSWORD)
            .await
            .status(),
        200
    );
    // The owner is back after the short wait.
    tokio::time::sleep(Duration::from_secs(retry) + Duration::from_millis(200)).await;
    assert_eq!(
        srv.sign_in_response("agent@example.com", PASSWORD)
            .await
            .status(),
        200
    );
}

/// Sixty wrong guesses at once: each is counted before its password is
/// checked, so at most the free five reach the password hash; the rest are
/// told to wait. (Counted after the check, all sixty passed it.)
async fn parallel_guesses_are_counted_before_the_password_is_checked(srv: &TestServer) {
    let guesses = (0..60).map(|i| async move {
        srv.sign_in_response("agent@example.com", &format!("guess {i}"))
            .await
            .status()
            .as_u16()
    });
    let statuses = futures::future::join_all(guesses).await;
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let waited = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(checked + waited, 60, "{statuses:?}");
    assert!(
        (1..=5).contains(&checked),
        "{checked} checked: {statuses:?}"
    );
}

/// Over the 2 MiB body limit: 413 with a message the page shows, from the
/// script (JSON it decodes) and from a plain form post alike; nothing runs.
/// (The script's call used to answer 500.)
async fn an_oversized_server_function_body_answers_413_in_words(srv: &TestServer) {
    let huge = "x".repeat(3 << 20);
    let cookie = srv.sign_in("agent@example.com").await;
    let send = |accept: &'static str| {
        let (huge, cookie) = (huge.clone(), cookie.clone());
        async move {
            srv.client
                .post(srv.url("/api/change_password"))
                .headers(srv.same_origin())
                .header("accept", accept)
                .header("cookie", cookie)
                .form(&[
                    ("current_password", huge.as_str()),
                    ("new_password", "y"),
                    ("confirm_password", "y"),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let res = send("application/json").await;
    assert_eq!(res.status(), 413);
    let v: serde_json::Value = res.json().await.unwrap();
    assert_eq!(v["kind"], "invalid", "{v}");
    assert!(
        v["message"].as_str().unwrap().contains("too large to send"),
        "{v}"
    );
    let res = send("text/html").await;
    assert_eq!(res.status(), 413);
    assert!(res.text().await.unwrap().contains("too large to send"));
    // A body within the limit still reaches the function, which answers itself.
    let res = srv
        .call(
            "change_password",
            Some(&cookie),
            &[
                ("current_password", "not it"),
                ("new_password", "a long new passphrase"),
                ("confirm_password", "a long new passphrase"),
            ],
        )
        .await;
    assert_eq!(res.status(), 400);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("current password is not correct"));
}

async fn throttling_per_client_address(srv: &TestServer) {
    // Twenty failures spread over many accounts (never five on one).
    for i in 0..20 {
        let res = srv
            .sign_in_response(&format!("spray{i}@nowhere.example"), "guess")
            .await;
        assert_eq!(res.status(), 401);
    }
    let res = srv.sign_in_response("billing@example.com", PASSWORD).await;
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
}

async fn session_id_is_replaced_at_sign_in(srv: &TestServer) {
    let first = srv.sign_in("tech1@acme.example").await;
    let res = srv
        .call(
            "sign_in",
            Some(&first),
            &[("email", "tech1@acme.example"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(res.status(), 200);
    let second = session_cookie(&res).unwrap();
    assert_ne!(first, second);
    assert_eq!(
        srv.whoami(&first).await,
        None,
        "the pre-sign-in session must be gone"
    );
    assert_eq!(
        srv.whoami(&second).await.as_deref(),
        Some("tech1@acme.example")
    );
}

async fn sign_out_kills_the_old_cookie(srv: &TestServer) {
    let cookie = srv.sign_in("main@acme.example").await;
    let res = srv.call("sign_out", Some(&cookie), &[]).await;
    assert_eq!(res.status(), 200);
    assert!(set_cookie_lines(&res)
        .iter()
        .any(|l| l.starts_with("portico_session=;") && l.contains("Max-Age=0")));
    // Replaying the old cookie does not work: the session ended on the server.
    assert_eq!(srv.whoami(&cookie).await, None);
    assert_eq!(srv.get("/billing", Some(&cookie)).await.status(), 303);
}

async fn password_change_ends_every_other_session(srv: &TestServer) {
    let laptop = srv.sign_in("tech2@acme.example").await;
    let phone = srv.sign_in("tech2@acme.example").await;
    let new_pw = "a much better passphrase";

    // Wrong current password: nothing changes.
    let res = srv
        .call(
            "change_password",
            Some(&laptop),
            &[
                ("current_password", "wrong"),
                ("new_password", new_pw),
                ("confirm_password", new_pw),
            ],
        )
        .await;
    assert_eq!(res.status(), 400);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("current password is not correct"));
    assert!(srv.whoami(&phone).await.is_some());

    // Too short: says what to fix.
    let res = srv
        .call(
            "change_password",
            Some(&laptop),
            &[
                ("current_password", PASSWORD),
                ("new_password", "short"),
                ("confirm_password", "short"),
            ],
        )
        .await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("at least 12 characters"));

    let res = srv
        .call(
            "change_password",
            Some(&laptop),
            &[
                ("current_password", PASSWORD),
                ("new_password", new_pw),
                ("confirm_password", new_pw),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    let fresh = session_cookie(&res).expect("a fresh session for this browser");
    assert_eq!(srv.whoami(&laptop).await, None);
    assert_eq!(srv.whoami(&phone).await, None);
    assert_eq!(
        srv.whoami(&fresh).await.as_deref(),
        Some("tech2@acme.example")
    );
    assert_eq!(
        srv.sign_in_response("tech2@acme.example", PASSWORD)
            .await
            .status(),
        401
    );
    assert_eq!(
        srv.sign_in_response("tech2@acme.example", new_pw)
            .await
            .status(),
        200
    );
}

async fn cross_site_state_changes_are_refused(srv: &TestServer) {
    let cookie = srv.sign_in("admin@example.com").await;
    for (name, value) in [
        ("origin", "https://evil.example"),
        ("sec-fetch-site", "cross-site"),
        ("origin", "null"),
    ] {
        let res = srv
            .client
            .post(srv.url("/api/sign_out"))
            .header(name, value)
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{name}: {value}");
        let res = srv
            .client
            .post(srv.url("/api/sign_in"))
            .header(name, value)
            .form(&[("email", "agent@example.com"), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403);
        assert!(session_cookie(&res).is_none());
    }
    assert_eq!(
        srv.whoami(&cookie).await.as_deref(),
        Some("admin@example.com"),
        "still signed in"
    );
    // The same request from our own page works.
    let res = srv
        .client
        .post(srv.url("/api/sign_out"))
        .header("sec-fetch-site", "same-origin")
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(srv.whoami(&cookie).await, None);
}

async fn get_never_changes_state(srv: &TestServer) {
    let cookie = srv.sign_in("agent@example.com").await;
    let res = srv.get("/api/sign_out", Some(&cookie)).await;
    assert!(
        !res.status().is_success(),
        "GET sign_out answered {}",
        res.status()
    );
    assert_eq!(
        srv.whoami(&cookie).await.as_deref(),
        Some("agent@example.com")
    );
    let res = srv
        .get(
            "/api/sign_in?email=agent%40example.com&password=portico-demo",
            None,
        )
        .await;
    assert!(!res.status().is_success());
    assert!(session_cookie(&res).is_none());
    let sessions = session::Entity::find().all(&srv.state.db).await.unwrap();
    assert_eq!(sessions.len(), 1, "no session was created by GET");
}

async fn security_headers_on_every_response(srv: &TestServer) {
    for path in ["/", "/sign-in", "/no-such-page", "/healthz"] {
        let res = srv.get(path, None).await;
        let h = res.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert!(h["referrer-policy"].to_str().unwrap().len() > 3);
        let csp = h["content-security-policy"].to_str().unwrap().to_string();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(csp.contains("object-src 'none'"));
        assert!(!csp.contains("unsafe-inline"));
        if path != "/healthz" {
            let nonce = csp
                .split("'nonce-")
                .nth(1)
                .and_then(|s| s.split('\'').next())
                .unwrap()
                .to_string();
            let html = res.text().await.unwrap();
            assert!(
                html.contains(&format!("nonce=\"{nonce}\"")),
                "{path}: inline scripts must carry the header's nonce"
            );
        }
    }
    // A fresh nonce per response.
    let a = srv.get("/", None).await.headers()["content-security-policy"].clone();
    let b = srv.get("/", None).await.headers()["content-security-policy"].clone();
    assert_ne!(a, b);
    let res = srv.get("/no-such-page", None).await;
    assert_eq!(res.status(), 404);
    assert!(res.text().await.unwrap().contains("Page not found"));
}

async fn plain_form_post_signs_in_without_javascript(srv: &TestServer) {
    // The sign-in page's form names the page to come back to.
    let page = srv
        .get("/sign-in?next=%2Faccount", None)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(r#"name="__return" value="/sign-in?next=%2Faccount""#),
        "the form names its page"
    );
    // A `Referer` is ignored: the form's own field says where to go back.
    let form = |pw: &'static str, back: &'static str| {
        srv.client
            .post(srv.url("/api/sign_in"))
            .headers(srv.same_origin())
            .header("accept", "text/html,application/xhtml+xml")
            .header("referer", srv.url("/support"))
            .form(&[
                ("email", "billing@example.com"),
                ("password", pw),
                ("next", "/account"),
                ("__return", back),
            ])
    };
    let res = form(PASSWORD, "/sign-in?next=%2Faccount")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    assert_eq!(res.headers()["location"], "/account");
    let cookie = session_cookie(&res).unwrap();
    let page = srv.get("/account", Some(&cookie)).await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("billing@example.com"));

    let res = form("wrong password", "/sign-in?next=%2Faccount")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    assert!(session_cookie(&res).is_none());
    let back = res.headers()["location"].to_str().unwrap().to_string();
    assert!(
        back.starts_with(&srv.url("/sign-in?next=%2Faccount&__path=")) && back.contains("__err"),
        "{back}"
    );
    let path = back.trim_start_matches(&srv.base).to_string();
    let page = srv.get(&path, None).await.text().await.unwrap();
    assert!(
        page.contains("e-mail address or password is not correct"),
        "the form shows the error"
    );
    // The next refusal names the same page, without the last one's error.
    assert!(
        page.contains(r#"name="__return" value="/sign-in?next=%2Faccount""#),
        "{path}"
    );

    // Another host, or no page named: never the `Referer`, never away.
    for back in [
        "//evil.example/x",
        "https://evil.example/",
        "/api/sign_out",
        "",
    ] {
        let res = form("wrong password", back).send().await.unwrap();
        assert_eq!(res.status(), 302);
        let location = res.headers()["location"].to_str().unwrap();
        assert_eq!(location, "/", "{back:?}");
    }
}

async fn deactivated_people_cannot_sign_in_and_lose_their_sessions(srv: &TestServer) {
    let cookie = srv.sign_in("tech1@acme.example").await;
    user::Entity::update_many()
        .col_expr(user::Column::Active, sea_orm::sea_query::Expr::value(false))
        .filter(user::Column::Email.eq("tech1@acme.example"))
        .exec(&srv.state.db)
        .await
        .unwrap();
    assert_eq!(srv.whoami(&cookie).await, None);
    let res = srv.sign_in_response("tech1@acme.example", PASSWORD).await;
    assert_eq!(res.status(), 401);
    assert!(
        res.text().await.unwrap().contains("not correct"),
        "same answer as a wrong password"
    );
}

async fn idle_and_absolute_expiry_end_sessions(srv: &TestServer) {
    let idle = srv.sign_in("agent@example.com").await;
    let old = Utc::now() - chrono::Duration::hours(3);
    session::Entity::update_many()
        .col_expr(
            session::Column::LastSeenAt,
            sea_orm::sea_query::Expr::value(old),
        )
        .exec(&srv.state.db)
        .await
        .unwrap();
    assert_eq!(
        srv.whoami(&idle).await,
        None,
        "idle for longer than 2 hours"
    );

    let absolute = srv.sign_in("agent@example.com").await;
    session::Entity::update_many()
        .col_expr(
            session::Column::ExpiresAt,
            sea_orm::sea_query::Expr::value(Utc::now() - chrono::Duration::seconds(1)),
        )
        .exec(&srv.state.db)
        .await
        .unwrap();
    assert_eq!(srv.whoami(&absolute).await, None);
}

async fn malformed_input_is_a_clear_4xx(srv: &TestServer) {
    let res = srv
        .client
        .post(srv.url("/api/sign_in"))
        .headers(srv.same_origin())
        .header("content-type", "application/x-www-form-urlencoded")
        .body("%%%&&&=\u{0}")
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error(), "{}", res.status());
    let res = srv.sign_in_response("", "x").await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("e-mail address"));
    let res = srv.sign_in_response("not-an-email", "x").await;
    assert_eq!(res.status(), 400);
    let long = "a".repeat(5000);
    let res = srv
        .sign_in_response(&format!("{long}@x.example"), &long)
        .await;
    assert_eq!(res.status(), 400);
    let res = srv.get("/sign-in?next=%00%ff", None).await;
    assert_eq!(res.status(), 200);
}

async fn private_pages_redirect_and_refuse_by_role(srv: &TestServer) {
    let res = srv.get("/staff", None).await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/sign-in?next=/staff");

    let cases = [
        ("admin@example.com", [200, 403, 403]),
        ("agent@example.com", [200, 403, 403]),
        ("billing@example.com", [200, 403, 403]),
        ("main@acme.example", [403, 403, 200]),
        ("tech1@acme.example", [403, 200, 403]),
        ("main@globex.example", [403, 200, 200]),
    ];
    for (email, expected) in cases {
        let cookie = srv.sign_in(email).await;
        for (path, want) in ["/staff", "/support", "/billing"].into_iter().zip(expected) {
            let res = srv.get(path, Some(&cookie)).await;
            assert_eq!(res.status().as_u16(), want, "{email} GET {path}");
            let body = res.text().await.unwrap();
            if want == 403 {
                assert!(body.contains("do not have access"), "{email} {path}");
            }
        }
        let account = srv.get("/account", Some(&cookie)).await;
        assert_eq!(account.status(), 200);
        assert!(account.text().await.unwrap().contains(email));
    }
}

async fn health_check_reports_the_database(srv: &TestServer) {
    let res = srv.get("/healthz", None).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "ok");
}

/// Every server function and page the router serves, and every handler,
/// has a gate in `app::core::authz`, and each answers as its gate says for
/// each of nine people: refused by role exactly where the gate refuses,
/// never refused by role where the staff table opens it, and never a 5xx,
/// even with nothing filled in.
async fn every_route_keeps_to_its_gate(srv: &TestServer) {
    use app::core::authz::{self, Kind, Lookup};

    let (endpoints, pages) = server::route_inventory();
    assert!(
        endpoints.len() > 40 && pages.len() > 20,
        "{endpoints:?} {pages:?}"
    );
    for e in &endpoints {
        assert!(
            matches!(authz::lookup(e), Lookup::Listed(_, Kind::Endpoint)),
            "server function {e} has no row in core::authz::ENDPOINTS"
        );
    }
    let pages: Vec<String> = pages.iter().map(|p| braces(p)).collect();
    for p in &pages {
        assert!(
            authz::PAGES.iter().any(|(pattern, _)| pattern == p),
            "page {p} has no row in core::authz::PAGES"
        );
    }
    for (name, _) in authz::ENDPOINTS {
        assert!(
            endpoints.contains(&format!("/api/{name}")),
            "stale row {name}"
        );
    }
    for (pattern, _) in authz::PAGES {
        assert!(
            pages.iter().any(|p| p == pattern),
            "stale page row {pattern}"
        );
    }

    let (people, cookies) = common::matrix_people(srv).await;
    let mut actors = Vec::new();
    for c in &cookies {
        actors.push(match c {
            None => None,
            Some(c) => {
                let token = c.split_once('=').unwrap().1;
                app::auth::ssr::session::resolve(&srv.state.db, &srv.state.settings, token)
                    .await
                    .unwrap()
            }
        });
    }
    assert!(actors.iter().skip(1).all(Option::is_some));
    let ticket = {
        let tech = cookies[5].as_deref().unwrap();
        let release = common::release_id(srv, "Portico Server", "2.4").await;
        let res = srv
            .call(
                "open_ticket",
                Some(tech),
                &[
                    ("ticket[subject]", "Gate check"),
                    ("ticket[description]", "Our front-end is down."),
                    ("ticket[severity]", "3"),
                    ("ticket[release]", release.as_str()),
                ],
            )
            .await;
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
        res.json::<i32>().await.unwrap().to_string()
    };

    let judge = |what: &str, gate: authz::Gate, i: usize, status: u16, refused: u16| {
        let person = people[i];
        match gate.admit(actors[i].as_ref()) {
            Err(e) => {
                let want = if e.status() == 401 { refused } else { 403 };
                assert_eq!(status, want, "{person} → {what}: the gate refuses");
            }
            Ok(()) => {
                assert!(status < 500, "{person} → {what}: {status}");
                let by_table = actors[i]
                    .as_ref()
                    .is_some_and(|a| a.staff_role().is_some() && gate.staff.is_some());
                if by_table {
                    assert!(
                        status != 401 && status != 403,
                        "{person} → {what}: {status}, but the staff table opens it"
                    );
                }
                if actors[i].is_some() {
                    assert_ne!(status, 401, "{person} → {what}");
                }
            }
        }
    };

    for page in &pages {
        let path = page.replace("{id}", &ticket);
        let Lookup::Listed(gate, Kind::Page) = authz::lookup(&path) else {
            panic!("{path} is not a listed page");
        };
        for (i, cookie) in cookies.iter().enumerate() {
            let res = srv.get(&path, cookie.as_deref()).await;
            let status = res.status().as_u16();
            let body = res.text().await.unwrap();
            if status == 403 {
                assert!(body.contains("do not have access"), "{path}: {body}");
            } else if gate.admit(actors[i].as_ref()).is_ok() && gate.staff.is_some() {
                // The page itself does not refuse whom its gate admits.
                assert!(
                    !body.contains("do not have access"),
                    "{} → {path}: the page refuses what its gate opens",
                    people[i]
                );
            }
            judge(&format!("GET {path}"), gate, i, status, 303);
        }
    }
    for (pattern, gate) in authz::HANDLERS {
        let path = pattern
            .replace("{id}", &ticket)
            .replace("{attachment}", "1");
        for (i, cookie) in cookies.iter().enumerate() {
            let status = srv.get(&path, cookie.as_deref()).await.status().as_u16();
            judge(&format!("GET {path}"), *gate, i, status, 401);
        }
    }
    // Written out, not derived from the table: the rule a billing clerk
    // must never break, beside agents and administrators who may.
    let (admin, agent, billing) = (
        cookies[1].as_deref(),
        cookies[2].as_deref(),
        cookies[3].as_deref(),
    );
    for (who, cookie, want) in [
        ("admin", admin, 200),
        ("agent", agent, 200),
        ("billing", billing, 403),
    ] {
        let page = srv.get(&format!("/staff/tickets/{ticket}"), cookie).await;
        assert_eq!(page.status(), want, "{who}: ticket page");
        assert_eq!(
            page.text().await.unwrap().contains("Our front-end is down"),
            want == 200,
            "{who}"
        );
        let res = srv
            .call("load_ticket", cookie, &[("ticket_id", &ticket)])
            .await;
        assert_eq!(res.status(), want, "{who}: load_ticket");
        let res = srv.call("list_tickets", cookie, &[]).await;
        assert_eq!(res.status(), want, "{who}: list_tickets");
        let res = srv
            .call(
                "add_comment",
                cookie,
                &[
                    ("ticket_id", &ticket),
                    ("body", "note"),
                    ("internal", "true"),
                ],
            )
            .await;
        assert_eq!(res.status() == 403, want == 403, "{who}: add_comment");
        let live = srv.get(&format!("/tickets/{ticket}/live"), cookie).await;
        assert_eq!(live.status() == 403, want == 403, "{who}: live socket");
        let file = srv
            .get(&format!("/tickets/{ticket}/attachments/1"), cookie)
            .await;
        assert_eq!(file.status() == 403, want == 403, "{who}: attachment");
    }
    // Addresses the router would resolve to a guarded page never reach it.
    for odd in [
        format!("/support/../staff/tickets/{ticket}"),
        format!("/staff/tickets/{ticket}/."),
        format!("/x/%2e%2e/staff/tickets/{ticket}"),
        format!("/support/%2E%2E/staff/tickets/{ticket}"),
        format!("/staff/tickets/{ticket}/%2e"),
    ] {
        for cookie in [None, billing, cookies[5].as_deref()] {
            let answer = raw_get(srv, &odd, cookie).await;
            assert!(answer.starts_with("HTTP/1.1 404"), "{odd}: {answer}");
            assert!(!answer.contains("Our front-end is down"));
        }
    }

    // Signing out ends the session it is called with: last.
    let mut endpoints = endpoints;
    endpoints.sort_by_key(|e| e == "/api/sign_out");
    for e in &endpoints {
        let Lookup::Listed(gate, _) = authz::lookup(e) else {
            unreachable!()
        };
        let name = e.trim_start_matches("/api/");
        for (i, cookie) in cookies.iter().enumerate() {
            let status = srv
                .call(name, cookie.as_deref(), &[])
                .await
                .status()
                .as_u16();
            judge(name, gate, i, status, 401);
        }
    }
}

/// `/staff/tickets/:id` as the authorization table writes it: `/staff/tickets/{id}`.
fn braces(path: &str) -> String {
    path.split('/')
        .map(|s| match s.strip_prefix(':') {
            Some(name) => format!("{{{name}}}"),
            None => s.to_string(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// A GET sent exactly as written (HTTP clients resolve `..` and `%2e`
/// segments before sending; an attacker's need not).
async fn raw_get(srv: &TestServer, path: &str, cookie: Option<&str>) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = srv.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let cookie = cookie
        .map(|c| format!("Cookie: {c}\r\n"))
        .unwrap_or_default();
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n{cookie}Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

/// Generating the route list suppresses resource loading in the whole
/// process (leptos-rs/leptos#4773): a page rendering meanwhile used to wait
/// forever. Routers built after the first reuse the list, so pages keep
/// answering while other servers start in the same process.
async fn pages_render_while_another_router_is_built(srv: &TestServer) {
    let state = srv.state.clone();
    let builder = tokio::task::spawn_blocking(move || {
        for _ in 0..30 {
            drop(server::router(state.clone()));
            let _ = server::route_inventory();
        }
    });
    let cookie = srv.sign_in("tech1@acme.example").await;
    for _ in 0..30 {
        let res = tokio::time::timeout(Duration::from_secs(10), srv.get("/support", Some(&cookie)))
            .await
            .expect("the page answers while routers are built");
        assert_eq!(res.status(), 200);
        assert!(res.text().await.unwrap().contains("Support Portal"));
    }
    builder.await.unwrap();
}

/// The throttle's rules, on the database both processes share: free
/// failures, then waits that grow and cap; attempts counted before the
/// check; a right password refunds its address; old failures forgotten.
async fn the_throttle_counts_in_the_database(srv: &TestServer) {
    use app::core::throttle::{
        begin, clear, forget_old, retry_after, succeeded, ACCOUNT_POLICY, ADDRESS_POLICY,
    };
    let db = &srv.state.db;
    let now = Utc::now();
    let keys = [
        ("account:t@x", ACCOUNT_POLICY),
        ("address:t", ADDRESS_POLICY),
    ];
    // Five attempts in flight at once pass; the sixth is refused before
    // any of them has been answered.
    for _ in 0..5 {
        assert_eq!(begin(db, &keys, now).await.unwrap(), Ok(()));
    }
    assert_eq!(
        begin(db, &keys, now).await.unwrap(),
        Err(Duration::from_secs(1))
    );
    assert_eq!(
        retry_after(db, &["address:t", "account:t@x"], now)
            .await
            .unwrap(),
        Some(Duration::from_secs(1))
    );
    // One of them was right: the account is free again, the address is
    // refunded its failure.
    succeeded(db, "account:t@x", ("address:t", ADDRESS_POLICY), now)
        .await
        .unwrap();
    assert_eq!(begin(db, &keys, now).await.unwrap(), Ok(()));
    let row = entity::sign_in_throttle::Entity::find_by_id("address:t".to_string())
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.failures, 5, "five begun, one refunded, one more begun");
    // The wait grows with the failures and stops at the account's cap
    // (each attempt after the last one's wait).
    let mut at = now + chrono::Duration::seconds(2);
    for _ in 0..40 {
        let one = begin(db, &[("account:cap", ACCOUNT_POLICY)], at)
            .await
            .unwrap();
        assert_eq!(one, Ok(()));
        at += chrono::Duration::seconds(61);
    }
    let last = at - chrono::Duration::seconds(61);
    let wait = retry_after(db, &["account:cap"], last).await.unwrap();
    assert_eq!(wait, Some(Duration::from_secs(60)));
    // Fifteen minutes after the last failure and the end of its wait, the
    // failures are forgotten: the first new one is free again.
    let much_later = last + chrono::Duration::minutes(17);
    let cap = [("account:cap", ACCOUNT_POLICY)];
    assert_eq!(begin(db, &cap, much_later).await.unwrap(), Ok(()));
    assert_eq!(
        retry_after(db, &["account:cap"], much_later).await.unwrap(),
        None
    );
    // Parallel attempts on a fresh account: exactly the five free ones pass.
    let fresh = [("account:burst", ACCOUNT_POLICY)];
    let results = futures::future::join_all((0..20).map(|_| begin(db, &fresh, much_later))).await;
    let passed = results.iter().filter(|r| matches!(r, Ok(Ok(())))).count();
    assert_eq!(passed, 5, "{results:?}");
    clear(db, "account:t@x").await.unwrap();
    assert!(
        forget_old(db, much_later + chrono::Duration::minutes(60))
            .await
            .unwrap()
            >= 1
    );
    assert_eq!(
        entity::sign_in_throttle::Entity::find()
            .all(db)
            .await
            .unwrap()
            .len(),
        0,
        "every count forgotten"
    );
}

/// Failures against one server process count on the other: a guesser
/// spreading attempts over processes behind a balancer gains nothing.
async fn server_processes_share_the_throttle(srv: &TestServer) {
    let other = srv.second_process().await;
    for _ in 0..5 {
        let res = srv.sign_in_response("billing@example.com", "guess").await;
        assert_eq!(res.status(), 401);
    }
    // The other process reads the same five failures, and refuses at once
    // while the wait they earned lasts.
    let row =
        entity::sign_in_throttle::Entity::find_by_id("account:billing@example.com".to_string())
            .one(&other.state.db)
            .await
            .unwrap()
            .unwrap();
    assert_eq!(row.failures, 5);
    let res = other.sign_in_response("billing@example.com", "guess").await;
    if Utc::now() < row.blocked_until {
        assert_eq!(
            res.status(),
            429,
            "the second process knows the five failures"
        );
    }
    other.stop().await;
}
