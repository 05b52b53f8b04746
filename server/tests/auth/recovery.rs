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

/// The reset mails to `to`, once there are `n` of them (the request answers
/// first and sends apart); fails after 10 s.
async fn resets_when(srv: &TestServer, to: &str, n: usize) -> Vec<entity::outbox_message::Model> {
    for _ in 0..100 {
        let sent: Vec<_> = mail_to(srv, to)
            .await
            .into_iter()
            .filter(|m| m.kind == "password_reset")
            .collect();
        if sent.len() >= n {
            return sent;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no {n} reset mails to {to}");
}

/// Lets the work a request handed off finish.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(500)).await;
}

async fn a_forgotten_password_is_reset_by_a_link_to_the_address_on_file(srv: &TestServer) {
    let before = srv.sign_in("tech1@acme.example").await;

    // The same answer for an account and for no account; mail only for the account.
    let known = request(srv, &[("email", "Tech1@Acme.example")]).await;
    assert_eq!(known.status(), 200);
    let unknown = request(srv, &[("email", "nobody@acme.example")]).await;
    assert_eq!(unknown.status(), 200);
    assert_eq!(known.text().await.unwrap(), unknown.text().await.unwrap());
    let sent = resets_when(srv, "tech1@acme.example", 1).await;
    settle().await;
    assert!(mail_to(srv, "nobody@acme.example").await.is_empty());
    assert_eq!(sent.len(), 1);
    assert!(sent[0].body.contains("/activate?token="));
    assert!(sent[0].body.contains("60 minutes"));

    // Never to an address from the request (CVE-2023-7028): a second address,
    // a list, or a repeated field is refused, and nothing reaches it.
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
        assert_eq!(res.status(), 400, "{form:?}");
    }
    let res = request(srv, &[("email", "not an address")]).await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("e-mail address"));
    settle().await;
    assert!(mail_to(srv, "attacker@evil.example").await.is_empty());
    assert_eq!(resets_when(srv, "tech1@acme.example", 1).await.len(), 1);

    // A second request: the first link dies; the newest works once and ends
    // every earlier session.
    let res = request(srv, &[("email", "tech1@acme.example")]).await;
    assert_eq!(res.status(), 200);
    let sent = resets_when(srv, "tech1@acme.example", 2).await;
    let (older, token) = (token_in(&sent[0].body), token_in(&sent[1].body));
    assert_eq!(
        reset(srv, &older, "yet another passphrase").await.status(),
        400
    );
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

    // At most three links an hour per account, however often asked; the answer stays the same.
    let u = user::Entity::find()
        .filter(user::Column::Email.eq("main@acme.example"))
        .one(&srv.state.db)
        .await
        .unwrap()
        .unwrap();
    for _ in 0..5 {
        let res = request(srv, &[("email", "main@acme.example")]).await;
        assert_eq!(res.status(), 200);
    }
    resets_when(srv, "main@acme.example", 3).await;
    settle().await;
    let links = activation_link::Entity::find()
        .filter(activation_link::Column::UserId.eq(u.id))
        .all(&srv.state.db)
        .await
        .unwrap();
    assert_eq!(links.len(), 3, "three links in the hour");
    let sent = resets_when(srv, "main@acme.example", 3).await;
    assert_eq!(sent.len(), 3);

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
    let last = token_in(&sent[2].body);
    assert_eq!(
        reset(srv, &last, "a brand new passphrase").await.status(),
        400
    );

    // A password change kills a reset link still on its way.
    assert_eq!(
        request(srv, &[("email", "tech2@acme.example")])
            .await
            .status(),
        200
    );
    let pending_reset = token_in(&resets_when(srv, "tech2@acme.example", 1).await[0].body);
    let tech2 = srv.sign_in("tech2@acme.example").await;
    let res = srv
        .call(
            "change_password",
            Some(&tech2),
            &[
                ("current_password", common::PASSWORD),
                ("new_password", "tech2 chose a new one"),
                ("confirm_password", "tech2 chose a new one"),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        reset(srv, &pending_reset, "an attacker's passphrase")
            .await
            .status(),
        400
    );

    // Requests from one client address are throttled: 10 free (9 were
    // counted above; refused input is not counted), then a wait.
    let res = request(srv, &[("email", "nobody@acme.example")]).await;
    assert_eq!(res.status(), 200);
    let res = request(srv, &[("email", "nobody@acme.example")]).await;
    assert_eq!(res.status(), 429);
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
    assert!(res.text().await.unwrap().contains("links in the last hour"));
}
