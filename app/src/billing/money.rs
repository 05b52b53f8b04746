//! Exact money. Server-only (the browser receives formatted text).
//!
//! **The rounding rule** (one rule, everywhere): every amount is computed per
//! line and rounded to the currency's minor unit, half away from zero, before
//! anything is added up:
//!
//! 1. line net = round(quantity × unit price)
//! 2. line discount = round(line net × discount % / 100)
//! 3. line tax = round((line net − line discount) × tax rate % / 100)
//!
//! Document totals are plain sums of those rounded line amounts (subtotal,
//! discount, tax, and total = subtotal − discount + tax), so a total always
//! equals the sum of its lines and the tax summary adds up to the tax total.

use rust_decimal::{Decimal, RoundingStrategy};

/// ISO 4217 codes Portico bills in, with their minor-unit exponents.
pub const CURRENCIES: &[(&str, u32)] = &[
    ("EUR", 2),
    ("USD", 2),
    ("GBP", 2),
    ("CHF", 2),
    ("SEK", 2),
    ("NOK", 2),
    ("DKK", 2),
    ("PLN", 2),
    ("CZK", 2),
    ("HUF", 2),
    ("CAD", 2),
    ("AUD", 2),
    ("NZD", 2),
    ("MXN", 2),
    ("BRL", 2),
    ("INR", 2),
    ("CNY", 2),
    ("ZAR", 2),
    ("JPY", 0),
    ("KRW", 0),
    ("CLP", 0),
    ("ISK", 0),
    ("KWD", 3),
    ("BHD", 3),
    ("OMR", 3),
    ("JOD", 3),
    ("TND", 3),
];

/// The number of decimals of `currency`'s minor unit, if Portico knows it.
pub fn minor_units(currency: &str) -> Option<u32> {
    CURRENCIES
        .iter()
        .find(|(c, _)| *c == currency)
        .map(|(_, e)| *e)
}

pub fn round(amount: Decimal, scale: u32) -> Decimal {
    let mut r = amount.round_dp_with_strategy(scale, RoundingStrategy::MidpointAwayFromZero);
    r.rescale(scale);
    r
}

/// An amount already rounded to `scale` decimals, in minor units.
pub fn to_minor(amount: Decimal, scale: u32) -> i64 {
    // Rounded and rescaled to `scale`, the mantissa is the count of minor units.
    i64::try_from(round(amount, scale).mantissa()).unwrap_or(i64::MAX)
}

pub fn from_minor(minor: i64, scale: u32) -> Decimal {
    Decimal::new(minor, scale)
}

/// `1234567` minor units of EUR → `12,345.67 EUR`.
pub fn format(minor: i64, currency: &str) -> String {
    let scale = minor_units(currency).unwrap_or(2);
    let sign = if minor < 0 { "-" } else { "" };
    let m = minor.unsigned_abs();
    let unit = 10u64.pow(scale);
    let whole = (m / unit).to_string();
    let mut grouped = String::new();
    for (i, ch) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    if scale == 0 {
        format!("{sign}{grouped} {currency}")
    } else {
        format!(
            "{sign}{grouped}.{:0width$} {currency}",
            m % unit,
            width = scale as usize
        )
    }
}

/// A unit price for display: thousands grouped, at least the currency's
/// decimals, more when the price has them (`0.335` EUR stays `0.335`).
pub fn format_unit(d: Decimal, currency: &str) -> String {
    let scale = minor_units(currency).unwrap_or(2);
    let mut d = d.normalize();
    if d.scale() < scale {
        d.rescale(scale);
    }
    let text = d.abs().to_string();
    let (whole, frac) = text.split_once('.').unwrap_or((&text, ""));
    let mut grouped = String::new();
    for (i, ch) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    let sign = if d.is_sign_negative() { "-" } else { "" };
    if frac.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped}.{frac}")
    }
}

/// Reads a non-negative decimal with at most `max_dp` decimals and at most
/// `max` in value. `label` names the field in the message.
pub fn parse_decimal(label: &str, s: &str, max_dp: u32, max: Decimal) -> Result<Decimal, String> {
    let t = s.trim().replace([',', ' ', '\u{a0}'], "");
    let bad = || {
        if max_dp == 0 {
            format!("{label}: write a whole number of at least 0 and at most {max}, without decimals (e.g. 1200).")
        } else {
            format!(
                "{label}: write a number of at least 0 and at most {max}, with at most {max_dp} decimals (e.g. 12.50)."
            )
        }
    };
    if t.is_empty()
        || !t.chars().all(|c| c.is_ascii_digit() || c == '.')
        || t.starts_with('.')
        || t.matches('.').count() > 1
    {
        return Err(bad());
    }
    let d: Decimal = t.parse().map_err(|_| bad())?;
    if d.scale() > max_dp || d > max || d.is_sign_negative() {
        return Err(bad());
    }
    Ok(d.normalize())
}

/// A payment amount: at most the currency's decimals, more than zero.
pub fn parse_amount(s: &str, currency: &str) -> Result<i64, String> {
    let scale = minor_units(currency).unwrap_or(2);
    let d = parse_decimal("Amount", s, scale, Decimal::new(1_000_000_000_000, 0))?;
    if d.is_zero() {
        return Err("Amount: a payment must be more than zero.".into());
    }
    Ok(to_minor(d, scale))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub quantity: Decimal,
    pub unit_price: Decimal,
    /// Percent.
    pub tax_rate: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineAmounts {
    pub net: i64,
    pub discount: i64,
    pub tax: i64,
    pub total: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxGroup {
    pub rate: Decimal,
    /// Net of discount.
    pub base: i64,
    pub tax: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Totals {
    pub lines: Vec<LineAmounts>,
    pub taxes: Vec<TaxGroup>,
    pub subtotal: i64,
    pub discount: i64,
    pub tax: i64,
    pub total: i64,
}

/// Applies the rounding rule (see the module documentation).
pub fn totals(lines: &[Line], discount_percent: Decimal, scale: u32) -> Totals {
    let hundred = Decimal::ONE_HUNDRED;
    let mut out = Totals {
        lines: Vec::with_capacity(lines.len()),
        taxes: Vec::new(),
        subtotal: 0,
        discount: 0,
        tax: 0,
        total: 0,
    };
    for l in lines {
        let net = round(l.quantity * l.unit_price, scale);
        let discount = round(net * discount_percent / hundred, scale);
        let tax = round((net - discount) * l.tax_rate / hundred, scale);
        let a = LineAmounts {
            net: to_minor(net, scale),
            discount: to_minor(discount, scale),
            tax: to_minor(tax, scale),
            total: to_minor(net - discount + tax, scale),
        };
        match out.taxes.iter_mut().find(|g| g.rate == l.tax_rate) {
            Some(g) => {
                g.base += a.net - a.discount;
                g.tax += a.tax;
            }
            None => out.taxes.push(TaxGroup {
                rate: l.tax_rate,
                base: a.net - a.discount,
                tax: a.tax,
            }),
        }
        out.subtotal += a.net;
        out.discount += a.discount;
        out.tax += a.tax;
        out.total += a.total;
        out.lines.push(a);
    }
    out.taxes.sort_by_key(|g| g.rate);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn the_rounding_rule_by_example() {
        // 3 × 0.335 = 1.005 → 1.01 (half away from zero); 21% of 1.01 = 0.2121 → 0.21.
        let t = totals(
            &[Line {
                quantity: d("3"),
                unit_price: d("0.335"),
                tax_rate: d("21"),
            }],
            Decimal::ZERO,
            2,
        );
        assert_eq!((t.subtotal, t.tax, t.total), (101, 21, 122));
        // Yen have no minor unit: 2 × 149.5 = 299; 10% discount 29.9 → 30; tax 8% of 269 = 21.52 → 22.
        let t = totals(
            &[Line {
                quantity: d("2"),
                unit_price: d("149.5"),
                tax_rate: d("8"),
            }],
            d("10"),
            0,
        );
        assert_eq!((t.subtotal, t.discount, t.tax, t.total), (299, 30, 22, 291));
        assert_eq!(format(291, "JPY"), "291 JPY");
        assert_eq!(format(123_456_789, "EUR"), "1,234,567.89 EUR");
        assert_eq!(format(-5, "KWD"), "-0.005 KWD");
        assert_eq!(format(100_000, "USD"), "1,000.00 USD");
        assert_eq!(format_unit(d("9000"), "EUR"), "9,000.00");
        assert_eq!(format_unit(d("0.335"), "EUR"), "0.335");
        assert_eq!(format_unit(d("1500"), "JPY"), "1,500");
    }

    #[test]
    fn parsing_refuses_what_it_cannot_represent_exactly() {
        let max = d("1000000");
        assert_eq!(parse_decimal("Q", " 1,000.50 ", 4, max), Ok(d("1000.5")));
        for bad in [
            "", "-1", "1e3", "1.23456", ".5", "1..2", "abc", "2000000", "NaN",
        ] {
            assert!(parse_decimal("Q", bad, 4, max).is_err(), "{bad}");
        }
        assert_eq!(parse_amount("10.5", "EUR"), Ok(1050));
        assert_eq!(parse_amount("10", "JPY"), Ok(10));
        assert!(parse_amount("10.5", "JPY").is_err());
        assert_eq!(parse_amount("0.125", "KWD"), Ok(125));
        assert!(parse_amount("0", "EUR").is_err());
        assert_eq!(minor_units("XXX"), None);
    }

    fn line() -> impl Strategy<Value = Line> {
        // Quantities with up to 3 decimals, unit prices with up to 4, tax 0–27.5%.
        (1i64..100_000, 0i64..10_000_000_000, 0i64..=55).prop_map(|(q, p, t)| Line {
            quantity: Decimal::new(q, 3),
            unit_price: Decimal::new(p, 4),
            tax_rate: Decimal::new(t * 5, 1),
        })
    }

    proptest! {
        #[test]
        fn totals_are_the_sums_of_the_rounded_lines(
            lines in proptest::collection::vec(line(), 0..30),
            discount in 0i64..=1000,
            currency in proptest::sample::select(vec!["EUR", "JPY", "KWD", "USD", "CLP", "BHD"]),
        ) {
            let scale = minor_units(currency).unwrap();
            let discount = Decimal::new(discount, 1);
            let t = totals(&lines, discount, scale);
            prop_assert_eq!(t.lines.len(), lines.len());
            prop_assert_eq!(t.subtotal, t.lines.iter().map(|l| l.net).sum::<i64>());
            prop_assert_eq!(t.discount, t.lines.iter().map(|l| l.discount).sum::<i64>());
            prop_assert_eq!(t.tax, t.lines.iter().map(|l| l.tax).sum::<i64>());
            prop_assert_eq!(t.total, t.lines.iter().map(|l| l.total).sum::<i64>());
            prop_assert_eq!(t.total, t.subtotal - t.discount + t.tax);
            prop_assert_eq!(t.tax, t.taxes.iter().map(|g| g.tax).sum::<i64>());
            prop_assert_eq!(t.subtotal - t.discount, t.taxes.iter().map(|g| g.base).sum::<i64>());
            let half = Decimal::new(5, scale + 1);
            for (l, a) in lines.iter().zip(&t.lines) {
                // Each rounded amount is within half a minor unit of the exact one.
                let exact = l.quantity * l.unit_price;
                prop_assert!((from_minor(a.net, scale) - exact).abs() <= half);
                let exact_tax = from_minor(a.net - a.discount, scale) * l.tax_rate / Decimal::ONE_HUNDRED;
                prop_assert!((from_minor(a.tax, scale) - exact_tax).abs() <= half);
                prop_assert!(a.discount <= a.net && a.discount >= 0 && a.tax >= 0);
            }
        }

        #[test]
        fn formatting_and_parsing_round_trip(minor in 1i64..1_000_000_000_000, currency in proptest::sample::select(vec!["EUR", "JPY", "KWD"])) {
            let text = format(minor, currency);
            let number = text.trim_end_matches(currency).trim();
            prop_assert_eq!(parse_amount(number, currency), Ok(minor));
        }
    }
}
