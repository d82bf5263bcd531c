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
    // Every setting the product reads (the parameter-store location and the log level too).
    for setting in psoxy::settings::catalog::ALL {
        c.env_remove(setting.name);
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

/// Generates an HRIS-like CSV of `rows` rows on the fly (never held in memory).
pub struct Generated {
    rows: u64,
    next: u64,
    buf: Vec<u8>,
    pos: usize,
}

impl Generated {
    /// `rows` data rows after the header.
    pub fn new(rows: u64) -> Self {
        Generated {
            rows,
            next: 0,
            buf: b"EMPLOYEE_ID,EMPLOYEE_EMAIL,MANAGER_ID,DEPARTMENT,JOIN_DATE\n".to_vec(),
            pos: 0,
        }
    }
}

impl Read for Generated {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.pos == self.buf.len() {
            if self.next == self.rows {
                return Ok(0);
            }
            self.buf.clear();
            self.pos = 0;
            for _ in 0..1000.min(self.rows - self.next) {
                let i = self.next;
                self.buf.extend_from_slice(
                    format!(
                        "E{i:08},first.last{i}@acme.com,E{:08},Engineering,2020-01-{:02}\n",
                        i / 10,
                        i % 28 + 1
                    )
                    .as_bytes(),
                );
                self.next += 1;
            }
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Peak resident memory of this process so far (VmHWM), in kB.
pub fn peak_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status")
}

/// A pseudonymizer with only a salt.
pub fn pseudonymizer(salt: &str) -> std::sync::Arc<psoxy::pseudonym::Pseudonymizer> {
    std::sync::Arc::new(
        psoxy::pseudonym::Pseudonymizer::new(&psoxy::pseudonym::PseudonymSettings {
            salt: salt.into(),
            ..Default::default()
        })
        .expect("pseudonymizer"),
    )
}

/// A sanitizer for rules given as YAML, with `salt` and `threads` workers.
pub fn sanitizer(yaml: &str, salt: &str, threads: usize) -> psoxy::sanitize::Sanitizer {
    let rules = psoxy::rules::parse_rules_yaml(yaml).expect("rules parse");
    psoxy::sanitize::Sanitizer::new(&rules, pseudonymizer(salt), threads).expect("rules compile")
}

/// The Python of the test tools' virtualenv (`target/pytools`: moto, cargo-lambda, pyarrow),
/// installed by `scripts/python-tools.sh` on first use; once per test process.
pub fn pytools_python() -> &'static PathBuf {
    static PYTHON: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PYTHON.get_or_init(|| {
        let tools = Command::new("bash")
            .arg(repo("scripts/python-tools.sh"))
            .stderr(std::process::Stdio::inherit())
            .output()
            .expect("run scripts/python-tools.sh");
        assert!(
            tools.status.success(),
            "scripts/python-tools.sh failed: cannot install the Python test tools (needs python3 with venv and pip)"
        );
        let bin = String::from_utf8(tools.stdout).expect("a path");
        Path::new(bin.trim()).join("python")
    })
}

/// The first line `psoxy serve` writes on its (piped) stderr, and the address it names
/// (`listening on http://ADDR ...`); the rest of stderr stays readable.
pub fn serve_started(
    child: &mut std::process::Child,
) -> (
    String,
    String,
    std::io::BufReader<std::process::ChildStderr>,
) {
    use std::io::BufRead;
    let mut stderr = std::io::BufReader::new(child.stderr.take().expect("stderr piped"));
    let mut first = String::new();
    stderr.read_line(&mut first).expect("read stderr");
    let addr = first
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("psoxy serve did not start: {first}"))
        .to_owned();
    (first, addr, stderr)
}
