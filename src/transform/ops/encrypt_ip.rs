//! `encryptIp`: an IP address's reversible `p~` token (SPEC 1.5).

use serde_json::Value;

use super::{
    map_response_string, params, Blank, BuildError, Definition, Dialect, Example, NoParams, Operation,
    Outcome, ValueError,
};
use crate::pseudonym::Pseudonymizer;

/// Replaces an IP address with the reversible token of its canonical form; anything else
/// gives no result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptIp;

impl EncryptIp {
    fn build(value: serde_yaml::Value) -> Result<Box<dyn Operation>, BuildError> {
        let NoParams {} = params(value)?;
        Ok(Box::new(EncryptIp))
    }
}

impl Operation for EncryptIp {
    fn name(&self) -> &'static str {
        "encryptIp"
    }

    fn apply(&self, value: &mut Value, p: &Pseudonymizer) -> Result<(), ValueError> {
        map_response_string(value, Blank::Keep, |text| Ok(p.encrypt_ip(text)?))
    }

    fn makes_reversible_tokens(&self) -> bool {
        true
    }
}

/// The registry's entry.
pub const DEFINITION: Definition = Definition {
    name: "encryptIp",
    summary: "an IP address -> reversible `p~` token of its canonical form (ENCRYPTION_KEY_IP); not an IP -> null",
    parameters: &[],
    examples: &[Example {
        title: "anything but an address becomes null",
        dialect: Dialect::Response,
        rule: "!<encryptIp> {jsonPaths: [$.host]}",
        input: r#"{"host": "web-1"}"#,
        output: Outcome::Doc(r#"{"host": null}"#),
    }],
    build: EncryptIp::build,
};
