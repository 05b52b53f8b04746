//! `make bench`: how fast a comment reaches open ticket pages, and what an
//! idle live page costs the server.
//!
//! Against a running release server (demo data): signs in, opens a ticket,
//! opens N live sockets on it (10, then 1,000), posts comments and times
//! each delivery (post → message received) on every socket. Beside it, a bare
//! in-process `tokio::sync::broadcast` to as many receivers, for the floor.
//! Memory per idle page is the server's heap in use (as the Staff Console
//! shows admins) with 1,000 sockets open, less before, beside the same
//! measure for 1,000 idle keep-alive HTTP connections (what each page cost
//! when it held an HTTP response open); with `--server-pid`, resident memory
//! too.
//!
//! Usage: live_bench --base http://127.0.0.1:3199 [--server-pid PID]

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, Barrier};

const ROUNDS: usize = 20;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

async fn sign_in(client: &reqwest::Client, base: &str, email: &str) -> String {
    let res = client
        .post(format!("{base}/api/sign_in"))
        .header("origin", base)
        .header("accept", "application/json")
        .form(&[("email", email), ("password", "portico-demo")])
        .send()
        .await
        .expect("sign in");
    assert!(
        res.status().is_success(),
        "sign-in of {email}: {}",
        res.status()
    );
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("portico_session="))
        .and_then(|v| v.split(';').next())
        .expect("session cookie")
        .to_string()
}

async fn post(
    client: &reqwest::Client,
    base: &str,
    cookie: &str,
    endpoint: &str,
    form: &[(&str, &str)],
) -> String {
    let res = client
        .post(format!("{base}/api/{endpoint}"))
        .header("origin", base)
        .header("accept", "application/json")
        .header("cookie", cookie)
        .form(form)
        .send()
        .await
        .expect("request");
    let status = res.status();
    let body = res.text().await.unwrap_or_default();
    assert!(status.is_success(), "{endpoint}: {status} {body}");
    body
}

fn rss_kb(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// Live pages open and heap bytes in use, as the server tells an admin.
async fn figures(client: &reqwest::Client, base: &str, admin: &str) -> (u64, u64) {
    let v: serde_json::Value =
        serde_json::from_str(&post(client, base, admin, "load_staff_dashboard", &[]).await)
            .expect("dashboard JSON");
    let s = &v["server"];
    (
        s["live_pages"].as_u64().expect("live_pages"),
        s["heap_bytes"].as_u64().expect("heap_bytes (glibc)"),
    )
}

/// Waits until the server serves `n` live pages, then lets it settle.
async fn settled(client: &reqwest::Client, base: &str, admin: &str, n: u64) -> u64 {
    for _ in 0..100 {
        if figures(client, base, admin).await.0 == n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (open, heap) = figures(client, base, admin).await;
    assert_eq!(open, n, "live pages open");
    heap
}

/// Heap per idle keep-alive connection that asked for `/healthz` once.
async fn idle_connection_heap(base: &str, admin: &str, n: usize) -> f64 {
    let client = reqwest::Client::new();
    let before = settled(&client, base, admin, 0).await;
    let mut clients = Vec::with_capacity(n);
    for _ in 0..n {
        let c = reqwest::Client::new();
        c.get(format!("{base}/healthz"))
            .send()
            .await
            .expect("healthz")
            .bytes()
            .await
            .expect("body");
        clients.push(c);
    }
    let after = settled(&client, base, admin, 0).await;
    drop(clients);
    (after as f64 - before as f64) / n as f64 / 1024.0
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// Opens `n` live sockets; each reports (round, instant) when a comment
/// arrives. A new socket first replays the ticket's history, then sends the
/// ticket's state: only comments after that count as deliveries.
async fn open_streams(
    base: &str,
    cookie: &str,
    ticket: i32,
    n: usize,
) -> (
    mpsc::UnboundedReceiver<(usize, Instant)>,
    Vec<tokio::task::JoinHandle<()>>,
) {
    use futures::StreamExt;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
    use tokio_tungstenite::tungstenite::Message;
    let (tx, rx) = mpsc::unbounded_channel();
    let ready = Arc::new(Barrier::new(n + 1));
    let mut tasks = Vec::with_capacity(n);
    for _ in 0..n {
        let url = format!(
            "{}/tickets/{ticket}/live",
            base.replacen("http://", "ws://", 1)
        );
        let cookie = cookie.to_string();
        let tx = tx.clone();
        let ready = ready.clone();
        tasks.push(tokio::spawn(async move {
            let mut req = url.into_client_request().expect("request");
            req.headers_mut()
                .insert("cookie", cookie.parse().expect("cookie"));
            // The client's buffers are not what is measured: keep them small.
            let config = WebSocketConfig::default()
                .read_buffer_size(4096)
                .write_buffer_size(0);
            let (mut ws, _) =
                tokio_tungstenite::connect_async_with_config(req, Some(config), false)
                    .await
                    .expect("live socket refused");
            let mut waiting = true;
            while let Some(Ok(message)) = ws.next().await {
                let Message::Text(text) = message else {
                    continue;
                };
                if waiting {
                    if text.starts_with("{\"ticket\"") {
                        waiting = false;
                        ready.wait().await;
                    }
                    continue;
                }
                if text.starts_with("{\"comment\"") {
                    if let Some(round) = text
                        .split("BENCH-ROUND-")
                        .nth(1)
                        .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
                        .and_then(|r| r.parse::<usize>().ok())
                    {
                        let _ = tx.send((round, Instant::now()));
                    }
                }
            }
        }));
    }
    ready.wait().await;
    (rx, tasks)
}

async fn deliveries(
    client: &reqwest::Client,
    base: &str,
    staff: &str,
    ticket: i32,
    n: usize,
    rx: &mut mpsc::UnboundedReceiver<(usize, Instant)>,
) -> Vec<Duration> {
    let mut latencies = Vec::with_capacity(n * ROUNDS);
    let id = ticket.to_string();
    for round in 0..ROUNDS {
        let body = format!("BENCH-ROUND-{round} status update");
        let start = Instant::now();
        post(
            client,
            base,
            staff,
            "add_comment",
            &[("ticket_id", &id), ("body", &body)],
        )
        .await;
        let mut got = 0;
        while got < n {
            match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
                Ok(Some((r, at))) if r == round => {
                    latencies.push(at - start);
                    got += 1;
                }
                Ok(Some(_)) => {}
                _ => panic!("round {round}: only {got} of {n} pages got the comment"),
            }
        }
    }
    latencies.sort();
    latencies
}

async fn bare_broadcast(n: usize) -> Vec<Duration> {
    let (tx, _) = tokio::sync::broadcast::channel::<Instant>(16);
    let (done_tx, mut done) = mpsc::unbounded_channel();
    for _ in 0..n {
        let mut rx = tx.subscribe();
        let done_tx = done_tx.clone();
        tokio::spawn(async move {
            while let Ok(sent) = rx.recv().await {
                let _ = done_tx.send(sent.elapsed());
            }
        });
    }
    let mut out = Vec::with_capacity(n * ROUNDS);
    for _ in 0..ROUNDS {
        tx.send(Instant::now()).expect("receivers");
        for _ in 0..n {
            out.push(done.recv().await.expect("delivery"));
        }
    }
    out.sort();
    out
}

#[tokio::main]
async fn main() {
    let base = arg("--base").unwrap_or_else(|| "http://127.0.0.1:3199".into());
    let pid = arg("--server-pid");
    let client = reqwest::Client::new();
    let customer = sign_in(&client, &base, "tech1@acme.example").await;
    let staff = sign_in(&client, &base, "agent@example.com").await;
    let admin = sign_in(&client, &base, "admin@example.com").await;
    let ticket: i32 = post(
        &client,
        &base,
        &customer,
        "open_ticket",
        &[
            ("ticket[subject]", "Bench: live delivery"),
            ("ticket[description]", "Measuring."),
            ("ticket[severity]", "3"),
        ],
    )
    .await
    .trim()
    .parse()
    .expect("ticket id");

    println!(
        "{:<40} {:>10} {:>10} {:>10}",
        "comment → open pages", "pages", "p50", "p99"
    );
    let mut per_conn = None;
    for n in [10usize, 1000] {
        let before = pid.as_deref().and_then(rss_kb);
        let (mut rx, tasks) = open_streams(&base, &customer, ticket, n).await;
        if n == 1000 {
            tokio::time::sleep(Duration::from_millis(500)).await;
            if let (Some(b), Some(a)) = (before, pid.as_deref().and_then(rss_kb)) {
                per_conn = Some((a.saturating_sub(b) as f64) / n as f64);
            }
        }
        let lat = deliveries(&client, &base, &staff, ticket, n, &mut rx).await;
        println!(
            "{:<40} {:>10} {:>10} {:>10}",
            "Portico (WebSocket, SQLite)",
            n,
            ms(percentile(&lat, 0.5)),
            ms(percentile(&lat, 0.99))
        );
        let bare = bare_broadcast(n).await;
        println!(
            "{:<40} {:>10} {:>10} {:>10}",
            "bare tokio broadcast, same process",
            n,
            ms(percentile(&bare, 0.5)),
            ms(percentile(&bare, 0.99))
        );
        for t in tasks {
            t.abort();
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // Heap per idle page on a warm server (the database's caches already
    // hold what a page's first look reads): 1,000 pages opened again.
    let heap_before = settled(&client, &base, &admin, 0).await;
    let (_rx, tasks) = open_streams(&base, &customer, ticket, 1000).await;
    let heap = settled(&client, &base, &admin, 1000).await;
    let heap_per_stream = (heap as f64 - heap_before as f64) / 1000.0 / 1024.0;
    for t in tasks {
        t.abort();
    }
    let floor = idle_connection_heap(&base, &admin, 1000).await;
    println!();
    println!(
        "server memory per idle live page: {heap_per_stream:.1} KB heap in use (1,000 sockets)"
    );
    println!("  beside an idle keep-alive HTTP connection: {floor:.1} KB heap in use (1,000 connections)");
    if let Some(kb) = per_conn {
        println!(
            "  resident memory grew {kb:.1} KB per page the first time (caches warming, freed memory kept)"
        );
    }
}
