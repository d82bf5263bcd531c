//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Path of a file under tests/fixtures.
pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// Path of a file in the repository.
pub fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// A `psoxy` command with a clean environment for the settings it reads.
pub fn psoxy() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_psoxy"));
    for var in [
        "PSOXY_SALT",
        "PSOXY_ENCRYPTION_KEY",
        "EMAIL_CANONICALIZATION",
        "EMAIL_DOMAIN_HANDLING",
        "SALT_EMAIL_DOMAINS",
        "ENCRYPTION_KEY_EMAIL_DOMAINS",
        "SALT_IP",
        "ENCRYPTION_KEY_IP",
        "RUST_LOG",
        "RULES",
        "OUTPUT_BUCKET",
        "INPUT_BASE_PATH",
        "OUTPUT_BASE_PATH",
        "COMPRESS_OUTPUT_ALWAYS",
        "ADDITIONAL_TRANSFORMS",
        "PSOXY_SHUFFLE_ROWS",
        "PSOXY_INSTANCE_ID",
    ] {
        c.env_remove(var);
    }
    c
}

/// Runs a command and returns its output.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run psoxy")
}

/// stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Parses CSV text into rows of cells.
pub fn parse_csv(bytes: &[u8]) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes)
        .records()
        .map(|r| {
            r.expect("valid CSV output")
                .iter()
                .map(str::to_string)
                .collect()
        })
        .collect()
}

/// Files (recursively) below `dir`, as relative paths.
pub fn files_below(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.push(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    if dir.exists() {
        walk(dir, dir, &mut out);
    }
    out.sort();
    out
}

/// Gzips bytes.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// Decompresses gzip (all members).
pub fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}
