//! Inbound path normalization: `REQUEST_PATH_PREFIX_TO_TRIM` and function-name stripping
//! (spec §3.5).
//!
//! Step 1 strips the configured prefix (segment-aware), step 2 strips a leading
//! `/<function name>` segment (Lambda `AWS_LAMBDA_FUNCTION_NAME`, Cloud Run `K_SERVICE`).
//! Per the spec's Rec., a request path is normalized **once** and the result is used both for
//! the upstream URL and for rule matching (Psoxy normalizes twice for matching).
//! A valid `X-Psoxy-TargetPath` bypasses this entirely (see [`crate::target_override`]).

/// Compiled path-normalization settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathNormalizer {
    prefix: Option<String>,
    function_name: Option<String>,
}

impl PathNormalizer {
    /// Builds a normalizer from the raw `REQUEST_PATH_PREFIX_TO_TRIM` value and the instance
    /// (function) name. Each is trimmed; blank means unset.
    pub fn new(prefix_setting: Option<&str>, function_name: Option<&str>) -> Self {
        Self {
            prefix: non_blank(prefix_setting),
            function_name: non_blank(function_name),
        }
    }

    /// Normalizes an inbound path: prefix strip (if configured), then function-name strip
    /// (if configured). Apply exactly once per request.
    pub fn normalize(&self, path: &str) -> String {
        let stripped = match &self.prefix {
            Some(prefix) => strip_prefix(path, prefix),
            None => path.to_owned(),
        };
        match &self.function_name {
            Some(name) => strip_function_name(stripped, name),
            None => stripped,
        }
    }
}

/// Trimmed value, `None` if absent or blank.
fn non_blank(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// Step 1. Both path and prefix get a leading `/` if missing; an unmatched path is returned
/// exactly as given.
fn strip_prefix(path: &str, prefix: &str) -> String {
    if path.trim().is_empty() {
        return path.to_owned();
    }
    let norm_path = with_leading_slash(path);
    let norm_prefix = with_leading_slash(prefix);
    if norm_prefix.ends_with('/') {
        if let Some(rest) = norm_path.strip_prefix(norm_prefix.as_str()) {
            return format!("/{}", rest.trim_start_matches('/'));
        }
    } else if norm_path == norm_prefix {
        return "/".to_owned();
    } else if let Some(rest) = norm_path
        .strip_prefix(norm_prefix.as_str())
        .filter(|rest| rest.starts_with('/'))
    {
        return rest.to_owned();
    }
    path.to_owned()
}

/// Step 2. `/<name>` -> `/`; `/<name>/rest` -> `/rest`; else unchanged. First segment only.
fn strip_function_name(path: String, name: &str) -> String {
    let Some(after_slash) = path.strip_prefix('/') else {
        return path;
    };
    match after_slash.strip_prefix(name) {
        Some("") => "/".to_owned(),
        Some(rest) if rest.starts_with('/') => rest.to_owned(),
        _ => path,
    }
}

fn with_leading_slash(s: &str) -> String {
    if s.starts_with('/') {
        s.to_owned()
    } else {
        format!("/{s}")
    }
}

#[cfg(test)]
mod tests {
    use super::PathNormalizer;

    fn both() -> PathNormalizer {
        PathNormalizer::new(Some("/v1/"), Some("psoxy-gcal"))
    }

    fn prefix_only(prefix: &str) -> PathNormalizer {
        PathNormalizer::new(Some(prefix), None)
    }

    #[test]
    fn prefix_and_function_name() {
        let n = both();
        assert_eq!(n.normalize("/v1/psoxy-gcal/users"), "/users");
        assert_eq!(n.normalize("/psoxy-gcal/users"), "/users");
        assert_eq!(n.normalize("/psoxy-gcal"), "/");
        assert_eq!(
            n.normalize("/foo/psoxy-gcal/users"),
            "/foo/psoxy-gcal/users"
        );
    }

    #[test]
    fn prefix_alone() {
        assert_eq!(
            prefix_only("/v1/").normalize("/v1/psoxy-gcal/users"),
            "/psoxy-gcal/users"
        );
        assert_eq!(
            prefix_only("v1/").normalize("/v1/psoxy-gcal/users"),
            "/psoxy-gcal/users"
        );
        assert_eq!(
            prefix_only("/v1/").normalize("/psoxy-gcal/users"),
            "/psoxy-gcal/users"
        );
        assert_eq!(prefix_only("/v1/").normalize("/v1/"), "/");
        assert_eq!(prefix_only("/v1").normalize("/v1"), "/");
    }

    #[test]
    fn prefix_with_trailing_slash_collapses_extra_slashes() {
        assert_eq!(prefix_only("/v1/").normalize("/v1//users"), "/users");
        assert_eq!(prefix_only("/v1/").normalize("/v1"), "/v1");
    }

    #[test]
    fn prefix_without_trailing_slash_is_segment_aware() {
        assert_eq!(prefix_only("/v1").normalize("/v1beta/x"), "/v1beta/x");
        assert_eq!(prefix_only("/v1").normalize("/v1/users"), "/users");
        assert_eq!(prefix_only("/v1").normalize("/v1//users"), "//users");
    }

    #[test]
    fn path_without_leading_slash() {
        assert_eq!(prefix_only("/v1").normalize("v1/users"), "/users");
        assert_eq!(prefix_only("/v2").normalize("v1/users"), "v1/users");
    }

    #[test]
    fn no_prefix_configured() {
        assert_eq!(
            PathNormalizer::new(None, None).normalize("/v1/users"),
            "/v1/users"
        );
    }

    #[test]
    fn blank_settings_are_no_ops() {
        for blank in [" ", "\t", ""] {
            let n = PathNormalizer::new(Some(blank), Some(blank));
            assert_eq!(n, PathNormalizer::new(None, None));
            assert_eq!(n.normalize("/v1/users"), "/v1/users");
        }
    }

    #[test]
    fn settings_are_trimmed() {
        let n = PathNormalizer::new(Some("  /v1/ "), Some(" psoxy-gcal "));
        assert_eq!(n.normalize("/v1/psoxy-gcal/users"), "/users");
    }

    #[test]
    fn function_name_only_first_segment_once() {
        let n = PathNormalizer::new(None, Some("fn"));
        assert_eq!(n.normalize("/fn/fn/users"), "/fn/users");
        assert_eq!(n.normalize("/fnx/users"), "/fnx/users");
        assert_eq!(n.normalize("/users/fn"), "/users/fn");
        assert_eq!(n.normalize("fn/users"), "fn/users");
    }

    #[test]
    fn normalizes_once_only() {
        // Rec.: `/v1/v1/users` is forwarded *and* matched as `/v1/users`.
        let n = prefix_only("/v1");
        assert_eq!(n.normalize("/v1/v1/users"), "/v1/users");
    }
}
