//! The validator of an endpoint's `requestBody` rule (SPEC-API-PARITY §3.1.2).
//!
//! ```yaml
//! requestBody:
//!   required: true                 # default false
//!   content:                       # media type -> schema; optional
//!     application/json: {type: object, required: [operation], properties: {operation: {type: string}}}
//!     application/x-www-form-urlencoded: {type: object, properties: {user: {type: string, format: pseudonym}}}
//! ```
//!
//! The model ([`RequestBodyRule`], [`BodySchema`]) accepts exactly the keys of Psoxy's
//! `RequestBodySchema` / `JsonSchema` (unknown keys are load errors). [`CompiledBodyRule`] is
//! built once at rule load and answers [`CompiledBodyRule::allows`] for a request that already
//! matched the endpoint (path, query, method); an endpoint without `requestBody` allows every
//! body (step 1, the caller's job: keep an `Option<CompiledBodyRule>`). A `false` answer is
//! the same response as a path mismatch (403 `BLOCKED_BY_RULES`, empty body). The body is
//! validated *before* token reversal.
//!
//! Validation semantics: JSON-Schema 2020-12 for the keys used: `type` (`string`, `number`,
//! `integer` = a number with a zero fractional part (`1.0` and `1e2` are integers), `boolean`,
//! `object`, `array`, `null`), `properties`, `items` (one schema for every element), `required`,
//! `pattern` (an unanchored *search*, strings only), `additionalProperties: false`. Keywords
//! that do not apply to the instance's type are ignored (`properties` on a string, `pattern`
//! on a number...). `format` other than `pseudonym` is not enforced.
//!
//! Choices made on the spec's **Rec.** options and other open points (the safer option each time):
//! * **Schema lookup miss (item 5).** Psoxy allows a body whose content type has no schema, so
//!   a caller can bypass the schema by sending another content type. We **block** when
//!   `content` is non-empty and neither the raw `Content-Type` nor its normalized type is a
//!   key (an empty `content: {}` still allows everything, like no `content`). So
//!   `Content-Type: text/plain` against the spec's example rule is blocked, not allowed.
//! * **Invalid JSON (item 6)**: blocked (Psoxy crashes). Trailing content after the JSON value
//!   is invalid too (Jackson would ignore it).
//! * **Form schema without `type: object` (item 7)** and **content keys whose normalized type is
//!   neither `application/json` nor `application/x-www-form-urlencoded` (item 8)**: rejected at
//!   load, naming the `content` key.
//! * **`format: pseudonym` (item 9)**: **anchored**. A string must be exactly one reversible
//!   token, `p~` + 43 or more of `[A-Za-z0-9_-]`, optionally followed by `@` +
//!   `[A-Za-z0-9.-]+` (the `@domain` of email tokens, which the spec's examples send), instead
//!   of Psoxy's unanchored `p~[A-Za-z0-9_-]{43,}` that accepts any string *containing* a
//!   token. It is enforced on every schema node carrying it (Psoxy only rewrites along the
//!   first of `format` / `items` / `properties`), and in addition to a `pattern` on the same
//!   node (Psoxy's rewrite would replace that `pattern`). Only the spelling `pseudonym` counts.
//! * **`enumValues`**: Psoxy loads and ignores it; we **enforce** it as JSON-Schema `enum` of
//!   strings (the instance must be a string equal to one of the values; an empty list matches
//!   nothing). Documented deviation.
//! * **Unknown `type`** (e.g. `type: sting`): rejected at load with its location (Psoxy loads
//!   it; no Psoxy rule file uses `requestBody`).
//! * **Repeated form names**: the validated object keeps the **last** value (Psoxy), and in
//!   addition every earlier value of a repeated name must satisfy that name's property schema,
//!   because all pairs are forwarded and the source API may read the first one.
//! * **Form parsing** is `body_request::parse_form`, the same parser the token reversal uses;
//!   a name without `=` validates as `""`.
//! * A regex that fails at match time (fancy-regex backtrack limit) counts as "no match".
//!
//! Regexes are Java's, translated and compiled by [`crate::pattern`] (searched, not
//! anchored).

use indexmap::IndexMap;
use serde_json::{Map, Value};

use super::request::{
    java_trim, normalized_content_type, parse_form, APPLICATION_FORM_URLENCODED, APPLICATION_JSON,
    DEFAULT_CONTENT_TYPE,
};
use crate::pattern::{Pattern, PatternError};
use crate::pseudonym::token_text::is_whole_token;
use crate::rules::api::{BodySchema, RequestBodyRule};

/// A `requestBody` rule that cannot be loaded. Messages name the location in the rule
/// (e.g. `content.application/json.properties.user.pattern`), never request data.
#[derive(Debug, thiserror::Error)]
pub enum BodyRuleError {
    /// A `content` key whose normalized media type has no validator.
    #[error(
        "{location}: unsupported media type; only application/json and application/x-www-form-urlencoded request bodies can have a schema"
    )]
    UnsupportedMediaType {
        /// `content.<key>`.
        location: String,
    },
    /// A form schema whose `type` is not `object`.
    #[error("{location}: a schema for application/x-www-form-urlencoded must have type: object")]
    FormSchemaNotObject {
        /// `content.<key>`.
        location: String,
    },
    /// A `type` that is not a JSON-Schema type name.
    #[error(
        "{location}: unknown type; expected one of string, integer, number, boolean, object, array, null"
    )]
    UnknownType {
        /// Location of the `type` key.
        location: String,
    },
    /// A `pattern` the regex compiler refused.
    #[error("{location}: invalid regular expression")]
    InvalidPattern {
        /// Location of the `pattern` key.
        location: String,
        /// The compiler's error.
        #[source]
        source: Box<PatternError>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SchemaType {
    String,
    Integer,
    Number,
    Boolean,
    Object,
    Array,
    Null,
}

impl SchemaType {
    fn parse(name: &str) -> Option<SchemaType> {
        Some(match name {
            "string" => SchemaType::String,
            "integer" => SchemaType::Integer,
            "number" => SchemaType::Number,
            "boolean" => SchemaType::Boolean,
            "object" => SchemaType::Object,
            "array" => SchemaType::Array,
            "null" => SchemaType::Null,
            _ => return None,
        })
    }

    fn matches(self, value: &Value) -> bool {
        match (self, value) {
            (SchemaType::String, Value::String(_))
            | (SchemaType::Number, Value::Number(_))
            | (SchemaType::Boolean, Value::Bool(_))
            | (SchemaType::Object, Value::Object(_))
            | (SchemaType::Array, Value::Array(_))
            | (SchemaType::Null, Value::Null) => true,
            (SchemaType::Integer, Value::Number(n)) => is_integral(&n.to_string()),
            _ => false,
        }
    }
}

/// Whether a JSON number's text has a zero fractional part (exact, on the decimal text).
fn is_integral(text: &str) -> bool {
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(i) => (&unsigned[..i], parse_exponent(&unsigned[i + 1..])),
        None => (unsigned, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let frac_significant = frac_part.trim_end_matches('0');
    if frac_significant.is_empty() {
        if exponent >= 0 {
            return true;
        }
        let int_digits = int_part.trim_start_matches('0');
        if int_digits.is_empty() {
            return true; // zero
        }
        let trailing_zeros = int_digits.len() - int_digits.trim_end_matches('0').len();
        return i64::try_from(trailing_zeros).unwrap_or(i64::MAX) >= -exponent;
    }
    exponent >= i64::try_from(frac_significant.len()).unwrap_or(i64::MAX)
}

/// Parses a JSON exponent (`+5`, `-12`, `7`), saturating far beyond any text length.
fn parse_exponent(text: &str) -> i64 {
    const CAP: i64 = 1 << 40;
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let mut value: i64 = 0;
    for d in digits.bytes().filter(u8::is_ascii_digit) {
        value = (value * 10 + i64::from(d - b'0')).min(CAP);
    }
    if negative {
        -value
    } else {
        value
    }
}

/// One compiled schema node.
#[derive(Debug, Clone)]
struct CompiledSchema {
    schema_type: Option<SchemaType>,
    pattern: Option<Pattern>,
    pseudonym: bool,
    enum_values: Option<Vec<String>>,
    properties: Option<IndexMap<String, CompiledSchema>>,
    items: Option<Box<CompiledSchema>>,
    required: Vec<String>,
    additional_properties: bool,
}

impl CompiledSchema {
    fn compile(schema: &BodySchema, location: &str) -> Result<CompiledSchema, BodyRuleError> {
        let schema_type = match &schema.schema_type {
            None => None,
            Some(name) => {
                Some(
                    SchemaType::parse(name).ok_or_else(|| BodyRuleError::UnknownType {
                        location: format!("{location}.type"),
                    })?,
                )
            }
        };
        let pattern = match &schema.pattern {
            None => None,
            Some(p) => Some(
                Pattern::search(p).map_err(|e| BodyRuleError::InvalidPattern {
                    location: format!("{location}.pattern"),
                    source: Box::new(e),
                })?,
            ),
        };
        let properties = match &schema.properties {
            None => None,
            Some(props) => {
                let mut compiled = IndexMap::with_capacity(props.len());
                for (name, sub) in props {
                    let sub_location = format!("{location}.properties.{name}");
                    compiled.insert(name.clone(), CompiledSchema::compile(sub, &sub_location)?);
                }
                Some(compiled)
            }
        };
        let items = match &schema.items {
            None => None,
            Some(sub) => Some(Box::new(CompiledSchema::compile(
                sub,
                &format!("{location}.items"),
            )?)),
        };
        Ok(CompiledSchema {
            schema_type,
            pattern,
            pseudonym: schema.format.as_deref() == Some("pseudonym"),
            enum_values: schema.enum_values.clone(),
            properties,
            items,
            required: schema.required.clone().unwrap_or_default(),
            additional_properties: schema.additional_properties.unwrap_or(true),
        })
    }

    fn validate(&self, value: &Value) -> bool {
        if self.schema_type.is_some_and(|t| !t.matches(value)) {
            return false;
        }
        if let Some(allowed) = &self.enum_values {
            let ok = matches!(value, Value::String(s) if allowed.iter().any(|a| a == s));
            if !ok {
                return false;
            }
        }
        match value {
            Value::String(s) => {
                if let Some(re) = &self.pattern {
                    if !matches!(re.is_match(s), Ok(true)) {
                        return false;
                    }
                }
                if self.pseudonym && !is_whole_token(s) {
                    return false;
                }
                true
            }
            Value::Object(map) => self.validate_object(map),
            Value::Array(elements) => match &self.items {
                Some(items) => elements.iter().all(|e| items.validate(e)),
                None => true,
            },
            Value::Null | Value::Bool(_) | Value::Number(_) => true,
        }
    }

    fn validate_object(&self, map: &Map<String, Value>) -> bool {
        if !self.required.iter().all(|name| map.contains_key(name)) {
            return false;
        }
        map.iter().all(
            |(name, v)| match self.properties.as_ref().and_then(|p| p.get(name)) {
                Some(sub) => sub.validate(v),
                None => self.additional_properties,
            },
        )
    }

    /// Validates a form body (this node has `type: object`, checked at load).
    fn validate_form(&self, body: &str) -> bool {
        let pairs = parse_form(body);
        let mut object = Map::new();
        for pair in &pairs {
            object.insert(
                pair.name.clone(),
                Value::String(pair.value.clone().unwrap_or_default()),
            );
        }
        if !self.validate_object(&object) {
            return false;
        }
        // Earlier values of repeated names: each must satisfy the name's property schema too
        // (a name without a property schema passed above only if additionalProperties allows).
        pairs.iter().all(|pair| {
            let value = pair.value.as_deref().unwrap_or("");
            let is_last = matches!(object.get(&pair.name), Some(Value::String(v)) if v == value);
            is_last
                || match self.properties.as_ref().and_then(|p| p.get(&pair.name)) {
                    Some(sub) => sub.validate(&Value::String(value.to_string())),
                    None => true,
                }
        })
    }
}

/// A `requestBody` rule compiled once at rule load: patterns compiled, `format: pseudonym`
/// turned into the anchored token check, `content` keys checked (only the normalized types
/// `application/json` and `application/x-www-form-urlencoded`; a form schema must have
/// `type: object`). See the module doc for every choice.
#[derive(Debug, Clone)]
pub struct CompiledBodyRule {
    required: bool,
    content: Option<IndexMap<String, CompiledSchema>>,
}

impl CompiledBodyRule {
    /// Compiles `rule`, each `pattern` as a Java regex searched in the value. A pattern that
    /// does not compile is [`BodyRuleError::InvalidPattern`], with its location.
    pub fn compile(rule: &RequestBodyRule) -> Result<CompiledBodyRule, BodyRuleError> {
        let content = match &rule.content {
            None => None,
            Some(content) => {
                let mut compiled = IndexMap::with_capacity(content.len());
                for (key, schema) in content {
                    let location = format!("content.{key}");
                    let media_type = normalized_content_type(Some(key));
                    if media_type != APPLICATION_JSON && media_type != APPLICATION_FORM_URLENCODED {
                        return Err(BodyRuleError::UnsupportedMediaType { location });
                    }
                    if media_type == APPLICATION_FORM_URLENCODED
                        && schema.schema_type.as_deref() != Some("object")
                    {
                        return Err(BodyRuleError::FormSchemaNotObject { location });
                    }
                    compiled.insert(key.clone(), CompiledSchema::compile(schema, &location)?);
                }
                Some(compiled)
            }
        };
        Ok(CompiledBodyRule {
            required: rule.required,
            content,
        })
    }

    /// The decision of §3.1.2 steps 2-9 for a request that already matched the endpoint
    /// (step 1, "no `requestBody` -> allowed", is the caller's). `content_type` is the raw
    /// `Content-Type` header (`None` -> `application/json`); `body` is `None` when absent or
    /// blank (a blank `Some` is treated as `None`). `true` = allowed, `false` = blocked.
    pub fn allows(&self, content_type: Option<&str>, body: Option<&str>) -> bool {
        let body = body.map(java_trim).filter(|b| !b.is_empty());
        // 2. required and no body
        if self.required && body.is_none() {
            return false;
        }
        // 3. no content map
        let Some(content) = &self.content else {
            return true;
        };
        // 4. no body
        let Some(body) = body else {
            return true;
        };
        // 5. schema lookup: raw header value, then normalized type
        let raw = content_type.unwrap_or(DEFAULT_CONTENT_TYPE);
        let media_type = normalized_content_type(content_type);
        let Some(schema) = content
            .get(raw)
            .or_else(|| content.get(media_type.as_str()))
        else {
            // Rec. choice: no bypass through an unlisted content type
            return content.is_empty();
        };
        match media_type.as_str() {
            // 6. JSON
            APPLICATION_JSON => match serde_json::from_str::<Value>(body) {
                Ok(value) => schema.validate(&value),
                Err(_) => false,
            },
            // 7. form
            APPLICATION_FORM_URLENCODED => schema.validate_form(body),
            // 8. unreachable: keys of other media types are refused at load
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The spec's example rule (§3.1.2).
    const SPEC_RULE: &str = r#"
required: true                 # default false
content:                       # media type -> schema; optional
  application/json:
    type: object
    required: [operation]
    properties:
      operation: {type: string}
    additionalProperties: false
  application/x-www-form-urlencoded:
    type: object
    properties:
      user: {type: string, format: pseudonym}
"#;

    const SLACK_TOKEN: &str = "p~BZcy5qhkyGyUTWR9hC_my2o6pHLKA4C8MHUHRy1K5TuugNC6SKYHB4eIKRZ4cFOg";

    fn load(yaml: &str) -> CompiledBodyRule {
        let rule: RequestBodyRule = serde_yaml::from_str(yaml).expect("rule parses");
        CompiledBodyRule::compile(&rule).expect("rule compiles")
    }

    fn load_err(yaml: &str) -> BodyRuleError {
        let rule: RequestBodyRule = serde_yaml::from_str(yaml).expect("rule parses");
        CompiledBodyRule::compile(&rule).expect_err("rule must not compile")
    }

    /// The spec's YAML, JSON part only, no `required: true` (the Psoxy test's setup).
    fn json_only() -> CompiledBodyRule {
        load(
            r#"
content:
  application/json:
    type: object
    required: [operation]
    properties:
      operation: {type: string}
    additionalProperties: false
"#,
        )
    }

    #[test]
    fn spec_rule_parses() {
        let rule: RequestBodyRule = serde_yaml::from_str(SPEC_RULE).unwrap();
        assert!(rule.required);
        let content = rule.content.as_ref().unwrap();
        let keys: Vec<&str> = content.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["application/json", "application/x-www-form-urlencoded"]
        );
        let form = &content["application/x-www-form-urlencoded"];
        let user = &form.properties.as_ref().unwrap()["user"];
        assert_eq!(user.format.as_deref(), Some("pseudonym"));
        assert!(CompiledBodyRule::compile(&rule).is_ok());
    }

    #[test]
    fn spec_examples_parameterized_json_content_type() {
        let rule = json_only();
        for ct in [
            "application/json; charset=utf-8",
            "Application/JSON; Charset=UTF-8",
        ] {
            assert!(!rule.allows(Some(ct), Some("{}")), "{ct}");
            assert!(
                rule.allows(Some(ct), Some(r#"{"operation":"list"}"#)),
                "{ct}"
            );
            // derived: additionalProperties false
            assert!(
                !rule.allows(Some(ct), Some(r#"{"operation":"list","extra":1}"#)),
                "{ct}"
            );
        }
        assert!(rule.allows(None, Some(r#"{"operation":"list"}"#)));
        assert!(rule.allows(Some(""), Some(r#"{"operation":"list"}"#)));
        assert!(!rule.allows(Some("application/json"), Some(r#"{"operation":1}"#)));
    }

    #[test]
    fn derived_example_other_content_type_is_blocked_by_our_rec_choice() {
        // Psoxy allows `text/plain` (no schema for that type); we block because `content` is
        // non-empty and no key matches (see the module doc).
        let rule = json_only();
        assert!(!rule.allows(Some("text/plain"), Some("anything")));
        assert!(!rule.allows(
            Some("application/x-www-form-urlencoded"),
            Some("operation=list")
        ));
        // an empty content map still allows everything
        let rule = load("content: {}");
        assert!(rule.allows(Some("text/plain"), Some("anything")));
    }

    #[test]
    fn decision_steps() {
        // 2. required and no body -> blocked (absent or blank)
        let rule = load(SPEC_RULE);
        assert!(!rule.allows(None, None));
        assert!(!rule.allows(None, Some(" \n ")));
        // 3. no content -> allowed
        let rule = load("required: true");
        assert!(rule.allows(Some("text/plain"), Some("x")));
        assert!(!rule.allows(None, None));
        let rule = load("{}");
        assert!(rule.allows(None, None));
        let rule = load("required: null");
        assert!(rule.allows(None, None));
        // 4. no body -> allowed
        assert!(json_only().allows(Some("application/json"), None));
        // 6. invalid JSON -> blocked (Rec.)
        assert!(!json_only().allows(None, Some("{")));
        assert!(!json_only().allows(None, Some(r#"{"operation":"list"} trailing"#)));
    }

    #[test]
    fn lookup_prefers_the_raw_header_key() {
        let rule = load(
            r#"
content:
  "application/json; profile=strict": {type: object, required: [strict]}
  application/json: {type: object}
"#,
        );
        assert!(!rule.allows(Some("application/json; profile=strict"), Some("{}")));
        assert!(rule.allows(
            Some("application/json; profile=strict"),
            Some(r#"{"strict":1}"#)
        ));
        assert!(rule.allows(Some("application/json; profile=other"), Some("{}")));
        assert!(rule.allows(Some("application/json"), Some("{}")));
    }

    #[test]
    fn form_with_pseudonym_format() {
        let rule = load(SPEC_RULE);
        let ct = Some("application/x-www-form-urlencoded");
        assert!(rule.allows(ct, Some(&format!("user={SLACK_TOKEN}"))));
        assert!(rule.allows(ct, Some(&format!("user={SLACK_TOKEN}%40example.com"))));
        assert!(rule.allows(ct, Some("other=x")));
        assert!(!rule.allows(ct, Some("user=bob")));
        // anchored (Rec. choice): a string merely containing a token is refused
        assert!(!rule.allows(ct, Some(&format!("user=x{SLACK_TOKEN}"))));
        assert!(!rule.allows(ct, Some(&format!("user={SLACK_TOKEN}+x"))));
        // a bare name validates as ""
        assert!(!rule.allows(ct, Some("user")));
        // repeated name: the last value is the object's; earlier values are checked too
        assert!(!rule.allows(ct, Some(&format!("user={SLACK_TOKEN}&user=bob"))));
        assert!(!rule.allows(ct, Some(&format!("user=bob&user={SLACK_TOKEN}"))));
        assert!(rule.allows(ct, Some(&format!("user={SLACK_TOKEN}&user={SLACK_TOKEN}"))));
    }

    #[test]
    fn form_values_are_strings_and_names_are_decoded() {
        let rule = load(
            r#"
content:
  application/x-www-form-urlencoded:
    type: object
    required: [n]
    properties:
      n: {type: integer}
      "a b": {type: string, pattern: "^x$"}
    additionalProperties: false
"#,
        );
        let ct = Some("application/x-www-form-urlencoded; charset=UTF-8");
        // every form value is a string, so `type: integer` never holds
        assert!(!rule.allows(ct, Some("n=1")));
        let rule = load(
            r#"
content:
  application/x-www-form-urlencoded:
    type: object
    required: [n]
    properties:
      n: {type: string}
      "a b": {type: string, pattern: "^x$"}
    additionalProperties: false
"#,
        );
        assert!(rule.allows(ct, Some("n=1&a+b=x")));
        assert!(rule.allows(ct, Some("n=1&a%20b=%78")));
        assert!(!rule.allows(ct, Some("n=1&a+b=y")));
        assert!(!rule.allows(ct, Some("a+b=x")));
        assert!(!rule.allows(ct, Some("n=1&c=2")));
    }

    #[test]
    fn json_schema_keywords() {
        let rule = load(
            r#"
content:
  application/json:
    type: object
    required: [ids, kind]
    properties:
      ids: {type: array, items: {type: integer}}
      kind: {type: string, enumValues: [a, b]}
      name: {type: string, pattern: "b+"}
      nested:
        type: object
        properties:
          n: {type: "null"}
          f: {type: number}
          b: {type: boolean}
        additionalProperties: false
      any: {}
"#,
        );
        let ok = |body: &str| rule.allows(None, Some(body));
        assert!(ok(r#"{"ids":[1,2.0,1e2,-0,100e-2],"kind":"a"}"#));
        assert!(!ok(r#"{"ids":[1.5],"kind":"a"}"#));
        assert!(!ok(r#"{"ids":[10e-2],"kind":"a"}"#));
        assert!(!ok(r#"{"ids":["1"],"kind":"a"}"#));
        assert!(!ok(r#"{"ids":1,"kind":"a"}"#));
        assert!(!ok(r#"{"ids":[]}"#));
        // enumValues enforced (documented deviation)
        assert!(!ok(r#"{"ids":[],"kind":"c"}"#));
        assert!(!ok(r#"{"ids":[],"kind":1}"#));
        // pattern is an unanchored search
        assert!(ok(r#"{"ids":[],"kind":"b","name":"abba"}"#));
        assert!(!ok(r#"{"ids":[],"kind":"b","name":"aaa"}"#));
        assert!(ok(
            r#"{"ids":[],"kind":"b","nested":{"n":null,"f":1.5,"b":true}}"#
        ));
        assert!(!ok(r#"{"ids":[],"kind":"b","nested":{"n":0}}"#));
        assert!(!ok(r#"{"ids":[],"kind":"b","nested":{"f":"1"}}"#));
        assert!(!ok(r#"{"ids":[],"kind":"b","nested":{"x":1}}"#));
        assert!(ok(r#"{"ids":[],"kind":"b","any":[{"x":{}}],"extra":true}"#));
        // top-level type mismatch
        assert!(!ok("[]"));
        assert!(!ok("\"s\""));
    }

    #[test]
    fn keywords_ignore_other_instance_types() {
        let rule = load(
            r#"
content:
  application/json:
    properties: {a: {type: string}}
    required: [a]
    additionalProperties: false
    items: {type: string}
    pattern: "^z"
"#,
        );
        for body in ["1", "true", "null", "\"zed\"", "[\"x\"]"] {
            assert!(rule.allows(None, Some(body)), "{body}");
        }
        assert!(!rule.allows(None, Some("\"abc\"")));
        assert!(!rule.allows(None, Some("[1]")));
        assert!(!rule.allows(None, Some("{}")));
        assert!(rule.allows(None, Some(r#"{"a":"x"}"#)));
    }

    #[test]
    fn pseudonym_everywhere_and_with_pattern() {
        let rule = load(
            r#"
content:
  application/json:
    type: array
    items:
      type: object
      properties:
        users: {type: array, items: {type: string, format: pseudonym, pattern: "@example\\.com$"}}
        p: {format: Pseudonym}
"#,
        );
        let email = format!("{SLACK_TOKEN}@example.com");
        assert!(rule.allows(None, Some(&format!(r#"[{{"users":["{email}"]}}]"#))));
        // pseudonym ok but the node's own pattern fails: both are enforced
        assert!(!rule.allows(None, Some(&format!(r#"[{{"users":["{SLACK_TOKEN}"]}}]"#))));
        assert!(!rule.allows(None, Some(r#"[{"users":["bob@example.com"]}]"#)));
        // only the spelling `pseudonym` is a format we enforce
        assert!(rule.allows(None, Some(r#"[{"p":"anything"}]"#)));
        // format applies to strings only
        let rule = load("content: {application/json: {format: pseudonym}}");
        assert!(rule.allows(None, Some("12")));
        assert!(!rule.allows(None, Some("\"12\"")));
    }

    #[test]
    fn strict_keys_are_load_errors() {
        for yaml in [
            "content: {application/json: {type: string, minLength: 1}}",
            "content: {application/json: {enum: [a]}}",
            "content: {application/json: {description: x}}",
            "content: {application/json: {$ref: '#/x'}}",
            "content: {application/json: {anyOf: []}}",
            "content: {application/json: {additionalProperties: {type: string}}}",
            "requred: true",
        ] {
            assert!(
                serde_yaml::from_str::<RequestBodyRule>(yaml).is_err(),
                "{yaml}"
            );
        }
    }

    #[test]
    fn load_errors_name_the_location() {
        let err = load_err("content: {text/plain: {type: string}}");
        assert!(matches!(err, BodyRuleError::UnsupportedMediaType { .. }));
        assert!(err.to_string().starts_with("content.text/plain: "));

        let err = load_err("content: {application/x-www-form-urlencoded: {type: string}}");
        assert!(matches!(err, BodyRuleError::FormSchemaNotObject { .. }));
        assert!(err
            .to_string()
            .starts_with("content.application/x-www-form-urlencoded: "));
        let err = load_err("content: {'Application/X-WWW-Form-Urlencoded; charset=x': {}}");
        assert!(matches!(err, BodyRuleError::FormSchemaNotObject { .. }));

        let err = load_err(
            "content: {application/json: {type: object, properties: {user: {pattern: '(unclosed'}}}}",
        );
        match &err {
            BodyRuleError::InvalidPattern { location, source } => {
                assert_eq!(location, "content.application/json.properties.user.pattern");
                assert!(!source.to_string().is_empty());
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(err
            .to_string()
            .starts_with("content.application/json.properties.user.pattern: "));

        let err = load_err("content: {application/json: {items: {type: sting}}}");
        match err {
            BodyRuleError::UnknownType { location } => {
                assert_eq!(location, "content.application/json.items.type")
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn integral_numbers() {
        for t in [
            "0",
            "-0",
            "1",
            "1.0",
            "1e2",
            "1E+2",
            "1.5e1",
            "100e-2",
            "0.0e-7",
            "0e-99999999999999999999",
        ] {
            assert!(is_integral(t), "{t}");
        }
        for t in [
            "0.5",
            "1.25e1",
            "10e-2",
            "1e-1",
            "-3.01",
            "1e-99999999999999999999",
        ] {
            assert!(!is_integral(t), "{t}");
        }
    }
}
