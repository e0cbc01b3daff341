//! `stormtrack info`: what the loader sees in each file: its format, its
//! variables (NetCDF) or parameters (GRIB), and for one variable (named with
//! `--var` or guessed) the resolved coordinates, grid, time axis, level and
//! value type. Human-readable text on stdout, or JSON with `--json`; errors
//! go to stderr as one line each and set the exit code, but the other files
//! are still described.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::Args;
use serde::Serialize;

use crate::cli::report;
use crate::console;
use crate::error::{exit, Error};
use crate::io::inventory::{self, Contents, FieldSummary};
use crate::io::{self, fmt_value, FileFormat, VariableRequest};

/// Arguments of `stormtrack info`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  stormtrack info era5_msl.nc\n  \
stormtrack info era5_vo.grib --var vo --level 850\n  \
stormtrack info *.nc --json")]
pub struct InfoArgs {
    /// Input files: NetCDF or GRIB, recognised by content.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,

    /// Variable to resolve: a name, alias or GRIB paramId, as for `track`. [default: the first of the msl, then vo aliases found, else the first data variable]
    #[arg(long, short = 'v', value_name = "NAME")]
    pub var: Option<String>,

    /// Level to select when the variable has a level dimension.
    #[arg(long, value_name = "VALUE", allow_negative_numbers = true, value_parser = crate::io::parse_level)]
    pub level: Option<f64>,

    /// Print JSON (an array with one object per file) instead of text.
    #[arg(long)]
    pub json: bool,
}

/// How the described variable was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Choice {
    /// Named with `--var`.
    Requested,
    /// Found through the msl or vo aliases.
    Alias,
    /// The first data variable of the file.
    First,
}

/// Everything `info` reports about one file.
#[derive(Debug, Serialize)]
pub struct FileInfo {
    pub path: PathBuf,
    pub format: Option<FileFormat>,
    /// Human description of the format.
    pub format_name: Option<&'static str>,
    pub contents: Option<Contents>,
    /// The name the variable was looked up by, and how it was chosen.
    pub requested: Option<String>,
    pub choice: Option<Choice>,
    pub field: Option<FieldSummary>,
    /// Why the file or variable could not be used, if it could not.
    pub error: Option<String>,
    #[serde(skip)]
    code: i32,
}

/// Runs `stormtrack info`.
pub fn run(args: InfoArgs) -> anyhow::Result<i32> {
    let mut code = exit::OK;
    let mut infos = Vec::new();
    for (i, path) in args.files.iter().enumerate() {
        let info = describe(path, args.var.as_deref(), args.level);
        if !args.json {
            let gap = if i > 0 { "\n" } else { "" };
            console::print_data(&format!("{gap}{}", render(&info)))?;
        }
        if info.code != exit::OK && code == exit::OK {
            code = info.code;
        }
        infos.push(info);
    }
    if args.json {
        console::print_data(&format!("{}\n", serde_json::to_string_pretty(&infos)?))?;
    }
    Ok(code)
}

/// Lists `path` and resolves the variable; errors are kept, and printed once.
pub fn describe(path: &Path, var: Option<&str>, level: Option<f64>) -> FileInfo {
    let mut info = FileInfo {
        path: path.to_path_buf(),
        format: None,
        format_name: None,
        contents: None,
        requested: None,
        choice: None,
        field: None,
        error: None,
        code: exit::OK,
    };
    let inv = match inventory::inventory(path) {
        Ok(inv) => inv,
        Err(e) => return fail(info, e),
    };
    info.format = Some(inv.format);
    info.format_name = Some(inv.format.describe());
    let resolved = resolve(path, &inv.contents, var, level);
    info.contents = Some(inv.contents);
    match resolved {
        Ok((name, choice, meta)) => {
            info.requested = Some(name);
            info.choice = Some(choice);
            info.field = Some(FieldSummary::from(&meta));
            info
        }
        Err((name, e)) => {
            info.requested = name;
            fail(info, e)
        }
    }
}

fn fail(mut info: FileInfo, e: Error) -> FileInfo {
    info.error = Some(e.to_string());
    info.code = report(&anyhow::Error::new(e));
    info
}

type Resolved = (String, Choice, io::FieldMeta);

/// Opens the variable to describe: `--var`, else msl or vo aliases, else the
/// first data variable.
fn resolve(
    path: &Path,
    contents: &Contents,
    var: Option<&str>,
    level: Option<f64>,
) -> Result<Resolved, (Option<String>, Error)> {
    let open = |name: &str| {
        let request = VariableRequest {
            name: name.to_string(),
            level,
        };
        io::open(path, &request).map(|r| r.meta().clone())
    };
    if let Some(name) = var {
        return open(name)
            .map(|m| (name.to_string(), Choice::Requested, m))
            .map_err(|e| (Some(name.to_string()), e));
    }
    for name in ["msl", "vo"] {
        match open(name) {
            Ok(m) => return Ok((name.to_string(), Choice::Alias, m)),
            Err(Error::NoVariable { .. }) => continue,
            Err(e) => return Err((Some(name.to_string()), e)),
        }
    }
    let Some(first) = contents.data_variables().into_iter().next() else {
        return Err((
            None,
            Error::input(
                path,
                "has no data variable with latitude and longitude dimensions; nothing to track",
            ),
        ));
    };
    open(&first)
        .map(|m| (first.clone(), Choice::First, m))
        .map_err(|e| (Some(first), e))
}

/// The text description of one file.
pub fn render(info: &FileInfo) -> String {
    let mut s = String::new();
    kv(&mut s, "file", &info.path.display().to_string());
    let (Some(format), Some(contents)) = (info.format_name, &info.contents) else {
        kv(&mut s, "error", info.error.as_deref().unwrap_or("unknown"));
        return s;
    };
    kv(&mut s, "format", format);
    s += &render_contents(contents);
    match (&info.field, info.choice) {
        (Some(f), Some(choice)) => render_field(&mut s, f, info, choice),
        _ => kv(&mut s, "error", info.error.as_deref().unwrap_or("unknown")),
    }
    s
}

/// Appends a `label:       value` line.
fn kv(s: &mut String, label: &str, value: &str) {
    let _ = writeln!(s, "{:<13}{value}", format!("{label}:"));
}

fn render_contents(contents: &Contents) -> String {
    let mut s = String::new();
    match contents {
        Contents::Netcdf { variables } | Contents::Zarr { variables } => {
            let _ = writeln!(s, "variables:   {}", variables.len());
            let width = variables.iter().map(|v| v.name.len()).max().unwrap_or(0);
            for v in variables {
                let dims: Vec<String> = v.dims.iter().map(|(n, l)| format!("{n}={l}")).collect();
                let mut row = format!("  {:<width$}  {:<8} ({})", v.name, v.dtype, dims.join(", "));
                if let Some(u) = &v.units {
                    row += &format!("  [{u}]");
                }
                if let Some(n) = &v.long_name {
                    row += &format!("  {n}");
                }
                let _ = writeln!(s, "{}", row.trim_end());
            }
        }
        Contents::Grib {
            messages,
            parameters,
        } => {
            let _ = writeln!(s, "messages:    {messages}");
            let _ = writeln!(s, "parameters:  {}", parameters.len());
            for p in parameters {
                let _ = writeln!(
                    s,
                    "  {}  paramId {}  {} {}  {}  {} message{}",
                    p.short_name,
                    p.param_id,
                    p.type_of_level,
                    p.level,
                    p.grid_type,
                    p.messages,
                    if p.messages == 1 { "" } else { "s" }
                );
            }
        }
    }
    s
}

fn render_field(s: &mut String, f: &FieldSummary, info: &FileInfo, choice: Choice) {
    let mut line = |label: &str, value: &str| kv(s, label, value);
    let how = match choice {
        Choice::Requested => format!("requested as '{}'", info.requested.as_deref().unwrap_or("")),
        Choice::Alias => format!(
            "guessed through the {} aliases; choose another with --var",
            info.requested.as_deref().unwrap_or("")
        ),
        Choice::First => "guessed: the first data variable; choose another with --var".into(),
    };
    line("variable", &format!("{} ({how})", f.variable));
    if let Some(n) = &f.long_name {
        line("long name", n);
    }
    line("units", f.units.as_deref().unwrap_or("none"));
    line(
        "coordinates",
        &format!(
            "time={}, latitude={}, longitude={}",
            f.time_name.as_deref().unwrap_or("none"),
            f.lat_name,
            f.lon_name
        ),
    );
    line(
        "grid",
        &format!(
            "{} x {} (rows x cols), {} x {} degrees, {}",
            f.rows,
            f.cols,
            fmt_value(f.resolution.0),
            fmt_value(f.resolution.1),
            if f.global { "global" } else { "regional" }
        ),
    );
    line(
        "latitude",
        &format!(
            "{} to {} ({})",
            fmt_value(f.lat_range.0),
            fmt_value(f.lat_range.1),
            f.lat_order
        ),
    );
    line(
        "longitude",
        &format!(
            "{} to {}",
            fmt_value(f.lon_range.0),
            fmt_value(f.lon_range.1)
        ),
    );
    match (&f.first_time, &f.last_time) {
        (Some(a), Some(b)) => line("time", &format!("{a} to {b}")),
        _ => line("time", "none (no time axis: one step)"),
    }
    line("calendar", &f.calendar.to_string());
    line("step", &f.step.to_string());
    line("steps", &f.steps.to_string());
    line("level", f.level.as_deref().unwrap_or("none"));
    let packing = match &f.packing {
        Some(p) => format!("packed as {p}"),
        None => "not packed".into(),
    };
    line("values", &format!("{} ({packing})", f.value_type));
    if let Some(c) = f.chunk_steps {
        line(
            "chunking",
            &format!("{c} step{} per chunk", if c == 1 { "" } else { "s" }),
        );
    }
}
