//! Email address checks and splitting, as the template's "valid email" filter needs them.
//!
//! The check is syntactic and deliberately conservative: it rejects what a mailing service would
//! reject (no `@`, whitespace, no dot in the domain, bad labels, reserved test TLDs that Smaily refuses),
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

/// Splits a field into its addresses and returns the valid ones (trimmed, as written), or the
/// reason none is usable.
///
/// The field splits only on `,`, `;` and line breaks (outside a double-quoted display name). Each
/// part is an address, or `Name <address>`; a part with whitespace inside the address, or any
/// other text around it, is invalid: an address is never mined out of free text. Invalid parts
/// are dropped; a field with no valid part is refused with the first part's reason.
///
/// ```
/// use sync_kit::email::{extract, MultipleEmails};
/// assert_eq!(extract("Ann <ann@example.com>; bob@example.com", MultipleEmails::All).unwrap(),
///     ["ann@example.com", "bob@example.com"]);
/// assert_eq!(extract("a b@example.com", MultipleEmails::First).unwrap_err(),
///     "email contains whitespace: \"a b@example.com\"");
/// ```
pub fn extract(field: &str, mode: MultipleEmails) -> Result<Vec<String>, String> {
    let mut valid: Vec<String> = Vec::new();
    let mut first_error = None;
    let mut any = false;
    for part in parts(field) {
        any = true;
        match address(part) {
            Ok(address) => {
                if !valid.iter().any(|v| v.eq_ignore_ascii_case(address)) {
                    valid.push(address.to_owned());
                }
            }
            Err(reason) => {
                first_error.get_or_insert(reason);
            }
        }
    }
    if !any {
        return Err("no email".into());
    }
    if valid.is_empty() {
        return Err(first_error.unwrap_or_else(|| "no email".into()));
    }
    if mode == MultipleEmails::First {
        valid.truncate(1);
    }
    Ok(valid)
}

/// The non-blank parts of a field: split on `,`, `;`, `\r` and `\n` outside double quotes.
fn parts(field: &str) -> impl Iterator<Item = &str> {
    let mut quoted = false;
    field
        .split(move |c: char| {
            if c == '"' {
                quoted = !quoted;
            }
            !quoted && matches!(c, ',' | ';' | '\r' | '\n')
        })
        .map(str::trim)
        .filter(|part| !part.is_empty())
}

/// The address of one part (`addr`, `<addr>` or `Name <addr>`), checked, or why it is invalid.
fn address(part: &str) -> Result<&str, String> {
    let invalid = |reason: &str| format!("{reason}: {part:?}");
    let candidate = match (part.find('<'), part.rfind('>')) {
        (Some(open), Some(close)) if open < close => {
            if close + 1 != part.len() {
                return Err(invalid("text after the address"));
            }
            part[open + 1..close].trim()
        }
        (Some(_), _) => return Err(invalid("unclosed <")),
        (None, Some(_)) => return Err(invalid("stray >")),
        (None, None) => part,
    };
    if candidate.chars().any(char::is_whitespace) {
        return Err(invalid("email contains whitespace"));
    }
    check(candidate).map_err(invalid)?;
    Ok(candidate)
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
        let field = "a@example.com; B@example.com, junk\nc@example.org";
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
        assert_eq!(
            extract("a@example.com\r\n\r\nb@example.com", MultipleEmails::All).unwrap(),
            vec!["a@example.com", "b@example.com"]
        );
    }

    #[test]
    fn whitespace_is_no_separator_and_text_around_an_address_is_never_mined() {
        for (field, reason) in [
            ("a b@x.ee", "email contains whitespace: \"a b@x.ee\""),
            (
                "junk  c@example.org",
                "email contains whitespace: \"junk  c@example.org\"",
            ),
            (
                "a@exa mple.com",
                "email contains whitespace: \"a@exa mple.com\"",
            ),
            (
                "a@example.com\tb@example.com",
                "email contains whitespace: \"a@example.com\\tb@example.com\"",
            ),
            ("(a@example.com)", "invalid local part: \"(a@example.com)\""),
            (
                "Ann <a@example.com> x",
                "text after the address: \"Ann <a@example.com> x\"",
            ),
            ("Ann <a@example.com", "unclosed <: \"Ann <a@example.com\""),
            ("a@example.com>", "stray >: \"a@example.com>\""),
            (
                "Ann <a b@example.com>",
                "email contains whitespace: \"Ann <a b@example.com>\"",
            ),
            ("Ann <>", "empty email: \"Ann <>\""),
        ] {
            assert_eq!(
                extract(field, MultipleEmails::All),
                Err(reason.to_owned()),
                "{field:?}"
            );
        }
    }

    #[test]
    fn name_and_angle_brackets_are_accepted() {
        assert_eq!(
            extract("Ann Tamm <Ann@Example.com>", MultipleEmails::All).unwrap(),
            vec!["Ann@Example.com"]
        );
        assert_eq!(
            extract("<a@example.com>", MultipleEmails::All).unwrap(),
            vec!["a@example.com"]
        );
        // A quoted display name may hold the separators.
        assert_eq!(
            extract(
                "\"Tamm, Ann; sales\" <a@example.com>, Bob <b@example.com>",
                MultipleEmails::All
            )
            .unwrap(),
            vec!["a@example.com", "b@example.com"]
        );
    }
}
