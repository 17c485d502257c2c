//! Datahub file writing: one full file (199,999 rows) whose rows all carry the same fields, and
//! the same rows spread over four field sets (four groups, so four files).
//!
//! `cargo bench -p splio-client --bench datahub`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use splio_client::datahub::{ContactCsvWriter, DatahubContact, Subscription};

const ROWS: usize = 199_999;

fn contacts(mixed: bool) -> Vec<DatahubContact> {
    (0..ROWS)
        .map(|i| {
            let mut c = DatahubContact::new(format!("User{i}@Example.com"));
            let set = if mixed { i % 4 } else { 0 };
            c.firstname = Some(format!("First; \"{i}\""));
            if set != 1 {
                c.lastname = Some(format!("Last{i}"));
            }
            if set != 2 {
                c.custom.insert("c3".into(), (i % 97).to_string());
            }
            if set != 3 {
                c.subscriptions = vec![Subscription::Subscribe(1)];
            }
            c
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let writer = ContactCsvWriter::new("universe", "PRCL").unwrap();
    let mut group = c.benchmark_group("datahub_write");
    group.sample_size(10);
    group.throughput(Throughput::Elements(ROWS as u64));
    for (name, mixed) in [("one_field_set", false), ("four_field_sets", true)] {
        let rows = contacts(mixed);
        group.bench_function(name, |b| {
            b.iter(|| {
                let out = writer.write(&rows).unwrap();
                assert!(out.refused.is_empty());
                out
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
