//! SIGTERM, SIGINT and SIGHUP during `track`: the temporary output is
//! removed, the exit code is 143, 130 or 129, stderr has one line, and no
//! output is left. A SIGHUP ignored at start (`nohup`) and a SIGPIPE are
//! ignored: the run completes.
//!
//! The input is noise on a 2.5-degree grid over many steps, tracked with a
//! 1 km radius: hundreds of thousands of one-point tracks, so both the
//! detection and the write phase last long enough to be interrupted.

#[path = "it/common/mod.rs"]
mod common;

use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use common::{axis, listing, stormtrack, Field};

/// `steps` frames of deterministic noise (xorshift), in Pa.
fn noise(dir: &Path, steps: usize) -> std::path::PathBuf {
    let lat = axis(90.0, -2.5, 73);
    let lon = axis(0.0, 2.5, 144);
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let values = (0..steps * lat.len() * lon.len())
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            100_000.0 + (state >> 40) as f32 / (1u64 << 24) as f32 * 1_000.0
        })
        .collect();
    let field = Field {
        times: Some(axis(0.0, 6.0, steps)),
        unlimited_time: false,
        levels: None,
        lat,
        lon,
        values,
        classic: true,
        compress: false,
    };
    let path = dir.join("noise.nc");
    field.write(&path);
    path
}

fn start(input: &Path, out: &Path) -> Child {
    common::spawn(
        stormtrack()
            .arg("track")
            .arg(input)
            .args(["--var", "msl", "--radius", "1km", "-o"])
            .arg(out),
    )
}

fn kill(child: &Child, signal: &str) {
    let ok = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{signal} failed");
}

fn temporaries(dir: &Path) -> Vec<String> {
    listing(dir)
        .into_iter()
        .filter(|n| n.starts_with(".stormtrack-"))
        .collect()
}

/// Waits for the child and checks the interrupted outcome.
fn assert_interrupted(child: Child, code: i32, signal: &str, out_dir: &Path) {
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(code), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "not one line: {err}");
    assert_eq!(
        err.trim_end(),
        format!("stormtrack: error: interrupted by {signal}; no output was written")
    );
    assert_eq!(listing(out_dir), Vec::<String>::new(), "files left behind");
}

/// Waits until the child has created its temporary output.
fn wait_for_temporary(child: &mut Child, out_dir: &Path) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while temporaries(out_dir).is_empty() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the run ended ({status}) before its temporary output was seen");
        }
        assert!(
            Instant::now() < deadline,
            "no temporary output within 120 s"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn sighup_while_writing_removes_the_temporary_output() {
    let dir = tempfile::tempdir().unwrap();
    let input = noise(dir.path(), 1200);
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let mut child = start(&input, &out_dir.join("out.txt"));
    wait_for_temporary(&mut child, &out_dir);
    kill(&child, "HUP");
    assert_interrupted(child, 129, "SIGHUP", &out_dir);
}

#[test]
fn an_ignored_sighup_and_a_sigpipe_leave_the_run_to_complete() {
    let dir = tempfile::tempdir().unwrap();
    let input = noise(dir.path(), 1200);
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let out = out_dir.join("out.txt");
    // As `nohup` starts it: SIGHUP ignored from the start.
    let mut child = common::spawn(
        std::process::Command::new("sh")
            .args(["-c", "trap '' HUP && exec \"$0\" \"$@\""])
            .arg(env!("CARGO_BIN_EXE_stormtrack"))
            .arg("track")
            .arg(&input)
            .args(["--var", "msl", "--radius", "1km", "-q", "-o"])
            .arg(&out),
    );
    wait_for_temporary(&mut child, &out_dir);
    kill(&child, "HUP");
    kill(&child, "PIPE");
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "stderr: {err}");
    assert_eq!(err, "");
    assert_eq!(listing(&out_dir), ["out.txt"], "files left behind");
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with("99 00,") && text.ends_with('\n'));
}

#[test]
fn sigterm_while_writing_removes_the_temporary_output() {
    let dir = tempfile::tempdir().unwrap();
    let input = noise(dir.path(), 1200);
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let mut child = start(&input, &out_dir.join("out.txt"));
    let deadline = Instant::now() + Duration::from_secs(120);
    while temporaries(&out_dir).is_empty() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the run ended ({status}) before its temporary output was seen");
        }
        assert!(
            Instant::now() < deadline,
            "no temporary output within 120 s"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    kill(&child, "TERM");
    assert_interrupted(child, 143, "SIGTERM", &out_dir);
}

#[test]
fn sigint_while_reading_and_detecting() {
    let dir = tempfile::tempdir().unwrap();
    let input = noise(dir.path(), 1200);
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let mut child = start(&input, &out_dir.join("out.txt"));
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the run ended within 200 ms"
    );
    kill(&child, "INT");
    assert_interrupted(child, 130, "SIGINT", &out_dir);
}
