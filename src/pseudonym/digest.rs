//! `textDigest`: replaces free text with a small JSON summary (length, word
//! count and optional keyword counts).

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::encoding::write_json_string;

/// Summarizes `text` as compact JSON with sorted keys:
/// `{"keywords":{..},"length":L,"word_count":W}`.
///
/// * `length`: length of `text` in UTF-16 code units (Java `String.length()`).
/// * `word_count`: 0 for empty text; otherwise the number of pieces of the
///   Java-trimmed text split on runs of ASCII whitespace (a text that trims to
///   nothing counts as 1, like Java's `"".split("\\s+")`).
/// * `keywords` (only when `keywords` is `Some` and at least one matches):
///   case-insensitive whole-word occurrence counts of each keyword, keys
///   sorted, zero counts omitted. A match must not be preceded or followed by
///   an alphanumeric character, so single-word keywords count equal words
///   (words being maximal runs of alphanumeric characters).
pub fn text_digest(text: &str, keywords: Option<&[String]>) -> String {
    let length: usize = text.chars().map(char::len_utf16).sum();
    let word_count = word_count(text);
    let mut out = String::with_capacity(48);
    out.push('{');
    if let Some(keywords) = keywords {
        let counts = keyword_counts(text, keywords);
        if !counts.is_empty() {
            let mut entries: Vec<(&str, usize)> = counts.into_iter().collect();
            entries.sort_by(|a, b| java_string_cmp(a.0, b.0));
            out.push_str("\"keywords\":{");
            for (i, (kw, n)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(kw, &mut out);
                write!(out, ":{n}").expect("writing to a String cannot fail");
            }
            out.push_str("},");
        }
    }
    write!(out, "\"length\":{length},\"word_count\":{word_count}}}")
        .expect("writing to a String cannot fail");
    out
}

/// Java regex `\s`: `[ \t\n\x0B\f\r]`.
fn is_java_regex_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r')
}

fn word_count(text: &str) -> usize {
    if text.is_empty() {
        return 0;
    }
    // Java String.trim(): strips chars <= U+0020 at both ends.
    let trimmed = text.trim_matches(|c: char| c <= ' ');
    if trimmed.is_empty() {
        return 1;
    }
    trimmed
        .split(is_java_regex_space)
        .filter(|piece| !piece.is_empty())
        .count()
}

/// Counts whole-word, case-insensitive occurrences of each distinct keyword.
fn keyword_counts<'k>(text: &str, keywords: &'k [String]) -> BTreeMap<&'k str, usize> {
    let haystack: Vec<char> = text.chars().flat_map(char::to_lowercase).collect();
    let mut counts = BTreeMap::new();
    for kw in keywords {
        if kw.is_empty() || counts.contains_key(kw.as_str()) {
            continue;
        }
        let needle: Vec<char> = kw.chars().flat_map(char::to_lowercase).collect();
        let n = count_whole_word(&haystack, &needle);
        if n > 0 {
            counts.insert(kw.as_str(), n);
        }
    }
    counts
}

/// Non-overlapping occurrences of `needle` in `haystack` that are not
/// preceded or followed by an alphanumeric character.
fn count_whole_word(haystack: &[char], needle: &[char]) -> usize {
    if needle.is_empty() || needle.len() > haystack.len() {
        return 0;
    }
    let mut count = 0;
    let mut i = 0;
    while i + needle.len() <= haystack.len() {
        let end = i + needle.len();
        let bounded = (i == 0 || !haystack[i - 1].is_alphanumeric())
            && (end == haystack.len() || !haystack[end].is_alphanumeric());
        if bounded && haystack[i..end] == *needle {
            count += 1;
            i = end;
        } else {
            i += 1;
        }
    }
    count
}

/// Java `String.compareTo` order (by UTF-16 code units).
fn java_string_cmp(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kws(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn vectors() {
        assert_eq!(text_digest("", None), r#"{"length":0,"word_count":0}"#);
        assert_eq!(text_digest("   ", None), r#"{"length":3,"word_count":1}"#);
        assert_eq!(
            text_digest("One  two\tthree\nfour", None),
            r#"{"length":19,"word_count":4}"#
        );
        assert_eq!(
            text_digest("naïve café 🙂", None),
            r#"{"length":13,"word_count":3}"#
        );
        assert_eq!(
            text_digest(
                "Budget review: budget and Hiring",
                Some(&kws(&["budget", "hiring", "absent"]))
            ),
            r#"{"keywords":{"budget":2,"hiring":1},"length":32,"word_count":5}"#
        );
    }

    #[test]
    fn keywords_are_whole_words() {
        assert_eq!(
            text_digest("budgets budget-budget xbudget", Some(&kws(&["budget"]))),
            r#"{"keywords":{"budget":2},"length":29,"word_count":3}"#
        );
    }

    #[test]
    fn no_matching_keywords_omits_the_key() {
        assert_eq!(
            text_digest("hello", Some(&kws(&["absent", ""]))),
            r#"{"length":5,"word_count":1}"#
        );
        assert_eq!(
            text_digest("hello", Some(&[])),
            r#"{"length":5,"word_count":1}"#
        );
    }

    #[test]
    fn keyword_keys_are_sorted_and_escaped() {
        assert_eq!(
            text_digest(
                "zeta alpha \"q\" zeta",
                Some(&kws(&["zeta", "alpha", "\"q\""]))
            ),
            r#"{"keywords":{"\"q\"":1,"alpha":1,"zeta":2},"length":19,"word_count":4}"#
        );
    }

    #[test]
    fn multi_word_keywords() {
        assert_eq!(
            text_digest(
                "Budget Review and budget review",
                Some(&kws(&["budget review"]))
            ),
            r#"{"keywords":{"budget review":2},"length":31,"word_count":5}"#
        );
    }

    #[test]
    fn word_count_uses_ascii_whitespace_only() {
        // NBSP is not `\s` in Java regexes.
        assert_eq!(word_count("a\u{A0}b"), 1);
        assert_eq!(word_count("\u{1}"), 1);
        assert_eq!(word_count(" a b "), 2);
    }
}
