//! Where a JSON text is malformed, said without quoting it.

use std::fmt;

/// A JSON parse failure by its kind and column only. serde_json's own message can quote the
/// input (a data value), so only these are kept, never its message or the error itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonSyntax {
    kind: JsonProblemKind,
    column: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JsonProblemKind {
    Syntax,
    Eof,
    Data,
    Io,
    TooDeep,
}

impl JsonSyntax {
    /// The kind and position of `e`.
    pub fn of(e: &serde_json::Error) -> JsonSyntax {
        use serde_json::error::Category;
        // The nesting limit's message holds no input; it is the only one recognised by text.
        let kind = if e.to_string().starts_with("recursion limit exceeded") {
            JsonProblemKind::TooDeep
        } else {
            match e.classify() {
                Category::Syntax => JsonProblemKind::Syntax,
                Category::Eof => JsonProblemKind::Eof,
                Category::Data => JsonProblemKind::Data,
                Category::Io => JsonProblemKind::Io,
            }
        };
        JsonSyntax {
            kind,
            column: e.column(),
        }
    }

    /// The kind alone, as `Syntax`, `Eof`, `Data`, `Io` or `TooDeep` (for messages that have
    /// no column).
    pub fn kind(&self) -> &'static str {
        match self.kind {
            JsonProblemKind::Syntax => "Syntax",
            JsonProblemKind::Eof => "Eof",
            JsonProblemKind::Data => "Data",
            JsonProblemKind::Io => "Io",
            JsonProblemKind::TooDeep => "TooDeep",
        }
    }
}

impl fmt::Display for JsonSyntax {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            JsonProblemKind::TooDeep => {
                write!(
                    f,
                    "nested more than 128 levels deep at column {}",
                    self.column
                )
            }
            _ => write!(f, "{} error at column {}", self.kind(), self.column),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn says_where_without_the_text() {
        let e = serde_json::from_str::<serde_json::Value>("{\"secret-value\" 1}").unwrap_err();
        let s = JsonSyntax::of(&e).to_string();
        assert_eq!(s, "Syntax error at column 17");
        let deep = "[".repeat(200);
        let e = serde_json::from_str::<serde_json::Value>(&deep).unwrap_err();
        assert!(JsonSyntax::of(&e)
            .to_string()
            .starts_with("nested more than 128"));
    }
}
