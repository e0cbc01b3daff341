//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/*`) and the
//! inputs of past crashes (`fuzz/regressions/<target>/*`) through the fuzz
//! targets' checks on stable Rust, so that `cargo test` catches regressions
//! without a nightly toolchain or libFuzzer. See fuzz/README.md.

#[allow(dead_code)]
#[path = "../../fuzz/src/harness.rs"]
mod harness;

use std::path::Path;

/// Runs `check` on every file of `fuzz/corpus/<target>` and
/// `fuzz/regressions/<target>`; returns how many corpus files there were.
fn replay(target: &str, check: fn(&[u8])) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut corpus = 0;
    for (dir, required) in [("corpus", true), ("regressions", false)] {
        let path = root.join(dir).join(target);
        let entries = match std::fs::read_dir(&path) {
            Ok(e) => e,
            Err(_) if !required => continue,
            Err(e) => panic!("{}: {e}", path.display()),
        };
        let mut files: Vec<_> = entries.map(|e| e.unwrap().path()).collect();
        files.sort();
        for file in files {
            let data = std::fs::read(&file).unwrap();
            let outcome = std::panic::catch_unwind(|| check(&data));
            assert!(outcome.is_ok(), "{} fails its fuzz check", file.display());
            corpus += usize::from(required);
        }
    }
    corpus
}

#[test]
fn imilast_read_corpus() {
    assert!(replay("imilast_read", harness::imilast_read) >= 10);
}

#[test]
fn time_units_corpus() {
    assert!(replay("time_units", harness::time_units) >= 10);
}

#[test]
fn datetime_corpus() {
    assert!(replay("datetime", harness::datetime) >= 10);
}

#[test]
fn classic_header_corpus() {
    assert!(replay("classic_header", harness::classic_header) >= 5);
}
