//! `make bench`: how fast a comment reaches open ticket pages, and what an
//! idle live page costs the server.
//!
//! Against a running release server (demo data): signs in, opens a ticket,
//! opens N event streams on it (10, then 1,000), posts comments and times
//! each delivery (post → event received) on every stream. Beside it, a bare
//! in-process `tokio::sync::broadcast` to as many receivers, for the floor.
//! With `--server-pid`, reports the server's resident memory per idle stream.
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

/// Opens `n` streams; each reports (round, instant) when a comment arrives.
async fn open_streams(
    base: &str,
    cookie: &str,
    ticket: i32,
    n: usize,
) -> (
    mpsc::UnboundedReceiver<(usize, Instant)>,
    Vec<tokio::task::JoinHandle<()>>,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let ready = Arc::new(Barrier::new(n + 1));
    let mut tasks = Vec::with_capacity(n);
    for _ in 0..n {
        let client = reqwest::Client::new();
        let url = format!("{base}/tickets/{ticket}/events");
        let cookie = cookie.to_string();
        let tx = tx.clone();
        let ready = ready.clone();
        tasks.push(tokio::spawn(async move {
            let mut res = client
                .get(url)
                .header("cookie", cookie)
                .send()
                .await
                .expect("stream");
            assert_eq!(res.status(), 200, "stream refused");
            let mut buf = String::new();
            let mut waiting = true;
            while let Ok(Some(chunk)) = res.chunk().await {
                buf.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(i) = buf.find("\n\n") {
                    let block: String = buf.drain(..i + 2).collect();
                    if waiting && block.contains("event: ticket") {
                        waiting = false;
                        ready.wait().await;
                    }
                    if block.contains("event: comment") {
                        if let Some(round) = block
                            .split("BENCH-ROUND-")
                            .nth(1)
                            .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
                            .and_then(|r| r.parse::<usize>().ok())
                        {
                            let _ = tx.send((round, Instant::now()));
                        }
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
            // Let allocations settle, then read the server's resident memory.
            tokio::time::sleep(Duration::from_millis(500)).await;
            if let (Some(b), Some(a)) = (before, pid.as_deref().and_then(rss_kb)) {
                per_conn = Some((a.saturating_sub(b) as f64) / n as f64);
            }
        }
        let lat = deliveries(&client, &base, &staff, ticket, n, &mut rx).await;
        println!(
            "{:<40} {:>10} {:>10} {:>10}",
            "Portico (HTTP, SSE, SQLite)",
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
    match per_conn {
        Some(kb) => {
            println!("server memory per idle live page: {kb:.1} KB (resident, 1,000 streams)")
        }
        None => println!("server memory per idle live page: not measured (pass --server-pid)"),
    }
}
