//! The response reader on arbitrary bytes: never panics, always ends.
#![no_main]

use directo_client::{Customer, Invoice, Record, RecordReader};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for item in RecordReader::<_, Customer>::new(data, "customer") {
        let _ = item;
    }
    for item in RecordReader::<_, Invoice>::new(data, "invoice") {
        let _ = item;
    }
    for item in RecordReader::<_, Record>::new(data, "row") {
        let _ = item;
    }
});
