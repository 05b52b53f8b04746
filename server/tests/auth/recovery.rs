//! Account recovery: "Forgot your password?" and the reset links staff send.

use super::*;
use common::{contact_id, mail_to, token_in};
use entity::activation_link;

db_tests!(
    a_forgotten_password_is_reset_by_a_link_to_the_address_on_file,
    staff_send_reset_links_to_the_contacts_their_role_may_change,
);

async fn request(srv: &TestServer, form: &[(&str, &str)]) -> reqwest::Response {
    srv.call("request_password_reset", None, form).await
}

async fn reset(srv: &TestServer, token: &str, password: &str) -> reqwest::Response {
    srv.call(
        "activate_account",
        None,
        &[
            ("token", token),
            ("new_password", password),
            ("confirm_password", password),
        ],
    )
    .await
}

async fn a_forgotten_password_is_reset_by_a_link_to_the_address_on_file(srv: &TestServer) {
    let before = srv.sign_in("tech1@acme.example").await;
    let resets = |to: &'static str| async move {
        mail_to(srv, to)
            .await
            .into_iter()
            .filter(|m| m.kind == "password_reset")
            .collect::<Vec<_>>()
    };

    // The same answer for an account and for no account; mail only for the account.
    let known = request(srv, &[("email", "Tech1@Acme.example")]).await;
    assert_eq!(known.status(), 200);
    let unknown = request(srv, &[("email", "nobody@acme.example")]).await;
    assert_eq!(unknown.status(), 200);
    assert_eq!(known.text().await.unwrap(), unknown.text().await.unwrap());
    assert!(mail_to(srv, "nobody@acme.example").await.is_empty());
    let sent = resets("tech1@acme.example").await;
    assert_eq!(sent.len(), 1);
    assert!(sent[0].body.contains("/activate?token="));
    assert!(sent[0].body.contains("60 minutes"));

    // Never to an address from the request (CVE-2023-7028): a second address,
    // a list, or a repeated field is refused or ignored, and nothing reaches it.
    for form in [
        vec![("email", "tech1@acme.example, attacker@evil.example")],
        vec![("email", "tech1@acme.example attacker@evil.example")],
        vec![
            ("email", "tech1@acme.example"),
            ("email", "attacker@evil.example"),
        ],
        vec![
            ("email[]", "tech1@acme.example"),
            ("email[]", "attacker@evil.example"),
        ],
    ] {
        let res = request(srv, &form).await;
        assert!(res.status().as_u16() < 500, "{form:?}: {}", res.status());
    }
    assert!(mail_to(srv, "attacker@evil.example").await.is_empty());
    let res = request(srv, &[("email", "not an address")]).await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("e-mail address"));

    // The newest link works once; it ends every earlier session.
    let sent = resets("tech1@acme.example").await;
    let token = token_in(&sent.last().unwrap().body);
    let res = reset(srv, &token, "a brand new passphrase").await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert_eq!(srv.whoami(&before).await, None, "the old session ended");
    assert_eq!(
        reset(srv, &token, "another new passphrase").await.status(),
        400,
        "used once"
    );
    let res = srv
        .sign_in_response("tech1@acme.example", "a brand new passphrase")
        .await;
    assert_eq!(res.status(), 200);
    // Older links stopped working when a newer one was sent.
    if sent.len() > 1 {
        let older = token_in(&sent[0].body);
        assert_eq!(
            reset(srv, &older, "yet another passphrase").await.status(),
            400
        );
    }

    // At most three links an hour per account, however often asked; the answer stays the same.
    let u = user::Entity::find()
        .filter(user::Column::Email.eq("main@acme.example"))
        .one(&srv.state.db)
        .await
        .unwrap()
        .unwrap();
    for _ in 0..5 {
        assert_eq!(
            request(srv, &[("email", "main@acme.example")])
                .await
                .status(),
            200
        );
    }
    let links = activation_link::Entity::find()
        .filter(activation_link::Column::UserId.eq(u.id))
        .all(&srv.state.db)
        .await
        .unwrap();
    assert_eq!(links.len(), 3, "three links in the hour");
    assert_eq!(resets("main@acme.example").await.len(), 3);

    // An expired link is refused.
    activation_link::Entity::update_many()
        .col_expr(
            activation_link::Column::ExpiresAt,
            sea_orm::sea_query::Expr::value(Utc::now() - chrono::Duration::seconds(1)),
        )
        .filter(activation_link::Column::UserId.eq(u.id))
        .exec(&srv.state.db)
        .await
        .unwrap();
    let last = token_in(&resets("main@acme.example").await.last().unwrap().body);
    assert_eq!(
        reset(srv, &last, "a brand new passphrase").await.status(),
        400
    );

    // Requests from one client address are throttled.
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(
            request(srv, &[("email", "nobody@acme.example")])
                .await
                .status()
                .as_u16(),
        );
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
}

async fn staff_send_reset_links_to_the_contacts_their_role_may_change(srv: &TestServer) {
    let agent = srv.sign_in("agent@example.com").await;
    let billing = srv.sign_in("billing@example.com").await;
    let main = srv.sign_in("main@acme.example").await;
    let tech = contact_id(srv, "tech1@acme.example").await.to_string();
    let send = |cookie: String, id: String| async move {
        srv.call("send_password_reset", Some(&cookie), &[("contact_id", &id)])
            .await
    };
    assert_eq!(
        send(main.clone(), tech.clone()).await.status(),
        403,
        "customers do not"
    );
    assert_eq!(
        send(billing.clone(), tech.clone()).await.status(),
        403,
        "billing staff do not change Technical Contacts"
    );
    assert!(mail_to(srv, "tech1@acme.example")
        .await
        .iter()
        .all(|m| m.kind != "password_reset"));
    let res = send(agent.clone(), tech.clone()).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let sent = mail_to(srv, "tech1@acme.example").await;
    assert_eq!(sent.last().unwrap().kind, "password_reset");
    assert!(reset(
        srv,
        &token_in(&sent.last().unwrap().body),
        "chosen by tina now"
    )
    .await
    .status()
    .is_success());
    // Three an hour, then a clear refusal.
    for _ in 0..2 {
        assert_eq!(send(agent.clone(), tech.clone()).await.status(), 200);
    }
    let res = send(agent.clone(), tech).await;
    assert_eq!(res.status(), 400);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("reset links in the last hour"));
}
