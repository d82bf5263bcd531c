//! MultiTypeBulkDataRules: choosing the rules of an object by its key.

use regex::Regex;

use super::{BulkRules, MultiTypeRules, RulesError, ShapeError};

/// A compiled `fileRules` path template: `{name}` matches one or more non-`/` characters,
/// `{name?}` zero or more; a leading `/` is ignored; the whole key must match.
#[derive(Debug, Clone)]
pub struct PathTemplate {
    regex: Regex,
}

impl PathTemplate {
    /// Compiles a template.
    pub fn parse(template: &str) -> Result<Self, RulesError> {
        let bad = |why: &'static str| {
            RulesError::from(ShapeError::Template {
                template: template.to_owned(),
                why,
            })
        };
        let mut pattern = String::from(r"\A");
        let mut rest = template.strip_prefix('/').unwrap_or(template);
        while let Some(open) = rest.find('{') {
            pattern.push_str(&regex::escape(&rest[..open]));
            let close = rest[open..].find('}').ok_or_else(|| bad("unclosed `{`"))? + open;
            let name = &rest[open + 1..close];
            let (name, optional) = match name.strip_suffix('?') {
                Some(n) => (n, true),
                None => (name, false),
            };
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
            {
                return Err(bad("variable names are letters, digits, `_` and `-`"));
            }
            pattern.push_str(if optional { "([^/]*)" } else { "([^/]+)" });
            rest = &rest[close + 1..];
        }
        if rest.contains('}') {
            return Err(bad("unmatched `}`"));
        }
        pattern.push_str(&regex::escape(rest));
        pattern.push_str(r"\z");
        let regex = Regex::new(&pattern).map_err(|source| {
            RulesError::from(ShapeError::TemplateRegex {
                template: template.to_owned(),
                source,
            })
        })?;
        Ok(PathTemplate { regex })
    }

    /// If `key` matches (a leading `/` ignored), what the last variable captured (or the empty
    /// string for a template without variables).
    pub fn match_key<'k>(&self, key: &'k str) -> Option<&'k str> {
        let key = key.strip_prefix('/').unwrap_or(key);
        let caps = self.regex.captures(key)?;
        Some(
            caps.iter()
                .skip(1)
                .flatten()
                .last()
                .map_or("", |m| m.as_str()),
        )
    }
}

impl MultiTypeRules {
    /// The rules for object `key`: the first template (in file order) matching the whole key.
    /// An inner `fileRules` is matched against what the outer template's last variable
    /// captured. `Ok(None)` when no template matches (the object is to be skipped).
    pub fn select(&self, key: &str) -> Result<Option<(String, &BulkRules)>, RulesError> {
        for (template, rules) in &self.file_rules {
            let Some(captured) = PathTemplate::parse(template)?.match_key(key) else {
                continue;
            };
            return match rules {
                BulkRules::MultiType(inner) => Ok(inner
                    .select(captured)?
                    .map(|(t, r)| (format!("{template} > {t}"), r))),
                other => Ok(Some((template.clone(), other))),
            };
        }
        Ok(None)
    }

    /// Checks every template compiles (also inside nested rules).
    pub fn validate_templates(&self) -> Result<(), RulesError> {
        for (template, rules) in &self.file_rules {
            PathTemplate::parse(template)?;
            if let BulkRules::MultiType(inner) = rules {
                inner.validate_templates()?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::parse_rules_yaml;

    fn multi(yaml: &str) -> MultiTypeRules {
        match parse_rules_yaml(yaml).unwrap() {
            BulkRules::MultiType(m) => m,
            other => panic!("not multi-type: {other:?}"),
        }
    }

    #[test]
    fn templates_match_whole_keys() {
        let t = PathTemplate::parse("/export/{week}/hris.csv").unwrap();
        assert_eq!(t.match_key("export/2024-06/hris.csv"), Some("2024-06"));
        assert_eq!(t.match_key("/export/2024-06/hris.csv"), Some("2024-06"));
        assert_eq!(
            t.match_key("export//hris.csv"),
            None,
            "{{name}} needs one or more chars"
        );
        assert_eq!(
            t.match_key("export/a/b/hris.csv"),
            None,
            "no `/` inside a variable"
        );
        assert_eq!(
            t.match_key("export/a/hris.csv.gz"),
            None,
            "whole key must match"
        );
        let o = PathTemplate::parse("hris{suffix?}.csv").unwrap();
        assert_eq!(o.match_key("hris.csv"), Some(""));
        assert_eq!(o.match_key("hris-2024.csv"), Some("-2024"));
        let dots = PathTemplate::parse("a.csv").unwrap();
        assert_eq!(
            dots.match_key("aXcsv"),
            None,
            "literal parts are not regexes"
        );
        assert!(PathTemplate::parse("x/{unclosed").is_err());
        assert!(PathTemplate::parse("x/{}").is_err());
    }

    #[test]
    fn first_match_wins_and_nesting_uses_last_capture() {
        let m = multi(
            "fileRules:\n  /hr/{file}:\n    fileRules:\n      hris.csv:\n        columnsToPseudonymize: [ID]\n      events.ndjson:\n        transforms:\n          - redact: $.x\n  /{any}/hris.csv:\n    columnsToRedact: [ID]\n",
        );
        let (t, r) = m.select("hr/hris.csv").unwrap().unwrap();
        assert_eq!(t, "/hr/{file} > hris.csv");
        assert!(matches!(r, BulkRules::Columnar(c) if c.columns_to_pseudonymize == ["ID"]));
        let (_, r) = m.select("/hr/events.ndjson").unwrap().unwrap();
        assert!(matches!(r, BulkRules::Record(_)));
        let (t, _) = m.select("other/hris.csv").unwrap().unwrap();
        assert_eq!(t, "/{any}/hris.csv");
        assert!(m.select("hr/unknown.csv").unwrap().is_none());
        assert!(m.select("nothing").unwrap().is_none());
    }
}
