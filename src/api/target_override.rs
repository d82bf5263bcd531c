//! Validation of the `X-Psoxy-TargetPath` / `X-Psoxy-TargetQuery` control headers (spec §3.4.2).
//!
//! Both values are untrusted client input. Each is trimmed (characters <= U+0020 at both ends, as
//! Java `String.trim`) and checked; an invalid value is answered with 400, `X-Psoxy-Error:
//! INVALID_REQUEST` and the error's `Display` text as body. Error messages name only the rule
//! broken, never the value (values may carry data).
//!
//! A valid TargetPath is used exactly as given: callers must **not** run it through
//! [`crate::path_prefix::PathNormalizer`] (spec Rec.; Psoxy's code does, its docs say not to).
//! Values are used as sent: no percent-decoding or re-encoding.

use std::fmt;

/// Header name of the path override.
pub const TARGET_PATH_HEADER: &str = "X-Psoxy-TargetPath";
/// Header name of the query override.
pub const TARGET_QUERY_HEADER: &str = "X-Psoxy-TargetQuery";
/// Maximum length of a (trimmed) value, in UTF-16 code units as Java counts them.
pub const MAX_TARGET_VALUE_LEN: usize = 4096;

/// Which control header a validation error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetHeader {
    /// `X-Psoxy-TargetPath`.
    Path,
    /// `X-Psoxy-TargetQuery`.
    Query,
}

impl TargetHeader {
    /// The HTTP header name.
    pub fn name(self) -> &'static str {
        match self {
            TargetHeader::Path => TARGET_PATH_HEADER,
            TargetHeader::Query => TARGET_QUERY_HEADER,
        }
    }
}

impl fmt::Display for TargetHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A rule broken by a target-override header value. `Display` is Psoxy's exact message.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TargetOverrideError {
    /// TargetPath is empty after trimming.
    #[error("X-Psoxy-TargetPath must not be empty")]
    EmptyPath,
    /// Value longer than [`MAX_TARGET_VALUE_LEN`].
    #[error("{0} exceeds max length of 4096")]
    TooLong(TargetHeader),
    /// Value contains CR or LF.
    #[error("{0} must not contain CR/LF")]
    CrLf(TargetHeader),
    /// Value contains a space or a tab.
    #[error("{0} must not contain whitespace")]
    Whitespace(TargetHeader),
    /// Value contains `#`.
    #[error("{0} must not contain '#'")]
    Fragment(TargetHeader),
    /// TargetPath contains `?` (the query belongs in TargetQuery).
    #[error("X-Psoxy-TargetPath must not contain '?'")]
    QuestionMarkInPath,
    /// Value contains a character outside 0x20..=0x7E.
    #[error("{0} must be printable ASCII only")]
    NotPrintableAscii(TargetHeader),
    /// TargetPath does not start with `/`.
    #[error("X-Psoxy-TargetPath must start with '/'")]
    PathMissingLeadingSlash,
}

impl TargetOverrideError {
    /// The header whose value broke the rule.
    pub fn header(&self) -> TargetHeader {
        match self {
            TargetOverrideError::EmptyPath
            | TargetOverrideError::QuestionMarkInPath
            | TargetOverrideError::PathMissingLeadingSlash => TargetHeader::Path,
            TargetOverrideError::TooLong(h)
            | TargetOverrideError::CrLf(h)
            | TargetOverrideError::Whitespace(h)
            | TargetOverrideError::Fragment(h)
            | TargetOverrideError::NotPrintableAscii(h) => *h,
        }
    }
}

/// Validates an `X-Psoxy-TargetPath` value; returns the trimmed path to use verbatim.
///
/// Checks, in order: not empty, length, CR/LF, space/tab, `#`, `?`, printable ASCII, leading `/`.
pub fn target_path(raw: &str) -> Result<String, TargetOverrideError> {
    let path = java_trim(raw);
    if path.is_empty() {
        return Err(TargetOverrideError::EmptyPath);
    }
    check_untrusted(TargetHeader::Path, path, false)?;
    if !path.starts_with('/') {
        return Err(TargetOverrideError::PathMissingLeadingSlash);
    }
    Ok(path.to_owned())
}

/// Validates an `X-Psoxy-TargetQuery` value.
///
/// After trimming, one leading `?` is removed; an empty result means "no query string"
/// (`Ok(None)`). Otherwise the path checks apply except that `?` is allowed and no leading `/`
/// is required; `Ok(Some(query))` is used verbatim (without a leading `?`).
pub fn target_query(raw: &str) -> Result<Option<String>, TargetOverrideError> {
    let trimmed = java_trim(raw);
    let query = trimmed.strip_prefix('?').unwrap_or(trimmed);
    if query.is_empty() {
        return Ok(None);
    }
    check_untrusted(TargetHeader::Query, query, true)?;
    Ok(Some(query.to_owned()))
}

/// Java `String.trim`: strips characters <= U+0020 at both ends.
fn java_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c <= '\u{20}')
}

/// The checks shared by both headers, in Psoxy's order.
fn check_untrusted(
    header: TargetHeader,
    value: &str,
    allow_question_mark: bool,
) -> Result<(), TargetOverrideError> {
    // Java's length() counts UTF-16 units; a value of <= 4096 bytes cannot exceed that.
    if value.len() > MAX_TARGET_VALUE_LEN && value.encode_utf16().count() > MAX_TARGET_VALUE_LEN {
        return Err(TargetOverrideError::TooLong(header));
    }
    if value.contains(['\r', '\n']) {
        return Err(TargetOverrideError::CrLf(header));
    }
    if value.contains([' ', '\t']) {
        return Err(TargetOverrideError::Whitespace(header));
    }
    if value.contains('#') {
        return Err(TargetOverrideError::Fragment(header));
    }
    if !allow_question_mark && value.contains('?') {
        return Err(TargetOverrideError::QuestionMarkInPath);
    }
    if !value.chars().all(|c| ('\u{20}'..='\u{7e}').contains(&c)) {
        return Err(TargetOverrideError::NotPrintableAscii(header));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path_err(raw: &str) -> String {
        match target_path(raw) {
            Err(e) => e.to_string(),
            Ok(p) => panic!("expected error for {raw:?}, got {p:?}"),
        }
    }

    fn query_err(raw: &str) -> String {
        match target_query(raw) {
            Err(e) => e.to_string(),
            Ok(q) => panic!("expected error for {raw:?}, got {q:?}"),
        }
    }

    #[test]
    fn valid_path_and_query_from_spec_example() {
        assert_eq!(target_path("/v2/users"), Ok("/v2/users".to_owned()));
        assert_eq!(
            target_query("status=active"),
            Ok(Some("status=active".to_owned()))
        );
    }

    #[test]
    fn query_leading_question_mark_removed_once() {
        assert_eq!(target_query("?foo=bar"), Ok(Some("foo=bar".to_owned())));
        assert_eq!(target_query("??foo=bar"), Ok(Some("?foo=bar".to_owned())));
        assert_eq!(target_query("a=1?b=2"), Ok(Some("a=1?b=2".to_owned())));
    }

    #[test]
    fn empty_query_means_no_query_string() {
        assert_eq!(target_query(""), Ok(None));
        assert_eq!(target_query("   "), Ok(None));
        assert_eq!(target_query("?"), Ok(None));
        assert_eq!(target_query(" ? "), Ok(None));
    }

    #[test]
    fn path_without_leading_slash_rejected() {
        assert_eq!(
            path_err("no-leading-slash"),
            "X-Psoxy-TargetPath must start with '/'"
        );
    }

    #[test]
    fn path_rejections_have_exact_messages() {
        assert_eq!(
            path_err("/café"),
            "X-Psoxy-TargetPath must be printable ASCII only"
        );
        assert_eq!(
            path_err("/foo bar"),
            "X-Psoxy-TargetPath must not contain whitespace"
        );
        assert_eq!(
            path_err("/foo\tbar"),
            "X-Psoxy-TargetPath must not contain whitespace"
        );
        assert_eq!(
            path_err("/path?query=1"),
            "X-Psoxy-TargetPath must not contain '?'"
        );
        assert_eq!(
            path_err("/path#frag"),
            "X-Psoxy-TargetPath must not contain '#'"
        );
        assert_eq!(
            path_err("/evil\r\nX-Injected: true"),
            "X-Psoxy-TargetPath must not contain CR/LF"
        );
        assert_eq!(
            path_err("/a\nb"),
            "X-Psoxy-TargetPath must not contain CR/LF"
        );
        assert_eq!(
            path_err("/a\u{7f}"),
            "X-Psoxy-TargetPath must be printable ASCII only"
        );
        assert_eq!(
            path_err("/a\u{1}b"),
            "X-Psoxy-TargetPath must be printable ASCII only"
        );
        assert_eq!(path_err(""), "X-Psoxy-TargetPath must not be empty");
        assert_eq!(path_err(" \t "), "X-Psoxy-TargetPath must not be empty");
    }

    #[test]
    fn path_length_limit() {
        let too_long = format!("/{}", "a".repeat(4096));
        assert_eq!(
            path_err(&too_long),
            "X-Psoxy-TargetPath exceeds max length of 4096"
        );
        let max = format!("/{}", "a".repeat(4095));
        assert_eq!(target_path(&max), Ok(max.clone()));
        // Java counts UTF-16 units: 4096 two-byte chars are not too long, only not ASCII.
        let wide = "é".repeat(4096);
        assert_eq!(
            path_err(&wide),
            "X-Psoxy-TargetPath must be printable ASCII only"
        );
    }

    #[test]
    fn checks_run_in_psoxy_order() {
        // CR/LF before whitespace, whitespace before '#', '#' before '?', all before '/'.
        assert_eq!(
            path_err("x y\r#?"),
            "X-Psoxy-TargetPath must not contain CR/LF"
        );
        assert_eq!(
            path_err("x y#?é"),
            "X-Psoxy-TargetPath must not contain whitespace"
        );
        assert_eq!(path_err("x#?é"), "X-Psoxy-TargetPath must not contain '#'");
        assert_eq!(path_err("x?é"), "X-Psoxy-TargetPath must not contain '?'");
        assert_eq!(
            path_err("xé"),
            "X-Psoxy-TargetPath must be printable ASCII only"
        );
        let long_bad = format!("x\n{}", "a".repeat(5000));
        assert_eq!(
            path_err(&long_bad),
            "X-Psoxy-TargetPath exceeds max length of 4096"
        );
    }

    #[test]
    fn path_is_trimmed() {
        assert_eq!(target_path("  /trimmed  "), Ok("/trimmed".to_owned()));
        assert_eq!(target_path("\t/trimmed\r\n"), Ok("/trimmed".to_owned()));
    }

    #[test]
    fn path_used_verbatim() {
        assert_eq!(
            target_path("/v2/users/%7Bid%7D"),
            Ok("/v2/users/%7Bid%7D".to_owned())
        );
        // Rec.: no prefix trimming or function-name stripping of a TargetPath.
        assert_eq!(
            target_path("/v1/psoxy-gcal/users"),
            Ok("/v1/psoxy-gcal/users".to_owned())
        );
    }

    #[test]
    fn query_rejections_have_exact_messages() {
        assert_eq!(
            query_err("a=b c"),
            "X-Psoxy-TargetQuery must not contain whitespace"
        );
        assert_eq!(
            query_err("a=b#c"),
            "X-Psoxy-TargetQuery must not contain '#'"
        );
        assert_eq!(
            query_err("a=b\r\nc"),
            "X-Psoxy-TargetQuery must not contain CR/LF"
        );
        assert_eq!(
            query_err("a=é"),
            "X-Psoxy-TargetQuery must be printable ASCII only"
        );
        let too_long = "a".repeat(4097);
        assert_eq!(
            query_err(&too_long),
            "X-Psoxy-TargetQuery exceeds max length of 4096"
        );
        // The leading '?' is removed before the length check.
        let max = format!("?{}", "a".repeat(4096));
        assert_eq!(target_query(&max), Ok(Some("a".repeat(4096))));
        // No leading-'/' rule for the query.
        assert_eq!(target_query("x=1"), Ok(Some("x=1".to_owned())));
    }

    #[test]
    fn errors_never_contain_the_value() {
        let secret = "/alice@acme.com secret";
        let msg = path_err(secret);
        assert!(!msg.contains("alice"), "{msg}");
    }

    #[test]
    fn error_reports_its_header() {
        assert_eq!(TargetOverrideError::EmptyPath.header(), TargetHeader::Path);
        assert_eq!(
            TargetOverrideError::Fragment(TargetHeader::Query)
                .header()
                .name(),
            TARGET_QUERY_HEADER
        );
    }
}
