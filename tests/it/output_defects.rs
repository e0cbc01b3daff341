//! Regressions of the output defects of issue 13: every failure to write is
//! one `stormtrack: error:` line with the documented exit code and leaves no
//! file behind; a reader that stops early is a quiet success; outputs never
//! replace inputs; what is written is what the format can hold.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::common::{self, axis, listing, stderr, stormtrack, Field};

/// The bundled season: about 1.8 MB of IMILAST tracks.
const SEASON: &str = "data/era5_msl_2025-2026_djf_2.5x2.5.nc";

/// A small NetCDF input (4 steps, a few tracks) in `dir`.
fn good_input(dir: &Path) -> PathBuf {
    let f = dir.join("in.nc");
    Field::moving_low(axis(0.0, 6.0, 4)).write(&f);
    f
}

/// Asserts a failed run: exit code, exactly one `stormtrack: error:` line
/// containing every key word, no HDF5/ecCodes chatter, no panic.
fn assert_error(o: &Output, code: i32, words: &[&str]) {
    let noise = ["HDF5", "ECCODES", "panicked", "RUST_BACKTRACE"];
    common::assert_one_error_line(o, code, words, &noise);
}

/// Runs `cmd` with stdout a pipe whose reader has already gone (as after
/// `| head -1`); returns its exit code and stderr.
fn with_stdout_reader_gone(cmd: &mut Command) -> (Option<i32>, String) {
    let mut child = {
        let _guard = common::file_lock();
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    (o.status.code(), stderr(&o))
}

#[test]
fn every_format_stops_quietly_when_the_reader_of_stdout_goes() {
    // Outputs larger than the writers' buffers, so that writing fails in
    // the middle of the tracks, not only at the final flush.
    let dir = tempfile::tempdir().unwrap();
    let input = Path::new(SEASON);
    let tracks = dir.path().join("t.txt");
    let o = common::track(input, "msl", &tracks, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for format in [
        "imilast",
        "imilast-strict",
        "csv",
        "json",
        "netcdf",
        "tdump",
    ] {
        let (code, err) = with_stdout_reader_gone(
            stormtrack()
                .arg("track")
                .arg(input)
                .args(["--var", "msl", "-q", "-o", "-", "-f", format]),
        );
        assert_eq!((code, err.as_str()), (Some(0), ""), "track -f {format}");
        let (code, err) = with_stdout_reader_gone(
            stormtrack()
                .arg("convert")
                .arg(&tracks)
                .args(["-", "-q", "--to", format]),
        );
        assert_eq!((code, err.as_str()), (Some(0), ""), "convert --to {format}");
    }
}

#[test]
fn a_failed_write_on_stdout_is_an_output_error() {
    let dir = tempfile::tempdir().unwrap();
    let input = good_input(dir.path());
    let full = || {
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap()
    };
    for args in [
        &["info", "--json"][..],
        &["info"][..],
        &["track", "--var", "msl", "-q", "-o", "-"][..],
        &["track", "--var", "msl", "-q", "-o", "-", "-f", "csv"][..],
    ] {
        let o = {
            let _guard = common::file_lock();
            stormtrack()
                .args(args)
                .arg(&input)
                .stdout(full())
                .stderr(Stdio::piped())
                .output()
                .unwrap()
        };
        assert_error(
            &o,
            4,
            &["cannot write to standard output", "No space left on device"],
        );
    }
}

/// A 64 KiB tmpfs mounted on a fresh directory, unmounted on drop (also
/// when the test fails).
struct TinyFs(PathBuf);

impl TinyFs {
    /// Mounts it or fails the test: a test that skipped when it cannot
    /// mount would pass without testing anything (CI runs as root).
    fn mount(at: &Path) -> Self {
        std::fs::create_dir(at).unwrap();
        let o = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64k", "stormtrack-test"])
            .arg(at)
            .output()
            .expect("cannot run mount");
        assert!(
            o.status.success(),
            "cannot mount a 64 KiB tmpfs on {} (this test needs root): {}",
            at.display(),
            String::from_utf8_lossy(&o.stderr).trim()
        );
        TinyFs(at.to_path_buf())
    }
}

impl Drop for TinyFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// The ways of asking for NetCDF output at `out` (a `.nc` path): track by
/// extension, track with `-f netcdf` to another name, convert.
fn netcdf_runs(out_dir: &Path, tracks_nc: &Path) -> Vec<(Command, PathBuf)> {
    let season = Path::new(SEASON);
    let mut by_extension = stormtrack();
    let nc = out_dir.join("x.nc");
    by_extension
        .arg("track")
        .arg(season)
        .args(["--var", "msl", "-q", "-o"])
        .arg(&nc);
    let mut by_flag = stormtrack();
    let named = out_dir.join("x.tracks");
    by_flag
        .arg("track")
        .arg(season)
        .args(["--var", "msl", "-q", "-f", "netcdf", "-o"])
        .arg(&named);
    let mut convert = stormtrack();
    let converted = out_dir.join("y.nc");
    convert
        .arg("convert")
        .arg(tracks_nc)
        .arg(&converted)
        .arg("-q");
    vec![(by_extension, nc), (by_flag, named), (convert, converted)]
}

/// The season's tracks as NetCDF (about 240 kB, far more than 64 KiB).
fn season_netcdf(dir: &Path) -> PathBuf {
    let nc = dir.join("season.nc");
    let o = common::track(Path::new(SEASON), "msl", &nc, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(std::fs::metadata(&nc).unwrap().len() > 128 * 1024);
    nc
}

#[test]
fn netcdf_onto_a_full_disk_is_exit_4_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let tracks_nc = season_netcdf(dir.path());
    let small = dir.path().join("small");
    let fs = TinyFs::mount(&small);
    for (mut cmd, out) in netcdf_runs(&small, &tracks_nc) {
        let o = common::run(&mut cmd);
        assert_error(
            &o,
            4,
            &[
                &format!("{}: disk full while writing", out.display()),
                "no output was left behind",
            ],
        );
        assert_eq!(listing(&small), Vec::<String>::new(), "{cmd:?}");
    }
    drop(fs);
}

#[test]
fn an_output_past_the_file_size_limit_is_exit_4_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let tracks_nc = season_netcdf(dir.path());
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let mut runs = netcdf_runs(&out_dir, &tracks_nc);
    // A text format too: every writer meets EFBIG, not a SIGXFSZ core dump.
    let mut text = stormtrack();
    let txt = out_dir.join("x.txt");
    text.arg("track")
        .arg(SEASON)
        .args(["--var", "msl", "-q", "-o"])
        .arg(&txt);
    runs.push((text, txt));
    for (cmd, out) in runs {
        // 64 blocks of 512 bytes (or 1 KiB): far less than any output here.
        let mut limited = Command::new("sh");
        limited
            .args(["-c", "ulimit -f 64 && exec \"$0\" \"$@\""])
            .arg(cmd.get_program())
            .args(cmd.get_args());
        let o = common::run(&mut limited);
        assert_error(
            &o,
            4,
            &[
                &format!("{}: file too large", out.display()),
                "ulimit -f",
                "no output was left behind",
            ],
        );
        assert_eq!(listing(&out_dir), Vec::<String>::new(), "{cmd:?}");
    }
}

#[test]
fn every_format_has_its_own_default_output_name() {
    let dir = tempfile::tempdir().unwrap();
    let input = good_input(dir.path());
    let run_in_dir = |format: &str| {
        let o = common::run(
            stormtrack()
                .current_dir(dir.path())
                .arg("track")
                .arg(&input)
                .args(["--var", "msl", "-q", "-f", format]),
        );
        assert_eq!(o.status.code(), Some(0), "{format}: {}", stderr(&o));
    };
    run_in_dir("imilast");
    let imilast = std::fs::read(dir.path().join("in.imilast.txt")).unwrap();
    for format in ["imilast-strict", "csv", "netcdf", "json", "tdump"] {
        run_in_dir(format);
    }
    assert_eq!(
        listing(dir.path()),
        [
            "in.imilast-strict.txt",
            "in.imilast.txt",
            "in.nc",
            "in.tdump",
            "in.tracks.csv",
            "in.tracks.json",
            "in.tracks.nc"
        ]
    );
    // The strict run did not replace the imilast output.
    assert_eq!(
        std::fs::read(dir.path().join("in.imilast.txt")).unwrap(),
        imilast
    );
    // The help names every default.
    let help = common::run(stormtrack().args(["track", "--help"]));
    let help = String::from_utf8_lossy(&help.stdout).replace(char::is_whitespace, "");
    for suffix in [
        ".imilast.txt",
        ".imilast-strict.txt",
        ".tracks.csv",
        ".tracks.nc",
        ".tracks.json",
        ".tdump",
    ] {
        assert!(help.contains(suffix), "{suffix} not in the help");
    }
}

#[test]
fn no_output_replaces_the_input_list() {
    let dir = tempfile::tempdir().unwrap();
    good_input(dir.path());
    let list = dir.path().join("list.txt");
    std::fs::write(&list, "in.nc\n").unwrap();
    let tracks = dir.path().join("t.txt");
    let cases: [(&[&Path], &str); 3] = [
        (&[Path::new("-o"), &list], "-o "),
        (
            &[Path::new("-o"), &tracks, Path::new("--report"), &list],
            "--report ",
        ),
        // The same file by another spelling.
        (
            &[Path::new("-o"), &dir.path().join(".").join("list.txt")],
            "-o ",
        ),
    ];
    for (args, flag) in cases {
        let o = common::run(
            stormtrack()
                .args(["track", "--var", "msl", "-q", "--input-list"])
                .arg(&list)
                .args(args),
        );
        assert_error(
            &o,
            2,
            &[flag, "would replace the input list", "choose another path"],
        );
        assert_eq!(std::fs::read_to_string(&list).unwrap(), "in.nc\n");
        assert_eq!(listing(dir.path()), ["in.nc", "list.txt"], "{args:?}");
    }
}

/// A directory with a Linux inode attribute (`chattr +a`, `+i`) set,
/// cleared on drop so that the temporary directory can be removed.
struct Attribute(PathBuf, &'static str);

impl Attribute {
    /// Sets it or fails the test (the test would prove nothing without).
    fn set(path: &Path, flag: &'static str) -> Self {
        let o = Command::new("chattr")
            .arg(format!("+{flag}"))
            .arg(path)
            .output()
            .expect("cannot run chattr");
        assert!(
            o.status.success(),
            "chattr +{flag} {} failed (needs root and a file system with attributes, such as ext4): {}",
            path.display(),
            String::from_utf8_lossy(&o.stderr).trim()
        );
        Attribute(path.to_path_buf(), flag)
    }
}

impl Drop for Attribute {
    fn drop(&mut self) {
        let _ = Command::new("chattr")
            .arg(format!("-{}", self.1))
            .arg(&self.0)
            .status();
    }
}

#[test]
fn an_append_only_directory_or_immutable_target_is_refused_before_any_file() {
    let dir = tempfile::tempdir().unwrap();
    let input = good_input(dir.path());
    let ao = dir.path().join("append-only");
    std::fs::create_dir(&ao).unwrap();
    let attr = Attribute::set(&ao, "a");
    for args in [&[][..], &["--report", "r.json"][..]] {
        let o = common::run(
            stormtrack()
                .current_dir(&ao)
                .arg("track")
                .arg(&input)
                .args(["--var", "msl", "-q", "-o", "out.txt"])
                .args(args),
        );
        assert_error(
            &o,
            4,
            &[
                "out.txt: directory '.' is append-only (chattr +a)",
                "choose another location with -o",
            ],
        );
        assert_eq!(listing(&ao), Vec::<String>::new(), "files left behind");
    }
    drop(attr);

    let target = dir.path().join("kept.txt");
    std::fs::write(&target, "old").unwrap();
    let attr = Attribute::set(&target, "i");
    let o = common::track(&input, "msl", &target, &[]);
    assert_error(
        &o,
        4,
        &[
            "kept.txt: the file is immutable or append-only",
            "chattr -i -a",
        ],
    );
    drop(attr);
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "old");
    assert_eq!(listing(dir.path()), ["append-only", "in.nc", "kept.txt"]);
}

#[test]
fn a_failed_report_leaves_no_tracks_either_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let input = good_input(dir.path());
    let small = dir.path().join("small");
    let fs = TinyFs::mount(&small);
    // Fill the file system: the report's check (an empty file) still
    // passes, writing the report then fails.
    let filler = small.join("filler");
    let mut f = std::fs::File::create(&filler).unwrap();
    let block = vec![0u8; 4096];
    while std::io::Write::write_all(&mut f, &block).is_ok() {}
    drop(f);
    let tracks = dir.path().join("t.txt");
    let report = small.join("report.json");
    let o = common::track(
        &input,
        "msl",
        &tracks,
        &["--report", report.to_str().unwrap()],
    );
    assert_error(
        &o,
        4,
        &[
            "writing report",
            "report.json: disk full while writing",
            "no output was left behind",
        ],
    );
    assert_eq!(
        listing(dir.path()),
        ["in.nc", "small"],
        "the tracks were left"
    );
    assert_eq!(listing(&small), ["filler"]);

    // The tracks on standard output cannot be taken back: the message says
    // they were written.
    let o = {
        let _guard = common::file_lock();
        stormtrack()
            .arg("track")
            .arg(&input)
            .args(["--var", "msl", "-q", "-o", "-", "--report"])
            .arg(&report)
            .output()
            .unwrap()
    };
    assert_error(
        &o,
        4,
        &[
            "report.json: disk full while writing",
            "write elsewhere with --report",
            "what was already written to standard output could not be taken back",
        ],
    );
    assert!(!stderr(&o).contains("no output was left behind"));
    assert!(!o.stdout.is_empty());
    assert_eq!(listing(&small), ["filler"]);
    drop(fs);
}

#[cfg(unix)]
#[test]
fn replacing_a_file_keeps_its_permission_bits() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let input = good_input(dir.path());
    for (mode, format) in [(0o444, "imilast"), (0o600, "netcdf"), (0o640, "csv")] {
        let out = dir.path().join(format!("out-{mode:o}"));
        std::fs::write(&out, "old").unwrap();
        std::fs::set_permissions(&out, std::fs::Permissions::from_mode(mode)).unwrap();
        let o = common::track(&input, "msl", &out, &["-f", format]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert_ne!(std::fs::read(&out).unwrap(), b"old");
        let now = std::fs::metadata(&out).unwrap().permissions().mode() & 0o7777;
        assert_eq!(now, mode, "{format}: mode {now:o}, was {mode:o}");
    }
}

#[test]
fn dates_past_year_9999_are_refused_by_formats_with_ten_digit_dates() {
    let dir = tempfile::tempdir().unwrap();
    // Hours from 2000-01-01 to 10000-01-01 (2 921 940 days): two steps in
    // 9999, two in 10000.
    let start = 2_921_940.0 * 24.0 - 12.0;
    let input = dir.path().join("far.nc");
    Field::moving_low(axis(start, 6.0, 4)).write(&input);
    for format in ["imilast", "imilast-strict", "tdump"] {
        let out = dir.path().join("out");
        let o = common::track(&input, "msl", &out, &["-f", format]);
        assert_error(
            &o,
            4,
            &[
                &format!("out: the {format} format cannot hold the date 10000-01-01T"),
                "4-digit years",
                "csv, json or netcdf",
            ],
        );
        let o = common::run(
            stormtrack()
                .arg("track")
                .arg(&input)
                .args(["--var", "msl", "-q", "-o", "-", "-f", format]),
        );
        assert_error(&o, 4, &["-: the", "cannot hold the date"]);
        assert!(o.stdout.is_empty(), "{format} wrote on stdout");
    }
    assert_eq!(listing(dir.path()), ["far.nc"]);
    let o = common::track(&input, "msl", &dir.path().join("t.csv"), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(std::fs::read_to_string(dir.path().join("t.csv"))
        .unwrap()
        .contains("10000-01-01T"));
}

#[test]
fn an_empty_output_path_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let input = good_input(dir.path());
    let tracks = dir.path().join("t.txt");
    let o = common::track(&input, "msl", Path::new(""), &[]);
    assert_error(&o, 2, &["-o needs a path; use - for standard output"]);
    let o = common::track(&input, "msl", &tracks, &["--report", ""]);
    // clap itself refuses an empty path there.
    assert_error(&o, 2, &["a value is required for '--report"]);
    let o = common::run(stormtrack().arg("convert").arg(&input).arg(""));
    assert_error(&o, 2, &["OUTPUT needs a path; use - for standard output"]);
    assert_eq!(listing(dir.path()), ["in.nc"]);
}

#[test]
fn an_unknown_output_extension_needs_a_format() {
    let dir = tempfile::tempdir().unwrap();
    let input = good_input(dir.path());
    let tracks = dir.path().join("t.txt");
    let o = common::track(&input, "msl", &tracks, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let weird = dir.path().join("weird.parquet");
    let known = ".txt, .imilast, .dat (imilast), .csv, .nc, .nc4, .netcdf, .json, .tdump";
    let o = common::track(&input, "msl", &weird, &[]);
    assert_error(
        &o,
        2,
        &[
            "-o ",
            "weird.parquet: unknown extension '.parquet'",
            known,
            "--format",
        ],
    );
    let o = common::run(stormtrack().arg("convert").arg(&tracks).arg(&weird));
    assert_error(
        &o,
        2,
        &[
            "OUTPUT ",
            "weird.parquet: unknown extension '.parquet'",
            known,
            "--to",
        ],
    );
    assert_eq!(listing(dir.path()), ["in.nc", "t.txt"]);
    // An extension of no data format (a mktemp name, `.out`) is imilast.
    for name in ["tmp.V8egcZYdBn", "run.out"] {
        let path = dir.path().join(name);
        let o = common::track(&input, "msl", &path, &[]);
        assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
        assert!(
            std::fs::read_to_string(&path)
                .unwrap()
                .starts_with("99 00,"),
            "{name}"
        );
        std::fs::remove_file(&path).unwrap();
    }
    // With the format named, any name goes; no extension is imilast.
    let o = common::track(&input, "msl", &weird, &["-f", "csv"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(std::fs::read_to_string(&weird)
        .unwrap()
        .starts_with("track_id,"));
    let bare = dir.path().join("tracks");
    let o = common::run(
        stormtrack()
            .arg("convert")
            .arg(&tracks)
            .arg(&bare)
            .arg("-q"),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(std::fs::read_to_string(&bare)
        .unwrap()
        .starts_with("99 00,"));
}

/// Runs `cmd`, failing the test if it has not ended within `secs` seconds
/// (it is then killed).
fn run_within(cmd: &mut Command, secs: u64) -> Output {
    let mut child = common::spawn(cmd.stdin(Stdio::null()));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} still running after {secs} s");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn reading_a_track_file_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.csv");
    let o = run_within(stormtrack().args(["convert", "/dev/zero"]).arg(&out), 20);
    assert_error(&o, 3, &["/dev/zero: cannot tell the track format"]);
    for from in ["imilast", "csv", "json"] {
        let o = run_within(
            stormtrack()
                .args(["convert", "--from", from, "/dev/zero"])
                .arg(&out),
            20,
        );
        assert_error(
            &o,
            3,
            &["/dev/zero: line 1 has a NUL byte", "not a text track file"],
        );
    }
    let o = run_within(stormtrack().args(["compare", "/dev/zero"]).arg(&out), 20);
    assert_error(&o, 2, &["/dev/zero: line 1 has a NUL byte"]);
    // An endless line of text.
    let long = dir.path().join("long.txt");
    let mut text =
        String::from("99 00,CycloneNo,StepNo,DateI10,Year,Month,Day,Time,LongE,LatN,MSL\n90 1 1\n");
    text.push_str(&"0".repeat(70_000));
    std::fs::write(&long, text).unwrap();
    let o = run_within(stormtrack().arg("convert").arg(&long).arg(&out), 20);
    assert_error(&o, 3, &["long.txt: line 3 is longer than 64 KiB"]);
    assert_eq!(listing(dir.path()), ["long.txt"]);
}

#[test]
fn an_imilast_file_cut_inside_its_last_value_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let input = good_input(dir.path());
    let whole = dir.path().join("whole.txt");
    let o = common::track(&input, "msl", &whole, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = std::fs::read_to_string(&whole).unwrap();
    let lines = text.lines().count();
    // Cut after the first digit of the last value.
    let last = text.trim_end().rsplit_once(' ').unwrap().0.len() + 2;
    let cut = dir.path().join("cut.txt");
    std::fs::write(&cut, &text[..last]).unwrap();
    let out = dir.path().join("out.csv");
    let o = common::run(stormtrack().arg("convert").arg(&cut).arg(&out));
    assert_error(
        &o,
        3,
        &[
            "cut.txt: not valid IMILAST",
            &format!("line {lines}: the last line has no final newline"),
            "looks cut off",
        ],
    );
    let o = common::run(stormtrack().arg("compare").arg(&whole).arg(&cut));
    assert_error(
        &o,
        2,
        &[&format!("cut.txt: line {lines}:"), "looks cut off"],
    );
    // The whole file without its final newline is still a track file.
    let bare = dir.path().join("bare.txt");
    std::fs::write(&bare, text.trim_end()).unwrap();
    let o = common::run(stormtrack().arg("compare").arg(&whole).arg(&bare));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!out.exists());
}
