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
}

fn unverified(why: impl Into<String>) -> Verdict {
    Verdict::Unverified(why.into())
}

/// Whether `raw` (whose headers are `headers`, top first, and whose single
/// `From:` address is `from`) comes from `from`'s domain.
pub async fn verdict<'a>(
    trust: &InboundTrust,
    envelope: &Envelope,
    raw: &[u8],
    headers: impl Iterator<Item = (&'a str, &'a str)>,
    from: &str,
) -> Verdict {
    let headers: Vec<(&str, &str)> = headers.collect();
    let froms = headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("From"))
        .count();
    if froms != 1 {
        return unverified(format!("the message has {froms} From: headers"));
    }
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
    own_verdict(trust, envelope, raw, domain).await
}

/// The relay's judgement: its (topmost) `Authentication-Results` header.
fn relay_verdict(headers: &[(&str, &str)], authserv_id: &str, domain: &str) -> Verdict {
    let ours = headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("Authentication-Results"))
        .filter_map(|(_, v)| AuthResults::parse(v))
        .find(|r| r.authserv_id.eq_ignore_ascii_case(authserv_id));
    let Some(r) = ours else {
        return unverified(format!(
            "the relay wrote no Authentication-Results as {authserv_id}"
        ));
    };
    match r.dmarc {
        Some((result, from)) if result == "pass" && from.eq_ignore_ascii_case(domain) => {
            Verdict::Authentic
        }
        Some((result, from)) if result == "pass" => unverified(format!(
            "the relay's DMARC pass was for {from}, not {domain}"
        )),
        Some((result, _)) => unverified(format!("DMARC {result} for {domain} at the relay")),
        None => unverified("the relay did not check DMARC"),
    }
}

/// One `Authentication-Results` header (RFC 8601), as far as Portico reads it.
#[derive(Debug, PartialEq, Eq)]
struct AuthResults {
    authserv_id: String,
    /// The first `dmarc=` result and its `header.from`, lowercased.
    dmarc: Option<(String, String)>,
}

impl AuthResults {
    fn parse(value: &str) -> Option<AuthResults> {
        let text = without_comments(value);
        let mut parts = text.split(';');
        let authserv_id = parts
            .next()?
            .split_whitespace()
            .next()?
            .to_ascii_lowercase();
        let dmarc = parts.find_map(|part| {
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
        });
        Some(AuthResults { authserv_id, dmarc })
    }
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
    fn comments_nest_and_quotes_keep_parentheses() {
        assert_eq!(without_comments("a (b (c) d) e"), "a  e");
        assert_eq!(
            without_comments(r#"x "(kept)" (gone \) still gone) y"#),
            r#"x "(kept)"  y"#
        );
    }
}
