//! Mail to the support address: tickets and replies by mail, held mail and
//! its review, threading, attachments, the listener's SMTP, and — before any
//! of that — whether a message really comes from the contact it names.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use app::core::state::{AppState, InboundTrust};
use app::support::authenticity::Envelope;

use super::*;

db_tests!(
    mail_to_the_support_address_opens_tickets_threads_replies_and_holds_the_rest,
    the_listener_ends_data_only_at_crlf_dot_crlf,
    forged_senders_are_held_and_only_proven_mail_is_acted_on,
    one_message_is_one_comment_and_the_listener_keeps_its_limits,
);

const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// Pipes `raw` into `server ingest-mail` (with `extra` settings), as an MTA
/// on this machine would; what it printed. It must succeed.
async fn pipe(srv: &TestServer, extra: &[&str], raw: &str) -> String {
    use tokio::io::AsyncWriteExt;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_server"))
        .args(["--database-url", &srv.db_url])
        .args(extra)
        .arg("ingest-mail")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(raw.as_bytes()).await.unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The server's state, trusting inbound mail as `trust` says.
fn trusting(srv: &TestServer, trust: InboundTrust) -> AppState {
    let mut settings = (*srv.state.settings).clone();
    settings.inbound = trust;
    AppState {
        settings: Arc::new(settings),
        ..srv.state.clone()
    }
}

/// The server's state behind a relay on 127.0.0.1 that checks DMARC and
/// writes its verdict as `Authentication-Results: mx.test; …`.
fn relayed(srv: &TestServer) -> AppState {
    trusting(
        srv,
        InboundTrust {
            authserv_id: Some("mx.test".into()),
            relays: vec![LOCAL],
            verify: false,
            dns: None,
        },
    )
}

/// Sends one message with Debian's swaks (a real SMTP client), as the relay
/// in front of Portico hands it over: with its DMARC pass for the sender's
/// domain in `Authentication-Results` (see [`relayed`]).
async fn swaks(port: u16, from: &str, to: &str, subject: &str, body: &str) -> bool {
    swaks_with(port, from, to, subject, body, &[]).await
}

/// Like [`swaks`], with extra header lines (`Name: value`).
async fn swaks_with(
    port: u16,
    from: &str,
    to: &str,
    subject: &str,
    body: &str,
    headers: &[String],
) -> bool {
    let domain = from.rsplit_once('@').map_or("", |(_, d)| d);
    let verdict = format!("Authentication-Results: mx.test; dmarc=pass header.from={domain}");
    let headers = [&[verdict][..], headers].concat();
    tokio::process::Command::new("swaks")
        // `--header` replaces a header swaks writes itself (Message-Id) or adds it.
        .args(headers.iter().flat_map(|h| ["--header", h.as_str()]))
        .args([
            "--server",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--from",
            from,
            "--to",
            to,
            "--header",
            &format!("Subject: {subject}"),
            "--body",
            body,
            "--silent",
            "2",
        ])
        .status()
        .await
        .expect("swaks is installed by .ci/setup")
        .success()
}

async fn inbound(srv: &TestServer) -> Vec<inbound_message::Model> {
    inbound_message::Entity::find()
        .order_by_asc(inbound_message::Column::Id)
        .all(&srv.state.db)
        .await
        .unwrap()
}

async fn mail_to_the_support_address_opens_tickets_threads_replies_and_holds_the_rest(
    srv: &TestServer,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(server::inbound_smtp::serve(
        listener,
        relayed(srv),
        Some("support@portico.example".into()),
    ));
    let to = "support@portico.example";

    // A Technical Contact writes: a new ticket.
    assert!(
        swaks(
            port,
            "tech1@acme.example",
            to,
            "Printer on fire",
            "It burns since 9:00."
        )
        .await
    );
    let t = ticket::Entity::find()
        .filter(ticket::Column::Subject.eq("Printer on fire"))
        .one(&srv.state.db)
        .await
        .unwrap()
        .expect("a ticket from the mail");
    assert!(t.description.contains("It burns since 9:00."));
    assert_eq!(
        slas(srv, t.id).await.len(),
        2,
        "the SLA applies to mailed tickets too"
    );

    // A reply with the ticket token in the subject: a comment, without the quoted history.
    let subject = format!("Re: [#T-{}] Printer on fire", t.token);
    assert!(
        swaks(
            port,
            "tech1@acme.example",
            to,
            &subject,
            "More smoke now.\n\nOn Monday, Support wrote:\n> old text"
        )
        .await
    );
    let comments = ticket_comment::Entity::find()
        .filter(ticket_comment::Column::TicketId.eq(t.id))
        .all(&srv.state.db)
        .await
        .unwrap();
    assert_eq!(comments.len(), 1);
    assert_eq!(comments[0].body, "More smoke now.");

    // Strangers, colleagues without access to that ticket, and people without
    // Support Portal access are held for staff, never dropped.
    assert!(swaks(port, "stranger@evil.example", to, "Buy now", "spam").await);
    assert!(swaks(port, "tech2@acme.example", to, &subject, "let me in").await);
    assert!(
        swaks(
            port,
            "main@acme.example",
            to,
            "Question",
            "from the Main Contact"
        )
        .await
    );
    let msgs = inbound(srv).await;
    let outcomes: Vec<&str> = msgs.iter().map(|m| m.outcome.as_str()).collect();
    assert_eq!(outcomes, ["ticket", "comment", "held", "held", "held"]);
    assert!(msgs[2].reason.as_deref().unwrap().contains("unknown"));
    assert_eq!(
        ticket_comment::Entity::find()
            .filter(ticket_comment::Column::TicketId.eq(t.id))
            .all(&srv.state.db)
            .await
            .unwrap()
            .len(),
        1,
        "tech2's reply did not reach the ticket"
    );
    // Other recipients are refused at RCPT.
    assert!(
        !swaks(
            port,
            "tech1@acme.example",
            "billing@portico.example",
            "x",
            "y"
        )
        .await
    );
    // Staff see held mail; customers do not.
    let admin = srv.sign_in("admin@example.com").await;
    let held: Value = srv
        .call("list_held_mail", Some(&admin), &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(held.as_array().unwrap().len(), 3);
    let tech1 = srv.sign_in("tech1@acme.example").await;
    assert_eq!(
        srv.call("list_held_mail", Some(&tech1), &[]).await.status(),
        403
    );

    // Review: staff open a ticket from the stranger's message for tech1 (who
    // wrote from home, say), and dismiss the spam-like rest.
    let id_from = |from: &str| {
        held.as_array()
            .unwrap()
            .iter()
            .find(|m| m["from"] == from)
            .unwrap()["id"]
            .as_i64()
            .unwrap()
            .to_string()
    };
    let stranger = id_from("stranger@evil.example");
    let main = id_from("main@acme.example");
    let file = |cookie: String, id: String, email: &'static str| async move {
        srv.call(
            "file_held_mail",
            Some(&cookie),
            &[("message_id", id.as_str()), ("email", email)],
        )
        .await
    };
    assert_eq!(
        file(tech1.clone(), stranger.clone(), "tech1@acme.example")
            .await
            .status(),
        403,
        "customers do not review held mail"
    );
    let res = file(admin.clone(), stranger.clone(), "agent@example.com").await;
    assert_eq!(res.status(), 400, "staff accounts cannot be requesters");
    assert!(res.text().await.unwrap().contains("active contact"));
    let res = file(admin.clone(), stranger.clone(), "tech1@acme.example").await;
    assert_eq!(res.status(), 200);
    let filed: i32 = res.json().await.unwrap();
    let t2 = ticket::Entity::find_by_id(filed)
        .one(&srv.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (t2.subject.as_str(), t2.organization_id),
        ("Buy now", t.organization_id)
    );
    assert_eq!(t2.requester_contact_id, t.requester_contact_id);
    assert_eq!(
        file(admin.clone(), stranger.clone(), "tech1@acme.example")
            .await
            .status(),
        400,
        "a message is filed once"
    );
    let dismiss = |cookie: String| {
        let main = main.clone();
        async move {
            srv.call(
                "dismiss_held_mail",
                Some(&cookie),
                &[("message_id", main.as_str())],
            )
            .await
        }
    };
    assert_eq!(dismiss(tech1.clone()).await.status(), 403);
    assert_eq!(dismiss(admin.clone()).await.status(), 200);
    let left: Value = srv
        .call("list_held_mail", Some(&admin), &[])
        .await
        .json()
        .await
        .unwrap();
    let left: Vec<&str> = left
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["from"].as_str().unwrap())
        .collect();
    assert_eq!(left, ["tech2@acme.example"]);
    let records = inbound(srv).await;
    let dismissed = records
        .iter()
        .find(|m| m.from_addr == "main@acme.example")
        .unwrap();
    assert_eq!(dismissed.outcome, "dismissed");
    assert!(dismissed
        .reason
        .as_deref()
        .unwrap()
        .contains("dismissed by"));
    task.abort();

    // The same path from the command line: `server ingest-mail < message.eml`.
    // The MTA that pipes it in checked it, and says so under its authserv-id.
    let eml = "Authentication-Results: mx.test; dmarc=pass header.from=acme.example\r\nFrom: Tina Tech <tech1@acme.example>\r\nTo: support@portico.example\r\nSubject: From the CLI\r\nMessage-ID: <cli-1@acme.example>\r\n\r\nPiped in.\r\n";
    let out = pipe(srv, &["--inbound-trusted-authserv-id", "mx.test"], eml).await;
    assert!(out.contains("opened ticket #"), "{out}");
    let last = inbound(srv).await.pop().unwrap();
    assert_eq!(
        (last.outcome.as_str(), last.message_id.as_deref()),
        ("ticket", Some("cli-1@acme.example"))
    );
}

backend_tests!(replies_thread_by_references);

/// A reply whose subject lost the ticket tag still finds its ticket through
/// `In-Reply-To`/`References`: naming a ticket e-mail Portico sent (read
/// back from a real SMTP server), or the message that opened the ticket.
async fn replies_thread_by_references(backend: Backend) {
    let sink = SmtpSink::start().await;
    let Some(srv) = TestServer::start_with(backend, Some(sink.port)).await else {
        return;
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(server::inbound_smtp::serve(
        listener,
        relayed(&srv),
        Some("support@portico.example".into()),
    ));
    let to = "support@portico.example";
    let comments = |id: i32| {
        let db = srv.state.db.clone();
        async move {
            ticket_comment::Entity::find()
                .filter(ticket_comment::Column::TicketId.eq(id))
                .order_by_asc(ticket_comment::Column::Id)
                .all(&db)
                .await
                .unwrap()
                .into_iter()
                .map(|c| c.body)
                .collect::<Vec<_>>()
        }
    };

    // Staff answer a ticket; the e-mail tech1 receives names the ticket's thread.
    let tech1 = srv.sign_in("tech1@acme.example").await;
    let agent = srv.sign_in("agent@example.com").await;
    let t = open(&srv, &tech1, "Backups fail nightly", "3").await;
    assert_eq!(
        comment(&srv, &agent, t, "Which backup job?", &[])
            .await
            .status(),
        200
    );
    let mut mail = None;
    for _ in 0..200 {
        mail = sink
            .messages()
            .into_iter()
            .find(|m| m["rcpt_tos"][0] == "tech1@acme.example");
        if mail.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mail = mail.expect("the update reached tech1 over SMTP");
    let sent_id = mail["message_id"].as_str().unwrap().to_string();
    let root = mail["references"].as_str().unwrap().to_string();
    assert!(!root.is_empty(), "ticket mail names its thread: {mail}");
    assert_eq!(mail["in_reply_to"].as_str().unwrap(), root);

    // The reply's subject lost the tag; its In-Reply-To names our message.
    assert!(
        swaks_with(
            port,
            "tech1@acme.example",
            to,
            "Re: that backup thing",
            "The nightly one.",
            &[
                format!("In-Reply-To: {sent_id}"),
                format!("References: {root} {sent_id}"),
            ],
        )
        .await
    );
    assert_eq!(comments(t).await, ["Which backup job?", "The nightly one."]);

    // A new ticket by mail, then a follow-up naming only that first message.
    assert!(
        swaks_with(
            port,
            "tech1@acme.example",
            to,
            "Disk full on db-2",
            "Since noon.",
            &["Message-ID: <first-7@acme.example>".into()],
        )
        .await
    );
    let mailed = ticket::Entity::find()
        .filter(ticket::Column::Subject.eq("Disk full on db-2"))
        .one(&srv.state.db)
        .await
        .unwrap()
        .expect("a ticket from the mail");
    assert!(
        swaks_with(
            port,
            "tech1@acme.example",
            to,
            "Also",
            "db-3 too.",
            &["References: <first-7@acme.example>".into()],
        )
        .await
    );
    assert_eq!(comments(mailed.id).await, ["db-3 too."]);

    // A colleague who cannot see the ticket is held, even by References.
    assert!(
        swaks_with(
            port,
            "tech2@acme.example",
            to,
            "Re: backups",
            "let me in",
            &[format!("References: {sent_id}")],
        )
        .await
    );
    // A reply to someone else's mail (not ours, not filed) opens a ticket.
    assert!(
        swaks_with(
            port,
            "tech1@acme.example",
            to,
            "Fwd: vendor notice",
            "See below.",
            &["References: <news-1@vendor.example>".into()],
        )
        .await
    );
    let outcomes: Vec<String> = inbound(&srv).await.into_iter().map(|m| m.outcome).collect();
    assert_eq!(outcomes, ["comment", "ticket", "comment", "held", "ticket"]);
    assert_eq!(comments(t).await.len(), 2, "the held reply added nothing");

    // Files attached to a reply land on the ticket, under clean names.
    let raw = format!(
        "Authentication-Results: mx.test; dmarc=pass header.from=acme.example\r\n\
         From: Tina Tech <tech1@acme.example>\r\nTo: {to}\r\nSubject: logs\r\n\
         References: {root}\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain\r\n\r\nThe log is attached.\r\n\
         --b1\r\nContent-Type: text/plain\r\n\
         Content-Disposition: attachment; filename=\"../../etc/backup.log\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\naW8gZXJyb3IgYXQgMDI6MDA=\r\n\
         --b1--\r\n"
    );
    let outcome = app::support::inbound::ingest(&relayed(&srv), &Envelope::local(), raw.as_bytes())
        .await
        .unwrap();
    assert_eq!(outcome, app::support::inbound::Outcome::Comment(t));
    let files = ticket_attachment::Entity::find()
        .filter(ticket_attachment::Column::TicketId.eq(t))
        .all(&srv.state.db)
        .await
        .unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].file_name, "backup.log");
    let res = fetch(&srv, Some(&tech1), t, files[0].id).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "io error at 02:00");
    assert_eq!(
        comments(t).await[2..],
        [format!(
            "The log is attached.\n\nAttached [backup.log](/tickets/{t}/attachments/{}) (17 bytes).",
            files[0].id
        )],
        "one message, one comment: its text and its file"
    );
    task.abort();
    srv.stop().await;
}

/// SMTP smuggling: a dot line after a bare LF is data, not the end of the
/// message, so a forged second message hidden inside the first is never
/// filed (the listener used to end data at `\n.\n` too).
async fn the_listener_ends_data_only_at_crlf_dot_crlf(srv: &TestServer) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(server::inbound_smtp::serve(
        listener,
        relayed(srv),
        Some("support@portico.example".into()),
    ));
    let mut conn = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let session = concat!(
        "EHLO relay.example\r\n",
        "MAIL FROM:<tech1@acme.example>\r\n",
        "RCPT TO:<support@portico.example>\r\n",
        "DATA\r\n",
        "Authentication-Results: mx.test; dmarc=pass header.from=acme.example\r\n",
        "From: Tomas Tech <tech1@acme.example>\r\n",
        "To: support@portico.example\r\n",
        "Subject: Our upgrade question\r\n",
        "\r\n",
        "Hello.\r\n",
        "\n.\n",
        "MAIL FROM:<tech1@acme.example>\r\n",
        "RCPT TO:<support@portico.example>\r\n",
        "DATA\r\n",
        "Authentication-Results: mx.test; dmarc=pass header.from=acme.example\r\n",
        "From: Tomas Tech <tech1@acme.example>\r\n",
        "To: support@portico.example\r\n",
        "Subject: SMUGGLED\r\n",
        "\r\n",
        "forged\r\n",
        ".\r\n",
        "QUIT\r\n",
    );
    conn.write_all(session.as_bytes()).await.unwrap();
    let mut replies = String::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), conn.read_to_string(&mut replies)).await;
    assert_eq!(replies.matches("250 OK: filed").count(), 1, "{replies}");
    task.abort();
    let filed = inbound(srv).await;
    assert_eq!(filed.len(), 1, "one message, not two");
    let tickets = ticket::Entity::find().all(&srv.state.db).await.unwrap();
    assert!(tickets.iter().any(|t| t.subject == "Our upgrade question"));
    assert!(!tickets.iter().any(|t| t.subject == "SMUGGLED"));
}

/// A DNS server on loopback that answers TXT queries from `records`
/// (name → text) and NXDOMAIN for every other name: the DNS a sender's
/// domain publishes, for mail-auth's real resolver to ask.
async fn dns_server(records: Vec<(&'static str, String)>) -> std::net::SocketAddr {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = [0u8; 1500];
        while let Ok((n, peer)) = socket.recv_from(&mut buf).await {
            if let Some(answer) = dns_answer(&buf[..n], &records) {
                let _ = socket.send_to(&answer, peer).await;
            }
        }
    });
    addr
}

/// The response to one DNS query (RFC 1035 §4.1), or `None` if unreadable.
fn dns_answer(query: &[u8], records: &[(&str, String)]) -> Option<Vec<u8>> {
    let (mut at, mut labels) = (12usize, Vec::new());
    loop {
        let len = *query.get(at)? as usize;
        at += 1;
        if len == 0 {
            break;
        }
        labels.push(String::from_utf8_lossy(query.get(at..at + len)?).to_lowercase());
        at += len;
    }
    let qtype = u16::from_be_bytes([*query.get(at)?, *query.get(at + 1)?]);
    let question = query.get(12..at + 4)?;
    let name = labels.join(".");
    let texts: Vec<&String> = records
        .iter()
        .filter(|(n, _)| *n == name)
        .map(|(_, t)| t)
        .collect();
    let known = !texts.is_empty();
    let answers: Vec<&String> = if qtype == 16 { texts } else { Vec::new() };
    let mut out = Vec::new();
    out.extend_from_slice(&query[..2]);
    out.extend_from_slice(&[0x81, if known { 0x80 } else { 0x83 }]);
    out.extend_from_slice(&[0, 1]);
    out.extend_from_slice(&(answers.len() as u16).to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(question);
    for text in answers {
        let mut rdata = Vec::new();
        for chunk in text.as_bytes().chunks(255) {
            rdata.push(chunk.len() as u8);
            rdata.extend_from_slice(chunk);
        }
        out.extend_from_slice(&[0xc0, 0x0c, 0, 16, 0, 1, 0, 0, 0, 60]);
        out.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        out.extend_from_slice(&rdata);
    }
    Some(out)
}

/// Hands `raw` to the listener on `port` over SMTP from the local address
/// `from_ip` (any 127.x address works on Linux's loopback); the listener's
/// replies.
async fn deliver(port: u16, from_ip: Ipv4Addr, mail_from: &str, raw: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind((from_ip, 0).into()).unwrap();
    let mut conn = socket
        .connect((Ipv4Addr::LOCALHOST, port).into())
        .await
        .unwrap();
    let mut data = String::new();
    for line in raw.split_inclusive("\r\n") {
        if line.starts_with('.') {
            data.push('.');
        }
        data.push_str(line);
    }
    let session = format!(
        "EHLO mail.acme.example\r\nMAIL FROM:<{mail_from}>\r\n\
         RCPT TO:<support@portico.example>\r\nDATA\r\n{data}.\r\nQUIT\r\n"
    );
    conn.write_all(session.as_bytes()).await.unwrap();
    let mut replies = String::new();
    let _ = tokio::time::timeout(Duration::from_secs(30), conn.read_to_string(&mut replies)).await;
    replies
}

/// `message` with a DKIM signature by `domain`'s selector `portico-test`
/// made with `key` (PKCS#8).
fn dkim_signed(key: &[u8], domain: &str, message: &str) -> String {
    use mail_auth::common::crypto::Ed25519Key;
    use mail_auth::common::headers::HeaderWriter;
    let signature = mail_auth::dkim::DkimSigner::from_key(Ed25519Key::from_pkcs8_der(key).unwrap())
        .domain(domain)
        .selector("portico-test")
        .headers(["From", "To", "Subject", "Message-ID"])
        .sign(message.as_bytes())
        .unwrap();
    format!("{}{message}", signature.to_header())
}

/// The DKIM key record (TXT) for the key pair `key` (PKCS#8).
fn dkim_record(key: &[u8]) -> String {
    use base64::Engine as _;
    let public = mail_auth::common::crypto::Ed25519Key::from_pkcs8_der(key)
        .unwrap()
        .public_key();
    format!(
        "v=DKIM1; k=ed25519; p={}",
        base64::engine::general_purpose::STANDARD.encode(public)
    )
}

/// `From:` is only a claim. Mail handed over directly is filed as a
/// contact's only when DMARC passes for the `From:` domain — here with a
/// real DKIM signature checked against DNS answers from a DNS server in the
/// test; forged, altered or foreign-signed mail is held for staff and opens
/// nothing. A relay's `Authentication-Results` counts only from the relay's
/// address, and a piped message's only under the configured authserv-id.
async fn forged_senders_are_held_and_only_proven_mail_is_acted_on(srv: &TestServer) {
    use mail_auth::common::crypto::Ed25519Key;
    let (acme_key, evil_key, globex_key) = (
        Ed25519Key::generate_pkcs8().unwrap(),
        Ed25519Key::generate_pkcs8().unwrap(),
        Ed25519Key::generate_pkcs8().unwrap(),
    );
    let dns = dns_server(vec![
        (
            "portico-test._domainkey.acme.example",
            dkim_record(&acme_key),
        ),
        ("_dmarc.acme.example", "v=DMARC1; p=reject".into()),
        (
            "portico-test._domainkey.evil.example",
            dkim_record(&evil_key),
        ),
        // globex.example publishes a DKIM key but no DMARC record.
        (
            "portico-test._domainkey.globex.example",
            dkim_record(&globex_key),
        ),
    ])
    .await;
    let trust = InboundTrust {
        authserv_id: Some("mx.test".into()),
        relays: vec![LOCAL],
        verify: true,
        dns: Some(dns),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(server::inbound_smtp::serve(
        listener,
        trusting(srv, trust),
        Some("support@portico.example".into()),
    ));
    let direct = Ipv4Addr::new(127, 0, 0, 2);
    let message = |subject: &str, body: &str| {
        format!(
            "From: Tina Tech <tech1@acme.example>\r\nTo: support@portico.example\r\n\
             Subject: {subject}\r\nMessage-ID: <{}@acme.example>\r\n\r\n{body}\r\n",
            subject.replace(' ', "-")
        )
    };
    let tickets = || async {
        ticket::Entity::find()
            .all(&srv.state.db)
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.subject)
            .collect::<Vec<_>>()
    };
    let before = tickets().await;

    // A forged From: (no signature; acme.example publishes no SPF): held.
    let forged = message("Reset my servers", "Please wipe db-1.");
    let replies = deliver(port, direct, "tech1@acme.example", &forged).await;
    assert!(replies.contains("250 OK: filed"), "{replies}");
    // The same, claiming a relay's pass it never got, from an unlisted peer.
    let claimed = format!(
        "Authentication-Results: mx.test; dmarc=pass header.from=acme.example\r\n{}",
        message("Claimed pass", "trust me")
    );
    deliver(port, direct, "tech1@acme.example", &claimed).await;
    // Signed by acme.example, then altered on the way: held.
    let signed = dkim_signed(
        &acme_key,
        "acme.example",
        &message("Signed question", "Is 2.6 out?"),
    );
    let altered = signed.replace("Is 2.6 out?", "Wipe db-1.");
    deliver(port, direct, "tech1@acme.example", &altered).await;
    // A valid signature, but by evil.example, not the From: domain: held.
    let foreign = dkim_signed(
        &evil_key,
        "evil.example",
        &message("Foreign signature", "hi"),
    );
    deliver(port, direct, "bounce@evil.example", &foreign).await;
    // From the relay's address, but the relay says DMARC failed: held.
    let failed = format!(
        "Authentication-Results: mx.test; dmarc=fail header.from=acme.example\r\n{}",
        message("Relay says fail", "x")
    );
    deliver(port, Ipv4Addr::LOCALHOST, "tech1@acme.example", &failed).await;
    // Signed by acme.example, with a second, unsigned sender that one parser
    // reads and DKIM does not (`From :`): held.
    let hidden = signed.replacen(
        "\r\nFrom: Tina Tech",
        "\r\nFrom : Tomas <tech2@acme.example>\r\nFrom: Tina Tech",
        1,
    );
    assert_ne!(hidden, signed);
    deliver(port, direct, "tech1@acme.example", &hidden).await;
    let last = inbound(srv).await.pop().unwrap();
    assert_eq!(last.outcome, "held");
    assert!(last.reason.unwrap().contains("malformed"));
    assert_eq!(tickets().await, before, "nothing forged opened a ticket");
    let held: Vec<_> = inbound(srv).await.into_iter().take(5).collect();
    let reasons: Vec<(&str, &str)> = held
        .iter()
        .map(|m| (m.outcome.as_str(), m.reason.as_deref().unwrap_or("")))
        .collect();
    assert_eq!(reasons.len(), 5, "{reasons:?}");
    for (outcome, reason) in &reasons {
        assert_eq!(*outcome, "held", "{reasons:?}");
        assert!(
            reason.contains("not shown to come from tech1@acme.example"),
            "{reasons:?}"
        );
    }
    assert!(reasons[0].1.contains("DKIM: no signature"), "{reasons:?}");
    assert!(reasons[2].1.contains("did not verify"), "{reasons:?}");
    assert!(reasons[3].1.contains("another domain"), "{reasons:?}");
    assert!(reasons[4].1.contains("DMARC fail"), "{reasons:?}");

    // The real thing: signed by acme.example and unaltered, handed over directly.
    let replies = deliver(port, direct, "tech1@acme.example", &signed).await;
    assert!(replies.contains("250 OK: filed"), "{replies}");
    assert_eq!(inbound(srv).await.last().unwrap().outcome, "ticket");
    assert!(tickets().await.contains(&"Signed question".to_string()));
    // No DMARC record: a valid signature by the From: domain itself is proof.
    let globex = message("Globex signed", "hello").replace(
        "Tina Tech <tech1@acme.example>",
        "Gina <main@globex.example>",
    );
    let globex = dkim_signed(&globex_key, "globex.example", &globex);
    let replies = deliver(port, direct, "main@globex.example", &globex).await;
    assert!(replies.contains("250 OK: filed"), "{replies}");
    let last = inbound(srv).await.pop().unwrap();
    assert_eq!(last.outcome, "ticket", "{last:?}");
    task.abort();

    // Piped in without an authserv-id to trust: held, whatever it claims.
    let out = pipe(srv, &[], &claimed).await;
    assert!(out.contains("held for staff review"), "{out}");
    assert!(!tickets().await.contains(&"Claimed pass".to_string()));
}

/// One message becomes at most one comment with its files — at most 20,
/// within the attachment limit in all — or is held for staff with what is
/// wrong (3,000 parts used to become 3,000 comments and 3,000 e-mails); a
/// message filed once is never filed again; auto-replies and bounces are
/// recorded, not filed. The listener caps connections, a session's time and
/// the message size, each answered in words at limit + 1.
async fn one_message_is_one_comment_and_the_listener_keeps_its_limits(srv: &TestServer) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut state = relayed(srv);
    let mut settings = (*state.settings).clone();
    settings.attachment_max_bytes = 2_000;
    settings.inbound_message_max_bytes = 1 << 20;
    state.settings = Arc::new(settings);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let limits = server::inbound_smtp::Limits {
        connections: 2,
        session: Duration::from_secs(4),
    };
    let task = tokio::spawn(server::inbound_smtp::serve_with(
        listener,
        state,
        Some("support@portico.example".into()),
        limits,
    ));
    let tech1 = srv.sign_in("tech1@acme.example").await;
    let t = super::open(srv, &tech1, "Logs by mail", "3").await;
    let token = ticket::Entity::find_by_id(t)
        .one(&srv.state.db)
        .await
        .unwrap()
        .unwrap()
        .token;
    let comments = || async {
        ticket_comment::Entity::find()
            .filter(ticket_comment::Column::TicketId.eq(t))
            .all(&srv.state.db)
            .await
            .unwrap()
    };
    // A reply with `parts` files of `size` bytes each.
    let reply = |id: &str, parts: usize, size: usize, extra: &str| {
        let mut m = format!(
            "Authentication-Results: mx.test; dmarc=pass header.from=acme.example\r\n\
             From: Tina Tech <tech1@acme.example>\r\nTo: support@portico.example\r\n\
             Subject: Re: [#T-{token}] Logs by mail\r\nMessage-ID: <{id}@acme.example>\r\n{extra}\
             MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
             --b\r\nContent-Type: text/plain\r\n\r\nHere they are.\r\n"
        );
        for i in 0..parts {
            m.push_str(&format!(
                "--b\r\nContent-Type: text/plain\r\n\
                 Content-Disposition: attachment; filename=\"log-{i}.txt\"\r\n\r\n{}\r\n",
                "x".repeat(size)
            ));
        }
        m.push_str("--b--\r\n");
        m
    };
    let from = "tech1@acme.example";
    let local = Ipv4Addr::LOCALHOST;

    // 20 files within the limit: one comment linking all 20.
    assert!(deliver(port, local, from, &reply("twenty", 20, 90, ""))
        .await
        .contains("250 OK: filed"));
    let after = comments().await;
    assert_eq!(after.len(), 1, "one comment for the message");
    assert_eq!(after[0].body.matches("Attached [log-").count(), 20);
    assert!(after[0].body.starts_with("Here they are."));
    // 21 files, 3,000 files, or 2,100 bytes in all: held, nothing added.
    for (id, parts, size) in [
        ("twenty-one", 21, 10),
        ("three-thousand", 3000, 1),
        ("too-big", 3, 700),
    ] {
        let replies = deliver(port, local, from, &reply(id, parts, size, "")).await;
        assert!(replies.contains("250 OK: filed"), "{replies}");
        let last = inbound(srv).await.pop().unwrap();
        assert_eq!(last.outcome, "held", "{id}");
        assert!(
            last.reason.unwrap().contains("cannot be filed on ticket"),
            "{id}"
        );
    }
    // A reply too long for a comment is held, not refused for ever.
    let long = reply("long", 0, 0, "").replace("Here they are.", &"word ".repeat(12_000));
    deliver(port, local, from, &long).await;
    let last = inbound(srv).await.pop().unwrap();
    assert_eq!(last.outcome, "held");
    assert!(last.reason.unwrap().contains("50000"), "the limit is named");
    assert_eq!(comments().await.len(), 1, "nothing held reached the ticket");

    // The same message again (a relay retrying): filed once.
    let records = inbound(srv).await.len();
    deliver(port, local, from, &reply("twenty", 20, 90, "")).await;
    assert_eq!(comments().await.len(), 1, "not filed twice");
    assert_eq!(inbound(srv).await.len(), records);
    // An auto-reply and a bounce: recorded, not filed.
    let auto = reply("ooo", 0, 0, "Auto-Submitted: auto-replied\r\n");
    deliver(port, local, from, &auto).await;
    deliver(port, local, "", &reply("bounce", 0, 0, "")).await;
    let outcomes: Vec<String> = inbound(srv)
        .await
        .into_iter()
        .rev()
        .take(2)
        .map(|m| m.outcome)
        .collect();
    assert_eq!(outcomes, ["automatic", "automatic"]);
    assert_eq!(comments().await.len(), 1);

    // Size: at the limit taken, at limit + 1 refused in words.
    let sized = |n: usize| {
        let head = format!(
            "Authentication-Results: mx.test; dmarc=pass header.from=acme.example\r\n\
             From: tech1@acme.example\r\nSubject: Re: [#T-{token}] size {n}\r\n\r\n"
        );
        let mut m = head.clone();
        while m.len() + 2 < n {
            let line = "y".repeat((n - m.len() - 2).min(900));
            m.push_str(&line);
            m.push_str("\r\n");
        }
        assert_eq!(m.len(), n);
        m
    };
    let max = 1usize << 20;
    assert!(deliver(port, local, from, &sized(max))
        .await
        .contains("250 OK: filed"));
    let replies = deliver(port, local, from, &sized(max + 1)).await;
    assert!(
        replies.contains("552 5.3.4 Message larger than 1 MB"),
        "{replies}"
    );

    // A command line past 4,096 bytes is refused in words; the session goes on.
    let mut c = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    c.write_all(format!("NOOP {}\r\nQUIT\r\n", "x".repeat(10_000)).as_bytes())
        .await
        .unwrap();
    let mut answer = String::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), c.read_to_string(&mut answer)).await;
    assert!(
        answer.contains("500 5.5.2 Line too long\r\n221 Bye"),
        "{answer}"
    );

    // Connections: two served at once, the third told to come back.
    tokio::time::sleep(Duration::from_millis(300)).await; // the last session's end
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut c = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        let mut greeting = [0u8; 64];
        let n = c.read(&mut greeting).await.unwrap();
        assert!(greeting[..n].starts_with(b"220"));
        held.push(c);
    }
    let mut third = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let mut answer = String::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), third.read_to_string(&mut answer)).await;
    assert!(
        answer.starts_with("421 4.3.2 Too many connections"),
        "{answer}"
    );
    // A session's time: the held ones are closed when it is up, in words.
    let mut first = held.remove(0);
    let _ = first.write_all(b"NOOP\r\n").await;
    let mut rest = String::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), first.read_to_string(&mut rest)).await;
    assert!(rest.contains("421 4.4.2 Session time limit"), "{rest}");
    drop(held);
    task.abort();
}
