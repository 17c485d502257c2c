//! Email address checks and splitting, as the template's "valid email" filter needs them.
//!
//! Address syntax is the `email_address` crate's (RFC 5321/5322 and RFC 6531 for UTF-8, no
//! domain literals, a top-level domain required), and a `Name <address>` part is parsed by
//! `mailparse`'s `addrparse`. On top of them, only our own documented rules:
//!
//! - the **split policy** (see [`extract`]): a field splits on `,`, `;` and line breaks outside
//!   a quoted display name; whitespace never separates, and an address is never mined out of
//!   free text;
//! - what a mailing service refuses although the syntax allows it: a top-level domain of one
//!   character or of digits only, and the reserved test domains of RFC 2606 / 6761
//!   (`.test`, `.example`, `.invalid`, `.localhost`, `.local`; Smaily answers `203`).

use email_address::{EmailAddress, Options};
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

/// The address syntax we accept: the crate's defaults, with a top-level domain required and
/// neither a display name nor a domain literal (`[192.0.2.1]`).
fn syntax() -> Options {
    Options::default()
        .with_required_tld()
        .without_display_text()
        .without_domain_literal()
}

/// Why an address is not usable.
///
/// ```
/// assert_eq!(sync_kit::email::check("ann@example.com"), Ok(()));
/// assert_eq!(sync_kit::email::check("ann@shop.test"), Err("reserved top-level domain"));
/// assert_eq!(sync_kit::email::check("ann.example.com"), Err("email has no @"));
/// ```
pub fn check(address: &str) -> Result<(), &'static str> {
    use email_address::Error as E;
    if address.is_empty() {
        return Err("empty email");
    }
    if address.len() > 254 {
        return Err("email longer than 254 characters");
    }
    if let Err(e) = EmailAddress::parse_with_options(address, syntax()) {
        return Err(match e {
            E::MissingSeparator => "email has no @",
            E::DomainTooFew => "domain has no dot",
            E::LocalPartEmpty | E::LocalPartTooLong | E::UnbalancedQuotes | E::InvalidComment => {
                "invalid local part"
            }
            // Which side holds the bad character: the local part, if it fails on its own.
            E::InvalidCharacter => match address.rsplit_once('@') {
                Some((local, _))
                    if EmailAddress::parse_with_options(
                        &format!("{local}@example.com"),
                        syntax(),
                    )
                    .is_err() =>
                {
                    "invalid local part"
                }
                _ => "invalid domain",
            },
            _ => "invalid domain",
        });
    }
    let tld = address
        .rsplit('.')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if tld.chars().count() < 2 || tld.chars().all(|c| c.is_ascii_digit()) {
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
                if !valid.iter().any(|v| v.eq_ignore_ascii_case(&address)) {
                    valid.push(address);
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
/// A part with `<`, `>` or a quote is parsed by `mailparse::addrparse` and must be one address.
fn address(part: &str) -> Result<String, String> {
    let invalid = |reason: &str| format!("{reason}: {part:?}");
    let candidate = if part.contains(['<', '>', '"']) {
        let parsed = mailparse::addrparse(part).map_err(|e| {
            // mailparse's reason, as a sentence fragment: "address string unexpectedly …".
            let text = e.to_string();
            let mut chars = text.chars();
            let first = chars.next().map(|c| c.to_lowercase().collect::<String>());
            invalid(&format!("{}{}", first.unwrap_or_default(), chars.as_str()))
        })?;
        match parsed.iter().as_slice() {
            [mailparse::MailAddr::Single(single)] => single.addr.trim().to_owned(),
            _ => return Err(invalid("not one address")),
        }
    } else {
        part.to_owned()
    };
    if candidate.chars().any(char::is_whitespace) {
        return Err(invalid("email contains whitespace"));
    }
    check(&candidate).map_err(invalid)?;
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
                "unexpected char found after bracketed address: \"Ann <a@example.com> x\"",
            ),
            (
                "Ann <a@example.com",
                "address string unexpectedly terminated: \"Ann <a@example.com\"",
            ),
            ("a@example.com>", "invalid domain: \"a@example.com>\""),
            (
                "Ann <a b@example.com>",
                "email contains whitespace: \"Ann <a b@example.com>\"",
            ),
            (
                "Ann <>",
                "invalid address found: must contain a '@' symbol: \"Ann <>\"",
            ),
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
