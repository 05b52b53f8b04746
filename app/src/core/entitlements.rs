//! What an organization's subscription opens, decided in one place: the
//! Support Portal, how many Technical Contacts and servers, the products
//! covered, the knowledge-base tier and the repository channels. Read when a request is
//! served (the session resolves it into the `Actor`), so a term that ends or
//! is cancelled closes everything at once, whether or not the scheduler has
//! recorded it yet.
//!
//! A term opens from the moment its order is processed (a term that starts
//! next month still lets the new contacts in) until its end plus the grace
//! period; an expired or cancelled term opens nothing.

use chrono::{Duration, NaiveDate};
use entity::{level, level_product, subscription, SubscriptionStatus};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use super::state::Settings;
use crate::error::AppError;

/// Where an organization's subscription stands today.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// No subscription was ever entered.
    None,
    /// In its term (or before it starts).
    Active { term_end: NaiveDate },
    /// Past its term's end, still open until `closes` (the grace period).
    Grace {
        term_end: NaiveDate,
        closes: NaiveDate,
    },
    /// Closed: its last term expired or was cancelled.
    Lapsed {
        term_end: NaiveDate,
        status: SubscriptionStatus,
    },
}

/// What an organization's contacts may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entitlements {
    pub standing: Standing,
    /// The term that decides: the open one, else the last one.
    pub subscription_id: Option<i32>,
    /// The open term's level (none when closed).
    pub level_id: Option<i32>,
    pub max_technical_contacts: i32,
    pub included_servers: i32,
    pub kb_tier: Option<String>,
    pub repository_channels: Vec<String>,
    /// The catalog products the open level covers.
    pub products: Vec<i32>,
}

impl Entitlements {
    /// Nothing entered, nothing open.
    pub const NONE: Entitlements = Entitlements {
        standing: Standing::None,
        subscription_id: None,
        level_id: None,
        max_technical_contacts: 0,
        included_servers: 0,
        kb_tier: None,
        repository_channels: Vec::new(),
        products: Vec::new(),
    };

    /// Whether a term is open (in its term or its grace period).
    pub fn open(&self) -> bool {
        matches!(
            self.standing,
            Standing::Active { .. } | Standing::Grace { .. }
        )
    }

    /// Whether the organization's contacts may use the Support Portal.
    pub fn support(&self) -> bool {
        self.open()
    }

    /// One sentence for people: "Active until 2027-12-31.", "Ended on …".
    pub fn describe(&self) -> String {
        match self.standing {
            Standing::None => "No subscription.".into(),
            Standing::Active { term_end } => format!("Active until {term_end}."),
            Standing::Grace { term_end, closes } => format!(
                "The term ended on {term_end}; access stays open until {closes} (grace period)."
            ),
            Standing::Lapsed {
                term_end,
                status: SubscriptionStatus::Cancelled,
            } => format!("Cancelled (the term was to end on {term_end})."),
            Standing::Lapsed { term_end, .. } => format!("Ended on {term_end}."),
        }
    }
}

/// The last day a term whose end is `term_end` stays open.
pub fn closes_on(term_end: NaiveDate, grace_days: u32) -> NaiveDate {
    term_end + Duration::days(i64::from(grace_days))
}

/// Which of an organization's terms decides on `today`, and how it stands.
/// Of the open terms the one in progress wins (else the next to start); with
/// none open, the one that ended last.
pub fn deciding(
    terms: &[subscription::Model],
    today: NaiveDate,
    grace_days: u32,
) -> Option<(&subscription::Model, Standing)> {
    let open = terms.iter().filter(|t| {
        t.status == SubscriptionStatus::Active && today <= closes_on(t.term_end, grace_days)
    });
    let current = open
        .clone()
        .filter(|t| t.term_start <= today)
        .max_by_key(|t| (t.term_start, t.id))
        .or_else(|| open.min_by_key(|t| (t.term_start, t.id)));
    if let Some(t) = current {
        let standing = if today <= t.term_end {
            Standing::Active {
                term_end: t.term_end,
            }
        } else {
            Standing::Grace {
                term_end: t.term_end,
                closes: closes_on(t.term_end, grace_days),
            }
        };
        return Some((t, standing));
    }
    let last = terms.iter().max_by_key(|t| (t.term_end, t.id))?;
    let status = match last.status {
        // Past its grace period but not yet recorded by the scheduler.
        SubscriptionStatus::Active => SubscriptionStatus::Expired,
        s => s,
    };
    Some((
        last,
        Standing::Lapsed {
            term_end: last.term_end,
            status,
        },
    ))
}

/// The entitlements of organization `org_id` now, with the configured grace.
pub async fn current<C: ConnectionTrait>(
    db: &C,
    settings: &Settings,
    org_id: i32,
) -> Result<Entitlements, AppError> {
    of_organization(
        db,
        org_id,
        chrono::Utc::now().date_naive(),
        settings.subscription_grace_days,
    )
    .await
}

/// The entitlements of organization `org_id` on `today`.
pub async fn of_organization<C: ConnectionTrait>(
    db: &C,
    org_id: i32,
    today: NaiveDate,
    grace_days: u32,
) -> Result<Entitlements, AppError> {
    let terms = subscription::Entity::find()
        .filter(subscription::Column::OrganizationId.eq(org_id))
        .order_by_asc(subscription::Column::Id)
        .all(db)
        .await?;
    let Some((term, standing)) = deciding(&terms, today, grace_days) else {
        return Ok(Entitlements::NONE);
    };
    let mut e = Entitlements {
        standing,
        subscription_id: Some(term.id),
        ..Entitlements::NONE
    };
    if e.open() {
        let lvl = level::Entity::find_by_id(term.level_id)
            .one(db)
            .await?
            .ok_or(AppError::Internal)?;
        e.level_id = Some(lvl.id);
        e.max_technical_contacts = lvl.max_technical_contacts;
        e.included_servers = lvl.included_servers;
        e.kb_tier = Some(lvl.kb_tier).filter(|t| !t.is_empty());
        e.repository_channels = lvl
            .repository_channels
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect();
        e.products = level_product::Entity::find()
            .filter(level_product::Column::LevelId.eq(lvl.id))
            .all(db)
            .await?
            .into_iter()
            .map(|p| p.product_id)
            .collect();
    }
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn term(id: i32, start: &str, end: &str, status: SubscriptionStatus) -> subscription::Model {
        subscription::Model {
            id,
            organization_id: 1,
            level_id: 1,
            term_start: d(start),
            term_end: d(end),
            status,
            purchase_order: None,
            payment_method: "card".into(),
            created_at: Utc::now(),
        }
    }

    fn standing(terms: &[subscription::Model], today: &str, grace: u32) -> Option<(i32, Standing)> {
        deciding(terms, d(today), grace).map(|(t, s)| (t.id, s))
    }

    use SubscriptionStatus::{Active, Cancelled, Expired};

    #[test]
    fn a_term_opens_until_its_end_and_the_grace_period() {
        let t = [term(1, "2027-01-01", "2027-12-31", Active)];
        let active = Standing::Active {
            term_end: d("2027-12-31"),
        };
        // Before it starts (the order is processed), on its first and last day.
        for today in ["2026-12-02", "2027-01-01", "2027-12-31"] {
            assert_eq!(standing(&t, today, 7), Some((1, active)), "{today}");
        }
        let grace = Standing::Grace {
            term_end: d("2027-12-31"),
            closes: d("2028-01-07"),
        };
        assert_eq!(standing(&t, "2028-01-01", 7), Some((1, grace)));
        assert_eq!(standing(&t, "2028-01-07", 7), Some((1, grace)));
        let lapsed = Standing::Lapsed {
            term_end: d("2027-12-31"),
            status: Expired,
        };
        assert_eq!(standing(&t, "2028-01-08", 7), Some((1, lapsed)));
        // No grace: closed the day after the term.
        assert_eq!(standing(&t, "2028-01-01", 0), Some((1, lapsed)));
        assert_eq!(standing(&[], "2027-06-01", 7), None);
    }

    #[test]
    fn expired_and_cancelled_terms_open_nothing_whatever_their_dates() {
        for status in [Expired, Cancelled] {
            let t = [term(1, "2027-01-01", "2027-12-31", status)];
            assert_eq!(
                standing(&t, "2027-06-01", 7),
                Some((
                    1,
                    Standing::Lapsed {
                        term_end: d("2027-12-31"),
                        status
                    }
                ))
            );
        }
    }

    #[test]
    fn a_renewal_takes_over_when_its_term_starts() {
        let t = [
            term(1, "2027-01-01", "2027-12-31", Active),
            term(2, "2028-01-01", "2028-12-31", Active),
        ];
        assert_eq!(standing(&t, "2027-06-01", 7).unwrap().0, 1);
        assert_eq!(standing(&t, "2028-01-01", 7).unwrap().0, 2);
        // A cancelled current term with a renewal waiting: the renewal opens.
        let t = [
            term(1, "2027-01-01", "2027-12-31", Cancelled),
            term(2, "2028-01-01", "2028-12-31", Active),
        ];
        assert_eq!(
            standing(&t, "2027-06-01", 7),
            Some((
                2,
                Standing::Active {
                    term_end: d("2028-12-31")
                }
            ))
        );
    }

    #[test]
    fn closed_standings_say_so() {
        let mut e = Entitlements::NONE;
        assert!(!e.support());
        e.standing = Standing::Grace {
            term_end: d("2027-12-31"),
            closes: d("2028-01-07"),
        };
        assert!(e.support());
        assert!(e.describe().contains("2028-01-07"));
        e.standing = Standing::Lapsed {
            term_end: d("2027-12-31"),
            status: Cancelled,
        };
        assert!(!e.support() && e.describe().starts_with("Cancelled"));
    }
}
