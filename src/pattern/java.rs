//! TEMPORARY: replaced by the Java-to-Rust translator.

/// How the translated expression will be used.
#[derive(Debug, Clone, Copy)]
pub enum Anchoring {
    /// Anywhere.
    Search,
    /// The whole input.
    Whole,
}

/// A construct with no equivalent.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("unsupported")]
pub struct JavaRegexError;

/// Translates.
pub fn translate(java: &str, anchoring: Anchoring, ci: bool) -> Result<String, JavaRegexError> {
    let flag = if ci { "(?i)" } else { "" };
    Ok(match anchoring {
        Anchoring::Search => format!("{flag}{java}"),
        Anchoring::Whole => format!("{flag}^(?:{java})$"),
    })
}
