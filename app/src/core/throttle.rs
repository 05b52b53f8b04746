//! Sign-in throttling, per account and per client address.
//!
//! Failures earn an exponentially growing wait. The per-account wait is capped
//! at one minute so that an attacker hammering someone's address can slow the
//! real person down but never lock them out for long; the per-address wait is
//! capped much higher, because that is where a guessing attack comes from.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Failures allowed before any wait is imposed.
    pub free_failures: u32,
    pub max_wait: Duration,
}

pub const ACCOUNT_POLICY: Policy = Policy {
    free_failures: 5,
    max_wait: Duration::from_secs(60),
};
pub const ADDRESS_POLICY: Policy = Policy {
    free_failures: 20,
    max_wait: Duration::from_secs(15 * 60),
};
/// Failures older than this are forgotten.
const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);
const PRUNE_ABOVE: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    last_failure: Instant,
    blocked_until: Instant,
}

#[derive(Default)]
pub struct Throttle {
    entries: Mutex<HashMap<String, Entry>>,
}

fn wait_for(policy: Policy, failures: u32) -> Duration {
    if failures < policy.free_failures {
        return Duration::ZERO;
    }
    let exp = (failures - policy.free_failures).min(20);
    Duration::from_secs(1u64 << exp).min(policy.max_wait)
}

impl Throttle {
    /// How long the caller must still wait, if any key is blocked.
    pub fn retry_after(&self, keys: &[&str], now: Instant) -> Option<Duration> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        keys.iter()
            .filter_map(|k| entries.get(*k))
            .filter(|e| e.blocked_until > now)
            .map(|e| e.blocked_until - now)
            .max()
    }

    /// Starts a sign-in attempt: refused with the wait when any key is
    /// blocked, else counted as a failure of every key at once, before the
    /// password is checked, so parallel guesses cannot all pass the check
    /// (the check and the count are one step under the lock). Call
    /// [`Throttle::succeeded`] when the password turns out right.
    pub fn begin(&self, keys: &[(&str, Policy)], now: Instant) -> Result<(), Duration> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let wait = keys
            .iter()
            .filter_map(|(k, _)| entries.get(*k))
            .filter(|e| e.blocked_until > now)
            .map(|e| e.blocked_until - now)
            .max();
        if let Some(wait) = wait {
            return Err(wait);
        }
        for (key, policy) in keys {
            Self::count(&mut entries, key, *policy, now);
        }
        Ok(())
    }

    /// A begun attempt was right: the account starts afresh, and the
    /// address gets back the failure [`Throttle::begin`] counted.
    pub fn succeeded(&self, account: &str, address: (&str, Policy)) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.remove(account);
        if let Some(e) = entries.get_mut(address.0) {
            e.failures = e.failures.saturating_sub(1);
            e.blocked_until = e
                .blocked_until
                .min(e.last_failure + wait_for(address.1, e.failures));
        }
    }

    pub fn record_failure(&self, key: &str, policy: Policy, now: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        Self::count(&mut entries, key, policy, now);
    }

    fn count(entries: &mut HashMap<String, Entry>, key: &str, policy: Policy, now: Instant) {
        if entries.len() > PRUNE_ABOVE {
            entries.retain(|_, e| now.duration_since(e.last_failure) < FORGET_AFTER);
        }
        let entry = entries.entry(key.to_owned()).or_insert(Entry {
            failures: 0,
            last_failure: now,
            blocked_until: now,
        });
        if now.duration_since(entry.last_failure) >= FORGET_AFTER {
            entry.failures = 0;
        }
        entry.failures += 1;
        entry.last_failure = now;
        entry.blocked_until = now + wait_for(policy, entry.failures);
    }

    pub fn clear(&self, key: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.remove(key);
    }
}

pub fn account_key(email: &str) -> String {
    format!("account:{email}")
}

/// The throttle key of a client address: IPv4 addresses one by one, IPv6
/// by their /64 (one subscriber's network: they hand out the rest freely,
/// so counting single IPv6 addresses would let one client rotate forever).
pub fn address_key(addr: &str) -> String {
    match addr.trim_matches(['[', ']']).parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => format!("address:{v4}"),
            None => {
                let s = v6.segments();
                format!("address:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        _ => format!("address:{addr}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_failures_are_free_then_waits_grow_and_cap() {
        let t = Throttle::default();
        let start = Instant::now();
        for _ in 0..4 {
            t.record_failure("a", ACCOUNT_POLICY, start);
        }
        assert_eq!(t.retry_after(&["a"], start), None);
        t.record_failure("a", ACCOUNT_POLICY, start);
        assert_eq!(t.retry_after(&["a"], start), Some(Duration::from_secs(1)));
        for _ in 0..30 {
            t.record_failure("a", ACCOUNT_POLICY, start);
        }
        assert_eq!(t.retry_after(&["a"], start), Some(Duration::from_secs(60)));
        assert_eq!(t.retry_after(&["a"], start + Duration::from_secs(61)), None);
    }

    #[test]
    fn the_longest_wait_of_all_keys_wins_and_clear_forgets() {
        let t = Throttle::default();
        let now = Instant::now();
        for _ in 0..7 {
            t.record_failure("acct", ACCOUNT_POLICY, now);
        }
        assert_eq!(
            t.retry_after(&["ip", "acct"], now),
            Some(Duration::from_secs(4))
        );
        t.clear("acct");
        assert_eq!(t.retry_after(&["ip", "acct"], now), None);
    }

    #[test]
    fn attempts_count_before_the_password_is_checked() {
        let t = Throttle::default();
        let now = Instant::now();
        let keys = [("acct", ACCOUNT_POLICY), ("ip", ADDRESS_POLICY)];
        // Five attempts in flight at once pass; the sixth is refused before
        // any of them has been answered.
        for _ in 0..5 {
            assert_eq!(t.begin(&keys, now), Ok(()));
        }
        assert_eq!(t.begin(&keys, now), Err(Duration::from_secs(1)));
        // One of them was right: the account is free again and the address
        // is not charged for it.
        t.succeeded("acct", ("ip", ADDRESS_POLICY));
        assert_eq!(t.begin(&keys, now), Ok(()));
        let failures = t.entries.lock().unwrap()["ip"].failures;
        assert_eq!(failures, 5, "five begun, one refunded, one more begun");
    }

    #[test]
    fn ipv6_clients_count_by_their_64() {
        assert_eq!(
            address_key("2001:db8:1:2:aaaa::1"),
            address_key("2001:db8:1:2:ffff:ffff:ffff:ffff")
        );
        assert_eq!(address_key("2001:db8:1:2::9"), "address:2001:db8:1:2::/64");
        assert_ne!(
            address_key("2001:db8:1:3::1"),
            address_key("2001:db8:1:2::1")
        );
        assert_eq!(address_key("192.0.2.7"), "address:192.0.2.7");
        assert_eq!(address_key("::ffff:192.0.2.7"), "address:192.0.2.7");
        assert_eq!(address_key("unknown"), "address:unknown");
    }

    #[test]
    fn old_failures_are_forgotten() {
        let t = Throttle::default();
        let now = Instant::now();
        for _ in 0..5 {
            t.record_failure("a", ACCOUNT_POLICY, now);
        }
        let later = now + FORGET_AFTER + Duration::from_secs(1);
        t.record_failure("a", ACCOUNT_POLICY, later);
        assert_eq!(t.retry_after(&["a"], later), None);
    }
}
