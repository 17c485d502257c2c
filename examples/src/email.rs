//! Email address checks and splitting, as the template's "valid email" filter needs them.
//!
//! The check is syntactic and deliberately conservative: it rejects what a mailing service would
//! reject (no `@`, spaces, no dot in the domain, bad labels, reserved test TLDs that Smaily refuses),
//! not every address RFC 5322 would allow.

use serde::{Deserialize, Serialize};

/// What to do when one field holds several addresses (`"a@x.ee; b@y.ee"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MultipleEmails {
    /// Use the first valid address (the default).
    #[default]
    First,
    /// Send one record per valid address.
    All,
}

/// Top-level domains reserved for testing or documentation (RFC 2606/6761). Smaily answers `203`
/// for them, so they are filtered before sending.
const RESERVED_TLDS: &[&str] = &["test", "example", "invalid", "localhost", "local"];

/// Why an address is not usable.
pub fn check(address: &str) -> Result<(), &'static str> {
    if address.is_empty() {
        return Err("empty email");
    }
    if address.len() > 254 {
        return Err("email longer than 254 characters");
    }
    let Some((local, domain)) = address.rsplit_once('@') else {
        return Err("email has no @");
    };
    if local.is_empty() || local.len() > 64 || local.contains('@') {
        return Err("invalid local part");
    }
    let local_ok = local
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c) || !c.is_ascii());
    if !local_ok || local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err("invalid local part");
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return Err("domain has no dot");
    }
    for label in &labels {
        let ok = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_alphanumeric() || c == '-');
        if !ok {
            return Err("invalid domain");
        }
    }
    let tld = labels[labels.len() - 1].to_ascii_lowercase();
    if tld.len() < 2 || tld.chars().all(|c| c.is_ascii_digit()) {
        return Err("invalid top-level domain");
    }
    if RESERVED_TLDS.contains(&tld.as_str()) {
        return Err("reserved top-level domain");
    }
    Ok(())
}

/// Splits a field on `,`, `;` and whitespace and returns the valid addresses (trimmed, lower-cased
/// domain kept as written), or the reason none is usable.
pub fn extract(field: &str, mode: MultipleEmails) -> Result<Vec<String>, String> {
    let candidates: Vec<&str> = field
        .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .map(|s| s.trim_matches(|c| c == '<' || c == '>'))
        .filter(|s| !s.is_empty())
        .collect();
    if candidates.is_empty() {
        return Err("no email".into());
    }
    let mut valid = Vec::new();
    let mut first_error = None;
    for candidate in candidates {
        match check(candidate) {
            Ok(()) => {
                if !valid
                    .iter()
                    .any(|v: &String| v.eq_ignore_ascii_case(candidate))
                {
                    valid.push(candidate.to_owned());
                }
            }
            Err(reason) => {
                first_error.get_or_insert_with(|| format!("{reason}: {candidate:?}"));
            }
        }
    }
    if valid.is_empty() {
        return Err(first_error.unwrap_or_else(|| "no email".into()));
    }
    if mode == MultipleEmails::First {
        valid.truncate(1);
    }
    Ok(valid)
}

/// The key an address is stored under: trimmed and lower-cased (Smaily matches emails
/// case-insensitively).
pub fn key(address: &str) -> String {
    address.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses() {
        for ok in [
            "a@example.com",
            "first.last+tag@sub.domain.ee",
            "o'neil@example.co.uk",
            "tõnu@näide.ee",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn rejects_broken_addresses() {
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@",
            "a@localhost",
            "a@@example.com",
            "a b@example.com",
            "a@exa mple.com",
            "a..b@example.com",
            "a@-x.com",
            "a@example.c",
            "a@1.2.3.4",
            "a@example.test",
            "a@x.invalid",
        ] {
            assert!(check(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn splits_several_addresses() {
        let field = "a@example.com; B@example.com, junk  c@example.org";
        assert_eq!(
            extract(field, MultipleEmails::First).unwrap(),
            vec!["a@example.com"]
        );
        assert_eq!(
            extract(field, MultipleEmails::All).unwrap(),
            vec!["a@example.com", "B@example.com", "c@example.org"]
        );
        assert_eq!(
            extract("junk; x@example.com", MultipleEmails::First).unwrap(),
            vec!["x@example.com"]
        );
        assert_eq!(
            extract("  ", MultipleEmails::First).unwrap_err(),
            "no email"
        );
        assert!(
            extract("nope", MultipleEmails::All)
                .unwrap_err()
                .contains("no @")
        );
        assert_eq!(
            extract("a@example.com,A@EXAMPLE.COM", MultipleEmails::All).unwrap(),
            vec!["a@example.com"]
        );
    }
}
