//! The `requestBody` rule of an endpoint, as the rule file writes it (SPEC-API-PARITY 3.1.2):
//! Psoxy's strict `RequestBodySchema` / `JsonSchema` keys. The validator compiled from it is
//! [`crate::api::body`]'s.

use indexmap::IndexMap;
use serde::{Deserialize, Deserializer};

/// `requestBody` of an endpoint (Psoxy `RequestBodySchema`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequestBodyRule {
    /// Whether a (non-blank) body is required; default `false` (`null` also means `false`).
    #[serde(default, deserialize_with = "null_as_false")]
    pub required: bool,
    /// Media type (raw key, matched first against the raw `Content-Type`, then against the
    /// normalized type) -> schema.
    #[serde(default)]
    pub content: Option<IndexMap<String, BodySchema>>,
}

/// Psoxy's strict `JsonSchema`: only the keys `type`, `format`, `properties`, `items`,
/// `required` (list of names), `pattern`, `enumValues`, `additionalProperties` (boolean);
/// anything else is a load error.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BodySchema {
    /// JSON-Schema type name (`string`, `integer`, `number`, `boolean`, `object`, `array`,
    /// `null`).
    #[serde(default, rename = "type")]
    pub schema_type: Option<String>,
    /// Only `pseudonym` is enforced (see the module doc).
    #[serde(default)]
    pub format: Option<String>,
    /// Schemas of named object properties.
    #[serde(default)]
    pub properties: Option<IndexMap<String, BodySchema>>,
    /// Schema of every array element.
    #[serde(default)]
    pub items: Option<Box<BodySchema>>,
    /// Names an object must have.
    #[serde(default)]
    pub required: Option<Vec<String>>,
    /// Regex searched (unanchored) in string values.
    #[serde(default)]
    pub pattern: Option<String>,
    /// Allowed string values (enforced as `enum`, see the module doc).
    #[serde(default)]
    pub enum_values: Option<Vec<String>>,
    /// `false` forbids object properties not listed in `properties`.
    #[serde(default)]
    pub additional_properties: Option<bool>,
}

fn null_as_false<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(deserializer)?.unwrap_or(false))
}
