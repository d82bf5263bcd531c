//! Verbatim YAML tags (`!<pseudonymize>`), as Psoxy's rule files write them.
//!
//! serde_yaml 0.9 only turns a tag into an enum variant when the tag starts with `!`; a
//! verbatim tag `!<name>` reaches it as the bare `name` and is silently dropped. So before
//! parsing, every `!<name>` that stands where a tag can (at the start of a line, or after
//! whitespace, `[`, `{` or `,`) is rewritten to the equivalent local tag `!name`.
//!
//! The rewrite is text-based, so it is checked: the document parsed with and without it must
//! be the same once tags are removed. If a `!<name>` inside a quoted or block string was
//! touched, the two differ and loading fails instead of silently changing the string.

use std::borrow::Cow;
use std::sync::OnceLock;

use serde_yaml::Value;

/// YAML that does not parse, or whose verbatim tags cannot be told from text.
#[derive(Debug, thiserror::Error)]
pub enum TagError {
    /// Not YAML.
    #[error("not valid YAML: {0}")]
    Yaml(#[source] serde_yaml::Error),
    /// A `!<...>` inside a string value.
    #[error(
        "a verbatim tag `!<...>` appears inside a string value; cannot tell tags from \
         text there (write the tag as `!name`, or the transform as `method: name`)"
    )]
    TagInString,
}

/// Parses YAML text into a value in which verbatim tags (`!<name>`) are kept as tags.
pub(crate) fn parse_with_verbatim_tags(text: &str) -> Result<Value, TagError> {
    let rewritten = rewrite_verbatim_tags(text);
    let value: Value = serde_yaml::from_str(&rewritten).map_err(TagError::Yaml)?;
    if let Cow::Owned(_) = rewritten {
        let original: Value = serde_yaml::from_str(text).map_err(TagError::Yaml)?;
        if strip_tags(original) != strip_tags(value.clone()) {
            return Err(TagError::TagInString);
        }
    }
    Ok(value)
}

fn verbatim_tag() -> &'static regex::Regex {
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(r"(?m)(^|[\s\[{,])!<([A-Za-z_][A-Za-z0-9_.-]*)>")
            .expect("constant regex (covered by the tests below)")
    })
}

/// `!<name>` -> `!name` where a tag can stand; borrowed when there is none.
fn rewrite_verbatim_tags(text: &str) -> Cow<'_, str> {
    verbatim_tag().replace_all(text, "${1}!${2}")
}

/// The value with every tag removed (recursively).
fn strip_tags(value: Value) -> Value {
    match value {
        Value::Tagged(t) => strip_tags(t.value),
        Value::Sequence(items) => Value::Sequence(items.into_iter().map(strip_tags).collect()),
        Value::Mapping(map) => Value::Mapping(
            map.into_iter()
                .map(|(k, v)| (strip_tags(k), strip_tags(v)))
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag_of(v: &Value) -> Option<String> {
        match v {
            Value::Tagged(t) => Some(t.tag.to_string()),
            _ => None,
        }
    }

    #[test]
    fn verbatim_tags_become_local_tags() {
        let v = parse_with_verbatim_tags(
            "- !<pseudonymize> {jsonPaths: [a]}\n- !<redact>\n  jsonPaths: [b]\n",
        )
        .unwrap();
        let Value::Sequence(items) = v else {
            panic!("not a sequence")
        };
        assert_eq!(tag_of(&items[0]).as_deref(), Some("!pseudonymize"));
        assert_eq!(tag_of(&items[1]).as_deref(), Some("!redact"));
    }

    #[test]
    fn local_tags_and_flow_sequences() {
        let v = parse_with_verbatim_tags("[!pseudonymize {a: 1},!<redact> {b: 2}]").unwrap();
        let Value::Sequence(items) = v else {
            panic!("not a sequence")
        };
        assert_eq!(tag_of(&items[0]).as_deref(), Some("!pseudonymize"));
        assert_eq!(tag_of(&items[1]).as_deref(), Some("!redact"));
    }

    #[test]
    fn text_without_verbatim_tags_is_untouched() {
        assert!(matches!(rewrite_verbatim_tags("a: b\n"), Cow::Borrowed(_)));
        // Look-behind syntax is not a tag.
        assert!(matches!(
            rewrite_verbatim_tags("r: '(?<!x)y'"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn tag_lookalike_inside_a_string_is_refused() {
        let e = parse_with_verbatim_tags("a: 'x !<y> z'\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("verbatim tag"), "{e}");
        // ... but one inside a comment is harmless.
        assert!(parse_with_verbatim_tags("a: 1 # !<y>\n").is_ok());
    }

    #[test]
    fn invalid_yaml_is_reported() {
        assert!(parse_with_verbatim_tags("a: [")
            .unwrap_err()
            .to_string()
            .contains("YAML"));
    }
}
