//! The generic runner against an in-test sink: batching, diffing, retries, parking, replay,
//! dry runs, aborted sources and watermarks.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use futures::stream;
use serde_json::{Map, json};
use sync_kit::{
    Delivery, ExitCode, Item, JobConfig, RetrySchedule, RunContext, Sink, SourceRecord, StateStore,
    Stop, Verdict, replay_failed, run,
};

use crate::common::{ScriptedSink, ctx, job, on_both_backends, record, records, store};

on_both_backends! {
async fn delivers_in_batches_and_advances_the_watermark(backend: Backend) {
    let state = store(backend);
    let job = job();
    let sink = ScriptedSink::default();
    let summary = run(ctx(&job, &state), stream::iter(records(95)), &sink)
        .await
        .unwrap();
    assert_eq!(summary.read, 95);
    assert_eq!(summary.delivered, 95);
    assert_eq!(summary.requests, 10);
    assert_eq!(sink.batch_count(), 10);
    assert_eq!(summary.exit_code, ExitCode::Success);
    assert_eq!(
        state.watermark("test-job").unwrap().unwrap().to_string(),
        "2024-01-28T10:00:00"
    );
    assert_eq!(state.snapshot_count("test-job").unwrap(), 95);
    assert_eq!(state.run_count("test-job").unwrap(), 1);
    let mut sent = sink.sent_keys();
    sent.sort();
    sent.dedup();
    assert_eq!(sent.len(), 95, "every record exactly once");
}
}

on_both_backends! {
async fn unchanged_records_are_skipped_and_changed_ones_sent(backend: Backend) {
    let state = store(backend);
    let job = job();
    let sink = ScriptedSink::default();
    run(ctx(&job, &state), stream::iter(records(20)), &sink)
        .await
        .unwrap();

    let sink = ScriptedSink::default();
    let mut second = records(20);
    second[3] = record(3, "Renamed");
    let summary = run(ctx(&job, &state), stream::iter(second), &sink)
        .await
        .unwrap();
    assert_eq!(summary.skipped, 19);
    assert_eq!(summary.delivered, 1);
    assert_eq!(sink.sent_keys(), vec!["user3@example.com"]);

    // --force sends everything again.
    let sink = ScriptedSink::default();
    let mut forced = ctx(&job, &state);
    forced.force = true;
    let summary = run(forced, stream::iter(records(20)), &sink).await.unwrap();
    assert_eq!(summary.delivered, 20);
}
}

on_both_backends! {
async fn retries_then_parks_and_replay_delivers(backend: Backend) {
    let state = store(backend);
    let job = job();
    let sink = ScriptedSink::default();
    sink.fail("user1@example.com", 2, true); // succeeds on the 3rd attempt
    sink.fail("user2@example.com", u32::MAX, true); // fails all 3 attempts
    sink.fail("user3@example.com", u32::MAX, false); // rejected: no retry
    let summary = run(ctx(&job, &state), stream::iter(records(5)), &sink)
        .await
        .unwrap();
    assert_eq!(summary.delivered, 3);
    assert_eq!(summary.failed, 2);
    assert_eq!(summary.exit_code, ExitCode::Failed);
    assert_eq!(summary.requests, 3, "1 batch + 2 retries");
    let sent = sink.sent_keys();
    assert_eq!(sent.iter().filter(|k| *k == "user1@example.com").count(), 3);
    assert_eq!(sent.iter().filter(|k| *k == "user2@example.com").count(), 3);
    assert_eq!(sent.iter().filter(|k| *k == "user3@example.com").count(), 1);

    let parked = state.failed("test-job").unwrap();
    let by_key: HashMap<_, _> = parked.iter().map(|f| (f.key.as_str(), f)).collect();
    assert_eq!(by_key["user2@example.com"].attempts, 3);
    assert_eq!(by_key["user3@example.com"].attempts, 1);
    assert!(by_key["user2@example.com"].error.contains("HTTP 503"));
    // Parked records count as settled: the watermark moved past them.
    assert!(state.watermark("test-job").unwrap().is_some());

    // Replay: user2 now works, user3 is still rejected.
    let replay_sink = ScriptedSink::default();
    replay_sink.fail("user3@example.com", u32::MAX, false);
    let summary = replay_failed(ctx(&job, &state), &replay_sink)
        .await
        .unwrap();
    assert_eq!(summary.read, 2);
    assert_eq!(summary.delivered, 1);
    assert_eq!(summary.failed, 1);
    assert_eq!(summary.parked_total, 1);
    let parked = state.failed("test-job").unwrap();
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].key, "user3@example.com");
    assert_eq!(parked[0].attempts, 2);
    assert!(
        state
            .snapshot("test-job", "user2@example.com")
            .unwrap()
            .is_some()
    );
}
}

#[tokio::test]
async fn dry_run_sends_nothing_and_changes_no_state() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let job = job();
    {
        let state = StateStore::open(&path).unwrap();
        run(
            ctx(&job, &state),
            stream::iter(records(5)),
            &ScriptedSink::default(),
        )
        .await
        .unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let state = StateStore::open_read_only(&path).unwrap();
    let sink = ScriptedSink::default();
    let mut dry = ctx(&job, &state);
    dry.dry_run = true;
    let mut changed = records(8);
    changed[0] = record(0, "Changed");
    let summary = run(dry, stream::iter(changed), &sink).await.unwrap();
    assert_eq!(sink.batch_count(), 0);
    assert_eq!(summary.delivered, 4, "1 changed + 3 new would be sent");
    assert_eq!(summary.skipped, 4);
    drop(state);
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

on_both_backends! {
async fn rejected_records_are_counted_with_reasons(backend: Backend) {
    let state = store(backend);
    let job = job();
    let mut input = records(3);
    input.push(Ok(SourceRecord {
        id: "C-bad".into(),
        watermark: None,
        verdict: Verdict::Reject("email has no @: \"nope\"".into()),
    }));
    let summary = run(
        ctx(&job, &state),
        stream::iter(input),
        &ScriptedSink::default(),
    )
    .await
    .unwrap();
    assert_eq!(summary.filtered, 1);
    assert_eq!(summary.rejections[0].id, "C-bad");
    assert_eq!(summary.filtered_by_reason["email has no @"], 1);
    assert_eq!(summary.exit_code, ExitCode::Success);
}
}

on_both_backends! {
async fn a_source_error_aborts_without_moving_the_watermark(backend: Backend) {
    let state = store(backend);
    let job = job();
    let mut input = records(15);
    input.push(Err("connection reset by peer".into()));
    input.extend(records(30).into_iter().skip(15));
    let sink = ScriptedSink::default();
    let summary = run(ctx(&job, &state), stream::iter(input), &sink)
        .await
        .unwrap();
    assert!(
        summary
            .aborted
            .as_deref()
            .unwrap()
            .contains("connection reset")
    );
    assert_eq!(summary.exit_code, ExitCode::Failed);
    assert_eq!(
        summary.delivered, 15,
        "what was read is still delivered and recorded"
    );
    assert_eq!(state.watermark("test-job").unwrap(), None);

    // The re-run delivers only the rest.
    let sink = ScriptedSink::default();
    let summary = run(ctx(&job, &state), stream::iter(records(30)), &sink)
        .await
        .unwrap();
    assert_eq!(summary.skipped, 15);
    assert_eq!(summary.delivered, 15);
    assert!(state.watermark("test-job").unwrap().is_some());
}
}

/// A sink that learns late that one delivered key failed, as a file import's report would say.
#[derive(Default)]
struct LateReportSink {
    inner: ScriptedSink,
    finished: Mutex<u32>,
}

impl Sink for LateReportSink {
    async fn deliver(&self, batch: &[Item]) -> Delivery {
        self.inner.deliver(batch).await
    }

    async fn finish(&self, summary: &mut sync_kit::Summary) -> Result<(), sync_kit::Error> {
        *self.finished.lock().unwrap() += 1;
        summary.failed += 1;
        summary.requests += 1;
        Ok(())
    }
}

on_both_backends! {
async fn skip_verdicts_are_counted_by_reason_and_the_sink_settles_before_the_run_is_final(backend: Backend) {
    let state = store(backend);
    let job = job();
    let sink = LateReportSink::default();
    let source = records(12).into_iter().map(|r| {
        let mut r = r?;
        if r.id.ends_with('3') || r.id.ends_with('7') {
            r.verdict = Verdict::Skip("new contact, not created".into());
        }
        Ok(r)
    });
    let summary = run(ctx(&job, &state), stream::iter(source), &sink)
        .await
        .unwrap();
    assert_eq!(summary.read, 12);
    assert_eq!(summary.skipped, 2);
    assert_eq!(summary.skipped_by_reason["new contact, not created"], 2);
    assert_eq!(summary.delivered, 10);
    assert_eq!(
        sink.inner.sent_keys().len(),
        10,
        "skipped records are not sent"
    );
    assert_eq!(*sink.finished.lock().unwrap(), 1);
    // What `finish` settled is in the final summary: requests, failures and the exit code.
    assert_eq!((summary.failed, summary.requests), (1, 2));
    assert_eq!(summary.exit_code, ExitCode::Failed);

    // A dry run sends nothing, so there is nothing to settle.
    let dry = RunContext {
        dry_run: true,
        ..ctx(&job, &state)
    };
    run(dry, stream::iter(records(3)), &sink).await.unwrap();
    assert_eq!(*sink.finished.lock().unwrap(), 1);
}
}

/// A sink that takes `delay` per batch, and requests a stop after its `stop_after`-th batch.
struct SlowSink {
    inner: ScriptedSink,
    delay: Duration,
    stop_after: usize,
    trigger: sync_kit::stop::StopTrigger,
}

impl Sink for SlowSink {
    async fn deliver(&self, batch: &[Item]) -> Delivery {
        tokio::time::sleep(self.delay).await;
        let delivery = self.inner.deliver(batch).await;
        if self.inner.batch_count() >= self.stop_after {
            self.trigger.request("SIGTERM");
        }
        delivery
    }
}

on_both_backends! {
async fn a_stop_lets_the_batches_in_flight_settle_and_the_next_run_resumes_the_rest(backend: Backend) {
    let state = store(backend);
    let job = job();
    let (trigger, stop) = Stop::manual();
    let sink = SlowSink {
        inner: ScriptedSink::default(),
        delay: Duration::from_millis(20),
        stop_after: 1,
        trigger,
    };
    let read_from = "2023-12-01T00:00".parse().unwrap();
    let stopping = RunContext {
        read_from: Some(read_from),
        stop,
        ..ctx(&job, &state)
    };
    let summary = run(stopping, stream::iter(records(100)), &sink)
        .await
        .unwrap();
    assert_eq!(summary.status, sync_kit::RunStatus::Interrupted);
    assert_eq!(summary.stopped_by.as_deref(), Some("SIGTERM"));
    assert_eq!(summary.exit_code, ExitCode::Interrupted);
    // The batches in flight when the stop came (concurrency 3) were settled and recorded; no
    // new one was started.
    let sent = sink.inner.batch_count();
    assert_eq!(sent, 3);
    assert_eq!(summary.delivered as usize, sent * 10);
    assert_eq!(
        state.snapshot_count("test-job").unwrap() as usize,
        sent * 10
    );
    assert_eq!(state.watermark("test-job").unwrap(), None, "not settled");
    let runs = state.runs("test-job", 5).unwrap();
    assert_eq!(runs[0].status, sync_kit::RunStatus::Interrupted);
    assert_eq!(runs[0].delivered as usize, sent * 10);

    // The next run reads from the interrupted run's start and sends only the rest.
    let default = "2030-01-01T00:00".parse().unwrap();
    let from = sync_kit::read_from(&state, &job, None, default).unwrap();
    assert_eq!(from, read_from);
    let sink = ScriptedSink::default();
    let resumed = RunContext {
        read_from: Some(from),
        ..ctx(&job, &state)
    };
    let summary = run(resumed, stream::iter(records(100)), &sink)
        .await
        .unwrap();
    assert_eq!(summary.status, sync_kit::RunStatus::Completed);
    assert_eq!(summary.delivered as usize, 100 - sent * 10);
    assert_eq!(summary.skipped as usize, sent * 10);
    assert!(state.watermark("test-job").unwrap().is_some());
    // Settled: from now on the watermark rules again.
    assert_eq!(state.unsettled_from("test-job").unwrap(), None);
    assert_eq!(state.runs("test-job", 5).unwrap()[1].resumed_by, Some(2));
}
}

on_both_backends! {
async fn a_stop_before_anything_is_sent_delivers_nothing(backend: Backend) {
    let state = store(backend);
    let job = job();
    let (trigger, stop) = Stop::manual();
    trigger.request("SIGINT");
    let sink = ScriptedSink::default();
    let summary = run(
        RunContext {
            stop,
            ..ctx(&job, &state)
        },
        stream::iter(records(30)),
        &sink,
    )
    .await
    .unwrap();
    assert_eq!(sink.batch_count(), 0);
    assert_eq!(summary.delivered, 0);
    assert_eq!(summary.exit_code, ExitCode::Interrupted);
}
}

on_both_backends! {
async fn a_stop_cuts_retries_short_and_parks_what_still_fails(backend: Backend) {
    let state = store(backend);
    let job = JobConfig {
        retry: RetrySchedule {
            attempts: 5,
            delay: Duration::from_secs(60),
        },
        ..job()
    };
    let (trigger, stop) = Stop::manual();
    let sink = ScriptedSink::default();
    sink.fail("user1@example.com", u32::MAX, true);
    let stopping = RunContext {
        stop,
        ..ctx(&job, &state)
    };
    let started = std::time::Instant::now();
    let (summary, ()) = tokio::join!(
        async {
            run(stopping, stream::iter(records(5)), &sink)
                .await
                .unwrap()
        },
        async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            trigger.request("SIGTERM");
        }
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "did not wait a retry delay"
    );
    assert_eq!(summary.delivered, 4);
    assert_eq!(summary.failed, 1);
    assert_eq!(summary.failures[0].attempts, 1);
    assert_eq!(
        state.failed("test-job").unwrap()[0].key,
        "user1@example.com"
    );
    assert_eq!(summary.exit_code, ExitCode::Interrupted);
}
}

on_both_backends! {
async fn records_the_source_cannot_decode_are_filtered_and_the_watermark_still_moves(backend: Backend) {
    let state = store(backend);
    let job = job();
    let mut input = records(20);
    // A per-record decode error, as a source yields it: filtered with its reason, with or
    // without a change time of its own.
    input[5] = Ok(SourceRecord::rejected(
        "C5",
        Some("2024-02-20T10:00:00".parse().unwrap()),
        "invalid value: closed=\"maybe\" is not 0 or 1",
    ));
    input[9] = Ok(SourceRecord::rejected(
        "C9",
        None,
        "invalid ts: \"31.02.2024\"",
    ));
    let summary = run(
        ctx(&job, &state),
        stream::iter(input),
        &ScriptedSink::default(),
    )
    .await
    .unwrap();
    assert_eq!(summary.read, 20);
    assert_eq!(summary.filtered, 2);
    assert_eq!(summary.delivered, 18);
    assert_eq!(summary.filtered_by_reason["invalid value"], 1);
    assert_eq!(summary.filtered_by_reason["invalid ts"], 1);
    assert_eq!(summary.rejections[1].id, "C9");
    assert_eq!(summary.exit_code, ExitCode::Success);
    // Every record was delivered or filtered: the watermark moves to the latest change time,
    // the filtered record's included.
    assert_eq!(
        state.watermark("test-job").unwrap().unwrap().to_string(),
        "2024-02-20T10:00:00"
    );
}
}

on_both_backends! {
async fn a_source_that_fails_mid_way_leaves_its_range_to_the_next_run(backend: Backend) {
    let state = store(backend);
    let job = job();
    state
        .set_watermark("test-job", "2024-06-01T00:00".parse().unwrap())
        .unwrap();
    let mut input = records(15);
    input.push(Err("connection reset by peer".into()));
    let failing = RunContext {
        read_from: Some("2024-01-01T00:00".parse().unwrap()),
        ..ctx(&job, &state)
    };
    let summary = run(failing, stream::iter(input), &ScriptedSink::default())
        .await
        .unwrap();
    assert_eq!(summary.status, sync_kit::RunStatus::Failed);
    assert_eq!(
        state.watermark("test-job").unwrap().unwrap().to_string(),
        "2024-06-01T00:00:00",
        "unmoved"
    );
    // The next run reads from the failed run's start, earlier than watermark - overlap.
    let default = "2030-01-01T00:00".parse().unwrap();
    assert_eq!(
        sync_kit::read_from(&state, &job, None, default)
            .unwrap()
            .to_string(),
        "2024-01-01T00:00:00"
    );
    // An explicit --since still wins.
    let since = "2024-05-01T00:00".parse().unwrap();
    assert_eq!(
        sync_kit::read_from(&state, &job, Some(since), default).unwrap(),
        since
    );
}
}

on_both_backends! {
async fn several_records_with_one_key_deliver_one_winner_and_list_the_others(backend: Backend) {
    let state = store(backend);
    let job = job();
    let record = |id: &str, key: &str, name: &str, ts: &str| {
        let mut fields = Map::new();
        fields.insert("email".into(), json!(key));
        fields.insert("name".into(), json!(name));
        Ok(SourceRecord {
            id: id.into(),
            watermark: Some(ts.parse().unwrap()),
            verdict: Verdict::Send(vec![Item {
                key: key.into(),
                fields,
            }]),
        })
    };
    let input = vec![
        record("C1", "shared@example.com", "old", "2024-01-01T00:00"),
        record("C2", "solo@example.com", "solo", "2024-01-01T00:00"),
        record("C3", "shared@example.com", "new", "2024-01-03T00:00"),
        record("C4", "shared@example.com", "middle", "2024-01-02T00:00"),
    ];
    let sink = ScriptedSink::default();
    let summary = run(ctx(&job, &state), stream::iter(input), &sink)
        .await
        .unwrap();
    assert_eq!(sink.sent_keys(), ["solo@example.com", "shared@example.com"]);
    assert_eq!(
        state
            .snapshot("test-job", "shared@example.com")
            .unwrap()
            .unwrap()["name"],
        "new"
    );
    assert_eq!(summary.delivered, 2);
    assert_eq!(summary.filtered, 2);
    assert_eq!(summary.duplicate_keys, 1);
    assert_eq!(summary.filtered_by_reason["duplicate key"], 2);
    let listed: Vec<(&str, &str)> = summary
        .rejections
        .iter()
        .map(|r| (r.id.as_str(), r.reason.as_str()))
        .collect();
    assert_eq!(
        listed,
        [
            ("C1", "shares key shared@example.com with C3"),
            ("C4", "shares key shared@example.com with C3"),
        ]
    );
    assert_eq!(summary.exit_code, ExitCode::Success);
}
}
