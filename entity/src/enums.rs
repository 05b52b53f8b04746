//! Vocabulary every feature shares, kept with the stored values it has
//! always had (no data migration). Compiled for the browser too: pages list
//! the choices from here.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// How urgent a ticket is, 1 (most) to 4 (least); SLA targets are per severity.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "i16", db_type = "SmallInteger")]
pub enum Severity {
    #[sea_orm(num_value = 1)]
    Critical,
    #[sea_orm(num_value = 2)]
    High,
    #[sea_orm(num_value = 3)]
    Medium,
    #[sea_orm(num_value = 4)]
    Low,
}

impl Severity {
    /// Most urgent first.
    pub const ALL: [Severity; 4] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
    ];

    pub fn number(self) -> i16 {
        match self {
            Severity::Critical => 1,
            Severity::High => 2,
            Severity::Medium => 3,
            Severity::Low => 4,
        }
    }

    pub fn from_number(n: i16) -> Option<Severity> {
        Severity::ALL.into_iter().find(|s| s.number() == n)
    }

    pub fn label(self) -> &'static str {
        match self {
            Severity::Critical => "Critical",
            Severity::High => "High",
            Severity::Medium => "Medium",
            Severity::Low => "Low",
        }
    }

    /// When to choose it, as the new-ticket form explains.
    pub fn description(self) -> &'static str {
        match self {
            Severity::Critical => "Production is down or unusable; no workaround.",
            Severity::High => "Production is impaired; a workaround exists or is partial.",
            Severity::Medium => "A non-critical function fails, or a question on production.",
            Severity::Low => "Questions, documentation, feature requests.",
        }
    }

    /// "1 — Critical".
    pub fn text(self) -> String {
        format!("{} — {}", self.number(), self.label())
    }

    /// [`Severity::text`] of a stored number; the bare number if unknown.
    pub fn text_of(n: i16) -> String {
        Severity::from_number(n).map_or_else(|| n.to_string(), Severity::text)
    }
}

/// How a subscription is paid, and how a payment was made.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum PaymentMethod {
    #[sea_orm(string_value = "bank_transfer")]
    BankTransfer,
    #[sea_orm(string_value = "card")]
    Card,
    #[sea_orm(string_value = "purchase_order")]
    PurchaseOrder,
    #[sea_orm(string_value = "other")]
    Other,
}

impl PaymentMethod {
    /// In the order forms offer them.
    pub const ALL: [PaymentMethod; 4] = [
        PaymentMethod::BankTransfer,
        PaymentMethod::Card,
        PaymentMethod::PurchaseOrder,
        PaymentMethod::Other,
    ];

    /// The stored value (also the form value).
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentMethod::BankTransfer => "bank_transfer",
            PaymentMethod::Card => "card",
            PaymentMethod::PurchaseOrder => "purchase_order",
            PaymentMethod::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<PaymentMethod> {
        PaymentMethod::ALL.into_iter().find(|m| m.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            PaymentMethod::BankTransfer => "Bank transfer",
            PaymentMethod::Card => "Card",
            PaymentMethod::PurchaseOrder => "Purchase order",
            PaymentMethod::Other => "Other",
        }
    }
}

/// Where a subscription's term stands. Whether it still opens anything also
/// depends on its dates (`app::core::entitlements`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum SubscriptionStatus {
    /// Entered and not ended: open until its term's end and the grace period.
    #[sea_orm(string_value = "active")]
    Active,
    /// Its term ended (the scheduler records it).
    #[sea_orm(string_value = "expired")]
    Expired,
    /// Ended early by staff.
    #[sea_orm(string_value = "cancelled")]
    Cancelled,
}

impl SubscriptionStatus {
    /// The stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            SubscriptionStatus::Active => "active",
            SubscriptionStatus::Expired => "expired",
            SubscriptionStatus::Cancelled => "cancelled",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SubscriptionStatus::Active => "Active",
            SubscriptionStatus::Expired => "Expired",
            SubscriptionStatus::Cancelled => "Cancelled",
        }
    }
}

/// A notice of a subscription's end, sent once per term.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum EndNotice {
    #[sea_orm(string_value = "ends_in_30_days")]
    In30Days,
    #[sea_orm(string_value = "ends_in_7_days")]
    In7Days,
    #[sea_orm(string_value = "ended")]
    Ended,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_values_are_todays() {
        let numbers: Vec<i16> = Severity::ALL.iter().map(|s| s.to_value()).collect();
        assert_eq!(numbers, [1, 2, 3, 4]);
        for s in Severity::ALL {
            assert_eq!(s.to_value(), s.number());
            assert_eq!(Severity::from_number(s.number()), Some(s));
        }
        assert_eq!(Severity::text_of(1), "1 — Critical");
        assert_eq!(Severity::text_of(9), "9");
        for s in [
            SubscriptionStatus::Active,
            SubscriptionStatus::Expired,
            SubscriptionStatus::Cancelled,
        ] {
            assert_eq!(s.to_value(), s.as_str());
        }
        for m in PaymentMethod::ALL {
            assert_eq!(m.to_value(), m.as_str());
            assert_eq!(PaymentMethod::parse(m.as_str()), Some(m));
        }
        assert_eq!(PaymentMethod::parse("cash"), None);
    }
}
