//! A small SMTP listener for the support address (off unless
//! `--inbound-smtp-port` is given). It speaks enough of RFC 5321 for a
//! relay or a mail client to hand over messages: HELO/EHLO, MAIL, RCPT,
//! DATA (with dot-unstuffing and a size limit), RSET, NOOP, QUIT. Each
//! message goes to `app::support::inbound::ingest` with its envelope (the
//! peer's address, HELO name and reverse path: what sender checks need); a
//! message that cannot be filed right now is answered 451 so the sender
//! retries.
//!
//! Limits, each answered in words: [`Limits::connections`] at once (more
//! get `421`), [`Limits::session`] per connection in all (then `421`), the
//! message size from the settings (`552`, announced in EHLO's `SIZE`), and
//! command lines of 4,096 bytes (`500`).

use std::time::Duration;

use app::core::state::AppState;
use app::support::authenticity::Envelope;
use app::support::inbound::ingest;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

/// How long the listener waits for the next line.
const IDLE: Duration = Duration::from_secs(300);
/// The longest command line taken.
const COMMAND_LINE: u64 = 4096;
/// How long past its deadline a session may take to say goodbye.
const LAST_WORDS: Duration = Duration::from_secs(10);
/// The end of DATA.
const END: &[u8] = b"\r\n.\r\n";

/// What one listener serves.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections served at once.
    pub connections: usize,
    /// How long one connection may last in all.
    pub session: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            connections: 20,
            session: Duration::from_secs(300),
        }
    }
}

/// Accepts connections until the task is dropped, with the default limits.
pub async fn serve(listener: TcpListener, state: AppState, recipient: Option<String>) {
    serve_with(listener, state, recipient, Limits::default()).await
}

/// Accepts connections until the task is dropped.
pub async fn serve_with(
    listener: TcpListener,
    state: AppState,
    recipient: Option<String>,
    limits: Limits,
) {
    let open = std::sync::Arc::new(tokio::sync::Semaphore::new(limits.connections));
    loop {
        match listener.accept().await {
            Ok((mut stream, peer)) => {
                let Ok(permit) = open.clone().try_acquire_owned() else {
                    tokio::spawn(async move {
                        let _ = stream
                            .write_all(b"421 4.3.2 Too many connections; try again later\r\n")
                            .await;
                    });
                    continue;
                };
                let state = state.clone();
                let recipient = recipient.clone();
                tokio::spawn(async move {
                    let _permit = permit;
                    let deadline = Instant::now() + limits.session;
                    // Reads stop at the deadline; this also bounds writes to
                    // a peer that never reads, and the filing of a last message.
                    let all = session(stream, peer.ip(), state, recipient, deadline);
                    match tokio::time::timeout_at(deadline + LAST_WORDS, all).await {
                        Ok(Err(e)) => tracing::debug!(error = %e, "SMTP session ended"),
                        Err(_) => tracing::info!(%peer, "SMTP session cut off at its time limit"),
                        Ok(Ok(())) => {}
                    }
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "SMTP accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Why a session stopped reading.
enum Stop {
    /// The session's time is up.
    Late,
    Io(std::io::Error),
}

impl From<std::io::Error> for Stop {
    fn from(e: std::io::Error) -> Self {
        Stop::Io(e)
    }
}

/// Waits for `f` until the next line is overdue or the session is over.
async fn timed<T>(
    deadline: Instant,
    f: impl std::future::Future<Output = std::io::Result<T>>,
) -> Result<T, Stop> {
    let at = deadline.min(Instant::now() + IDLE);
    match tokio::time::timeout_at(at, f).await {
        Ok(r) => Ok(r?),
        Err(_) if at == deadline => Err(Stop::Late),
        Err(_) => Err(Stop::Io(std::io::Error::other("idle"))),
    }
}

async fn session(
    stream: TcpStream,
    peer: std::net::IpAddr,
    state: AppState,
    recipient: Option<String>,
    deadline: Instant,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 portico ESMTP ready\r\n").await?;
    match dialogue(&mut lines, &mut write, peer, &state, recipient, deadline).await {
        Ok(()) => Ok(()),
        Err(Stop::Late) => {
            write
                .write_all(b"421 4.4.2 Session time limit reached; closing\r\n")
                .await
        }
        Err(Stop::Io(e)) => Err(e),
    }
}

async fn dialogue(
    lines: &mut (impl AsyncBufRead + Unpin),
    write: &mut (impl AsyncWriteExt + Unpin),
    peer: std::net::IpAddr,
    state: &AppState,
    recipient: Option<String>,
    deadline: Instant,
) -> Result<(), Stop> {
    let max = state.settings.inbound_message_max_bytes;
    let (mut have_from, mut have_rcpt) = (false, false);
    let mut envelope = Envelope {
        peer: Some(peer),
        ..Envelope::default()
    };
    loop {
        let mut line = Vec::new();
        let n = timed(
            deadline,
            (&mut *lines)
                .take(COMMAND_LINE)
                .read_until(b'\n', &mut line),
        )
        .await?;
        if n == 0 {
            return Ok(());
        }
        if !line.ends_with(b"\n") {
            // Longer than any command: skip to its end and say so.
            loop {
                let mut rest = Vec::new();
                let mut reader = (&mut *lines).take(COMMAND_LINE);
                let n = timed(deadline, reader.read_until(b'\n', &mut rest)).await?;
                if n == 0 || rest.ends_with(b"\n") {
                    break;
                }
            }
            write.write_all(b"500 5.5.2 Line too long\r\n").await?;
            continue;
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end();
        let verb = text
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        if verb == "HELO" || verb == "EHLO" {
            let name = text.split_whitespace().nth(1).unwrap_or("");
            envelope.helo = name.chars().take(255).collect();
        }
        let reply: Vec<u8> = match verb.as_str() {
            "HELO" => b"250 portico\r\n".to_vec(),
            "EHLO" => {
                format!("250-portico\r\n250-SIZE {max}\r\n250-8BITMIME\r\n250 OK\r\n").into_bytes()
            }
            "MAIL" => {
                // `MAIL FROM:<a@b> SIZE=…`
                let mut args = text
                    .split_once(':')
                    .map_or("", |(_, p)| p)
                    .split_whitespace();
                let path = args.next().unwrap_or("");
                let declared = args.find_map(|p| {
                    let (k, v) = p.split_once('=')?;
                    k.eq_ignore_ascii_case("SIZE")
                        .then(|| v.parse::<u64>().ok())?
                });
                if declared.is_some_and(|size| size > max) {
                    too_big(max)
                } else {
                    // The path, without its brackets.
                    envelope.mail_from = path
                        .trim_start_matches('<')
                        .trim_end_matches('>')
                        .to_lowercase()
                        .chars()
                        .take(320)
                        .collect();
                    have_from = true;
                    have_rcpt = false;
                    b"250 OK\r\n".to_vec()
                }
            }
            "RCPT" if !have_from => b"503 MAIL first\r\n".to_vec(),
            "RCPT" => {
                let to = text
                    .split_once(':')
                    .map(|(_, a)| {
                        a.trim()
                            .trim_start_matches('<')
                            .trim_end_matches('>')
                            .to_lowercase()
                    })
                    .unwrap_or_default();
                if recipient.as_deref().is_some_and(|r| r != to) {
                    b"550 No such mailbox here\r\n".to_vec()
                } else {
                    have_rcpt = true;
                    b"250 OK\r\n".to_vec()
                }
            }
            "DATA" if !have_rcpt => b"503 RCPT first\r\n".to_vec(),
            "DATA" => {
                write
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                let message = read_data(lines, max, deadline).await?;
                have_from = false;
                have_rcpt = false;
                match message {
                    None => too_big(max),
                    Some(message) => match ingest(state, &envelope, &message).await {
                        Ok(outcome) => {
                            tracing::info!(%outcome, "mail to the support address");
                            b"250 OK: filed\r\n".to_vec()
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "filing mail failed; the sender will retry");
                            b"451 Try again later\r\n".to_vec()
                        }
                    },
                }
            }
            "RSET" => {
                have_from = false;
                have_rcpt = false;
                b"250 OK\r\n".to_vec()
            }
            "NOOP" => b"250 OK\r\n".to_vec(),
            "QUIT" => {
                write.write_all(b"221 Bye\r\n").await?;
                return Ok(());
            }
            _ => b"502 Command not implemented\r\n".to_vec(),
        };
        write.write_all(&reply).await?;
    }
}

fn too_big(max: u64) -> Vec<u8> {
    format!(
        "552 5.3.4 Message larger than {} MB\r\n",
        (max as f64 / f64::from(1 << 20)).round()
    )
    .into_bytes()
}

/// Reads DATA up to `<CRLF>.<CRLF>` — only there: a dot line after a bare
/// LF is data (SMTP smuggling: a relay that ends data elsewhere would hand
/// over a second, forged message inside the first) — and undoes the dot
/// stuffing. `None` when the message is larger than `max` (read to its end
/// and dropped).
async fn read_data(
    lines: &mut (impl AsyncBufRead + Unpin),
    max: u64,
    deadline: Instant,
) -> Result<Option<Vec<u8>>, Stop> {
    // The CRLF before the first line: a message of one "." line is empty.
    let mut buf = b"\r\n".to_vec();
    let mut dropped = false;
    loop {
        let chunk = timed(deadline, lines.fill_buf()).await?;
        if chunk.is_empty() {
            return Err(Stop::Io(std::io::ErrorKind::UnexpectedEof.into()));
        }
        let (old, taken) = (buf.len(), chunk.len());
        let from = old.saturating_sub(END.len() - 1);
        buf.extend_from_slice(chunk);
        if let Some(at) = find(&buf[from..], END) {
            let end = from + at;
            lines.consume(end + END.len() - old);
            buf.truncate(end + 2);
            break;
        }
        lines.consume(taken);
        // Room for the CRLF before the data and a terminator split across reads.
        if buf.len() as u64 > max + 2 + END.len() as u64 {
            dropped = true;
            buf.drain(..buf.len() - (END.len() - 1));
        }
    }
    let message = unstuff(&buf);
    if dropped || message.len() as u64 > max {
        return Ok(None);
    }
    Ok(Some(message))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// `data` (starting with the CRLF before its first line) without that CRLF
/// and with each line's leading extra dot removed.
fn unstuff(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 2;
    while i < data.len() {
        let line_start = data[i - 2..i] == *b"\r\n";
        if line_start && data[i] == b'.' {
            i += 1;
            continue;
        }
        out.push(data[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unstuffing_happens_only_at_the_start_of_a_crlf_line() {
        assert_eq!(unstuff(b"\r\n..a\r\nb..\r\n.\r\n"), b".a\r\nb..\r\n\r\n");
        assert_eq!(unstuff(b"\r\nx\n..y\r\n"), b"x\n..y\r\n");
        assert_eq!(unstuff(b"\r\n"), b"");
    }
}
