//! Sign-in throttling, per account and per client address.
//!
//! Failures earn an exponentially growing wait. The per-account wait is capped
//! at one minute so that an attacker hammering someone's address can slow the
//! real person down but never lock them out for long; the per-address wait is
//! capped much higher, because that is where a guessing attack comes from.

//!
//! The counts live in the database (`sign_in_throttle`), so every server
//! process of one installation counts the same failures.

use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use entity::sign_in_throttle;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DatabaseTransaction, DbErr, EntityTrait,
    IntoActiveModel, QueryFilter, QuerySelect, Set,
};

use super::db::begin_write;

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
/// Counts one scheduler run forgets at most.
const FORGET_BATCH: u64 = 1000;
/// Failures older than this are forgotten.
const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);

fn wait_for(policy: Policy, failures: u32) -> Duration {
    if failures < policy.free_failures {
        return Duration::ZERO;
    }
    let exp = (failures - policy.free_failures).min(20);
    Duration::from_secs(1u64 << exp).min(policy.max_wait)
}

fn chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// Locks (and, when new, creates) each key's row for this transaction:
/// PostgreSQL row locks; SQLite's write transaction already excludes others.
async fn lock_rows(
    txn: &DatabaseTransaction,
    keys: &[&str],
    now: DateTime<Utc>,
) -> Result<Vec<sign_in_throttle::Model>, DbErr> {
    let mut keys = keys.to_vec();
    // One order for every caller, so two never wait on each other.
    keys.sort_unstable();
    keys.dedup();
    for key in &keys {
        sign_in_throttle::Entity::insert(sign_in_throttle::ActiveModel {
            key: Set((*key).to_owned()),
            failures: Set(0),
            last_failure_at: Set(now),
            blocked_until: Set(now),
        })
        .on_conflict(
            // A no-op update: it takes the row's lock.
            OnConflict::column(sign_in_throttle::Column::Key)
                .update_column(sign_in_throttle::Column::Key)
                .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
    }
    sign_in_throttle::Entity::find()
        .filter(sign_in_throttle::Column::Key.is_in(keys))
        .all(txn)
        .await
}

/// One more failure of `row` under `policy` at `now`.
fn counted(
    row: sign_in_throttle::Model,
    policy: Policy,
    now: DateTime<Utc>,
) -> sign_in_throttle::ActiveModel {
    // Forgotten a while after the last failure and after its wait ended
    // (waiting out a long block does not buy a fresh set of free guesses).
    let forget = chrono(FORGET_AFTER);
    let recent = now - row.last_failure_at < forget || now - row.blocked_until < forget;
    // Never backwards (this request may have waited for the row).
    let now = now.max(row.last_failure_at);
    let failures = if recent {
        row.failures.max(0) as u32
    } else {
        0
    } + 1;
    let mut a = row.into_active_model();
    a.failures = Set(failures as i32);
    a.last_failure_at = Set(now);
    a.blocked_until = Set(now + chrono(wait_for(policy, failures)));
    a
}

/// Starts a sign-in attempt: refused with the wait when any key is
/// blocked, else counted as a failure of every key at once, before the
/// password is checked, so parallel guesses cannot all pass the check (the
/// check and the count are one transaction holding the keys' rows). Call
/// [`succeeded`] when the password turns out right.
pub async fn begin(
    db: &DatabaseConnection,
    keys: &[(&str, Policy)],
    now: DateTime<Utc>,
) -> Result<Result<(), Duration>, DbErr> {
    // As the databases keep it (PostgreSQL: microseconds).
    let now = now.trunc_subsecs(6);
    let names: Vec<&str> = keys.iter().map(|(k, _)| *k).collect();
    // A blocked key is refused on a read: a flood of refused attempts takes
    // no write lock (on SQLite, the one every writer waits for).
    if let Some(wait) = retry_after(db, &names, now).await? {
        return Ok(Err(wait));
    }
    let txn = begin_write(db).await?;
    let rows = lock_rows(&txn, &names, now).await?;
    let wait = rows
        .iter()
        .filter(|r| r.blocked_until > now)
        .filter_map(|r| (r.blocked_until - now).to_std().ok())
        .max();
    if let Some(wait) = wait {
        txn.rollback().await?;
        return Ok(Err(wait));
    }
    for row in rows {
        let policy = keys
            .iter()
            .find(|(k, _)| *k == row.key)
            .map(|(_, p)| *p)
            .unwrap_or(ACCOUNT_POLICY);
        counted(row, policy, now).update(&txn).await?;
    }
    txn.commit().await?;
    Ok(Ok(()))
}

/// A begun attempt was right: the account starts afresh, and the address
/// gets back the failure [`begin`] counted.
pub async fn succeeded(
    db: &DatabaseConnection,
    account: &str,
    address: (&str, Policy),
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    // As the databases keep it (PostgreSQL: microseconds).
    let now = now.trunc_subsecs(6);
    let txn = begin_write(db).await?;
    sign_in_throttle::Entity::delete_by_id(account.to_owned())
        .exec(&txn)
        .await?;
    if let Some(row) = lock_rows(&txn, &[address.0], now).await?.pop() {
        let failures = row.failures.saturating_sub(1).max(0);
        let until = row
            .blocked_until
            .min(row.last_failure_at + chrono(wait_for(address.1, failures as u32)));
        let mut a = row.into_active_model();
        a.failures = Set(failures);
        a.blocked_until = Set(until);
        a.update(&txn).await?;
    }
    txn.commit().await
}

/// Forgets `key`'s failures.
pub async fn clear(db: &DatabaseConnection, key: &str) -> Result<(), DbErr> {
    sign_in_throttle::Entity::delete_by_id(key.to_owned())
        .exec(db)
        .await?;
    Ok(())
}

/// How long the caller must still wait, if any of `keys` is blocked.
pub async fn retry_after(
    db: &DatabaseConnection,
    keys: &[&str],
    now: DateTime<Utc>,
) -> Result<Option<Duration>, DbErr> {
    // As the databases keep it (PostgreSQL: microseconds).
    let now = now.trunc_subsecs(6);
    Ok(sign_in_throttle::Entity::find()
        .filter(sign_in_throttle::Column::Key.is_in(keys.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .filter(|r| r.blocked_until > now)
        .filter_map(|r| (r.blocked_until - now).to_std().ok())
        .max())
}

/// Drops counts older than the failures' memory (the scheduler's tidy-up).
pub async fn forget_old(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<u64, DbErr> {
    // As the databases keep it (PostgreSQL: microseconds).
    let now = now.trunc_subsecs(6);
    let cutoff = now - chrono(FORGET_AFTER);
    let stale = || {
        sign_in_throttle::Entity::find()
            .filter(sign_in_throttle::Column::LastFailureAt.lt(cutoff))
            .filter(sign_in_throttle::Column::BlockedUntil.lt(cutoff))
    };
    let keys: Vec<String> = stale()
        .select_only()
        .column(sign_in_throttle::Column::Key)
        .limit(FORGET_BATCH)
        .into_tuple()
        .all(db)
        .await?;
    // One row per statement: a delete holding several rows' locks could wait
    // on an attempt that holds another (PostgreSQL would abort one of them).
    let mut forgotten = 0;
    for key in keys {
        forgotten += sign_in_throttle::Entity::delete_many()
            .filter(sign_in_throttle::Column::Key.eq(key))
            .filter(sign_in_throttle::Column::LastFailureAt.lt(cutoff))
            .filter(sign_in_throttle::Column::BlockedUntil.lt(cutoff))
            .exec(db)
            .await?
            .rows_affected;
    }
    Ok(forgotten)
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
        assert_eq!(wait_for(ACCOUNT_POLICY, 4), Duration::ZERO);
        assert_eq!(wait_for(ACCOUNT_POLICY, 5), Duration::from_secs(1));
        assert_eq!(wait_for(ACCOUNT_POLICY, 7), Duration::from_secs(4));
        assert_eq!(wait_for(ACCOUNT_POLICY, 40), Duration::from_secs(60));
        assert_eq!(wait_for(ADDRESS_POLICY, 60), Duration::from_secs(15 * 60));
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
}
