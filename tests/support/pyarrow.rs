//! pyarrow as an independent Parquet implementation: writes the tests' inputs and reads the
//! outputs back. `scripts/python-tools.sh` installs it into `target/pytools` on first use.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn tool(args: &[&str]) -> Vec<u8> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/parquet_tool.py");
    let out = Command::new(crate::common::pytools_python())
        .arg(script)
        .args(args)
        .output()
        .expect("run parquet_tool.py");
    assert!(
        out.status.success(),
        "parquet_tool.py {} failed:\n{}",
        args[0],
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Runs a Python script with `pa` (pyarrow), `pq` (pyarrow.parquet), `pc` and `csv` in scope.
/// `{dir}` in the script is replaced by `dir`.
pub fn exec(script: &str, dir: &Path) {
    let script = script.replace("{dir}", &dir.to_string_lossy());
    tool(&["exec", &script]);
}

/// What pyarrow reads from a Parquet file.
#[derive(Debug)]
pub struct Dump {
    /// `(name, type as pyarrow prints it, nullable)` per column.
    pub schema: Vec<(String, String, bool)>,
    /// Rows per row group.
    pub row_groups: Vec<u64>,
    /// The codecs of the column chunks (`ZSTD`, `SNAPPY`, ...).
    pub codecs: Vec<String>,
    /// The rows, as JSON objects.
    pub rows: Vec<Value>,
}

impl Dump {
    /// The type of column `name`.
    pub fn type_of(&self, name: &str) -> &str {
        &self
            .schema
            .iter()
            .find(|(n, _, _)| n == name)
            .unwrap_or_else(|| panic!("no column {name} in {:?}", self.schema))
            .1
    }

    /// The column names in order.
    pub fn names(&self) -> Vec<&str> {
        self.schema.iter().map(|(n, _, _)| n.as_str()).collect()
    }
}

/// Reads `file` with pyarrow.
pub fn dump(file: &Path) -> Dump {
    let v: Value = serde_json::from_slice(&tool(&["dump", &file.to_string_lossy()]))
        .expect("parquet_tool.py dump prints JSON");
    Dump {
        schema: v["schema"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["name"].as_str().unwrap().to_string(),
                    f["type"].as_str().unwrap().to_string(),
                    f["nullable"].as_bool().unwrap(),
                )
            })
            .collect(),
        row_groups: v["row_groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_u64().unwrap())
            .collect(),
        codecs: v["codecs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect(),
        rows: v["rows"].as_array().unwrap().clone(),
    }
}
