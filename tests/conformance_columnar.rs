//! Every `columnarCases` entry of the conformance vectors, run through the `psoxy` CLI:
//! output cells must match exactly (shuffle off); error cases must fail, name the column or
//! line, and leave no output file.

mod common;

use common::{fixture, parse_csv, psoxy, run, stderr};
use serde_json::Value;

#[test]
fn every_columnar_case() {
    let vectors: Value =
        serde_json::from_slice(&std::fs::read(fixture("vectors.json")).unwrap()).unwrap();
    let cases = vectors["columnarCases"].as_array().unwrap();
    assert_eq!(cases.len(), 12, "expected the 12 conformance cases");
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let rules_path = dir.path().join(format!("{name}.yaml"));
        // JSON is YAML: the rules go through the same loader as any rules file.
        std::fs::write(&rules_path, case["rules"].to_string()).unwrap();
        let out_path = dir.path().join(format!("{name}.out.csv"));
        let output = run(psoxy()
            .arg("sanitize")
            .arg("--rules")
            .arg(&rules_path)
            .arg("--salt")
            .arg(case["salt"].as_str().unwrap())
            .arg("--email-canonicalization")
            .arg(case["emailCanonicalization"].as_str().unwrap())
            .arg("--no-shuffle")
            .arg("-o")
            .arg(&out_path)
            .arg(fixture(case["input"].as_str().unwrap())));
        if let Some(expected_error) = case["expectedError"].as_str() {
            let err = stderr(&output);
            if output.status.success() {
                failures.push(format!(
                    "{name}: succeeded, expected an error naming {expected_error}"
                ));
            } else if !err.contains(expected_error) {
                failures.push(format!(
                    "{name}: error does not contain {expected_error:?}: {err}"
                ));
            }
            if out_path.exists() {
                failures.push(format!("{name}: output file left behind after an error"));
            }
            let leftovers: Vec<_> = std::fs::read_dir(dir.path())
                .unwrap()
                .filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().contains("psoxy-partial"))
                .collect();
            if !leftovers.is_empty() {
                failures.push(format!("{name}: temporary file left behind"));
            }
            continue;
        }
        if !output.status.success() {
            failures.push(format!("{name}: failed: {}", stderr(&output)));
            continue;
        }
        let got = parse_csv(&std::fs::read(&out_path).unwrap());
        let expected: Vec<Vec<String>> = case["expectedRows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r.as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c.as_str().unwrap().to_string())
                    .collect()
            })
            .collect();
        if got != expected {
            failures.push(format!(
                "{name}:\n  got      {got:?}\n  expected {expected:?}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn crlf_input_keeps_crlf_and_drops_bom() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.csv");
    let o = run(psoxy()
        .args([
            "sanitize",
            "--salt",
            "salt",
            "--no-shuffle",
            "-p",
            "EMAIL",
            "-o",
        ])
        .arg(&out)
        .arg(fixture("columnar/crlf-bom-cased-headers.csv")));
    assert!(o.status.success(), "{}", stderr(&o));
    let bytes = std::fs::read(&out).unwrap();
    assert!(!bytes.starts_with(b"\xEF\xBB\xBF"), "BOM must be dropped");
    assert!(
        bytes.starts_with(b"Employee Id,Email,Team\r\n"),
        "{:?}",
        String::from_utf8_lossy(&bytes)
    );
    assert_eq!(bytes.iter().filter(|b| **b == b'\n').count(), 3);
    assert_eq!(bytes.windows(2).filter(|w| w == b"\r\n").count(), 3);
}
