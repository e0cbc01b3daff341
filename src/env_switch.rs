//! The `STORMTRACK_*` environment switches and their one parser.
//!
//! Every switch is on/off: `1`, `true`, `yes`, `on` turn it on; `0`,
//! `false`, `no`, `off` or an empty value turn it off (case-insensitive,
//! blanks trimmed); an unset variable takes the switch's default. Anything
//! else is refused once at start-up by [`check_all`] (a usage error naming
//! the variable), so that a typo such as `STORMTRACK_GRIB_ECCODES=0` meaning
//! "off" can never silently mean "on", as a presence test once made it.

use crate::error::{Error, Result};

/// `STORMTRACK_GRIB_ECCODES`: decode every GRIB message through ecCodes
/// (default off: the native decoder, checked against ecCodes).
pub const GRIB_ECCODES: &str = "STORMTRACK_GRIB_ECCODES";
/// `STORMTRACK_NETCDF_DIRECT`: read NetCDF-4 chunks directly through HDF5
/// (default on; off reads everything through netCDF, for troubleshooting).
pub const NETCDF_DIRECT: &str = "STORMTRACK_NETCDF_DIRECT";
/// `STORMTRACK_ECCODES_LOG`: let ecCodes print its log as usual (default
/// off: its messages are folded into stormtrack's one-line errors).
pub const ECCODES_LOG: &str = "STORMTRACK_ECCODES_LOG";

/// Every switch with its default.
pub const ALL: [(&str, bool); 3] = [
    (GRIB_ECCODES, false),
    (NETCDF_DIRECT, true),
    (ECCODES_LOG, false),
];

/// Parses a switch's value; None when it is neither on nor off.
pub fn parse(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" | "" => Some(false),
        _ => None,
    }
}

/// The switch `name` as set in the environment, or its default.
fn read(name: &str, default: bool) -> Result<bool> {
    match std::env::var_os(name) {
        None => Ok(default),
        Some(v) => v.to_str().and_then(parse).ok_or_else(|| {
            Error::Usage(format!(
                "environment variable {name}={}: not a switch; set it to 1/true/yes/on or 0/false/no/off, or unset it",
                v.to_string_lossy()
            ))
        }),
    }
}

/// Refuses any switch with a value that is neither on nor off.
pub fn check_all() -> Result<()> {
    ALL.iter()
        .try_for_each(|&(name, default)| read(name, default).map(|_| ()))
}

/// Whether the switch `name` is on. A bad value was refused by
/// [`check_all`] at start-up; in library use it counts as the default.
pub fn on(name: &str) -> bool {
    let default = ALL.iter().any(|&(n, d)| n == name && d);
    read(name, default).unwrap_or(default)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_on_off_and_refuses_the_rest() {
        for v in ["1", "true", "TRUE", " Yes ", "on", "On"] {
            assert_eq!(parse(v), Some(true), "{v}");
        }
        for v in ["0", "false", "False", "no", "OFF", "", "  "] {
            assert_eq!(parse(v), Some(false), "{v}");
        }
        for v in ["2", "enable", "y", "-1", "onn"] {
            assert_eq!(parse(v), None, "{v}");
        }
    }
}
