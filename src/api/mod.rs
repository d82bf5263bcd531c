//! API mode: an HTTP proxy in front of SaaS REST APIs (Google Workspace, Microsoft Graph,
//! Slack, Zoom, GitHub, ...) that forwards only the requests its rules allow and sanitizes
//! the JSON responses with the same transform core and pseudonyms as bulk mode.
//!
//! * [`rules`]: the rule file ([`crate::rules::api`]) loaded and compiled, one
//!   [`ResponsePlan`](crate::transform::ResponsePlan) per endpoint;
//! * [`matching`]: the default-deny decision of which endpoint, if any, allows a request
//!   (method, path, raw query), with its decoded path and query parameters;
//! * [`flow`]: the request flow both shells share; [`wire`] its request and answer types,
//!   [`error`] every refusal and failure with its status and `X-Psoxy-Error` code,
//!   [`upstream`] the call to the source and the sanitized answer, [`reversal`] the
//!   decryption of `p~` tokens the caller sends back;
//! * request shaping before the match: [`ip_allow`] (`ALLOWED_DATA_ACCESS_IP_BLOCKS`),
//!   [`target_override`] (`X-Psoxy-TargetPath` / `-TargetQuery`), [`path_prefix`]
//!   (`REQUEST_PATH_PREFIX_TO_TRIM`, the function's name); [`body`] the request body's
//!   checks, `requestBody` rules and token reversal; [`compression`] gzipped answers;
//! * [`auth`]: the source's credentials (static, OAuth 2.0 grants, Google service accounts,
//!   Microsoft workload identity) with their token cache; [`keys`]: caller API keys of server
//!   mode;
//! * the shells: [`server`] (the HTTP shells, `psoxy serve` and Cloud Run), [`lambda`] (the
//!   function URL) and `cloud_run` (the Cloud Run service's settings); [`settings`] their
//!   configuration, read through [`crate::settings`], with `gcp_store` (Secret Manager as the
//!   credential store and the shared token's lock on Google Cloud).

pub mod auth;
pub mod body;
#[cfg(feature = "gcp")]
pub mod cloud_run;
pub mod compression;
pub mod decode;
pub mod deferred;
pub mod error;
pub mod flow;
#[cfg(feature = "gcp")]
pub mod gcp_store;
pub mod ip_allow;
pub mod keys;
#[cfg(feature = "aws")]
pub mod lambda;
pub mod matching;
pub mod path_prefix;
pub mod redirect;
pub mod reversal;
pub mod rules;
pub mod server;
pub mod settings;
pub mod side_output;
pub mod target_override;
pub mod upstream;
pub mod wire;

pub use error::ProxyError;
pub use flow::{ApiHandler, ApiService, ApiSetupError, HEALTH_CHECK_HEADER};
pub use matching::{Blocked, EndpointMatch, Matcher, RejectReason, Rejection, RequestParam};
pub use rules::{ApiRuleSet, RuleSetError};
pub use settings::{ApiSettings, ApiSettingsError};
pub use wire::{ProxyRequest, ProxyResponse, ERROR_HEADER};
