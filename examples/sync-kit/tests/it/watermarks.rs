//! Where a run reads from and where it leaves the watermark: `--since`, the stored watermark
//! minus the overlap, and the newest change time actually read.

use std::time::Duration;

use clap::Parser;
use futures::stream;
use sync_kit::{CommonArgs, ExitCode, JobConfig, RunContext, StateStore, run};

use crate::common::{ScriptedSink, ctx, job, on_both_backends, records, store};

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
}

fn args(argv: &[&str]) -> CommonArgs {
    Cli::parse_from(std::iter::once("sync").chain(argv.iter().copied())).common
}

on_both_backends! {
async fn read_from_uses_since_then_watermark_minus_overlap_then_default(backend: Backend) {
    let state = store(backend);
    let job = JobConfig {
        overlap: Duration::from_secs(6 * 3600),
        ..job()
    };
    let default = "2024-01-01T00:00".parse().unwrap();
    assert_eq!(
        sync_kit::read_from(&state, &job, None, default).unwrap(),
        default
    );
    state
        .set_watermark("test-job", "2024-02-01T03:00".parse().unwrap())
        .unwrap();
    assert_eq!(
        sync_kit::read_from(&state, &job, None, default)
            .unwrap()
            .to_string(),
        "2024-01-31T21:00:00"
    );
    let since = "2023-05-05T00:00".parse().unwrap();
    assert_eq!(
        sync_kit::read_from(&state, &job, Some(since), default).unwrap(),
        since
    );
}
}

on_both_backends! {
async fn an_explicit_since_earlier_than_the_watermark_moves_it_back_to_the_newest_change_read(backend: Backend) {
    let state = store(backend);
    let job = job();
    // A watermark years ahead (what a `--since` in the future used to leave).
    state
        .set_watermark("test-job", "2030-01-01T00:00".parse().unwrap())
        .unwrap();
    let since = RunContext {
        read_from: Some("2024-01-01T00:00".parse().unwrap()),
        ..ctx(&job, &state)
    };
    let summary = run(since, stream::iter(records(30)), &ScriptedSink::default())
        .await
        .unwrap();
    assert_eq!(summary.delivered, 30);
    assert_eq!(
        summary.watermark_before.as_deref(),
        Some("2030-01-01T00:00:00")
    );
    // The newest change time read (records 0..30 change on 2024-01-01 … 2024-01-28).
    assert_eq!(
        summary.watermark_after.as_deref(),
        Some("2024-01-28T10:00:00")
    );
    assert_eq!(
        state.watermark("test-job").unwrap().unwrap().to_string(),
        "2024-01-28T10:00:00"
    );
    // So the next plain run reads from there (minus the overlap), not from 2030.
    let next = sync_kit::read_from(&state, &job, None, "2020-01-01T00:00".parse().unwrap());
    assert_eq!(next.unwrap().to_string(), "2024-01-28T04:00:00");
}
}

on_both_backends! {
async fn a_run_that_reads_nothing_leaves_the_watermark_no_later_than_where_it_read_from(backend: Backend) {
    let state = store(backend);
    let job = JobConfig {
        overlap: Duration::from_secs(6 * 3600),
        ..job()
    };
    // A plain run that reads nothing keeps the watermark where it was.
    state
        .set_watermark("test-job", "2024-03-01T12:00".parse().unwrap())
        .unwrap();
    let plain = RunContext {
        read_from: Some("2024-03-01T06:00".parse().unwrap()),
        ..ctx(&job, &state)
    };
    let summary = run(plain, stream::iter(records(0)), &ScriptedSink::default())
        .await
        .unwrap();
    assert_eq!(
        summary.watermark_after.as_deref(),
        Some("2024-03-01T12:00:00")
    );
    // An explicit earlier `--since` that reads nothing moves it back: the next plain run
    // reads from that `--since` again.
    let since = RunContext {
        read_from: Some("2024-01-01T00:00".parse().unwrap()),
        ..ctx(&job, &state)
    };
    run(since, stream::iter(records(0)), &ScriptedSink::default())
        .await
        .unwrap();
    let next = sync_kit::read_from(&state, &job, None, "2020-01-01T00:00".parse().unwrap());
    assert_eq!(next.unwrap().to_string(), "2024-01-01T00:00:00");
    // A first run that reads nothing starts the watermark at its read-from point.
    let fresh = store(backend);
    let first = RunContext {
        read_from: Some("2024-05-05T00:00".parse().unwrap()),
        ..ctx(&job, &fresh)
    };
    run(first, stream::iter(records(0)), &ScriptedSink::default())
        .await
        .unwrap();
    assert_eq!(
        fresh.watermark("test-job").unwrap().unwrap().to_string(),
        "2024-05-05T00:00:00"
    );
}
}

#[test]
fn a_since_in_the_future_is_a_usage_error() {
    let state = StateStore::in_memory().unwrap();
    let job = job();
    let tz = jiff::tz::TimeZone::get("Europe/Tallinn").unwrap();
    // In the future in every time zone: refused while the arguments are read.
    let refused = Cli::try_parse_from(["sync", "--since", "2999-01-01"])
        .err()
        .expect("a --since in the future everywhere is refused");
    assert_eq!(refused.kind(), clap::error::ErrorKind::ValueValidation);
    let text = refused.to_string();
    assert!(
        text.contains("--since 2999-01-01T00:00:00 is in the future in every time zone"),
        "{text}"
    );
    // In the future only in the source's time zone: refused when the run works out where
    // to read from.
    let ahead = jiff::Timestamp::now()
        .to_zoned(tz.clone())
        .datetime()
        .checked_add(jiff::SignedDuration::from_hours(3))
        .unwrap()
        .strftime("%Y-%m-%dT%H:%M:%S")
        .to_string();
    let err = args(&["--since", &ahead])
        .read_from(&state, &job, &tz)
        .unwrap_err();
    assert_eq!(err.exit_code(), ExitCode::Usage);
    let text = err.to_string();
    assert!(
        text.contains(&format!("--since {ahead} is in the future")),
        "{text}"
    );
    assert!(text.contains("Europe/Tallinn"), "{text}");
    // Today, an age and a date in the past are fine.
    for since in ["2d", "2024-01-01"] {
        assert!(
            args(&["--since", since])
                .read_from(&state, &job, &tz)
                .is_ok(),
            "{since}"
        );
    }
}

on_both_backends! {
async fn the_watermark_never_moves_past_the_moment_the_read_started(backend: Backend) {
    let state = store(backend);
    let job = job();
    // The source reports changes up to 2024-01-28 although the read started on 2024-01-10
    // (a clock ahead, a future-dated record): the watermark stops at the read's start.
    let ctx = RunContext {
        read_from: Some("2024-01-01T00:00".parse().unwrap()),
        read_until: Some("2024-01-10T12:00".parse().unwrap()),
        ..ctx(&job, &state)
    };
    let summary = run(ctx, stream::iter(records(30)), &ScriptedSink::default())
        .await
        .unwrap();
    assert_eq!(summary.delivered, 30);
    assert_eq!(
        summary.watermark_after.as_deref(),
        Some("2024-01-10T12:00:00")
    );
    assert_eq!(
        state.watermark("test-job").unwrap().unwrap().to_string(),
        "2024-01-10T12:00:00"
    );
}
}
