//! Request bodies (SPEC-API-PARITY 3.1): the checks every request gets (`request.rs`), the
//! `requestBody` rule of an endpoint (`schema.rs`, compiled once when the rules load), and the
//! `p~` tokens a caller sends back, decrypted in JSON and form bodies before forwarding
//! (`reversal.rs`).

pub mod request;
pub mod reversal;
pub mod schema;

pub use request::{check_request_body, normalized_content_type, BodyCheckError};
pub use reversal::{reverse_body, reverse_tokens_in, BodyReversalError};
pub use schema::{BodyRuleError, CompiledBodyRule};
