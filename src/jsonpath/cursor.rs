//! The cursor the path and filter grammars read with: characters of the path text (with an
//! implied `$.` inserted), positions mapped back to the original text for errors, and the
//! token-level reads both grammars share.

use super::JsonPathError;

/// Maximum nesting depth of parentheses / `!` inside a filter.
pub(crate) const MAX_FILTER_DEPTH: usize = 64;

/// Cursor over the (possibly `$.`-prefixed) path text.
pub(crate) struct Parser<'t> {
    /// The path as the caller wrote it (for error messages).
    original: &'t str,
    /// Characters of the effective text (with `$.` inserted if implied).
    chars: Vec<char>,
    /// Current position in `chars`.
    pub(crate) pos: usize,
    /// Where `$.` was inserted in `chars` (only meaningful if `inserted`).
    insert_at: usize,
    /// Number of inserted characters (0 or 2).
    inserted: usize,
}

impl<'t> Parser<'t> {
    pub(crate) fn new(original: &'t str) -> Parser<'t> {
        let orig: Vec<char> = original.chars().collect();
        let lead = orig.iter().take_while(|c| c.is_whitespace()).count();
        // Jayway: a path not starting with `$` (or `@`) is relative to the root.
        if orig.get(lead) == Some(&'$') {
            Parser {
                original,
                chars: orig,
                pos: 0,
                insert_at: 0,
                inserted: 0,
            }
        } else {
            let mut chars = Vec::with_capacity(orig.len() + 2);
            chars.extend_from_slice(&orig[..lead]);
            chars.push('$');
            chars.push('.');
            chars.extend_from_slice(&orig[lead..]);
            Parser {
                original,
                chars,
                pos: 0,
                insert_at: lead,
                inserted: 2,
            }
        }
    }

    /// Maps a position in the effective text back to the original text.
    pub(crate) fn original_pos(&self, pos: usize) -> usize {
        if pos < self.insert_at {
            pos
        } else if pos < self.insert_at + self.inserted {
            self.insert_at
        } else {
            pos - self.inserted
        }
    }

    pub(crate) fn error_at(&self, pos: usize, message: impl Into<String>) -> JsonPathError {
        JsonPathError::Syntax {
            path: self.original.to_string(),
            position: self.original_pos(pos),
            message: message.into(),
        }
    }

    pub(crate) fn unsupported_at(&self, pos: usize, message: impl Into<String>) -> JsonPathError {
        JsonPathError::Unsupported {
            path: self.original.to_string(),
            position: self.original_pos(pos),
            message: message.into(),
        }
    }

    pub(crate) fn regex_error_at(
        &self,
        pos: usize,
        source: crate::pattern::PatternError,
    ) -> JsonPathError {
        JsonPathError::InvalidRegex {
            path: self.original.to_string(),
            position: self.original_pos(pos),
            source: Box::new(source),
        }
    }

    pub(crate) fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    pub(crate) fn peek_at(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    pub(crate) fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        Some(c)
    }

    pub(crate) fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub(crate) fn eat_str(&mut self, s: &str) -> bool {
        let mut n = 0;
        for (i, c) in s.chars().enumerate() {
            if self.peek_at(i) != Some(c) {
                return false;
            }
            n += 1;
        }
        self.pos += n;
        true
    }

    pub(crate) fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }

    /// The effective text between two positions.
    pub(crate) fn text(&self, from: usize, to: usize) -> String {
        let to = to.min(self.chars.len());
        let from = from.min(to);
        self.chars[from..to].iter().collect()
    }

    /// Describes the current character for error messages.
    pub(crate) fn found(&self) -> String {
        match self.peek() {
            Some(c) => format!("'{c}'"),
            None => "end of path".to_string(),
        }
    }

    /// Reads an unquoted property name (possibly empty).
    pub(crate) fn parse_name(&mut self) -> String {
        let start = self.pos;
        while self.peek().is_some_and(is_name_char) {
            self.pos += 1;
        }
        self.text(start, self.pos)
    }

    /// Reads a `'...'` or `"..."` string literal; the cursor must be on the
    /// opening quote.
    pub(crate) fn parse_quoted(&mut self) -> Result<String, JsonPathError> {
        let start = self.pos;
        let quote = match self.bump() {
            Some(q @ ('\'' | '"')) => q,
            _ => return Err(self.error_at(start, "expected a quoted string")),
        };
        let mut out = String::new();
        loop {
            let c = match self.bump() {
                Some(c) => c,
                None => {
                    return Err(self.error_at(
                        start,
                        format!("unterminated string literal (missing closing {quote})"),
                    ))
                }
            };
            if c == quote {
                return Ok(out);
            }
            if c != '\\' {
                out.push(c);
                continue;
            }
            let esc_pos = self.pos - 1;
            let e = match self.bump() {
                Some(e) => e,
                None => return Err(self.error_at(esc_pos, "unterminated escape sequence")),
            };
            match e {
                '\'' | '"' | '\\' | '/' => out.push(e),
                'b' => out.push('\u{8}'),
                'f' => out.push('\u{c}'),
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'u' => out.push(self.parse_unicode_escape(esc_pos)?),
                other => {
                    return Err(
                        self.error_at(esc_pos, format!("invalid escape sequence '\\{other}'"))
                    )
                }
            }
        }
    }

    fn parse_hex4(&mut self, esc_pos: usize) -> Result<u32, JsonPathError> {
        let mut v = 0u32;
        for _ in 0..4 {
            let d = self.bump().and_then(|c| c.to_digit(16)).ok_or_else(|| {
                self.error_at(esc_pos, "invalid \\u escape: expected 4 hex digits")
            })?;
            v = v * 16 + d;
        }
        Ok(v)
    }

    fn parse_unicode_escape(&mut self, esc_pos: usize) -> Result<char, JsonPathError> {
        let hi = self.parse_hex4(esc_pos)?;
        let code = if (0xD800..0xDC00).contains(&hi) {
            if !self.eat_str("\\u") {
                return Err(self.error_at(esc_pos, "unpaired surrogate in \\u escape"));
            }
            let lo = self.parse_hex4(esc_pos)?;
            if !(0xDC00..0xE000).contains(&lo) {
                return Err(self.error_at(esc_pos, "unpaired surrogate in \\u escape"));
            }
            0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
        } else {
            hi
        };
        char::from_u32(code).ok_or_else(|| self.error_at(esc_pos, "invalid \\u escape"))
    }

    /// Reads an optionally negative decimal integer.
    pub(crate) fn parse_int(&mut self) -> Result<i64, JsonPathError> {
        let start = self.pos;
        self.eat('-');
        let digits = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        if self.pos == digits {
            return Err(self.error_at(
                self.pos,
                format!("expected a digit, found {}", self.found()),
            ));
        }
        self.text(start, self.pos)
            .parse::<i64>()
            .map_err(|_| self.error_at(start, "integer out of range"))
    }

    /// Consumes optional whitespace and the `]` closing the bracket opened at
    /// `open`.
    pub(crate) fn expect_close_bracket(&mut self, open: usize) -> Result<(), JsonPathError> {
        self.skip_ws();
        if self.eat(']') {
            return Ok(());
        }
        let pos = self.pos;
        if self.at_end() {
            Err(self.error_at(
                pos,
                format!(
                    "unclosed '[' (opened at position {})",
                    self.original_pos(open)
                ),
            ))
        } else {
            Err(self.error_at(pos, format!("expected ']' but found {}", self.found())))
        }
    }
}

/// Characters allowed in an unquoted (dot) property name.
pub(crate) fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-' || c == '$' || (!c.is_ascii() && !c.is_whitespace())
}
