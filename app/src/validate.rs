//! Input checks shared by the browser and the server. Each returns the
//! cleaned value or a message that says what to fix.

use crate::error::{AppError, FieldProblem};

/// Collects every problem of a form so the person fixes them in one go.
#[derive(Default)]
pub struct Problems(Vec<FieldProblem>);

impl Problems {
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldProblem {
            field: field.into(),
            message: message.into(),
        });
    }

    pub fn check<T>(&mut self, field: &str, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(m) => {
                self.add(field, m);
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_result(self) -> Result<(), AppError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AppError::Form { problems: self.0 })
        }
    }
}

/// A required line of text: trimmed, non-empty, at most `max` characters, no control characters.
pub fn required(label: &str, value: &str, max: usize) -> Result<String, String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(format!("Enter the {label}."));
    }
    optional(label, v, max).map(|o| o.unwrap_or_default())
}

/// An optional line of text; `None` when blank. No line breaks: names and
/// titles end up in e-mails, where a line break could forge text.
pub fn optional(label: &str, value: &str, max: usize) -> Result<Option<String>, String> {
    if value.trim().contains(['\n', '\r']) {
        return Err(format!("Write the {label} on one line."));
    }
    optional_text(label, value, max)
}

/// An optional block of text that may span lines (an address, a note).
pub fn optional_text(label: &str, value: &str, max: usize) -> Result<Option<String>, String> {
    let v = value.trim();
    if v.chars().count() > max {
        return Err(format!("Shorten the {label} to at most {max} characters."));
    }
    if v.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(format!("Remove the control characters from the {label}."));
    }
    Ok((!v.is_empty()).then(|| v.to_string()))
}

/// A required block of text that may span lines.
pub fn required_text(label: &str, value: &str, max: usize) -> Result<String, String> {
    if value.trim().is_empty() {
        return Err(format!("Enter the {label}."));
    }
    optional_text(label, value, max).map(|o| o.unwrap_or_default())
}

/// An e-mail address, lower-cased. Deliberately simple: one `@`, a dotted
/// domain, no spaces, quotes or angle brackets (nothing that could split a
/// mail header).
pub fn email(value: &str) -> Result<String, String> {
    let v = value.trim().to_lowercase();
    if v.is_empty() {
        return Err("Enter an e-mail address.".into());
    }
    let bad = || {
        Err(format!(
            "\u{201c}{v}\u{201d} is not an e-mail address; use the form name@example.com."
        ))
    };
    if v.len() > 254
        || v.chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>\"'(),;:\\[]".contains(c))
    {
        return bad();
    }
    let Some((local, domain)) = v.split_once('@') else {
        return bad();
    };
    if local.is_empty()
        || local.len() > 64
        || domain.contains('@')
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || domain.contains("..")
        || domain.starts_with('-')
    {
        return bad();
    }
    Ok(v)
}

/// A calendar date written `YYYY-MM-DD`.
pub fn date(label: &str, value: &str) -> Result<chrono::NaiveDate, String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(format!("Enter the {label} (YYYY-MM-DD)."));
    }
    chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .map_err(|_| format!("Write the {label} as YYYY-MM-DD, e.g. 2027-01-31."))
}

/// A whole number within bounds.
pub fn number(label: &str, value: &str, min: i64, max: i64) -> Result<i64, String> {
    let n: i64 = value
        .trim()
        .parse()
        .map_err(|_| format!("Enter the {label} as a whole number."))?;
    if n < min || n > max {
        return Err(format!("The {label} must be between {min} and {max}."));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(email(" Ana@Example.COM ").unwrap(), "ana@example.com");
        for bad in [
            "",
            "ana",
            "ana@",
            "@x.io",
            "ana@localhost",
            "a b@x.io",
            "a@x..io",
            "a@x.io\r\nBcc: e@x.io",
            "<a@x.io>",
            "a@b@c.io",
        ] {
            assert!(email(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn text_and_dates_and_numbers() {
        assert_eq!(required("name", "  Ana ", 10).unwrap(), "Ana");
        assert!(required("name", "   ", 10)
            .unwrap_err()
            .contains("Enter the name"));
        assert!(required("name", "abcdefghijk", 10)
            .unwrap_err()
            .contains("at most 10"));
        assert_eq!(optional("note", " ", 10).unwrap(), None);
        assert!(optional("note", "a\u{0}b", 10).is_err());
        assert!(required("name", "Bob\n\nYour account is locked", 100)
            .unwrap_err()
            .contains("one line"));
        assert_eq!(
            required_text("address", "1 Main St\nSpringfield", 100).unwrap(),
            "1 Main St\nSpringfield"
        );
        assert!(date("start date", "2027-02-30").is_err());
        assert_eq!(date("d", "2027-02-28").unwrap().to_string(), "2027-02-28");
        assert_eq!(number("quantity", "3", 1, 10).unwrap(), 3);
        assert!(number("quantity", "0", 1, 10).is_err());
        assert!(number("quantity", "x", 1, 10).is_err());
    }

    #[test]
    fn problems_collect() {
        let mut p = Problems::default();
        assert_eq!(p.check("a", Ok::<_, String>(1)), Some(1));
        p.check::<()>("b", Err("fix b".into()));
        let err = p.into_result().unwrap_err();
        assert_eq!(err.field_message("b").as_deref(), Some("fix b"));
    }
}
