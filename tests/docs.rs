//! The documentation cannot rot: the settings tables of `docs/settings.md` are the
//! declarations of `src/settings/catalog.rs`; every `yaml` block of the README and `docs/` is
//! a rules file that loads and compiles; every transform is documented; every relative link
//! points to a file; `ARCHITECTURE.md` names every module of `src/`.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use psoxy::api::ApiRuleSet;
use psoxy::bulk::{bulk_settings, BulkSettings};
use psoxy::pseudonym::{PseudonymSettings, Pseudonymizer};
use psoxy::rules::{parse_any_rules_yaml, AnyRules, BulkRules};
use psoxy::sanitize::RuleEngine;
use psoxy::settings::catalog::{ALL, RUST_LOG};
use psoxy::settings::{Flags, Group, Setting, Settings, LOCATION_SETTINGS, PSEUDONYM_SETTINGS};

/// The markdown files of the documentation.
fn doc_files() -> Vec<PathBuf> {
    let mut files = vec![
        common::repo("README.md"),
        common::repo("ARCHITECTURE.md"),
        common::repo("STYLE.md"),
    ];
    let mut pages: Vec<PathBuf> = std::fs::read_dir(common::repo("docs"))
        .expect("docs/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    pages.sort();
    files.extend(pages);
    files
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Which shells read a setting.
fn readers(s: &Setting) -> String {
    let is = |list: &[&Setting]| list.iter().any(|x| x.name == s.name);
    let api = psoxy::api::settings::api_settings();
    let mut out = Vec::new();
    if is(PSEUDONYM_SETTINGS) || s.name == RUST_LOG.name {
        out.push("CLI");
    }
    if is(&psoxy::bulk::bulk_settings()) || is(LOCATION_SETTINGS) || s.name == RUST_LOG.name {
        out.push("bulk");
    }
    if is(&api) || is(LOCATION_SETTINGS) || s.name == RUST_LOG.name {
        out.push("API");
    }
    if is(&psoxy::webhook::webhook_settings()) || is(LOCATION_SETTINGS) || s.name == RUST_LOG.name {
        out.push("webhook");
    }
    out.join(", ")
}

/// The table rows `docs/settings.md` must have, group by group.
fn expected_rows() -> Vec<String> {
    let mut rows = Vec::new();
    for group in Group::ALL {
        rows.push(format!("## {}", group.title()));
        for s in ALL.iter().filter(|s| s.group == group) {
            let default = match s.default {
                None => String::new(),
                Some("") => "empty".to_owned(),
                Some(d) => format!("`{d}`"),
            };
            rows.push(format!(
                "| `{}` | {default} | {} | {} | {} |",
                s.name,
                if s.secret { "yes" } else { "" },
                readers(s),
                s.doc
            ));
        }
    }
    rows
}

#[test]
fn the_settings_tables_are_the_declarations() {
    let text = read(&common::repo("docs/settings.md"));
    // The group headings and the rows of the settings tables (a row names an upper-case
    // setting and has the table's five cells).
    let titles: Vec<String> = Group::ALL
        .iter()
        .map(|g| format!("## {}", g.title()))
        .collect();
    let is_row = |l: &str| {
        l.strip_prefix("| `")
            .and_then(|r| r.split('`').next())
            .is_some_and(|n| {
                !n.is_empty()
                    && n.bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
            })
            && l.matches(" | ").count() == 4
    };
    let found: Vec<String> = text
        .lines()
        .filter(|l| titles.iter().any(|t| t == l) || is_row(l))
        .map(str::to_owned)
        .collect();
    let expected = expected_rows();
    assert!(
        found == expected,
        "docs/settings.md is out of date; its headings and rows must be:\n{}",
        expected.join("\n")
    );
}

/// The fenced blocks of `text` whose info string is `lang`, with their first line number.
fn blocks(text: &str, lang: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (n, line) in text.lines().enumerate() {
        match &mut current {
            None => {
                if line.trim_start().strip_prefix("```") == Some(lang) {
                    current = Some((n + 2, String::new()));
                }
            }
            Some((_, body)) => {
                if line.trim_start().starts_with("```") {
                    out.extend(current.take());
                } else {
                    body.push_str(line);
                    body.push('\n');
                }
            }
        }
    }
    out
}

fn pseudonymizer() -> Arc<Pseudonymizer> {
    Arc::new(
        Pseudonymizer::new(&PseudonymSettings {
            salt: "docs".into(),
            encryption_key: Some("docs".into()),
            ..Default::default()
        })
        .expect("pseudonymizer"),
    )
}

/// Loads and compiles one rules file of either mode.
fn compile(text: &str) -> Result<&'static str, String> {
    // Told apart as `psoxy check` tells them apart.
    let rules = match parse_any_rules_yaml(text).map_err(|e| e.to_string())? {
        AnyRules::Api(rules) => {
            let set = ApiRuleSet::compile(rules).map_err(|e| e.to_string())?;
            for plan in &set.plans {
                plan.check_keys(&pseudonymizer())
                    .map_err(|e| e.to_string())?;
            }
            return Ok("API rules");
        }
        AnyRules::Bulk(rules) => *rules,
        AnyRules::Webhook(rules) => {
            let program =
                psoxy::transform::response::compile_transforms(&rules.endpoints[0].transforms)
                    .map_err(|e| e.to_string())?;
            if let Some((index, op)) = program.first_reversible() {
                if !pseudonymizer().has_encryption_key() {
                    return Err(format!("transforms[{index}] ({op}) needs a key"));
                }
            }
            return Ok("webhook rules");
        }
    };
    let kind = match &rules {
        BulkRules::Columnar(_) => "ColumnarRules",
        BulkRules::Record(_) => "RecordRules",
        BulkRules::MultiType(_) => "MultiTypeBulkDataRules",
    };
    RuleEngine::new(rules, pseudonymizer(), 1).map_err(|e| e.to_string())?;
    Ok(kind)
}

#[test]
fn every_yaml_block_of_the_docs_is_rules_that_compile() {
    let mut problems = Vec::new();
    let mut loaded = 0;
    for file in doc_files() {
        for (line, yaml) in blocks(&read(&file), "yaml") {
            match compile(&yaml) {
                Ok(_) => loaded += 1,
                Err(e) => problems.push(format!("{}:{line}: {e}", file.display())),
            }
        }
    }
    println!("{loaded} rules examples load and compile");
    assert!(
        problems.is_empty(),
        "rules examples that do not load:\n{}",
        problems.join("\n")
    );
    assert!(loaded >= 5, "only {loaded} rules examples found");
}

/// Every `yml` block that is an `ADDITIONAL_TRANSFORMS` list (items with
/// `destinationBucketName`) is read as that setting, and the rules it holds compile.
#[test]
fn every_additional_transforms_example_loads_and_its_rules_compile() {
    let mut loaded = 0;
    for file in doc_files() {
        for (line, yml) in blocks(&read(&file), "yml") {
            if !yml.trim_start().starts_with("- destinationBucketName") {
                continue;
            }
            let lookup = |name: &str| match name {
                "PSOXY_SALT" => Some("docs".to_string()),
                "RULES" => Some("columnsToRedact: [SALARY]".to_string()),
                "OUTPUT_BUCKET" => Some("out".to_string()),
                "ADDITIONAL_TRANSFORMS" => Some(yml.clone()),
                _ => None,
            };
            let settings = Settings::from_sources(&bulk_settings(), &Flags::new(), &lookup);
            let bulk = BulkSettings::from_settings(&settings)
                .unwrap_or_else(|e| panic!("{}:{line}: {e}", file.display()));
            assert!(!bulk.additional.is_empty(), "{}:{line}", file.display());
            for extra in bulk.additional {
                RuleEngine::new(extra.rules, pseudonymizer(), 1)
                    .unwrap_or_else(|e| panic!("{}:{line}: {e}", file.display()));
            }
            loaded += 1;
        }
    }
    assert!(loaded >= 1, "no ADDITIONAL_TRANSFORMS example found");
}

#[test]
fn the_rules_page_documents_every_transform() {
    let text = read(&common::repo("docs/rules.md"));
    for d in psoxy::transform::ops::REGISTRY {
        assert!(
            text.contains(&format!("`{}`", d.name)),
            "docs/rules.md lacks `{}`",
            d.name
        );
        for p in d.parameters {
            assert!(
                text.contains(&format!("`{}`", p.name)),
                "docs/rules.md lacks {}'s parameter `{}`",
                d.name,
                p.name
            );
        }
    }
}

#[test]
fn relative_links_point_to_files() {
    let mut broken = Vec::new();
    for file in doc_files() {
        let text = read(&file);
        let dir = file.parent().expect("dir");
        for (at, _) in text.match_indices("](") {
            let rest = &text[at + 2..];
            let Some(end) = rest.find(')') else { continue };
            let target = rest[..end].split('#').next().unwrap_or("");
            if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            if !dir.join(target).exists() {
                broken.push(format!("{}: {target}", file.display()));
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn the_architecture_names_every_module() {
    let text = read(&common::repo("ARCHITECTURE.md"));
    let mut missing = Vec::new();
    fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).expect("read") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(&path, root, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(root).expect("under src");
                let name = rel.to_string_lossy().replace('\\', "/");
                if !name.ends_with("tests.rs") {
                    out.push(name);
                }
            }
        }
    }
    let src = common::repo("src");
    let mut files = Vec::new();
    walk(&src, &src, &mut files);
    for f in files {
        // A module is named by its path (`transform/program.rs`), or in the line of its
        // top-level folder (`` `sanitize/` ``) by its file name (`` `columnar.rs` ``) or, in a
        // folder below, by that folder (`` `ops/` ``).
        let parts: Vec<&str> = f.split('/').collect();
        let folder_module = f
            .strip_suffix("/mod.rs")
            .is_some_and(|dir| text.contains(&format!("`{dir}/`")));
        let named = text.contains(&f)
            || folder_module
            || (parts.len() >= 2
                && text.lines().any(|line| {
                    line.contains(&format!("`{}/`", parts[0]))
                        && (line.contains(&format!("`{}`", parts[parts.len() - 1]))
                            || (parts.len() > 2 && line.contains(&format!("`{}/`", parts[1]))))
                }));
        if !named {
            missing.push(f);
        }
    }
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md does not name:\n{}",
        missing.join("\n")
    );
}
