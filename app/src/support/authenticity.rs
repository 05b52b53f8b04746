//! Whether mail to the support address really comes from its `From:`
//! domain. Server-only.
//!
//! `From:` is only a claim: anyone who can reach the listener can write any
//! address there. A message is acted upon as a contact's only when DMARC
//! passes aligned with the `From:` domain, decided one of two ways:
//!
//! - **By the relay in front of Portico.** Mail from a peer listed in
//!   `--inbound-trusted-relay` (or piped in with `server ingest-mail`, which
//!   only a local process can do) is judged by the topmost
//!   `Authentication-Results` header under the configured authserv-id
//!   (`--inbound-trusted-authserv-id`): `dmarc=pass header.from=<domain>`.
//!   The header is read from nobody else — anyone can write it (RFC 8601
//!   §5) — and such a relay does not get checked again by Portico.
//! - **By Portico**, for mail handed over directly: DKIM, SPF and DMARC
//!   with `mail-auth`, asking DNS (`--inbound-dns-server`, else the
//!   system's resolvers). A domain without a DMARC record passes only with a
//!   valid DKIM signature of the `From:` domain itself.
//!
//! Anything else is [`Verdict::Unverified`]: the caller holds it for staff.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use mail_auth::dmarc::verify::DmarcParameters;
use mail_auth::hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use mail_auth::spf::verify::SpfParameters;
use mail_auth::{AuthenticatedMessage, DkimResult, DmarcResult, MessageAuthenticator, SpfResult};

use crate::core::state::InboundTrust;

/// How a message reached Portico.
#[derive(Debug, Clone, Default)]
pub struct Envelope {
    /// The SMTP peer; `None` for `server ingest-mail` (a local pipe from
    /// the MTA, trusted like a relay).
    pub peer: Option<IpAddr>,
    /// The name the peer gave in HELO/EHLO.
    pub helo: String,
    /// The reverse path (`MAIL FROM`), empty for bounces.
    pub mail_from: String,
}

impl Envelope {
    /// A message piped in on this machine.
    pub fn local() -> Self {
        Envelope::default()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// DMARC passed aligned with the `From:` domain.
    Authentic,
    /// Why the message could not be shown to come from its `From:` domain.
    Unverified(String),
    /// DNS failed for now: the sender should try again later.
    TryLater(String),
}

fn unverified(why: impl Into<String>) -> Verdict {
    Verdict::Unverified(why.into())
}

/// The most DKIM signatures checked (each may cost a DNS lookup the sender chose).
const MAX_SIGNATURES: usize = 5;
/// How long Portico's own check may take in all.
const CHECK_TIME: Duration = Duration::from_secs(60);

/// Whether `raw` (whose headers are `headers`, top first, and whose single
/// `From:` address is `from`) comes from `from`'s domain.
pub async fn verdict<'a>(
    trust: &InboundTrust,
    envelope: &Envelope,
    raw: &[u8],
    headers: impl Iterator<Item = (&'a str, &'a str)>,
    from: &str,
) -> Verdict {
    // Read the header block as DKIM and DMARC do, byte by byte: parsers that
    // disagree on which `From:` counts (one skips a header that is not
    // UTF-8, another takes `From :` for a different name) would let a
    // signed message carry a second, unsigned sender.
    if let Some(problem) = header_problem(raw) {
        return unverified(problem);
    }
    let headers: Vec<(&str, &str)> = headers.collect();
    let Some((_, domain)) = from
        .rsplit_once('@')
        .filter(|(l, d)| !l.is_empty() && !d.is_empty())
    else {
        return unverified("the message has no sender address");
    };
    let relayed = match envelope.peer {
        None => true,
        Some(ip) => trust
            .relays
            .iter()
            .any(|r| r.to_canonical() == ip.to_canonical()),
    };
    if relayed {
        return match &trust.authserv_id {
            Some(id) => relay_verdict(&headers, id, domain),
            None => unverified(
                "it came through a relay, but no --inbound-trusted-authserv-id says whose \
                 Authentication-Results to read",
            ),
        };
    }
    if !trust.verify {
        return unverified(
            "it did not come through a trusted relay, and Portico's own check is off",
        );
    }
    let check = own_verdict(trust, envelope, raw, from, domain);
    match tokio::time::timeout(CHECK_TIME, check).await {
        Ok(v) => v,
        Err(_) => Verdict::TryLater("checking the sender took too long".into()),
    }
}

/// What makes the header block unfit to judge, if anything: not UTF-8, a
/// field name with spaces or control characters, or not exactly one `From:`.
fn header_problem(raw: &[u8]) -> Option<String> {
    let end = find(raw, b"\r\n\r\n")
        .or_else(|| find(raw, b"\n\n"))
        .unwrap_or(raw.len());
    let Ok(block) = std::str::from_utf8(&raw[..end]) else {
        return Some("its headers are not UTF-8".into());
    };
    let mut froms = 0;
    for line in block.split('\n') {
        let line = line.trim_end_matches('\r');
        if line.is_empty() || line.starts_with([' ', '\t']) {
            continue;
        }
        let Some((name, _)) = line.split_once(':') else {
            return Some("a header line has no name".into());
        };
        if name.is_empty() || !name.bytes().all(|b| (33..=126).contains(&b)) {
            return Some(format!("the header name {name:?} is malformed"));
        }
        froms += usize::from(name.eq_ignore_ascii_case("From"));
    }
    (froms != 1).then(|| format!("the message has {froms} From: headers"))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The relay's judgement: the first DMARC result in its
/// `Authentication-Results` headers, top first (a relay may write its DKIM
/// and its DMARC results in separate headers).
fn relay_verdict(headers: &[(&str, &str)], authserv_id: &str, domain: &str) -> Verdict {
    let ours: Vec<AuthResults> = headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("Authentication-Results"))
        .filter_map(|(_, v)| AuthResults::parse(v))
        .filter(|r| r.authserv_id.eq_ignore_ascii_case(authserv_id))
        .collect();
    if ours.is_empty() {
        return unverified(format!(
            "the relay wrote no Authentication-Results as {authserv_id}"
        ));
    }
    let Some(first) = ours.iter().find(|r| !r.dmarc.is_empty()) else {
        return unverified("the relay did not check DMARC");
    };
    let [(result, from)] = first.dmarc.as_slice() else {
        return unverified("the relay's header names several DMARC results");
    };
    match result.as_str() {
        "pass" if from.eq_ignore_ascii_case(domain) => Verdict::Authentic,
        "pass" => unverified(format!(
            "the relay's DMARC pass was for {from}, not {domain}"
        )),
        "temperror" => Verdict::TryLater(format!("DMARC temperror for {domain} at the relay")),
        _ => unverified(format!("DMARC {result} for {domain} at the relay")),
    }
}

/// One `Authentication-Results` header (RFC 8601), as far as Portico reads it.
#[derive(Debug, PartialEq, Eq)]
struct AuthResults {
    authserv_id: String,
    /// Each `dmarc=` result and its `header.from`, lowercased.
    dmarc: Vec<(String, String)>,
}

impl AuthResults {
    fn parse(value: &str) -> Option<AuthResults> {
        let text = without_comments(value);
        let parts = outside_quotes(&text, ';');
        let mut parts = parts.iter();
        let authserv_id = parts
            .next()?
            .split_whitespace()
            .next()?
            .to_ascii_lowercase();
        let dmarc = parts
            .filter_map(|part| {
                let mut tokens = part.split_whitespace();
                let (method, result) = tokens.next()?.split_once('=')?;
                let method = method.split('/').next().unwrap_or("");
                if !method.eq_ignore_ascii_case("dmarc") {
                    return None;
                }
                let from = tokens
                    .filter_map(|t| t.split_once('='))
                    .find(|(k, _)| k.eq_ignore_ascii_case("header.from"))
                    .map(|(_, v)| v.trim_matches('"').to_ascii_lowercase())
                    .unwrap_or_default();
                Some((result.to_ascii_lowercase(), from))
            })
            .collect();
        Some(AuthResults { authserv_id, dmarc })
    }
}

/// `text` split at each `sep` that is not inside a quoted string.
fn outside_quotes(text: &str, sep: char) -> Vec<String> {
    let (mut parts, mut part) = (Vec::new(), String::new());
    let (mut quoted, mut escaped) = (false, false);
    for c in text.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == sep && !quoted => {
                parts.push(std::mem::take(&mut part));
                continue;
            }
            _ => {}
        }
        part.push(c);
    }
    parts.push(part);
    parts
}

/// `value` without its (nested) comments, quoted text kept as written.
fn without_comments(value: &str) -> String {
    let (mut out, mut depth, mut quoted, mut escaped) = (String::new(), 0u32, false, false);
    for c in value.chars() {
        if escaped {
            escaped = false;
            if depth == 0 {
                out.push(c);
            }
            continue;
        }
        match c {
            '\\' => escaped = true,
            '"' if depth == 0 => {
                quoted = !quoted;
                out.push(c);
            }
            '(' if !quoted => depth += 1,
            ')' if !quoted && depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

fn resolver(dns: Option<SocketAddr>) -> Result<MessageAuthenticator, String> {
    let Some(addr) = dns else {
        return MessageAuthenticator::new_system_conf().map_err(|e| e.to_string());
    };
    let mut server = NameServerConfig::udp_and_tcp(addr.ip());
    for c in &mut server.connections {
        c.port = addr.port();
    }
    let mut opts = ResolverOpts::default();
    opts.timeout = Duration::from_secs(5);
    opts.attempts = 2;
    MessageAuthenticator::new(ResolverConfig::from_name_servers(vec![server]), opts)
        .map_err(|e| e.to_string())
}

/// Portico's own check: DKIM, SPF for the envelope, then DMARC.
async fn own_verdict(
    trust: &InboundTrust,
    envelope: &Envelope,
    raw: &[u8],
    from: &str,
    domain: &str,
) -> Verdict {
    let Some(peer) = envelope.peer else {
        return unverified("a piped message has no peer to check");
    };
    let auth = match resolver(trust.dns) {
        Ok(a) => a,
        Err(e) => return unverified(format!("DNS is not available to check the sender: {e}")),
    };
    let Some(msg) = AuthenticatedMessage::parse(raw) else {
        return unverified("the message's headers could not be read");
    };
    // The sender mail-auth judges must be the one Portico acts for.
    if msg.from.len() != 1 || !msg.from[0].eq_ignore_ascii_case(from) {
        return unverified("its From: header does not read one way only");
    }
    if msg.dkim_headers.len() > MAX_SIGNATURES {
        return unverified(format!(
            "it carries more than {MAX_SIGNATURES} DKIM signatures"
        ));
    }
    let dkim = auth.verify_dkim(&msg).await;
    let helo = if envelope.helo.is_empty() {
        "unknown"
    } else {
        envelope.helo.as_str()
    };
    let postmaster = format!("postmaster@{helo}");
    let mail_from = if envelope.mail_from.is_empty() {
        postmaster.as_str()
    } else {
        envelope.mail_from.as_str()
    };
    let spf = auth
        .verify_spf(SpfParameters::verify_mail_from(
            peer, helo, "portico", mail_from,
        ))
        .await;
    let mail_from_domain = mail_from.rsplit_once('@').map_or(helo, |(_, d)| d);
    let dmarc = auth
        .verify_dmarc(DmarcParameters::new(&msg, &dkim, mail_from_domain, &spf))
        .await;
    let same_domain = dmarc.domain().eq_ignore_ascii_case(domain);
    if same_domain
        && (dmarc.dkim_result() == &DmarcResult::Pass || dmarc.spf_result() == &DmarcResult::Pass)
    {
        return Verdict::Authentic;
    }
    let signed_by_author = dkim.iter().any(|o| {
        o.result() == &DkimResult::Pass
            && o.signature()
                .is_some_and(|s| s.d.eq_ignore_ascii_case(domain))
    });
    // `None` (not a failure) only when the domain publishes no DMARC record.
    let no_record = dmarc.result() == DmarcResult::None;
    if no_record && signed_by_author {
        return Verdict::Authentic;
    }
    let temporary = |r: &DmarcResult| matches!(r, DmarcResult::TempError(_));
    if temporary(dmarc.dkim_result())
        || temporary(dmarc.spf_result())
        || dkim
            .iter()
            .any(|o| matches!(o.result(), DkimResult::TempError(_)))
    {
        return Verdict::TryLater(format!("DNS did not answer for {domain} just now"));
    }
    let dkim_word = if dkim.is_empty() {
        "no signature"
    } else if dkim.iter().any(|o| o.result() == &DkimResult::Pass) {
        "a signature of another domain"
    } else {
        "signature did not verify"
    };
    let spf_word = match spf.result() {
        SpfResult::Pass => "pass",
        SpfResult::Fail => "fail",
        SpfResult::SoftFail => "softfail",
        SpfResult::Neutral => "neutral",
        SpfResult::TempError => "DNS error",
        SpfResult::PermError => "broken record",
        SpfResult::None => "no record",
    };
    unverified(format!(
        "DMARC did not pass for {domain} (DKIM: {dkim_word}; SPF: {spf_word})"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relay(headers: &[(&str, &str)]) -> Verdict {
        relay_verdict(headers, "mx.portico.example", "acme.example")
    }

    #[test]
    fn reads_the_relays_dmarc_result_under_its_own_id_only() {
        let pass = " mx.portico.example;\r\n spf=pass (sender ok) smtp.mailfrom=acme.example;\r\n dkim=pass header.d=acme.example;\r\n dmarc=pass (p=reject dis=none) header.from=acme.example";
        assert_eq!(
            relay(&[("Authentication-Results", pass)]),
            Verdict::Authentic
        );
        // The topmost header under our id counts: one further down is the sender's.
        let fail = " mx.portico.example; dmarc=fail header.from=acme.example";
        assert!(matches!(
            relay(&[("Authentication-Results", fail), ("Authentication-Results", pass)]),
            Verdict::Unverified(w) if w.contains("DMARC fail")
        ));
        assert_eq!(
            relay(&[
                (
                    "Authentication-Results",
                    fail.replace("mx.portico", "other").as_str()
                ),
                ("Authentication-Results", pass)
            ]),
            Verdict::Authentic
        );
        // Another domain's pass, another id's pass, no DMARC at all.
        assert!(matches!(
            relay(&[("Authentication-Results", " mx.portico.example; dmarc=pass header.from=evil.example")]),
            Verdict::Unverified(w) if w.contains("evil.example")
        ));
        assert!(matches!(
            relay(&[("Authentication-Results", " mx.evil.example; dmarc=pass header.from=acme.example")]),
            Verdict::Unverified(w) if w.contains("no Authentication-Results")
        ));
        assert!(matches!(
            relay(&[("Authentication-Results", " mx.portico.example 1; spf=pass smtp.mailfrom=acme.example")]),
            Verdict::Unverified(w) if w.contains("did not check DMARC")
        ));
        // A comment cannot smuggle a result in.
        assert!(matches!(
            relay(&[("Authentication-Results", " mx.portico.example; dmarc=none (dmarc=pass header.from=acme.example) header.from=acme.example")]),
            Verdict::Unverified(w) if w.contains("DMARC none")
        ));
    }

    #[test]
    fn quoted_text_cannot_smuggle_a_result_and_one_result_is_wanted() {
        // A `;` inside a quoted envelope sender is not the end of a result.
        let quoted = r#" mx.portico.example; spf=pass smtp.mailfrom="x;dmarc=pass header.from=acme.example x"@evil.example; dmarc=fail header.from=acme.example"#;
        assert!(matches!(
            relay(&[("Authentication-Results", quoted)]),
            Verdict::Unverified(w) if w.contains("DMARC fail")
        ));
        let two = " mx.portico.example; dmarc=pass header.from=acme.example; dmarc=fail header.from=acme.example";
        assert!(matches!(
            relay(&[("Authentication-Results", two)]),
            Verdict::Unverified(w) if w.contains("several")
        ));
        // DKIM and DMARC in separate headers under the same id (OpenDKIM + OpenDMARC).
        let dkim = " mx.portico.example; dkim=pass header.d=acme.example";
        let dmarc = " mx.portico.example; dmarc=pass header.from=acme.example";
        assert_eq!(
            relay(&[
                ("Authentication-Results", dkim),
                ("Authentication-Results", dmarc)
            ]),
            Verdict::Authentic
        );
        assert!(matches!(
            relay(&[(
                "Authentication-Results",
                " mx.portico.example; dmarc=temperror header.from=acme.example"
            )]),
            Verdict::TryLater(_)
        ));
    }

    #[test]
    fn a_header_block_read_two_ways_is_refused() {
        let ok = b"From: a@acme.example\r\nSubject: x\r\n folded\r\n\r\nbody\r\nFrom: not a header";
        assert_eq!(header_problem(ok), None);
        let spaced = b"From: a@acme.example\r\nFrom : b@acme.example\r\n\r\n";
        assert!(header_problem(spaced).unwrap().contains("malformed"));
        let latin1 = b"From: a@acme.example\r\nX-Name: \xff\r\n\r\n";
        assert!(header_problem(latin1).unwrap().contains("UTF-8"));
        let two = b"From: a@acme.example\r\nfrom: b@acme.example\r\n\r\n";
        assert!(header_problem(two).unwrap().contains("2 From"));
        assert!(header_problem(b"Subject: x\r\n\r\n")
            .unwrap()
            .contains("0 From"));
    }

    #[test]
    fn comments_nest_and_quotes_keep_parentheses() {
        assert_eq!(without_comments("a (b (c) d) e"), "a  e");
        assert_eq!(
            without_comments(r#"x "(kept)" (gone \) still gone) y"#),
            r#"x "(kept)"  y"#
        );
    }
}
