#![no_main]
//! libFuzzer entry point; the checks live in `src/harness.rs`, shared with
//! the stable corpus replay test `tests/fuzz_corpus.rs`.

#[allow(dead_code)]
#[path = "../src/harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::classic_header(data));
