//! The metadata of a Zarr store, as JSON: which root-level arrays it has,
//! with their shape, dimension names, data type, fill value and attributes.
//!
//! Read once when a store is opened, from the consolidated metadata when
//! there is some (`.zmetadata` in v2, `consolidated_metadata` in the root
//! `zarr.json` in v3), else from each array's own `.zarray`/`.zattrs` or
//! `zarr.json`. Only root-level arrays count, as for xarray's
//! `open_dataset(engine="zarr")` without `group=`. Nothing here reads a
//! chunk; arrays are handed to `zarrs` only when one is read.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// Zarr format of a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V2,
    V3,
}

/// Which Zarr format `dir` is a store of, from the metadata files at its
/// root; `None` if it holds none. v3 first, as zarr-python looks.
pub fn detect(dir: &Path) -> Option<Version> {
    if dir.join("zarr.json").is_file() {
        return Some(Version::V3);
    }
    [".zgroup", ".zarray", ".zmetadata"]
        .iter()
        .any(|f| dir.join(f).is_file())
        .then_some(Version::V2)
}

/// Stored type of an array, as far as the reader cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dtype {
    F32,
    F64,
    I8,
    U8,
    I16,
    U16,
    I32,
    U32,
    I64,
    U64,
    /// Anything else (strings, booleans, complex, datetimes...), by name.
    Other(String),
}

impl Dtype {
    /// From a v2 `dtype` (`"<f4"`, `">i2"`, `"|u1"`; structured types are lists).
    fn from_v2(v: &Value) -> Self {
        let Some(s) = v.as_str() else {
            return Dtype::Other("structured".into());
        };
        let code = s.trim_start_matches(['<', '>', '|', '=']);
        match code {
            "f4" => Dtype::F32,
            "f8" => Dtype::F64,
            "i1" => Dtype::I8,
            "u1" => Dtype::U8,
            "i2" => Dtype::I16,
            "u2" => Dtype::U16,
            "i4" => Dtype::I32,
            "u4" => Dtype::U32,
            "i8" => Dtype::I64,
            "u8" => Dtype::U64,
            _ => Dtype::Other(s.to_string()),
        }
    }

    /// From a v3 `data_type` (`"float32"`, or an object with a `name`).
    fn from_v3(v: &Value) -> Self {
        let name = v
            .as_str()
            .or_else(|| v.get("name").and_then(Value::as_str))
            .unwrap_or("unknown");
        match name {
            "float32" => Dtype::F32,
            "float64" => Dtype::F64,
            "int8" => Dtype::I8,
            "uint8" => Dtype::U8,
            "int16" => Dtype::I16,
            "uint16" => Dtype::U16,
            "int32" => Dtype::I32,
            "uint32" => Dtype::U32,
            "int64" => Dtype::I64,
            "uint64" => Dtype::U64,
            other => Dtype::Other(other.to_string()),
        }
    }

    /// numpy-style name (`float32`, `int16`, ...), as `info` shows it.
    pub fn name(&self) -> String {
        match self {
            Dtype::F32 => "float32",
            Dtype::F64 => "float64",
            Dtype::I8 => "int8",
            Dtype::U8 => "uint8",
            Dtype::I16 => "int16",
            Dtype::U16 => "uint16",
            Dtype::I32 => "int32",
            Dtype::U32 => "uint32",
            Dtype::I64 => "int64",
            Dtype::U64 => "uint64",
            Dtype::Other(s) => s,
        }
        .to_string()
    }

    pub fn is_numeric(&self) -> bool {
        !matches!(self, Dtype::Other(_))
    }
}

/// One root-level array of a store.
#[derive(Debug, Clone)]
pub struct Node {
    pub name: String,
    /// Its metadata document (`.zarray` or `zarr.json`), as zarrs reads it.
    pub doc: Value,
    pub attrs: Map<String, Value>,
    pub shape: Vec<u64>,
    /// Dimension names, when the store gives them.
    pub dims: Option<Vec<String>>,
    pub dtype: Dtype,
}

impl Node {
    /// The array's own fill value (`fill_value`), `None` when null or absent.
    pub fn fill_value(&self) -> Option<f64> {
        let v = self.doc.get("fill_value")?;
        match v {
            Value::String(s) if s.starts_with("0x") => {
                let bits = u64::from_str_radix(&s[2..], 16).ok()?;
                match self.dtype {
                    Dtype::F32 => Some(f64::from(f32::from_bits(u32::try_from(bits).ok()?))),
                    Dtype::F64 => Some(f64::from_bits(bits)),
                    _ => Some(bits as f64),
                }
            }
            other => number(other),
        }
    }

    /// A string attribute (a list of strings is joined with spaces).
    pub fn attr_str(&self, name: &str) -> Option<String> {
        match self.attrs.get(name)? {
            Value::String(s) => Some(s.clone()),
            Value::Array(v) if v.iter().all(Value::is_string) => Some(
                v.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            _ => None,
        }
    }

    /// Whether it is a coordinate: 1-D along a dimension of its own name.
    pub fn is_coordinate(&self) -> bool {
        self.dims
            .as_deref()
            .is_some_and(|d| d.len() == 1 && d[0] == self.name)
    }

    /// Dimension names and lengths, in the array's order (indices when unnamed).
    pub fn dim_list(&self) -> Vec<(String, usize)> {
        self.shape
            .iter()
            .enumerate()
            .map(|(i, &n)| {
                let name = self
                    .dims
                    .as_ref()
                    .and_then(|d| d.get(i).cloned())
                    .unwrap_or_else(|| format!("dim_{i}"));
                (name, n as usize)
            })
            .collect()
    }
}

/// A JSON number, or one of the strings Zarr and Python's `json` write for
/// the floats JSON cannot hold.
pub fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.as_str() {
            "NaN" => Some(f64::NAN),
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            _ => None,
        },
        _ => None,
    }
}

/// The metadata of a whole store.
#[derive(Debug, Clone)]
pub struct Store {
    pub path: PathBuf,
    pub version: Version,
    pub consolidated: bool,
    /// Root-level arrays, in name order.
    pub arrays: Vec<Node>,
}

impl Store {
    /// Reads the metadata of the store at `path` (a directory `detect`ed as
    /// `version`).
    pub fn open(path: &Path, version: Version) -> Result<Self> {
        let mut store = Store {
            path: path.to_path_buf(),
            version,
            consolidated: false,
            arrays: Vec::new(),
        };
        match version {
            Version::V2 => store.read_v2()?,
            Version::V3 => store.read_v3()?,
        }
        store.arrays.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(store)
    }

    pub fn array(&self, name: &str) -> Option<&Node> {
        self.arrays.iter().find(|a| a.name == name)
    }

    /// The coordinate array of dimension `dim`, if the store has one.
    pub fn coordinate(&self, dim: &str) -> Option<&Node> {
        self.array(dim).filter(|a| a.is_coordinate())
    }

    fn single_array_error(&self) -> Error {
        Error::input(
            &self.path,
            "is a single Zarr array, not a group of arrays with coordinates; stormtrack reads datasets as xarray writes them (e.g. ds.to_zarr(...))",
        )
    }

    fn read_v2(&mut self) -> Result<()> {
        let zmeta = self.path.join(".zmetadata");
        if zmeta.is_file() {
            let doc = self.json(&zmeta)?;
            let Some(meta) = doc.get("metadata").and_then(Value::as_object) else {
                return Err(Error::input(&self.path, "'.zmetadata' has no 'metadata' object; the consolidated metadata is damaged: rewrite it (zarr.consolidate_metadata) or delete it"));
            };
            if meta.contains_key(".zarray") {
                return Err(self.single_array_error());
            }
            self.consolidated = true;
            for (key, doc) in meta {
                let Some(name) = key.strip_suffix("/.zarray") else {
                    continue;
                };
                if name.contains('/') {
                    continue;
                }
                let attrs = meta
                    .get(&format!("{name}/.zattrs"))
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default();
                let node = self.node_v2(name, doc.clone(), attrs, &zmeta)?;
                self.arrays.push(node);
            }
            return Ok(());
        }
        if self.path.join(".zarray").is_file() {
            return Err(self.single_array_error());
        }
        for (name, dir) in self.subdirs()? {
            let zarray = dir.join(".zarray");
            if !zarray.is_file() {
                continue;
            }
            let doc = self.json(&zarray)?;
            let zattrs = dir.join(".zattrs");
            let attrs = if zattrs.is_file() {
                self.json(&zattrs)?.as_object().cloned().unwrap_or_default()
            } else {
                Map::new()
            };
            let node = self.node_v2(&name, doc, attrs, &zarray)?;
            self.arrays.push(node);
        }
        Ok(())
    }

    fn node_v2(
        &self,
        name: &str,
        doc: Value,
        attrs: Map<String, Value>,
        file: &Path,
    ) -> Result<Node> {
        let shape = self.shape(name, &doc, file)?;
        let dims = attrs
            .get("_ARRAY_DIMENSIONS")
            .and_then(Value::as_array)
            .map(|d| {
                d.iter()
                    .map(|x| x.as_str().unwrap_or("").to_string())
                    .collect()
            });
        let dtype = Dtype::from_v2(doc.get("dtype").unwrap_or(&Value::Null));
        Ok(Node {
            name: name.to_string(),
            doc,
            attrs,
            shape,
            dims,
            dtype,
        })
    }

    fn read_v3(&mut self) -> Result<()> {
        let root = self.path.join("zarr.json");
        let doc = self.json(&root)?;
        if doc.get("node_type").and_then(Value::as_str) == Some("array") {
            return Err(self.single_array_error());
        }
        let consolidated = doc
            .get("consolidated_metadata")
            .and_then(|c| c.get("metadata"))
            .and_then(Value::as_object);
        if let Some(meta) = consolidated {
            self.consolidated = true;
            for (name, doc) in meta {
                if name.contains('/')
                    || doc.get("node_type").and_then(Value::as_str) != Some("array")
                {
                    continue;
                }
                let node = self.node_v3(name, doc.clone(), &root)?;
                self.arrays.push(node);
            }
            return Ok(());
        }
        for (name, dir) in self.subdirs()? {
            let file = dir.join("zarr.json");
            if !file.is_file() {
                continue;
            }
            let doc = self.json(&file)?;
            if doc.get("node_type").and_then(Value::as_str) != Some("array") {
                continue;
            }
            let node = self.node_v3(&name, doc, &file)?;
            self.arrays.push(node);
        }
        Ok(())
    }

    fn node_v3(&self, name: &str, doc: Value, file: &Path) -> Result<Node> {
        let shape = self.shape(name, &doc, file)?;
        let attrs = doc
            .get("attributes")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let names = |v: &Value| -> Option<Vec<String>> {
            let d = v.as_array()?;
            // A null entry is an unnamed dimension.
            d.iter()
                .map(|x| x.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
        };
        let dims = doc
            .get("dimension_names")
            .and_then(names)
            .or_else(|| attrs.get("_ARRAY_DIMENSIONS").and_then(names));
        let dtype = Dtype::from_v3(doc.get("data_type").unwrap_or(&Value::Null));
        Ok(Node {
            name: name.to_string(),
            doc,
            attrs,
            shape,
            dims,
            dtype,
        })
    }

    fn shape(&self, name: &str, doc: &Value, file: &Path) -> Result<Vec<u64>> {
        doc.get("shape")
            .and_then(Value::as_array)
            .and_then(|s| s.iter().map(Value::as_u64).collect::<Option<Vec<_>>>())
            .ok_or_else(|| {
                Error::input(
                    &self.path,
                    format!(
                        "array '{name}' has no valid 'shape' in {}; the store's metadata is damaged",
                        self.relative(file)
                    ),
                )
            })
    }

    /// Subdirectories of the store's root, by name.
    fn subdirs(&self) -> Result<Vec<(String, PathBuf)>> {
        let entries = std::fs::read_dir(&self.path).map_err(|e| Error::Unreadable {
            path: self.path.clone(),
            source: e,
        })?;
        let mut dirs = Vec::new();
        for entry in entries.flatten() {
            let p = entry.path();
            if p.is_dir() {
                dirs.push((entry.file_name().to_string_lossy().into_owned(), p));
            }
        }
        Ok(dirs)
    }

    fn relative(&self, file: &Path) -> String {
        file.strip_prefix(&self.path)
            .unwrap_or(file)
            .display()
            .to_string()
    }

    /// Parses a metadata file; Python's `json` writes bare `NaN` and
    /// `Infinity` (in attributes of older stores), which are read as strings.
    fn json(&self, file: &Path) -> Result<Value> {
        let bytes = std::fs::read(file).map_err(|e| Error::Unreadable {
            path: file.to_path_buf(),
            source: e,
        })?;
        serde_json::from_slice(&bytes)
            .or_else(|first| {
                let text = String::from_utf8_lossy(&bytes);
                serde_json::from_str(&quote_special_floats(&text)).map_err(|_| first)
            })
            .map_err(|e| {
                Error::input(
                    &self.path,
                    format!(
                        "metadata file '{}' is not valid JSON ({e}); the store is damaged or still being written",
                        self.relative(file)
                    ),
                )
            })
    }
}

/// `text` with the bare tokens `NaN`, `Infinity` and `-Infinity` outside
/// strings quoted, so that strict JSON parsers accept it.
fn quote_special_floats(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut in_string = false;
    let mut escaped = false;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            rest = &rest[c.len_utf8()..];
            continue;
        }
        if c == '"' {
            in_string = true;
        }
        let token = ["-Infinity", "Infinity", "NaN"]
            .into_iter()
            .find(|t| rest.starts_with(t));
        match token {
            Some(t) => {
                out.push('"');
                out.push_str(t);
                out.push('"');
                rest = &rest[t.len()..];
            }
            None => {
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    out
}

/// Decodes standard base64 (xarray stores a float `_FillValue` of a v3
/// array as the base64 of its little-endian float64).
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        })
    };
    let s = s.trim().trim_end_matches('=').as_bytes();
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in s {
        acc = (acc << 6) | val(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_python_special_floats_outside_strings() {
        let text = r#"{"a": NaN, "b": [-Infinity, Infinity], "c": "NaN and \"Infinity\""}"#;
        let v: Value = serde_json::from_str(&quote_special_floats(text)).unwrap();
        assert!(number(&v["a"]).unwrap().is_nan());
        assert_eq!(number(&v["b"][0]), Some(f64::NEG_INFINITY));
        assert_eq!(number(&v["b"][1]), Some(f64::INFINITY));
        assert_eq!(v["c"], "NaN and \"Infinity\"");
    }

    #[test]
    fn decodes_xarray_float_fill_values() {
        let nan = base64_decode("AAAAAAAA+H8=").unwrap();
        assert!(f64::from_le_bytes(nan.try_into().unwrap()).is_nan());
        let v = base64_decode("AAAAAADAWMA=").unwrap();
        assert_eq!(f64::from_le_bytes(v.try_into().unwrap()), -99.0);
        assert_eq!(base64_decode("TWFu").unwrap(), b"Man");
        assert!(base64_decode("a*b").is_none());
    }

    #[test]
    fn dtypes() {
        assert_eq!(Dtype::from_v2(&Value::from("<f4")), Dtype::F32);
        assert_eq!(Dtype::from_v2(&Value::from(">i2")), Dtype::I16);
        assert_eq!(Dtype::from_v2(&Value::from("|u1")), Dtype::U8);
        assert_eq!(Dtype::from_v2(&Value::from("<U4")).name(), "<U4");
        assert_eq!(Dtype::from_v3(&Value::from("int64")), Dtype::I64);
        assert!(!Dtype::from_v3(&Value::from("string")).is_numeric());
    }
}
