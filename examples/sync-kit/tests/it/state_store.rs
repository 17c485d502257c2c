//! The state store's own behaviour, run against both backends (SQLite in memory, and a fresh
//! PostgreSQL database): the same assertions, one body per test.

use std::time::Duration;

use rust_decimal::Decimal;
use sync_kit::state::Begun;
use sync_kit::{Item, Mode, RunStatus, Summary};

use crate::common::{on_both_backends, store};

const JOB: &str = "job";

fn item(key: &str, name: &str) -> Item {
    let mut fields = serde_json::Map::new();
    fields.insert("email".into(), key.into());
    fields.insert("name".into(), name.into());
    Item {
        key: key.into(),
        fields,
    }
}

on_both_backends! {
fn watermarks_are_kept_per_job(backend: Backend) {
    let store = store(backend);
    assert_eq!(store.watermark("j").unwrap(), None);
    let ts: jiff::civil::DateTime = "2024-01-15T10:30:00".parse().unwrap();
    store.set_watermark("j", ts).unwrap();
    assert_eq!(store.watermark("j").unwrap(), Some(ts));
    assert!(store.watermark_updated_at("j").unwrap().is_some());
    assert_eq!(store.watermark("other").unwrap(), None);
    assert_eq!(store.report_rows_read("j", "r.csv").unwrap(), 0);
    store.set_report_rows_read("j", "r.csv", 12).unwrap();
    assert_eq!(store.report_rows_read("j", "r.csv").unwrap(), 12);
    assert_eq!(store.report_rows_read("other", "r.csv").unwrap(), 0);
}
}

on_both_backends! {
fn failures_accumulate_attempts_and_delivery_clears_them(backend: Backend) {
    let store = store(backend);
    let a = item("a@example.com", "A");
    store
        .record_outcomes("j", &[], &[(a.clone(), "HTTP 500".into(), 3)])
        .unwrap();
    store
        .record_outcomes("j", &[], &[(a.clone(), "HTTP 502".into(), 1)])
        .unwrap();
    let failed = store.failed("j").unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].attempts, 4);
    assert_eq!(failed[0].error, "HTTP 502");
    assert_eq!(failed[0].item(), a);
    store
        .record_outcomes("j", std::slice::from_ref(&a), &[])
        .unwrap();
    assert_eq!(store.failed_count("j").unwrap(), 0);
    assert_eq!(store.snapshot("j", "a@example.com").unwrap(), Some(a.fields));
}
}

on_both_backends! {
fn a_refused_delivery_is_parked_with_its_payload_and_loses_its_snapshot(backend: Backend) {
    let store = store(backend);
    let a = item("a@example.com", "A");
    store
        .record_outcomes("j", std::slice::from_ref(&a), &[])
        .unwrap();
    assert!(store.park_delivered("j", &a.key, "rejected: bad").unwrap());
    assert_eq!(store.snapshot("j", &a.key).unwrap(), None);
    let failed = store.failed("j").unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].item(), a);
    assert_eq!(failed[0].error, "rejected: bad");
    assert!(!store.park_delivered("j", "nobody@example.com", "x").unwrap());
    assert!(!store.park_delivered("j", &a.key, "again").unwrap(), "no snapshot left");
}
}

on_both_backends! {
fn discarding_parked_records_removes_them_and_logs_a_run_listing_them(backend: Backend) {
    let store = store(backend);
    let (a, b) = (item("a@example.com", "A"), item("b@example.com", "B"));
    store
        .record_outcomes(
            JOB,
            &[],
            &[(a.clone(), "HTTP 500".into(), 1), (b.clone(), "HTTP 500".into(), 1)],
        )
        .unwrap();
    let gone = store
        .discard_failed(JOB, &[a.key.clone(), "nobody@example.com".into()])
        .unwrap();
    assert_eq!(gone.len(), 1);
    assert_eq!(gone[0].key, a.key);
    assert_eq!(store.failed(JOB).unwrap()[0].key, b.key);
    let run = &store.runs(JOB, 1).unwrap()[0];
    assert_eq!(run.mode, "discard_failed");
    assert_eq!(run.status, RunStatus::Completed);
    assert_eq!(run.discarded, [a.key]);
    assert!(store.discard_failed(JOB, &["nobody".into()]).unwrap().is_empty());
    assert_eq!(store.run_count(JOB).unwrap(), 1, "nothing discarded, nothing logged");
}
}

on_both_backends! {
fn contributions_are_replaced_per_source_and_pruned_by_age(backend: Backend) {
    let store = store(backend);
    assert!(!store.has_contributions(JOB).unwrap());
    let old: jiff::civil::DateTime = "2024-01-01T00:00".parse().unwrap();
    let new: jiff::civil::DateTime = "2024-06-01T00:00".parse().unwrap();
    let d = |s: &str| s.parse::<Decimal>().unwrap();
    let r1 = [("1".to_owned(), "inv-1".to_owned(), d("10.50"))];
    let r2 = vec![
        ("1".to_owned(), "inv-1".to_owned(), d("2.25")),
        ("2".to_owned(), "inv-2".to_owned(), d("7")),
    ];
    store
        .replace_contributions(JOB, [("r1", Some(old), &r1[..]), ("r2", Some(new), &r2[..])])
        .unwrap();
    assert!(store.has_contributions(JOB).unwrap());
    assert_eq!(store.contributions_of(JOB, "r2").unwrap(), r2);
    let mut to = store.contributions_to(JOB, "inv-1").unwrap();
    to.sort();
    assert_eq!(to, [("r1".to_owned(), d("10.50")), ("r2".to_owned(), d("2.25"))]);
    // Replaced: the part no longer there is gone.
    store
        .replace_contributions(JOB, [("r2", Some(new), &r2[1..])])
        .unwrap();
    assert_eq!(store.contributions_of(JOB, "r2").unwrap(), &r2[1..]);
    assert_eq!(
        store.prune_contributions(JOB, "2024-03-01T00:00".parse().unwrap()).unwrap(),
        1
    );
    assert!(store.contributions_of(JOB, "r1").unwrap().is_empty());
    assert!(!store.has_contributions("other").unwrap());
}
}

on_both_backends! {
fn a_claimed_run_is_adopted_by_the_run_that_begins_and_failed_when_none_does(backend: Backend) {
    let store = store(backend);
    let Begun::Started(claimed) = store.claim_run(JOB, Mode::Run).unwrap() else {
        panic!("not claimed");
    };
    // The run that begins takes the claimed row, with its read-from point.
    let from = "2024-03-01T00:00".parse().unwrap();
    let Begun::Started(run) = store.begin_run(JOB, Mode::Run, Some(from)).unwrap() else {
        panic!("not started");
    };
    assert_eq!(run, claimed);
    assert_eq!(store.run_count(JOB).unwrap(), 1);
    assert_eq!(
        store.runs(JOB, 1).unwrap()[0].read_from.as_deref(),
        Some("2024-03-01T00:00:00")
    );
    // Adopted: failing the claim now changes nothing.
    store.fail_claim(JOB, "too late").unwrap();
    let adopted = &store.runs(JOB, 1).unwrap()[0];
    assert_ne!(adopted.status, RunStatus::Failed);
    assert_eq!(adopted.finished_at, None);

    // A claim no run adopts ends as failed, with its error.
    let other = "other-job";
    store.claim_run(other, Mode::ReplayFailed).unwrap();
    store
        .fail_claim(other, "reading Directo failed: connection refused")
        .unwrap();
    let runs = store.runs(other, 5).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, RunStatus::Failed);
    assert_eq!(runs[0].mode, "replay_failed");
    assert_eq!(
        runs[0].aborted.as_deref(),
        Some("reading Directo failed: connection refused")
    );
    assert!(runs[0].finished_at.is_some());
    assert_eq!(store.jobs().unwrap(), [JOB, other]);
}
}

on_both_backends! {
fn a_finished_run_logs_its_summary_and_settles_the_unfinished_ones_it_covered(backend: Backend) {
    let store = store(backend);
    let from = "2024-03-01T00:00".parse().unwrap();
    // A run that never finished (its process is this one's leftover: gone).
    let Begun::Started(_) = store.begin_run(JOB, Mode::Run, Some(from)).unwrap() else {
        panic!()
    };
    let Begun::Started(run) = store.begin_run(JOB, Mode::Run, Some(from)).unwrap() else {
        panic!()
    };
    assert_eq!(store.unsettled_from(JOB).unwrap(), Some(from));
    let mut summary = Summary::new(JOB, Mode::Run);
    summary.read = 7;
    summary.delivered = 5;
    summary.read_from = Some(from.to_string());
    summary.skip_key("k1".into(), "no email");
    store.heartbeat(run, &summary).unwrap();
    assert_eq!(store.runs(JOB, 1).unwrap()[0].read, 7);
    summary.finish(Duration::from_millis(1500));
    store.finish_run(run, &summary).unwrap();
    store.set_last_run_requests(JOB, 42).unwrap();

    let runs = store.runs(JOB, 5).unwrap();
    assert_eq!(runs[0].status, RunStatus::Completed);
    assert_eq!((runs[0].read, runs[0].delivered, runs[0].requests), (7, 5, 42));
    assert_eq!(runs[0].elapsed_secs, Some(1.5));
    assert_eq!(runs[1].status, RunStatus::Interrupted);
    assert_eq!(runs[1].resumed_by, Some(runs[0].id));
    assert_eq!(store.unsettled_from(JOB).unwrap(), None);
    assert!(store.last_success(JOB).unwrap().is_some());
    let skipped = store.last_skipped(JOB).unwrap().unwrap();
    assert_eq!(skipped.run, runs[0].id);
    assert_eq!(skipped.skips[0].key, "k1");
    assert_eq!(store.running_elsewhere(JOB).unwrap(), None);
}
}
