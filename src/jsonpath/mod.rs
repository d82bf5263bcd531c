//! A compiled JSONPath engine implementing the subset of the Jayway JSONPath
//! dialect used by Psoxy rule files, evaluated over [`serde_json::Value`].
//!
//! # Supported syntax
//!
//! * root `$`; a path that does not start with `$` gets `$.` prepended
//!   (`profile.email` is `$.profile.email`), as Jayway does;
//! * dot names `.name` (letters, digits, `_`, `-`, `$` and any non-ASCII,
//!   non-whitespace character);
//! * bracket names `['name']` / `["name"]` (escapes `\'`, `\"`, `\\`, `\/`,
//!   `\b`, `\f`, `\n`, `\r`, `\t`, `\uXXXX`) and unions `['a','b']`;
//! * wildcards `.*` and `[*]`;
//! * array indexes `[0]`, negative indexes `[-1]`, index unions `[0,2]`;
//! * slices `[1:3]`, `[:2]`, `[-2:]`, `[::2]` (step must be positive);
//! * deep scan `..name`, `..*`, `..[*]`, `..['a','b']`, `..[0]`, `..[?(...)]`;
//! * filters `[?(<expr>)]`, see [`filter`](self#filters).
//!
//! # Semantics
//!
//! * **Matching is set based.** A node is matched at most once, however many
//!   ways the path reaches it (`$..a..b`, `$['a','a']`, `$[0,-1]` on a
//!   one-element array, `$..[?(...)]` reaching an object both as an array
//!   element and as itself). Evaluation is a single walk over the document
//!   that tracks, per node, the set of path positions that reach it (an
//!   NFA over the segments), so no deduplication pass is needed.
//! * **Order.** [`JsonPath::select`] returns matches in document order
//!   (pre-order: a node before its descendants, object members in their
//!   stored order, array elements by index). Unions therefore do *not*
//!   reorder results: `$['b','a']` yields `a` first if `a` comes first in the
//!   document. This also applies to deep scans: `$..email` on
//!   `{"a":{"email":1},"email":2}` yields `[1, 2]` (Jayway's scan can list a
//!   node's own member before members found deeper in earlier siblings,
//!   i.e. `[2, 1]`; callers must not rely on Jayway's order).
//! * [`JsonPath::for_each_mut`] visits the same nodes, in document order,
//!   except that when a node and one of its descendants both match, the
//!   descendant is visited first (post-order). This guarantees that every
//!   node matched in the *original* document is visited exactly once and
//!   that `f` never sees (or re-matches) its own output.
//! * Names only match object members, indexes and slices only match array
//!   elements; wildcards match both. Nothing is ever created: a missing leaf
//!   (`$.a.missing`) is simply not matched. A member whose value is `null`
//!   *is* matched. `$` alone matches the root.
//! * **Filters on objects.** `[?(...)]` applied to an array tests each
//!   element; applied to an object it tests the object itself (Jayway
//!   behaviour), so `$.user[?(@.active == true)]` matches `$.user`.
//!
//! # Filters
//!
//! Filter expressions support relative paths `@`, `@.x`, `@['x']`, `@.x.y`,
//! `@.x[0]`; literals (`'single'`/`"double"` quoted strings, numbers, `true`,
//! `false`, `null`, and list literals `['a', 1]`); operators `==`, `!=`, `<`,
//! `<=`, `>`, `>=`, `=~ /regex/flags`, `in`, `nin`; `&&`, `||`, `!` and
//! parentheses. A bare relative path is an existence test. See
//! [`filter`] for the exact comparison semantics, including how missing
//! values compare.

mod cursor;
pub mod eval;
pub mod filter;
mod index;
pub mod parse;

pub use eval::Step;
pub use filter::Filter;
pub use parse::{Segment, Selector};

use std::fmt;
use std::str::FromStr;

/// Maximum number of segments in one path (the evaluator tracks path
/// positions in a 64-bit set).
pub const MAX_SEGMENTS: usize = 63;

/// An error compiling a JSONPath expression.
///
/// Every variant carries the original path text and the position (a
/// zero-based *character* offset into that text) where the problem was found.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum JsonPathError {
    /// The text is not a valid JSONPath expression.
    #[error("invalid JSONPath `{path}` at position {position}: {message}")]
    Syntax {
        /// The path text as given.
        path: String,
        /// Zero-based character offset of the problem.
        position: usize,
        /// What was wrong.
        message: String,
    },
    /// The text is valid Jayway JSONPath but uses a feature this
    /// implementation does not support (functions, absolute paths inside
    /// filters, wildcards inside filter paths, ...).
    #[error("unsupported JSONPath feature in `{path}` at position {position}: {message}")]
    Unsupported {
        /// The path text as given.
        path: String,
        /// Zero-based character offset of the unsupported construct.
        position: usize,
        /// Which feature is unsupported.
        message: String,
    },
    /// A `=~ /regex/` literal inside a filter does not compile.
    #[error("invalid regular expression in JSONPath `{path}` at position {position}: {source}")]
    InvalidRegex {
        /// The path text as given.
        path: String,
        /// Zero-based character offset of the regex literal.
        position: usize,
        /// The regex compiler's error.
        #[source]
        source: Box<crate::pattern::PatternError>,
    },
}

impl JsonPathError {
    /// The path text the error refers to.
    pub fn path(&self) -> &str {
        match self {
            JsonPathError::Syntax { path, .. }
            | JsonPathError::Unsupported { path, .. }
            | JsonPathError::InvalidRegex { path, .. } => path,
        }
    }

    /// Zero-based character offset into [`JsonPathError::path`] where the
    /// problem was found.
    pub fn position(&self) -> usize {
        match self {
            JsonPathError::Syntax { position, .. }
            | JsonPathError::Unsupported { position, .. }
            | JsonPathError::InvalidRegex { position, .. } => *position,
        }
    }

    /// The human readable description of the problem (without path/position).
    pub fn message(&self) -> std::borrow::Cow<'_, str> {
        match self {
            JsonPathError::Syntax { message, .. } | JsonPathError::Unsupported { message, .. } => {
                message.as_str().into()
            }
            JsonPathError::InvalidRegex { source, .. } => source.to_string().into(),
        }
    }
}

/// A compiled path. Parse once, evaluate many times.
///
/// Compilation does all the expensive work (tokenizing, building the segment
/// list, compiling regexes, precomputing the evaluator's state masks), so
/// evaluation allocates nothing except the result vector of
/// [`JsonPath::select`].
///
/// Two paths are equal when their original texts are equal.
#[derive(Debug, Clone)]
pub struct JsonPath {
    text: String,
    segments: Vec<Segment>,
    /// Bit `i` set when segment `i` is a deep scan (`..`).
    descendant_mask: u64,
    /// Bit `i` set when segment `i`'s selector is a filter.
    filter_mask: u64,
}

impl JsonPath {
    /// Compiles `path`.
    ///
    /// Returns [`JsonPathError`] (never panics) when the text is not a valid
    /// path, uses an unsupported feature, or contains an invalid regex.
    ///
    /// ```
    /// use psoxy::jsonpath::JsonPath;
    /// let p = JsonPath::parse("$.attendees[?(@.type == 'required')].email").unwrap();
    /// assert_eq!(p.as_str(), "$.attendees[?(@.type == 'required')].email");
    /// assert!(JsonPath::parse("$.a[0").is_err());
    /// ```
    pub fn parse(path: &str) -> Result<JsonPath, JsonPathError> {
        let segments = parse::parse_segments(path)?;
        let mut descendant_mask = 0u64;
        let mut filter_mask = 0u64;
        for (i, seg) in segments.iter().enumerate() {
            if seg.descendant {
                descendant_mask |= 1 << i;
            }
            if matches!(seg.selector, Selector::Filter(_)) {
                filter_mask |= 1 << i;
            }
        }
        Ok(JsonPath {
            text: path.to_string(),
            segments,
            descendant_mask,
            filter_mask,
        })
    }

    /// The original path text, exactly as given to [`JsonPath::parse`].
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The compiled segments (after the root `$`).
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// True when the path can match at most one node: no deep scan,
    /// wildcard, slice, filter or multi-member union.
    pub fn is_definite(&self) -> bool {
        self.segments.iter().all(|s| {
            !s.descendant
                && match &s.selector {
                    Selector::Names(names) => names.len() == 1,
                    Selector::Indexes(idx) => idx.len() == 1,
                    Selector::Wildcard | Selector::Slice { .. } | Selector::Filter(_) => false,
                }
        })
    }
}

impl PartialEq for JsonPath {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for JsonPath {}

impl std::hash::Hash for JsonPath {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.text.hash(state);
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for JsonPath {
    type Err = JsonPathError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        JsonPath::parse(s)
    }
}

impl TryFrom<&str> for JsonPath {
    type Error = JsonPathError;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        JsonPath::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_str_and_display_keep_original_text() {
        let p = JsonPath::parse("profile.email").unwrap();
        assert_eq!(p.as_str(), "profile.email");
        assert_eq!(p.to_string(), "profile.email");
    }

    #[test]
    fn from_str_works() {
        let p: JsonPath = "$.a".parse().unwrap();
        assert_eq!(p.as_str(), "$.a");
        assert!("$.".parse::<JsonPath>().is_err());
        let q = JsonPath::try_from("$.a").unwrap();
        assert_eq!(p, q);
    }

    #[test]
    fn definiteness() {
        assert!(JsonPath::parse("$.a.b[0]").unwrap().is_definite());
        assert!(JsonPath::parse("$['a']").unwrap().is_definite());
        assert!(JsonPath::parse("$").unwrap().is_definite());
        for p in [
            "$..a",
            "$.a[*]",
            "$['a','b']",
            "$[0,1]",
            "$[1:]",
            "$[?(@.a)]",
        ] {
            assert!(!JsonPath::parse(p).unwrap().is_definite(), "{p}");
        }
    }

    #[test]
    fn error_accessors() {
        let e = JsonPath::parse("$.a[").unwrap_err();
        assert_eq!(e.path(), "$.a[");
        assert_eq!(e.position(), 4);
        assert!(!e.message().is_empty());
        assert!(e.to_string().contains("position 4"), "{e}");
    }

    #[test]
    fn too_many_segments() {
        let ok = format!("${}", ".a".repeat(MAX_SEGMENTS));
        assert!(JsonPath::parse(&ok).is_ok());
        let too_long = format!("${}", ".a".repeat(MAX_SEGMENTS + 1));
        let e = JsonPath::parse(&too_long).unwrap_err();
        assert!(matches!(e, JsonPathError::Unsupported { .. }), "{e:?}");
    }
}
