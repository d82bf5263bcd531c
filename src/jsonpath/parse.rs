//! Tokenizer/parser turning path text into a list of [`Segment`]s.
//!
//! The parser is a hand written, scannerless recursive-descent parser over the
//! characters of the path. It never panics: every malformed input produces a
//! [`JsonPathError`] naming a character position in the original text.

use super::cursor::{is_name_char, Parser};
use super::filter::{self, Filter};
use super::{JsonPathError, MAX_SEGMENTS};

/// One step of a compiled path (everything after the root `$`).
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// `true` for a deep scan (`..name`, `..*`, `..[...]`): the selector is
    /// applied to the current node and all of its descendants.
    pub descendant: bool,
    /// What the segment selects.
    pub selector: Selector,
}

/// What a [`Segment`] selects from a node.
#[derive(Debug, Clone, PartialEq)]
pub enum Selector {
    /// Object members with one of these names (`.a`, `['a']`, `['a','b']`).
    /// Never matches array elements.
    Names(Vec<String>),
    /// Every member of an object or element of an array (`.*`, `[*]`).
    Wildcard,
    /// Array elements at these indexes (`[0]`, `[-1]`, `[0,2]`); negative
    /// indexes count from the end. Never matches object members.
    Indexes(Vec<i64>),
    /// Array elements in `start..end`, every `step`th (`[1:3]`, `[:2]`,
    /// `[-2:]`, `[::2]`). Bounds follow Python semantics: negative bounds
    /// count from the end, out-of-range bounds are clamped.
    Slice {
        /// First index (inclusive); `None` means 0.
        start: Option<i64>,
        /// Last index (exclusive); `None` means the array length.
        end: Option<i64>,
        /// Stride, at least 1.
        step: u64,
    },
    /// A filter `[?(...)]`: on an array, the elements for which the
    /// expression holds; on an object, the object itself if it holds.
    Filter(Filter),
}

impl Parser<'_> {
    /// Parses the root and all segments.
    fn parse_path(&mut self) -> Result<Vec<Segment>, JsonPathError> {
        self.skip_ws();
        if !self.eat('$') {
            // Unreachable in practice: `new` guarantees a `$`.
            return Err(self.error_at(self.pos, "path must start with '$'"));
        }
        let mut segments = Vec::new();
        loop {
            let start = self.pos;
            let segment = match self.peek() {
                None => break,
                Some('.') if self.peek_at(1) == Some('.') => {
                    self.pos += 2;
                    self.parse_after_dots(start)?
                }
                Some('.') => {
                    self.pos += 1;
                    self.parse_after_dot()?
                }
                Some('[') => Segment {
                    descendant: false,
                    selector: self.parse_bracket()?,
                },
                Some(c) if c.is_whitespace() => {
                    self.skip_ws();
                    if self.at_end() {
                        break;
                    }
                    return Err(self.error_at(
                        self.pos,
                        format!(
                            "unexpected {} after whitespace; expected end of path",
                            self.found()
                        ),
                    ));
                }
                Some(_) => {
                    return Err(self.error_at(
                        start,
                        format!("unexpected {}; expected '.', '..' or '['", self.found()),
                    ))
                }
            };
            if segments.len() == MAX_SEGMENTS {
                return Err(self
                    .unsupported_at(start, format!("path has more than {MAX_SEGMENTS} segments")));
            }
            segments.push(segment);
        }
        Ok(segments)
    }

    /// After a single `.`: a name, `*`, or (leniently) a bracket.
    fn parse_after_dot(&mut self) -> Result<Segment, JsonPathError> {
        let selector = match self.peek() {
            Some('*') => {
                self.pos += 1;
                Selector::Wildcard
            }
            Some('[') => self.parse_bracket()?,
            Some(c) if is_name_char(c) => self.parse_dot_name()?,
            _ => {
                return Err(self.error_at(
                    self.pos,
                    format!(
                        "expected a property name, '*' or '[' after '.', found {}",
                        self.found()
                    ),
                ))
            }
        };
        Ok(Segment {
            descendant: false,
            selector,
        })
    }

    /// After `..`: a name, `*` or a bracket selector.
    fn parse_after_dots(&mut self, start: usize) -> Result<Segment, JsonPathError> {
        let selector = match self.peek() {
            Some('*') => {
                self.pos += 1;
                Selector::Wildcard
            }
            Some('[') => self.parse_bracket()?,
            Some(c) if is_name_char(c) => self.parse_dot_name()?,
            _ => {
                let msg = format!(
                    "expected a property name, '*' or '[' after '..' (at position {}), found {}",
                    self.original_pos(start),
                    self.found()
                );
                return Err(self.error_at(self.pos, msg));
            }
        };
        Ok(Segment {
            descendant: true,
            selector,
        })
    }

    fn parse_dot_name(&mut self) -> Result<Selector, JsonPathError> {
        let start = self.pos;
        let name = self.parse_name();
        if self.peek() == Some('(') {
            return Err(self.unsupported_at(
                start,
                format!("function calls such as '{name}()' are not supported"),
            ));
        }
        Ok(Selector::Names(vec![name]))
    }

    /// Parses `[...]`; the cursor must be on `[`.
    fn parse_bracket(&mut self) -> Result<Selector, JsonPathError> {
        let open = self.pos;
        self.pos += 1;
        self.skip_ws();
        match self.peek() {
            None => Err(self.error_at(
                self.pos,
                format!("unclosed '[' (opened at position {})", self.original_pos(open)),
            )),
            Some('*') => {
                self.pos += 1;
                self.expect_close_bracket(open)?;
                Ok(Selector::Wildcard)
            }
            Some('\'' | '"') => {
                let mut names = vec![self.parse_quoted()?];
                loop {
                    self.skip_ws();
                    if !self.eat(',') {
                        break;
                    }
                    self.skip_ws();
                    if !matches!(self.peek(), Some('\'' | '"')) {
                        return Err(self.error_at(
                            self.pos,
                            format!("expected a quoted name after ',', found {}", self.found()),
                        ));
                    }
                    names.push(self.parse_quoted()?);
                }
                self.expect_close_bracket(open)?;
                Ok(Selector::Names(names))
            }
            Some('?') => {
                self.pos += 1;
                let f = filter::parse_filter(self)?;
                self.expect_close_bracket(open)?;
                Ok(Selector::Filter(f))
            }
            Some(c) if c == '-' || c == ':' || c.is_ascii_digit() => self.parse_indexes(open),
            Some(']') => Err(self.error_at(self.pos, "empty brackets '[]'")),
            Some(_) => Err(self.error_at(
                self.pos,
                format!(
                    "expected a quoted name, an index, a slice, '*' or a filter '?(...)' after '[', found {}",
                    self.found()
                ),
            )),
        }
    }

    fn parse_optional_int(&mut self) -> Result<Option<i64>, JsonPathError> {
        self.skip_ws();
        match self.peek() {
            Some(c) if c == '-' || c.is_ascii_digit() => Ok(Some(self.parse_int()?)),
            _ => Ok(None),
        }
    }

    /// Index list or slice inside brackets (cursor after `[` and spaces).
    fn parse_indexes(&mut self, open: usize) -> Result<Selector, JsonPathError> {
        let first = self.parse_optional_int()?;
        self.skip_ws();
        if self.eat(':') {
            let end = self.parse_optional_int()?;
            self.skip_ws();
            let mut step = 1u64;
            if self.eat(':') {
                let step_pos = self.pos;
                if let Some(s) = self.parse_optional_int()? {
                    if s == 0 {
                        return Err(self.error_at(step_pos, "slice step must not be zero"));
                    }
                    if s < 0 {
                        return Err(
                            self.unsupported_at(step_pos, "negative slice steps are not supported")
                        );
                    }
                    step = s.unsigned_abs();
                }
            }
            self.expect_close_bracket(open)?;
            return Ok(Selector::Slice {
                start: first,
                end,
                step,
            });
        }
        let Some(first) = first else {
            // Unreachable: parse_indexes is only entered on '-', ':' or a digit.
            return Err(self.error_at(self.pos, "expected an index"));
        };
        let mut indexes = vec![first];
        loop {
            self.skip_ws();
            if !self.eat(',') {
                break;
            }
            self.skip_ws();
            indexes.push(self.parse_int()?);
        }
        self.expect_close_bracket(open)?;
        Ok(Selector::Indexes(indexes))
    }
}

/// Parses `path` into segments (see [`crate::jsonpath`] for the syntax).
pub(crate) fn parse_segments(path: &str) -> Result<Vec<Segment>, JsonPathError> {
    if path.trim().is_empty() {
        return Err(JsonPathError::Syntax {
            path: path.to_string(),
            position: 0,
            message: "empty path".to_string(),
        });
    }
    Parser::new(path).parse_path()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(p: &str) -> Vec<Segment> {
        parse_segments(p).unwrap_or_else(|e| panic!("{p}: {e}"))
    }

    fn child(selector: Selector) -> Segment {
        Segment {
            descendant: false,
            selector,
        }
    }

    fn desc(selector: Selector) -> Segment {
        Segment {
            descendant: true,
            selector,
        }
    }

    fn names(n: &[&str]) -> Selector {
        Selector::Names(n.iter().map(|s| s.to_string()).collect())
    }

    fn err(p: &str) -> JsonPathError {
        match parse_segments(p) {
            Ok(s) => panic!("{p} unexpectedly parsed: {s:?}"),
            Err(e) => e,
        }
    }

    fn syntax_pos(p: &str) -> usize {
        match err(p) {
            JsonPathError::Syntax { position, path, .. } => {
                assert_eq!(path, p);
                position
            }
            other => panic!("{p}: expected syntax error, got {other:?}"),
        }
    }

    #[test]
    fn root_only() {
        assert!(segs("$").is_empty());
        assert!(segs("  $  ").is_empty());
    }

    #[test]
    fn dot_names() {
        assert_eq!(
            segs("$.profile.email"),
            vec![child(names(&["profile"])), child(names(&["email"]))]
        );
        assert_eq!(segs("$.a_b-c$d9"), vec![child(names(&["a_b-c$d9"]))]);
        assert_eq!(
            segs("$.名前.ünï"),
            vec![child(names(&["名前"])), child(names(&["ünï"]))]
        );
        assert_eq!(segs("$.0"), vec![child(names(&["0"]))]);
    }

    #[test]
    fn implicit_root() {
        assert_eq!(segs("profile.email"), segs("$.profile.email"));
        assert_eq!(segs("*"), segs("$.*"));
        assert_eq!(segs("['a']"), segs("$['a']"));
    }

    #[test]
    fn bracket_names_and_escapes() {
        assert_eq!(segs("$['a']"), vec![child(names(&["a"]))]);
        assert_eq!(segs("$[\"a b\"]"), vec![child(names(&["a b"]))]);
        assert_eq!(segs(r"$['it\'s']"), vec![child(names(&["it's"]))]);
        assert_eq!(
            segs(r#"$["say \"hi\""]"#),
            vec![child(names(&["say \"hi\""]))]
        );
        assert_eq!(
            segs(r"$['back\\slash']"),
            vec![child(names(&["back\\slash"]))]
        );
        assert_eq!(segs(r"$['\u00e9\n']"), vec![child(names(&["é\n"]))]);
        assert_eq!(segs(r"$['\ud83d\ude00']"), vec![child(names(&["😀"]))]);
        assert_eq!(
            segs("$['@odata.type']"),
            vec![child(names(&["@odata.type"]))]
        );
        assert_eq!(segs("$[ 'a' ]"), vec![child(names(&["a"]))]);
    }

    #[test]
    fn bracket_unions() {
        assert_eq!(segs("$['a','b']"), vec![child(names(&["a", "b"]))]);
        assert_eq!(
            segs("$[ 'a' , \"b\" ,'c']"),
            vec![child(names(&["a", "b", "c"]))]
        );
    }

    #[test]
    fn wildcards() {
        assert_eq!(
            segs("$.a.*"),
            vec![child(names(&["a"])), child(Selector::Wildcard)]
        );
        assert_eq!(
            segs("$.a[*]"),
            vec![child(names(&["a"])), child(Selector::Wildcard)]
        );
        assert_eq!(segs("$[ * ]"), vec![child(Selector::Wildcard)]);
    }

    #[test]
    fn indexes() {
        assert_eq!(
            segs("$.items[0]"),
            vec![child(names(&["items"])), child(Selector::Indexes(vec![0]))]
        );
        assert_eq!(segs("$[-1]"), vec![child(Selector::Indexes(vec![-1]))]);
        assert_eq!(segs("$[1,2]"), vec![child(Selector::Indexes(vec![1, 2]))]);
        assert_eq!(
            segs("$[ 0 , -2 ]"),
            vec![child(Selector::Indexes(vec![0, -2]))]
        );
    }

    #[test]
    fn slices() {
        let s = |start, end, step| child(Selector::Slice { start, end, step });
        assert_eq!(segs("$[1:3]"), vec![s(Some(1), Some(3), 1)]);
        assert_eq!(segs("$[:2]"), vec![s(None, Some(2), 1)]);
        assert_eq!(segs("$[-2:]"), vec![s(Some(-2), None, 1)]);
        assert_eq!(segs("$[:]"), vec![s(None, None, 1)]);
        assert_eq!(segs("$[::2]"), vec![s(None, None, 2)]);
        assert_eq!(segs("$[1:5:2]"), vec![s(Some(1), Some(5), 2)]);
        assert_eq!(segs("$[1:5:]"), vec![s(Some(1), Some(5), 1)]);
    }

    #[test]
    fn deep_scan_forms() {
        assert_eq!(segs("$..email"), vec![desc(names(&["email"]))]);
        assert_eq!(segs("$..*"), vec![desc(Selector::Wildcard)]);
        assert_eq!(
            segs("$..[*].x"),
            vec![desc(Selector::Wildcard), child(names(&["x"]))]
        );
        assert_eq!(segs("$..['a','b']"), vec![desc(names(&["a", "b"]))]);
        assert_eq!(segs("$..[0]"), vec![desc(Selector::Indexes(vec![0]))]);
        let f = segs("$..[?(@.a)]");
        assert!(f[0].descendant && matches!(f[0].selector, Selector::Filter(_)));
        assert_eq!(
            segs("$.a..b"),
            vec![child(names(&["a"])), desc(names(&["b"]))]
        );
    }

    #[test]
    fn filters_parse() {
        let s = segs("$.attendees[?(@.type == 'required')].email");
        assert_eq!(s.len(), 3);
        match &s[1].selector {
            Selector::Filter(f) => assert_eq!(f.as_str(), "(@.type == 'required')"),
            other => panic!("{other:?}"),
        }
        // `?` without parentheses is accepted too.
        assert!(matches!(segs("$[?@.a]")[0].selector, Selector::Filter(_)));
    }

    #[test]
    fn lenient_dot_bracket() {
        assert_eq!(segs("$.['a']"), segs("$['a']"));
    }

    #[test]
    fn error_empty() {
        assert_eq!(syntax_pos(""), 0);
        assert_eq!(syntax_pos("   "), 0);
    }

    #[test]
    fn error_empty_after_root_dot() {
        // `$.` — nothing after the dot.
        let e = err("$.");
        assert_eq!(e.position(), 2);
        assert!(e.message().contains("after '.'"), "{e}");
    }

    #[test]
    fn error_trailing_dot() {
        assert_eq!(syntax_pos("$.a."), 4);
        assert_eq!(syntax_pos("a.b."), 4);
        assert_eq!(syntax_pos("$.a.."), 5);
    }

    #[test]
    fn error_unclosed_bracket() {
        let e = err("$.a[0");
        assert_eq!(e.position(), 5);
        assert!(e.message().contains("unclosed '['"), "{e}");
        assert!(e.message().contains("position 3"), "{e}");
        assert_eq!(syntax_pos("$["), 2);
        assert_eq!(syntax_pos("$['a'"), 5);
        assert_eq!(syntax_pos("$['a"), 2); // unterminated string starts at 2
        assert_eq!(syntax_pos("$[?(@.a == 1)"), 13);
    }

    #[test]
    fn error_bad_filter() {
        assert_eq!(syntax_pos("$[?(@.a == )]"), 11);
        assert_eq!(syntax_pos("$[?(@.a = 1)]"), 8);
        assert_eq!(syntax_pos("$[?(@.a == 1]"), 12);
        assert_eq!(syntax_pos("$[?()]"), 4);
        assert_eq!(syntax_pos("$[?(@.a == 1 @.b)]"), 13);
        assert_eq!(syntax_pos("$[?('a')]"), 4);
    }

    #[test]
    fn error_misc() {
        assert_eq!(syntax_pos("$a"), 1);
        assert_eq!(syntax_pos("$[]"), 2);
        assert_eq!(syntax_pos("$[abc]"), 2);
        assert_eq!(syntax_pos("$['a',]"), 6);
        assert_eq!(syntax_pos("$[1,]"), 4);
        assert_eq!(syntax_pos("$[1 2]"), 4);
        assert_eq!(syntax_pos("$[99999999999999999999]"), 2);
        assert_eq!(syntax_pos("$[::0]"), 4);
        assert_eq!(syntax_pos(r"$['\q']"), 3);
        assert_eq!(syntax_pos("$.a b"), 4);
        assert_eq!(syntax_pos("$.a]"), 3);
        assert_eq!(syntax_pos("$.a.'b'"), 4);
    }

    #[test]
    fn implicit_root_error_positions_refer_to_original_text() {
        // "a[" -> effective "$.a[": the error is at the end of the original.
        assert_eq!(syntax_pos("a["), 2);
        assert_eq!(syntax_pos("a.b]"), 3);
        // Error right at the (implied) start maps to 0.
        assert_eq!(syntax_pos("]"), 0);
    }

    #[test]
    fn unsupported_features() {
        for (p, pos) in [
            ("$.a.length()", 4),
            ("$[::-1]", 4),
            ("$[?(@.a == $.b)]", 11),
            ("$[?(@.*)]", 5),
            ("$[?(@..a)]", 5),
        ] {
            match err(p) {
                JsonPathError::Unsupported { position, .. } => assert_eq!(position, pos, "{p}"),
                other => panic!("{p}: {other:?}"),
            }
        }
    }
}
