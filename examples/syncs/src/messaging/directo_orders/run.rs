//! One run: read the receipts and the invoices changed since the last run, deliver the orders;
//! and the subcommand's `main`.

use std::cell::RefCell;
use std::collections::HashSet;

use directo_client::{Invoice, Query, Receipt};
use futures::{StreamExt, TryStreamExt};
use jiff::civil::DateTime;
#[cfg(feature = "sandbox")]
use jiff::tz::TimeZone;
use rust_decimal::Decimal;
use serde_json::Value;

use super::mapping::{Payments, prepare};
use super::{Config, InvoiceRules};
use crate::directo_to_smaily::run::{log_setup_failure, refuse_overlap};
use crate::messaging::orders::OrdersSink;
use crate::messaging::{Sandbox, client_error};
use crate::shared::directo::{directo_from_env, open_read, record_scoped, source_record};
use sync_kit::preview::DryRun;
#[cfg(feature = "sandbox")]
use sync_kit::sandbox::SandboxFile;
use sync_kit::state_guard::StateGuard;
use sync_kit::{
    BoxError, CommonArgs, Error, ExitCode, Item, RunContext, Sink, StateStore, Summary,
    report_error,
};

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
            let sink = DryRun(|batch: &[Item]| crate::messaging::orders::preview(batch, &tz));
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
        read_until: args.read_until(&tz),
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
    let (invoices, receipts) =
        crate::messaging::demo::invoices(crate::messaging::demo::INVOICES, now);
    fake.seed_records("invoice", invoices);
    fake.seed_records("receipt", receipts);
    fake
}

/// The whole subcommand: config → clients (or the sandbox) → runs → exit code. Everything that
/// can be wrong with the flags, the config or the credentials is found before the state file
/// is opened, so none is created for nothing.
pub async fn main(args: CommonArgs) -> ExitCode {
    if args.check {
        return crate::messaging::preflight::check_directo_orders(&args).await;
    }
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
                    .then(|| crate::messaging::client_from_env(&config.messaging))
                    .transpose()?;
                (None, directo, messaging)
            }
        };
        // Everything above sends nothing: its errors leave no state file. From the first
        // request on, a failure is a run in the run log, with its error.
        let state = args.open_state()?;
        if let Some(messaging) = messaging.as_ref().filter(|_| !args.dry_run) {
            refuse_overlap(&state, &config.job.name)?;
            // Wrong credentials are a configuration error, not every order parked.
            if let Err(e) = messaging.account_info().await.map_err(client_error) {
                log_setup_failure(&args, &state, &config.job.name, &e);
                return Err(e);
            }
        }
        Ok::<_, Error>(Ok((config, state, sandbox, directo, messaging)))
    };
    // The set-up's requests (the credentials check) are counted into the first run.
    let (setup, startup) = marketing_sync_core::count_requests(setup).await;
    let (config, state, sandbox, directo, messaging) = match setup {
        Ok(Ok(ok)) => ok,
        Ok(Err(code)) => return code,
        Err(e) => return report_error(args.json, &e),
    };
    let job = async |state: &StateStore| {
        run_once(&args, &config, &directo, messaging.as_ref(), state).await
    };
    crate::shared::run::run_job(&args, &config.job.name, sandbox, guard, state, startup, job).await
}
