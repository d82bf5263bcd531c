//! Regular expressions of rule files. They are written for Java's `java.util.regex` (Psoxy's
//! engine); [`java`] rewrites each into an expression of `fancy-regex` (rules use look-ahead,
//! which the `regex` crate lacks) that matches exactly the same text, or refuses it.

mod java;

use std::fmt;

pub use java::{Anchoring, JavaRegexError};

/// A rule's regex that cannot be used. Shows the construct or the engine's complaint, never
/// data (rules hold none). Two errors are equal when they say the same.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PatternError {
    /// A Java construct with no equivalent in the Rust engine.
    #[error(transparent)]
    Translate(#[from] JavaRegexError),
    /// The translated expression does not compile.
    #[error(transparent)]
    Compile(#[from] Box<fancy_regex::Error>),
}

/// A compiled regular expression that keeps its source text.
///
/// Two kinds exist: [`Pattern::whole`] only accepts a match of the entire input (Java's
/// `Matcher.matches()`, used for `pathRegex` and parameter `pattern`s), [`Pattern::search`]
/// finds matches anywhere (transform regexes).
#[derive(Clone)]
pub struct Pattern {
    text: String,
    regex: fancy_regex::Regex,
}

impl Pattern {
    /// Compiles the Java regex `text` so that it must match the whole input (Java's
    /// `matches()`), optionally ignoring ASCII case (Java's `CASE_INSENSITIVE`).
    pub fn whole(text: &str, case_insensitive: bool) -> Result<Pattern, PatternError> {
        Self::compile(text, Anchoring::Whole, case_insensitive)
    }

    /// Compiles the Java regex `text` for searching (matches anywhere in the input),
    /// case-sensitively.
    pub fn search(text: &str) -> Result<Pattern, PatternError> {
        Self::compile(text, Anchoring::Search, false)
    }

    fn compile(
        text: &str,
        anchoring: Anchoring,
        case_insensitive: bool,
    ) -> Result<Pattern, PatternError> {
        let rust = java::translate(text, anchoring, case_insensitive)?;
        let regex = fancy_regex::Regex::new(&rust).map_err(Box::new)?;
        Ok(Pattern {
            text: text.to_owned(),
            regex,
        })
    }

    /// The expression as written in the rules.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The compiled expression (translated; anchored for [`Pattern::whole`]).
    pub fn regex(&self) -> &fancy_regex::Regex {
        &self.regex
    }

    /// Whether the pattern matches `input` (the whole of it for [`Pattern::whole`]).
    ///
    /// Errs only when the backtracking engine gives up (its step limit), which callers
    /// should treat as "no match".
    pub fn is_match(&self, input: &str) -> Result<bool, fancy_regex::Error> {
        self.regex.is_match(input)
    }

    /// Names of the pattern's named capture groups, in order of appearance.
    pub fn group_names(&self) -> impl Iterator<Item = &str> {
        self.regex.capture_names().flatten()
    }
}

impl PartialEq for PatternError {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pattern({:?})", self.text)
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_anchors_and_keeps_alternation_inside() {
        let p = Pattern::whole("a|b", false).unwrap();
        assert!(p.is_match("a").unwrap());
        assert!(p.is_match("b").unwrap());
        assert!(!p.is_match("ab").unwrap());
        assert_eq!(p.as_str(), "a|b");
    }

    #[test]
    fn whole_tolerates_own_anchors_and_case_flag() {
        let p = Pattern::whole("^/v1/users(?!/secret).*$", true).unwrap();
        assert!(p.is_match("/V1/Users/42").unwrap());
        assert!(!p.is_match("/v1/users/secret").unwrap());
        assert!(!p.is_match("/v1/users/SECRET/x").unwrap());
        let sensitive = Pattern::whole("[a-z]+", false).unwrap();
        assert!(!sensitive.is_match("ABC").unwrap());
    }

    #[test]
    fn search_finds_inside() {
        let p = Pattern::search("[0-9]+").unwrap();
        assert!(p.is_match("abc 123 def").unwrap());
        assert!(Pattern::search("(").is_err());
    }

    #[test]
    fn group_names_listed() {
        let p = Pattern::whole("/u/(?<user>[^/]+)/(?<repo>[^/]+)/(x)", true).unwrap();
        assert_eq!(p.group_names().collect::<Vec<_>>(), ["user", "repo"]);
    }
}
