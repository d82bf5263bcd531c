//! Unknown keys: the check every rule shape makes of its maps, with "did you mean"
//! suggestions for misspelt keys.

use serde_yaml::{Mapping, Value};

use super::RulesError;

/// The first key of `map` not in `allowed`, as an error naming it, where it is and the
/// nearest valid key.
pub(super) fn check_keys(map: &Mapping, allowed: &[&str], at: &str) -> Result<(), RulesError> {
    for key in map.keys() {
        let key = key_text(key);
        if !allowed.contains(&key.as_str()) {
            return Err(RulesError::UnknownKey {
                suggestion: nearest(&key, allowed).map(str::to_string),
                key,
                at: at.to_string(),
            });
        }
    }
    Ok(())
}

/// A key as text (non-string keys as their YAML).
pub(super) fn key_text(key: &Value) -> String {
    match key {
        Value::String(s) => s.clone(),
        other => serde_yaml::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_string(),
    }
}

/// `at.next`, or `next` at the top level.
pub(super) fn join(at: &str, next: &str) -> String {
    if at.is_empty() {
        next.to_string()
    } else {
        format!("{at}.{next}")
    }
}

/// The candidate closest to `word` by case-insensitive edit distance, if it is close enough to
/// be a plausible typo (at most a third of the word's length, and at least 1 edit allowed).
pub fn nearest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let w = word.to_lowercase();
    let limit = (w.chars().count() / 3).max(2);
    candidates
        .iter()
        .map(|c| (levenshtein(&w, &c.to_lowercase()), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_keys_only() {
        let keys = ["columnsToPseudonymize", "columnsToRedact", "delimiter"];
        assert_eq!(
            nearest("columnsToPseudonymise", &keys),
            Some("columnsToPseudonymize")
        );
        assert_eq!(nearest("columnstoredact", &keys), Some("columnsToRedact"));
        assert_eq!(nearest("delimeter", &keys), Some("delimiter"));
        assert_eq!(nearest("somethingElse", &keys), None);
    }

    #[test]
    fn distance() {
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("", "abc"), 3);
    }
}
