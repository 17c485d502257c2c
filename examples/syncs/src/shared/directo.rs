//! Directo customers as the job reads them: `directo_client`'s generic [`Record`] stream for
//! `what=customer` (every attribute by its wire name, so any attribute can be mapped by name,
//! including ones a typed struct does not know), and the seeding of its fake with demo data.

use directo_client::Record;
use jiff::civil::DateTime;

use super::CustomerFields;
use super::demo::DemoCustomer;

impl CustomerFields for Record {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn datafield(&self, code: &str) -> Option<&str> {
        self.children
            .iter()
            .filter(|c| c.tag.eq_ignore_ascii_case("datafields"))
            .flat_map(|c| c.children.iter())
            .find(|d| d.get("code").is_some_and(|c| c.eq_ignore_ascii_case(code)))
            .and_then(|d| d.get("content"))
    }

    fn changed_at(&self) -> Option<DateTime> {
        parse_ts(CustomerFields::attr(self, "ts")?)
    }
}

/// Parses Directo's `ts` leniently: `YYYY-MM-DDThh:mm:ss[.fff][Z|±hh:mm]` or a date alone.
pub fn parse_ts(text: &str) -> Option<DateTime> {
    let text = text.trim();
    if let Ok(dt) = text.parse::<DateTime>() {
        return Some(dt);
    }
    if let Ok(ts) = text.parse::<jiff::Timestamp>() {
        return Some(ts.to_zoned(jiff::tz::TimeZone::UTC).datetime());
    }
    text.parse::<jiff::civil::Date>()
        .ok()
        .map(|d| d.to_datetime(jiff::civil::Time::midnight()))
}

/// A demo customer as `directo_client`'s typed customer, to seed its fake.
pub fn to_directo(demo: &DemoCustomer) -> directo_client::Customer {
    let get = |name: &str| demo.attr(name).map(str::to_owned);
    let mut c = directo_client::Customer::new(get("code").unwrap_or_default());
    c.name = get("name");
    c.email = get("email");
    c.phone = get("phone");
    c.country = get("country");
    c.closed = Some(demo.attr("closed") == Some("1"));
    c.ts = demo.attr("ts").and_then(parse_ts);
    c.datafields = demo
        .datafields
        .iter()
        .map(|(code, content)| directo_client::DataField {
            code: code.clone(),
            content: content.clone(),
            param: String::new(),
        })
        .collect();
    c
}

/// Seeds a Directo fake with demo customers.
pub fn seed(fake: &directo_client::fake::FakeDirecto, customers: &[DemoCustomer]) {
    fake.seed_customers(customers.iter().map(to_directo));
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::TryStreamExt;

    #[test]
    fn ts_formats() {
        assert!(parse_ts("2024-01-15T10:30:00").is_some());
        assert!(parse_ts("2024-01-15T10:30:00.123").is_some());
        assert!(parse_ts("2024-01-15T10:30:00Z").is_some());
        assert!(parse_ts("2024-01-15").is_some());
        assert!(parse_ts("nope").is_none());
    }

    #[tokio::test]
    async fn demo_customers_read_back_through_the_fake_with_fields_and_datafields() {
        let fake = directo_client::fake::FakeDirecto::start().await;
        let now: DateTime = "2026-01-10T12:00:00".parse().unwrap();
        let demo = super::super::demo::customers(20, now, 60);
        seed(&fake, &demo);
        let since: DateTime = "2026-01-10T00:00:00".parse().unwrap();
        let records: Vec<Record> = fake
            .client()
            .records("customer", directo_client::Query::new().since(since))
            .try_collect()
            .await
            .unwrap();
        assert_eq!(records.len(), 20);
        let r3 = records
            .iter()
            .find(|r| CustomerFields::attr(*r, "code") == Some("C000004"))
            .unwrap();
        assert_eq!(r3.datafield("LOYALTY"), Some("gold"));
        assert_eq!(
            CustomerFields::attr(r3, "email"),
            Some("customer3@example.com")
        );
        assert!(r3.changed_at().is_some());
    }
}
