//! Deterministic demo customers, as a Directo fake serves them to the sandboxes of every sync
//! that reads Directo customers (and to the tests and the benchmarks): mostly good ones, plus
//! the bad and odd records a real Directo database holds.

use jiff::civil::DateTime;

/// One demo customer: attributes in Directo's names, and extra fields (datafields).
#[derive(Debug, Clone, PartialEq)]
pub struct DemoCustomer {
    /// Attributes (`code`, `name`, `email`, `phone`, `closed`, `ts`, …).
    pub attrs: Vec<(String, String)>,
    /// Extra fields by code.
    pub datafields: Vec<(String, String)>,
}

impl DemoCustomer {
    /// An attribute's value.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What kind of record number `n` is (one in every 50 of each odd kind).
fn kind(n: usize) -> &'static str {
    match n % 50 {
        7 => "no_email",
        17 => "empty_email",
        23 => "malformed",
        31 => "reserved_tld",
        37 => "several",
        41 => "closed",
        _ => "good",
    }
}

/// `count` customers whose `ts` lies within the `spread_minutes` before `now` (Directo local
/// time). About 8% have no usable email (missing, empty, malformed, reserved domain); 2% hold two
/// addresses in one field; 2% are closed; every tenth has a `LOYALTY` extra field.
pub fn customers(count: usize, now: DateTime, spread_minutes: i64) -> Vec<DemoCustomer> {
    (0..count)
        .map(|n| customer(n, now, spread_minutes))
        .collect()
}

/// The number of demo customers among the first `count` that have a usable email.
pub fn deliverable(count: usize) -> usize {
    (0..count)
        .filter(|n| {
            !matches!(
                kind(*n),
                "no_email" | "empty_email" | "malformed" | "reserved_tld"
            )
        })
        .count()
}

fn customer(n: usize, now: DateTime, spread_minutes: i64) -> DemoCustomer {
    const FIRST: &[&str] = &[
        "Mari", "Jaan", "Kati", "Peeter", "Liis", "Toomas", "Anu", "Mart",
    ];
    const LAST: &[&str] = &[
        "Tamm", "Saar", "Sepp", "Mägi", "Kask", "Rebane", "Ilves", "Lepik",
    ];
    let code = format!("C{:06}", n + 1);
    let name = format!("{} {}", FIRST[n % FIRST.len()], LAST[(n / 8) % LAST.len()]);
    let minutes = if spread_minutes > 0 {
        (n as i64 * 7919) % spread_minutes
    } else {
        0
    };
    let ts = now
        .checked_sub(jiff::SignedDuration::from_secs(minutes * 60 + 1))
        .unwrap_or(now);
    let mut attrs = vec![
        ("code".to_owned(), code.clone()),
        ("name".to_owned(), name),
        ("country".to_owned(), "EE".to_owned()),
        ("phone".to_owned(), format!("+372 5{:07}", n)),
        ("closed".to_owned(), "0".to_owned()),
        (
            "ts".to_owned(),
            ts.strftime("%Y-%m-%dT%H:%M:%S").to_string(),
        ),
    ];
    let email = match kind(n) {
        "no_email" => None,
        "empty_email" => Some(String::new()),
        "malformed" => Some(format!("customer{n} at example.com")),
        "reserved_tld" => Some(format!("customer{n}@shop.test")),
        "several" => Some(format!("customer{n}@example.com; accounts{n}@example.org")),
        _ => Some(format!("customer{n}@example.com")),
    };
    if let Some(email) = email {
        attrs.push(("email".to_owned(), email));
    }
    if kind(n) == "closed" {
        attrs
            .iter_mut()
            .filter(|(k, _)| k == "closed")
            .for_each(|(_, v)| *v = "1".to_owned());
    }
    let datafields = if n % 10 == 3 {
        vec![(
            "LOYALTY".to_owned(),
            ["gold", "silver", "bronze"][n % 3].to_owned(),
        )]
    } else {
        Vec::new()
    };
    DemoCustomer { attrs, datafields }
}
