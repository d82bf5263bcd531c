//! `hashIp`: an IP address's `t~` pseudonym (SPEC 1.5).

use serde_json::Value;

use super::{
    map_response_string, params, Blank, BuildError, Definition, Dialect, Example, NoParams, Operation,
    Outcome, ValueError,
};
use crate::pseudonym::Pseudonymizer;

/// Replaces an IP address with the `t~` hash of its canonical form; anything else gives no
/// result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashIp;

impl HashIp {
    fn build(value: serde_yaml::Value) -> Result<Box<dyn Operation>, BuildError> {
        let NoParams {} = params(value)?;
        Ok(Box::new(HashIp))
    }
}

impl Operation for HashIp {
    fn name(&self) -> &'static str {
        "hashIp"
    }

    fn apply(&self, value: &mut Value, p: &Pseudonymizer) -> Result<(), ValueError> {
        map_response_string(value, Blank::Keep, |text| Ok(p.hash_ip(text)))
    }
}

/// The registry's entry.
pub const DEFINITION: Definition = Definition {
    name: "hashIp",
    summary: "an IP address -> `t~` hash of its canonical form (SALT_IP); not an IP -> null",
    parameters: &[],
    examples: &[Example {
        title: "an address and something else",
        dialect: Dialect::Response,
        rule: "!<hashIp> {jsonPaths: [$.ip, $.host]}",
        input: r#"{"ip": "10.0.0.1", "host": "web-1"}"#,
        output: Outcome::Doc(
            r#"{"ip": "t~3BU4goNN07w3ofq8v5ig2enxSWj9xnAnPOThel4mHTk", "host": null}"#,
        ),
    }],
    build: HashIp::build,
};
