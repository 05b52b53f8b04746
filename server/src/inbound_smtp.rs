//! A small SMTP listener for the support address (off unless
//! `--inbound-smtp-port` is given). It speaks enough of RFC 5321 for a
//! relay or a mail client to hand over messages: HELO/EHLO, MAIL, RCPT,
//! DATA (with dot-unstuffing and a size limit), RSET, NOOP, QUIT. Each
//! message goes to `app::support::inbound::ingest`; a message that cannot be
//! filed right now is answered 451 so the sender retries.

use std::time::Duration;

use app::core::state::AppState;
use app::support::inbound::{ingest, MAX_MESSAGE_BYTES};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

const IDLE: Duration = Duration::from_secs(300);

/// Accepts connections until the task is dropped.
pub async fn serve(listener: TcpListener, state: AppState, recipient: Option<String>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let state = state.clone();
                let recipient = recipient.clone();
                tokio::spawn(async move {
                    if let Err(e) = session(stream, state, recipient).await {
                        tracing::debug!(error = %e, "SMTP session ended");
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

async fn session(
    stream: TcpStream,
    state: AppState,
    recipient: Option<String>,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 portico ESMTP ready\r\n").await?;
    let (mut have_from, mut have_rcpt) = (false, false);
    loop {
        let mut line = Vec::new();
        let n = tokio::time::timeout(IDLE, (&mut lines).take(4096).read_until(b'\n', &mut line))
            .await
            .map_err(|_| std::io::Error::other("idle"))??;
        if n == 0 {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end();
        let verb = text
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "HELO" => b"250 portico\r\n",
            "EHLO" => {
                let r = format!(
                    "250-portico\r\n250-SIZE {MAX_MESSAGE_BYTES}\r\n250-8BITMIME\r\n250 OK\r\n"
                );
                write.write_all(r.as_bytes()).await?;
                continue;
            }
            "MAIL" => {
                have_from = true;
                have_rcpt = false;
                b"250 OK\r\n"
            }
            "RCPT" if !have_from => b"503 MAIL first\r\n",
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
                    b"550 No such mailbox here\r\n"
                } else {
                    have_rcpt = true;
                    b"250 OK\r\n"
                }
            }
            "DATA" if !have_rcpt => b"503 RCPT first\r\n",
            "DATA" => {
                write
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                let mut message = Vec::new();
                let mut too_big = false;
                // Data ends only at <CR><LF>.<CR><LF>: a dot line after a
                // bare LF, or ended by one, is data (SMTP smuggling: a relay
                // that ends data elsewhere would hand us a second, forged
                // message inside the first).
                let mut after_crlf = true;
                loop {
                    let mut l = Vec::new();
                    let n = tokio::time::timeout(
                        IDLE,
                        (&mut lines).take(65_536).read_until(b'\n', &mut l),
                    )
                    .await
                    .map_err(|_| std::io::Error::other("idle"))??;
                    if n == 0 {
                        return Ok(());
                    }
                    if after_crlf && l == b".\r\n" {
                        break;
                    }
                    after_crlf = l.ends_with(b"\r\n");
                    let l = if l.starts_with(b"..") {
                        &l[1..]
                    } else {
                        &l[..]
                    };
                    if message.len() + l.len() > MAX_MESSAGE_BYTES {
                        too_big = true;
                    } else {
                        message.extend_from_slice(l);
                    }
                }
                have_from = false;
                have_rcpt = false;
                if too_big {
                    b"552 Message larger than 10 MB\r\n"
                } else {
                    match ingest(&state, &message).await {
                        Ok(outcome) => {
                            tracing::info!(%outcome, "mail to the support address");
                            b"250 OK: filed\r\n"
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "filing mail failed; the sender will retry");
                            b"451 Try again later\r\n"
                        }
                    }
                }
            }
            "RSET" => {
                have_from = false;
                have_rcpt = false;
                b"250 OK\r\n"
            }
            "NOOP" => b"250 OK\r\n",
            "QUIT" => {
                write.write_all(b"221 Bye\r\n").await?;
                return Ok(());
            }
            _ => b"502 Command not implemented\r\n",
        };
        write.write_all(reply).await?;
    }
}
