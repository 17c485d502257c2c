//! `messaging directo-orders`: Directo invoices changed since the last run → messaging orders
//! (`DELIVERED` when paid, else `INITIALIZED`), for RFM segments. See docs/messaging.md.
//!
//! Each run reads, with the same since/overlap/watermark rules as `directo-to-smaily`:
//!
//! 1. the receipts (`what=receipt`) changed since the start point. What each receipt row pays
//!    (`received`, per referenced invoice number) is kept in the state file, keyed by receipt
//!    and row, so a receipt read again replaces what it paid before instead of adding to it,
//!    and a receipt marked `confirmed="0"` pays nothing. Only while the state holds no receipt
//!    yet (the first run) are they read from the start point minus
//!    `invoices.receipts_lookback`, to load the payments made in parts before it; receipts last
//!    changed before that lookback are dropped from the state;
//! 2. the invoices (`what=invoice`) changed since the start point, each mapped to one order;
//! 3. with `invoices.reread_paid`, the invoices that a receipt changed since the start point
//!    pays (or no longer pays) but that step 2 did not return (an old invoice paid today), by
//!    `number=`; not those whose last delivered order already has the status their payments
//!    give (a receipt re-read in the overlap).
//!
//! An invoice is paid when its `invoices.balance_attribute` (if configured and present) is
//! zero or less, else when the receipts kept for it cover its total. Orders are upserts
//! keyed by `externalOrderId` (the invoice number), so a status change is simply sent again;
//! unchanged orders are skipped by the toolkit's snapshot.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::time::Duration;

use directo_client::{Invoice, Query, Receipt};
use futures::{StreamExt, TryStreamExt};
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::orders::OrdersSink;
use super::{ClientConfig, Sandbox, client_error};
use crate::shared::directo::{
    DirectoConfig, directo_from_env, open_read, record_scoped, source_record,
};
use sync_kit::config::duration_str;
use sync_kit::email::{self, MultipleEmails};
use sync_kit::preview::DryRun;
#[cfg(feature = "sandbox")]
use sync_kit::sandbox::SandboxFile;
use sync_kit::state_guard::StateGuard;
use sync_kit::{
    BoxError, CommonArgs, Error, ExitCode, Item, JobConfig, RunContext, Sink, SourceRecord,
    StateStore, Summary, Verdict, report_error,
};

/// The job's name in the state file unless the config says otherwise.
pub const JOB_NAME: &str = "messaging-directo-orders";

/// The TOML config of `directo-orders` (`--config`). Every table and key is optional.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Batch size, concurrency, watermark overlap, retry schedule.
    pub job: JobConfig,
    /// Reading Directo: its time zone (of `ts` and invoice dates) and read timeout.
    pub directo: DirectoConfig,
    /// The messaging client.
    pub messaging: ClientConfig,
    /// How invoices become orders.
    pub invoices: InvoiceRules,
}

/// The `[invoices]` table: where the total is, and when an invoice counts as paid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InvoiceRules {
    /// Invoice attributes holding the total, first present wins. The reference documents no
    /// total attribute on invoice reads, so this is configurable.
    pub total_attributes: Vec<String>,
    /// Without any of those attributes, use the sum of the rows' `quantity × price`.
    pub total_from_rows: bool,
    /// An invoice attribute holding the open balance (e.g. `"balance"`); when configured and
    /// present, the invoice is paid when it is zero or less, whatever the receipts say.
    pub balance_attribute: Option<String>,
    /// How far before the first run's start point receipts are read (later runs read only the
    /// receipts changed since the watermark; the state keeps the others), so payments made in
    /// several parts over time add up. Receipts last changed longer ago than this before a
    /// run's start point stop counting.
    #[serde(with = "duration_str")]
    pub receipts_lookback: Duration,
    /// Also read (by `number=`) invoices that receipts changed in this run refer to, when the
    /// invoice itself did not change (an old invoice paid now).
    pub reread_paid: bool,
    /// The currency of invoices that carry none.
    pub default_currency: String,
}

impl Default for InvoiceRules {
    fn default() -> Self {
        Self {
            total_attributes: vec!["total".into(), "sum".into()],
            total_from_rows: true,
            balance_attribute: None,
            receipts_lookback: Duration::from_secs(90 * 24 * 3600),
            reread_paid: true,
            default_currency: "EUR".into(),
        }
    }
}

impl Config {
    /// Loads `path` (or the defaults) and checks it.
    pub fn load(path: Option<&Path>) -> Result<Self, Error> {
        let mut config: Config = match path {
            Some(path) => sync_kit::config::load_toml(path)?,
            None => Config::default(),
        };
        config.job.default_name(JOB_NAME);
        config.job.validate()?;
        config.time_zone()?;
        if config.invoices.default_currency.trim().is_empty() {
            return Err(Error::Config(
                "invoices.default_currency must not be empty".into(),
            ));
        }
        Ok(config)
    }

    /// The zone of Directo's `ts` values and invoice dates.
    pub fn time_zone(&self) -> Result<TimeZone, Error> {
        self.directo.time_zone()
    }
}

/// One receipt row's payment: (the row's key within the receipt, invoice number, amount).
pub type Part = (String, String, Decimal);

/// What the receipts say about payments: those read in this run, over what the state keeps of
/// earlier runs' receipts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Payments {
    /// The receipts read in this run, by key (`receipt <number>`): change time and parts.
    read: HashMap<String, (Option<DateTime>, Vec<Part>)>,
    /// Invoice numbers whose payments a receipt changed at or after the run's start point:
    /// new or edited rows, and the invoices an edited or unconfirmed receipt no longer pays.
    pub recent: BTreeSet<String>,
}

impl Payments {
    /// The key a receipt's payments are kept under, if it has a number.
    pub fn key(receipt: &Receipt) -> Option<String> {
        receipt.number.map(|n| format!("receipt {n}"))
    }

    /// What a receipt pays, row by row (nothing when it is explicitly unconfirmed). A row is
    /// keyed by its `rn`, else its position.
    pub fn parts(receipt: &Receipt) -> Vec<Part> {
        if receipt.confirmed == Some(false) {
            return Vec::new();
        }
        receipt
            .rows
            .iter()
            .enumerate()
            .filter_map(|(n, row)| {
                let invoice = row.invoice?.to_string();
                let part = row
                    .rn
                    .map_or_else(|| format!("#{}", n + 1), |rn| rn.to_string());
                Some((part, invoice, row.received.unwrap_or_default()))
            })
            .collect()
    }

    /// Adds a receipt read in this run; `kept` is what the state holds of it from an earlier
    /// run. A later read of the same receipt in the run replaces the earlier one.
    pub fn add(&mut self, receipt: &Receipt, kept: &[Part], read_from: DateTime) {
        let Some(key) = Self::key(receipt) else {
            tracing::warn!("a receipt without a number is ignored (it cannot be kept)");
            return;
        };
        let parts = Self::parts(receipt);
        let paid = |parts: &[Part], invoice: &str| -> Decimal {
            parts
                .iter()
                .filter(|(_, i, _)| i == invoice)
                .map(|(_, _, amount)| *amount)
                .sum()
        };
        if receipt.ts.is_some_and(|ts| ts >= read_from) {
            self.recent
                .extend(parts.iter().map(|(_, invoice, _)| invoice.clone()));
        }
        // An invoice the receipt paid differently before, or no longer pays, changed too.
        let before = self
            .read
            .get(&key)
            .map_or(kept, |(_, parts)| parts.as_slice());
        for (_, invoice, _) in before {
            if paid(before, invoice) != paid(&parts, invoice) {
                self.recent.insert(invoice.clone());
            }
        }
        self.read.insert(key, (receipt.ts, parts));
    }

    /// The amount received for an invoice: this run's receipts, plus the `kept` ones (the
    /// state's `(receipt key, amount)` for the invoice) that this run did not read again.
    pub fn received(&self, number: &str, kept: &[(String, Decimal)]) -> Decimal {
        let earlier: Decimal = kept
            .iter()
            .filter(|(source, _)| !self.read.contains_key(source))
            .map(|(_, amount)| *amount)
            .sum();
        let now: Decimal = self
            .read
            .values()
            .flat_map(|(_, parts)| parts)
            .filter(|(_, invoice, _)| invoice == number)
            .map(|(_, _, amount)| *amount)
            .sum();
        earlier + now
    }

    /// The receipts read in this run, to keep in the state: key, change time, parts.
    pub fn receipts(&self) -> impl Iterator<Item = (&str, Option<DateTime>, &[Part])> {
        self.read
            .iter()
            .map(|(key, (ts, parts))| (key.as_str(), *ts, parts.as_slice()))
    }
}

/// A row quantity as a whole number: rounded half away from zero (`2.5` → 3, `-0.5` → -1).
pub fn whole_quantity(quantity: Decimal) -> Option<i64> {
    use rust_decimal::prelude::ToPrimitive;
    quantity
        .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)
        .to_i64()
}

/// The order items of an invoice's rows: rows without an item code and description, and rows
/// whose quantity is missing or rounds to zero, are skipped. `cost` is the row's unit `price`.
fn items(invoice: &Invoice) -> Vec<Value> {
    invoice
        .rows
        .iter()
        .filter_map(|row| {
            fn text(v: &Option<String>) -> Option<&str> {
                v.as_deref().map(str::trim).filter(|t| !t.is_empty())
            }
            let code = text(&row.item);
            let description = text(&row.description);
            let id = code.or(description)?;
            let quantity = whole_quantity(row.quantity?).filter(|q| *q != 0)?;
            let mut item = json!({
                "externalItemId": id,
                "name": description.unwrap_or(id),
                "quantity": quantity,
                "cost": row.price.unwrap_or_default().to_string(),
            });
            if let (Some(_), Some(d)) = (code, description) {
                item["description"] = Value::String(d.to_owned());
            }
            Some(item)
        })
        .collect()
}

/// The invoice's total per the rules.
fn total(
    invoice: &Invoice,
    record: &directo_client::Record,
    rules: &InvoiceRules,
) -> Result<Decimal, String> {
    for name in &rules.total_attributes {
        if let Some(raw) = record.get(name).filter(|v| !v.trim().is_empty()) {
            return raw
                .trim()
                .parse::<Decimal>()
                .map_err(|_| format!("invalid total: {name}={raw:?} is not a number"));
        }
    }
    if rules.total_from_rows && !invoice.rows.is_empty() {
        return Ok(invoice
            .rows
            .iter()
            .map(|r| r.quantity.unwrap_or_default() * r.price.unwrap_or_default())
            .sum::<Decimal>()
            .round_dp(2));
    }
    Err(format!(
        "missing total: none of {:?} is set",
        rules.total_attributes
    ))
}

/// Whether an invoice is paid (see the module docs), `received` being what its receipts pay.
fn is_paid(
    record: &directo_client::Record,
    total: Decimal,
    received: Decimal,
    rules: &InvoiceRules,
) -> Result<bool, String> {
    if let Some(name) = &rules.balance_attribute
        && let Some(raw) = record.get(name).filter(|v| !v.trim().is_empty())
    {
        let balance: Decimal = raw
            .trim()
            .parse()
            .map_err(|_| format!("invalid balance: {name}={raw:?} is not a number"))?;
        return Ok(balance <= Decimal::ZERO);
    }
    Ok(received >= total)
}

/// Maps one invoice to an order record, or rejects it with the reason; `received` is what its
/// receipts pay ([`Payments::received`]).
pub fn prepare(
    invoice: &Invoice,
    received: Decimal,
    rules: &InvoiceRules,
    tz: &TimeZone,
) -> SourceRecord {
    let record = directo_client::ToRecord::to_output_record(invoice);
    let id = record
        .get("number")
        .filter(|n| !n.trim().is_empty())
        .unwrap_or("(no number)")
        .to_owned();
    let verdict = match order_fields(invoice, &record, received, rules, tz) {
        Ok(item) => Verdict::Send(vec![item]),
        Err(reason) => Verdict::Reject(reason),
    };
    SourceRecord {
        id,
        watermark: invoice.ts,
        verdict,
    }
}

fn order_fields(
    invoice: &Invoice,
    record: &directo_client::Record,
    received: Decimal,
    rules: &InvoiceRules,
    tz: &TimeZone,
) -> Result<Item, String> {
    let number = match (invoice.number, record.get("number")) {
        (Some(n), _) if n > 0 => n.to_string(),
        (_, Some(raw)) if !raw.trim().is_empty() => {
            return Err(format!("invalid invoice number: {raw:?}"));
        }
        _ => return Err("missing invoice number".into()),
    };
    let total = total(invoice, record, rules)?;
    if total < Decimal::ZERO {
        return Err(format!("negative total (a credit invoice): {total}"));
    }
    let email = email::extract(
        invoice.email.as_deref().unwrap_or(""),
        MultipleEmails::First,
    )?
    .remove(0);
    let date = invoice
        .date
        .ok_or_else(|| match record.get("date") {
            Some(raw) => format!("invalid date: {raw:?}"),
            None => "missing invoice date".to_owned(),
        })?
        .to_datetime(jiff::civil::Time::midnight())
        .to_zoned(tz.clone())
        .map_err(|e| format!("invalid date: {e}"))?;
    let paid = is_paid(record, total, received, rules)?;
    let currency = invoice
        .currency
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .unwrap_or(&rules.default_currency);
    let mut fields = Map::new();
    fields.insert("externalOrderId".into(), number.clone().into());
    if let Some(code) = invoice
        .customercode
        .as_deref()
        .filter(|c| !c.trim().is_empty())
    {
        fields.insert("externalCustomerId".into(), code.trim().into());
    }
    fields.insert("email".into(), email.into());
    let status = if paid { "DELIVERED" } else { "INITIALIZED" };
    fields.insert("status".into(), status.into());
    fields.insert("totalCost".into(), total.to_string().into());
    fields.insert("currency".into(), currency.to_ascii_uppercase().into());
    fields.insert("date".into(), date.to_string().into());
    let items = items(invoice);
    if !items.is_empty() {
        fields.insert("items".into(), Value::Array(items));
    }
    Ok(Item {
        key: number,
        fields,
    })
}

/// Reads the receipts changed since `read_from` (since `read_from - receipts_lookback` while
/// the state keeps none for `job`), keeps what each pays in the state (replacing what it paid
/// before), and drops receipts last changed before `read_from - receipts_lookback`. A stop
/// request ends the read early, keeping nothing of it (the run then ends as interrupted).
pub async fn read_payments(
    directo: &directo_client::Client,
    state: &StateStore,
    job: &str,
    read_from: DateTime,
    rules: &InvoiceRules,
) -> Result<Payments, Error> {
    let lookback = jiff::SignedDuration::try_from(rules.receipts_lookback)
        .map_err(|e| Error::Config(format!("invoices.receipts_lookback: {e}")))?;
    let oldest = read_from.checked_sub(lookback).unwrap_or(DateTime::MIN);
    let from = if state.has_contributions(job)? {
        read_from
    } else {
        oldest
    };
    tracing::info!(from = %from, "reading Directo receipts");
    let stop = sync_kit::Stop::process();
    let mut payments = Payments::default();
    let receipts = open_read::<Receipt>(directo, "receipt", Query::new().since(from)).await?;
    let mut receipts = std::pin::pin!(receipts.take_until(stop.requested()));
    while let Some(receipt) = receipts.next().await {
        let receipt = match receipt {
            Ok(receipt) => receipt,
            // A receipt that cannot be decoded pays nothing new: what the state keeps of it
            // from an earlier run stays, and the others still count.
            Err(e) if record_scoped(&e) => {
                tracing::warn!(error = %e, "skipping a Directo receipt");
                continue;
            }
            Err(e) => return Err(Error::from_source(e)),
        };
        let kept = match Payments::key(&receipt) {
            Some(key) => state.contributions_of(job, &key)?,
            None => Vec::new(),
        };
        payments.add(&receipt, &kept, read_from);
    }
    if stop.is_requested() {
        return Ok(payments);
    }
    state.replace_contributions(job, payments.receipts())?;
    let dropped = state.prune_contributions(job, oldest)?;
    if dropped > 0 {
        tracing::info!(dropped, "receipt rows older than the lookback dropped");
    }
    Ok(payments)
}

/// Runs the sync once per the flags: a normal run, a dry run, or a replay of parked orders.
/// `messaging` is `None` only for a dry run, which sends nothing and needs no messaging
/// credentials.
pub async fn run_once(
    args: &CommonArgs,
    config: &Config,
    directo: &directo_client::Client,
    messaging: Option<&messaging_client::Client>,
    state: &StateStore,
) -> Result<Summary, Error> {
    let tz = config.time_zone()?;
    match messaging.filter(|_| !args.dry_run) {
        Some(client) => {
            let sink = OrdersSink {
                client: client.clone(),
                tz: tz.clone(),
            };
            run_into(args, config, directo, state, &sink).await
        }
        None => {
            let sink = DryRun(|batch: &[Item]| super::orders::preview(batch, &tz));
            run_into(args, config, directo, state, &sink).await
        }
    }
}

async fn run_into<K: Sink>(
    args: &CommonArgs,
    config: &Config,
    directo: &directo_client::Client,
    state: &StateStore,
    sink: &K,
) -> Result<Summary, Error> {
    let tz = config.time_zone()?;
    let read_from = args.read_from(state, &config.job, &tz)?;
    let ctx = RunContext {
        job: &config.job,
        state,
        dry_run: args.dry_run,
        force: args.force,
        read_from: (!args.replay_failed).then_some(read_from),
        progress: args.progress(),
        stop: sync_kit::Stop::process(),
    };
    if args.replay_failed {
        return sync_kit::replay_failed(ctx, sink).await;
    }
    let rules = &config.invoices;
    let job = config.job.name.as_str();
    let payments = read_payments(directo, state, job, read_from, rules).await?;
    if ctx.stop.is_requested() {
        // Stopped while reading receipts: nothing more is read, and the run ends interrupted.
        return sync_kit::run(ctx, futures::stream::empty(), sink).await;
    }
    tracing::info!(from = %read_from, "reading Directo invoices");
    let seen = RefCell::new(HashSet::new());
    let changed = open_read::<Invoice>(directo, "invoice", Query::new().since(read_from))
        .await?
        .inspect(|invoice| {
            if let Ok(Invoice {
                number: Some(n), ..
            }) = invoice
            {
                seen.borrow_mut().insert(n.to_string());
            }
        });
    // Runs once the changed invoices are all read, so it knows which ones were not.
    let paid_since = futures::stream::once(async {
        let seen = seen.borrow();
        let missing: Vec<String> = if rules.reread_paid {
            payments
                .recent
                .iter()
                .filter(|n| !seen.contains(*n))
                .filter(|n| args.force || status_may_change(state, job, n, &payments, rules))
                .cloned()
                .collect()
        } else {
            Vec::new()
        };
        if !missing.is_empty() {
            tracing::info!(
                count = missing.len(),
                "re-reading invoices paid since the last run"
            );
        }
        futures::stream::iter(missing)
            .map(|n| {
                directo
                    .read::<Invoice>("invoice", Query::new().filter("number", n))
                    .map_err(|e| Box::new(Error::reading("Directo", e)) as BoxError)
            })
            .flatten()
    })
    .flatten();
    let records = changed
        .chain(paid_since)
        .map(|invoice| -> Result<_, BoxError> {
            let received = match &invoice {
                Ok(invoice) => received(state, job, &payments, invoice)?,
                Err(_) => Decimal::ZERO,
            };
            source_record(invoice, |i| prepare(&i, received, rules, &tz))
        });
    sync_kit::run(ctx, records, sink).await
}

/// What the receipts pay for `invoice`: those read in this run and those the state keeps.
fn received(
    state: &StateStore,
    job: &str,
    payments: &Payments,
    invoice: &Invoice,
) -> Result<Decimal, Error> {
    let number = invoice.number.map(|n| n.to_string()).unwrap_or_default();
    let kept = state.contributions_to(job, &number)?;
    Ok(payments.received(&number, &kept))
}

/// Whether an invoice not changed itself, whose payments changed, needs reading again: unless its
/// last delivered order (the snapshot) already has the status its payments give now. Without a
/// snapshot, with a balance attribute (the invoice decides), or when in doubt: yes.
fn status_may_change(
    state: &StateStore,
    job: &str,
    number: &str,
    payments: &Payments,
    rules: &InvoiceRules,
) -> bool {
    if rules.balance_attribute.is_some() {
        return true;
    }
    let Ok(Some(order)) = state.snapshot(job, number) else {
        return true;
    };
    let total = order
        .get("totalCost")
        .and_then(Value::as_str)
        .and_then(|t| t.parse::<Decimal>().ok());
    let (Some(total), Ok(kept)) = (total, state.contributions_to(job, number)) else {
        return true;
    };
    let status = if payments.received(number, &kept) >= total {
        "DELIVERED"
    } else {
        "INITIALIZED"
    };
    order.get("status").and_then(Value::as_str) != Some(status)
}

#[cfg(feature = "sandbox")]
/// The sandbox's Directo fake, seeded with demo invoices and receipts changed in the hour
/// before `demo_time`.
pub async fn sandbox_directo_fake(
    tz: &TimeZone,
    demo_time: jiff::Timestamp,
) -> directo_client::fake::FakeDirecto {
    let fake = directo_client::fake::FakeDirecto::start().await;
    let now = demo_time.to_zoned(tz.clone()).datetime();
    let (invoices, receipts) = super::demo::invoices(super::demo::INVOICES, now);
    fake.seed_records("invoice", invoices);
    fake.seed_records("receipt", receipts);
    fake
}

/// The whole subcommand: config → clients (or the sandbox) → runs → exit code. Everything that
/// can be wrong with the flags, the config or the credentials is found before the state file
/// is opened, so none is created for nothing.
pub async fn main(args: CommonArgs) -> ExitCode {
    sync_kit::stop::listen();
    let guard = StateGuard::new(&args);
    let setup = async {
        let config = Config::load(args.config.as_deref())?;
        if let Some(code) = sync_kit::cli::inspect(&args, &config.job) {
            return Ok(Err(code));
        }
        #[cfg_attr(not(feature = "sandbox"), allow(unused_variables))]
        let tz = config.time_zone()?;
        #[cfg(feature = "sandbox")]
        let started = match args.sandbox {
            true => {
                let file = SandboxFile::open(&args)?;
                let (mut sandbox, messaging) = Sandbox::start(file, &config.messaging).await?;
                let directo_fake = sandbox_directo_fake(&tz, sandbox.demo_time()).await;
                let directo =
                    crate::shared::directo::sandbox_directo(&directo_fake, &config.directo)?;
                sandbox.directo = Some(directo_fake);
                Some((sandbox, (directo, messaging)))
            }
            false => None,
        };
        #[cfg(not(feature = "sandbox"))]
        let started = Sandbox::start(args.sandbox)?;
        let (sandbox, directo, messaging) = match started {
            Some((sandbox, (directo, messaging))) => (Some(sandbox), directo, Some(messaging)),
            None => {
                let directo = directo_from_env(&config.directo)?;
                // A dry run sends nothing: no messaging credentials needed.
                let messaging = (!args.dry_run)
                    .then(|| super::client_from_env(&config.messaging))
                    .transpose()?;
                (None, directo, messaging)
            }
        };
        if let Some(messaging) = messaging.as_ref().filter(|_| !args.dry_run) {
            // Wrong credentials are a configuration error, not every order parked.
            messaging.account_info().await.map_err(client_error)?;
        }
        let state = args.open_state()?;
        Ok::<_, Error>(Ok((config, state, sandbox, directo, messaging)))
    };
    let (config, state, sandbox, directo, messaging) = match setup.await {
        Ok(Ok(ok)) => ok,
        Ok(Err(code)) => return code,
        Err(e) => return report_error(args.json, &e),
    };
    let job = async |state: &StateStore| {
        run_once(&args, &config, &directo, messaging.as_ref(), state).await
    };
    crate::shared::run::run_job(&args, &config.job.name, sandbox.as_ref(), guard, state, job).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use directo_client::{InvoiceRow, ReceiptRow};

    fn invoice(number: i64, total: &str, email: &str) -> Invoice {
        let mut inv = Invoice {
            number: Some(number),
            customercode: Some("C1".into()),
            date: Some(jiff::civil::date(2024, 7, 1)),
            currency: Some("eur".into()),
            email: Some(email.into()),
            rows: vec![
                InvoiceRow {
                    item: Some("SKU-1".into()),
                    description: Some("Mug".into()),
                    quantity: Some("2.5".parse().unwrap()),
                    price: Some("4.00".parse().unwrap()),
                    ..Default::default()
                },
                InvoiceRow {
                    description: Some("note".into()),
                    quantity: Some(Decimal::ZERO),
                    ..Default::default()
                },
                InvoiceRow::default(),
            ],
            ..Default::default()
        };
        inv.extra.insert("total".into(), total.into());
        inv
    }

    fn receipt(invoice: &str, received: &str, ts: &str) -> Receipt {
        Receipt {
            number: Some(1),
            ts: Some(ts.parse().unwrap()),
            rows: vec![ReceiptRow {
                invoice: Some(invoice.parse().unwrap()),
                received: Some(received.parse().unwrap()),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn fields(record: SourceRecord) -> Map<String, Value> {
        match record.verdict {
            Verdict::Send(mut items) => items.remove(0).fields,
            other => panic!("not sent: {other:?}"),
        }
    }

    #[test]
    fn quantities_round_half_away_from_zero() {
        let q = |s: &str| whole_quantity(s.parse().unwrap());
        assert_eq!(q("2.5"), Some(3));
        assert_eq!(q("2.49"), Some(2));
        assert_eq!(q("-0.5"), Some(-1));
        assert_eq!(q("0.4"), Some(0));
    }

    #[test]
    fn paid_when_receipts_cover_the_total() {
        let tz = TimeZone::get("Europe/Tallinn").unwrap();
        let rules = InvoiceRules::default();
        let from: DateTime = "2024-07-01T00:00".parse().unwrap();
        let mut payments = Payments::default();
        payments.add(&receipt("0042", "5.00", "2024-06-01T10:00"), &[], from);
        assert!(payments.recent.is_empty(), "an old receipt is not recent");
        let received = payments.received("42", &[]);
        let o = fields(prepare(
            &invoice(42, "10.00", "a@example.com"),
            received,
            &rules,
            &tz,
        ));
        assert_eq!(o["status"], "INITIALIZED");
        let mut second = receipt("42", "5.00", "2024-07-02T10:00");
        second.number = Some(2);
        payments.add(&second, &[], from);
        assert_eq!(payments.recent, BTreeSet::from(["42".to_owned()]));
        let o = fields(prepare(
            &invoice(42, "10.00", "a@example.com"),
            payments.received("42", &[]),
            &rules,
            &tz,
        ));
        assert_eq!(o["status"], "DELIVERED");
        assert_eq!(o["externalOrderId"], "42");
        assert_eq!(o["externalCustomerId"], "C1");
        assert_eq!(o["totalCost"], "10.00");
        assert_eq!(o["currency"], "EUR");
        assert_eq!(o["date"], "2024-07-01T00:00:00+03:00[Europe/Tallinn]");
        assert_eq!(
            o["items"],
            json!([{"externalItemId": "SKU-1", "name": "Mug", "description": "Mug", "quantity": 3, "cost": "4.00"}])
        );
        let order = super::super::orders::order(&o, &tz).unwrap();
        assert_eq!(order.items[0].quantity, 3.into());

        let mut unconfirmed = receipt("43", "99", "2024-07-02T10:00");
        unconfirmed.number = Some(3);
        unconfirmed.confirmed = Some(false);
        payments.add(&unconfirmed, &[], from);
        assert_eq!(payments.received("43", &[]), Decimal::ZERO);
    }

    #[test]
    fn a_receipt_read_again_replaces_what_it_paid_and_kept_ones_still_count() {
        let from: DateTime = "2024-07-01T00:00".parse().unwrap();
        let dec = |s: &str| s.parse::<Decimal>().unwrap();
        // Kept from earlier runs: receipt 1 paid 42 in full (10.00), receipt 9 paid 7.
        let kept_42 = [("receipt 1".to_owned(), dec("10.00"))];
        let kept_7 = [("receipt 9".to_owned(), dec("3.00"))];
        let mut payments = Payments::default();
        assert_eq!(payments.received("42", &kept_42), dec("10.00"));
        // Receipt 1 is edited: it now pays 43, not 42.
        let edited = receipt("43", "10.00", "2024-07-02T10:00");
        let kept_parts = [("#1".to_owned(), "42".to_owned(), dec("10.00"))];
        payments.add(&edited, &kept_parts, from);
        assert_eq!(payments.received("42", &kept_42), Decimal::ZERO, "replaced");
        assert_eq!(payments.received("43", &[]), dec("10.00"));
        assert_eq!(
            payments.received("7", &kept_7),
            dec("3.00"),
            "not read: kept"
        );
        assert_eq!(
            payments.recent,
            BTreeSet::from(["42".to_owned(), "43".to_owned()]),
            "the invoice it no longer pays changed too"
        );
        let kept: Vec<_> = payments.receipts().collect();
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].0, "receipt 1");
        assert_eq!(
            kept[0].2,
            [("#1".to_owned(), "43".to_owned(), dec("10.00"))]
        );
    }

    #[test]
    fn balance_attribute_wins_and_total_falls_back_to_rows() {
        let tz = TimeZone::UTC;
        let rules = InvoiceRules {
            balance_attribute: Some("balance".into()),
            ..InvoiceRules::default()
        };
        let mut inv = invoice(7, "", "a@example.com");
        inv.extra.insert("balance".into(), "0.00".into());
        let o = fields(prepare(&inv, Decimal::ZERO, &rules, &tz));
        assert_eq!(o["status"], "DELIVERED");
        assert_eq!(o["totalCost"], "10.00", "2.5 × 4.00 from the rows");
    }

    #[test]
    fn bad_invoices_are_rejected_with_a_reason() {
        let tz = TimeZone::UTC;
        let rules = InvoiceRules::default();
        let reason = |inv: &Invoice| match prepare(inv, Decimal::ZERO, &rules, &tz).verdict {
            Verdict::Reject(r) => r,
            other => panic!("not rejected: {other:?}"),
        };
        assert!(reason(&invoice(1, "ten", "a@example.com")).starts_with("invalid total"));
        assert!(reason(&invoice(1, "1", "nobody")).contains("no @"));
        assert!(reason(&invoice(1, "-5", "a@example.com")).starts_with("negative total"));
        let mut bad = invoice(1, "1", "a@example.com");
        bad.number = None;
        bad.extra.insert("number".into(), "A-17".into());
        assert_eq!(reason(&bad), "invalid invoice number: \"A-17\"");
        let mut no_date = invoice(1, "1", "a@example.com");
        no_date.date = None;
        assert_eq!(reason(&no_date), "missing invoice date");
    }
}

#[cfg(test)]
mod shipped_config {
    #[test]
    fn the_example_config_is_the_default() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/config/directo-orders.toml");
        let config = super::Config::load(Some(std::path::Path::new(path))).unwrap();
        let mut default = super::Config::default();
        default.job.default_name(super::JOB_NAME);
        assert_eq!(config, default);
    }
}
