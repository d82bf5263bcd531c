//! API mode: an HTTP proxy in front of SaaS REST APIs (Google Workspace, Microsoft Graph,
//! Slack, Zoom, GitHub, ...) that forwards only the requests its rules allow and sanitizes
//! the JSON responses with the same transform core and pseudonyms as bulk mode.
//!
//! * [`rules`]: the rule file model (Psoxy's `Rules2` shape: endpoints, allowed headers,
//!   schema `definitions`) and its loading from YAML, with every template, regex, JSONPath
//!   and parameter schema checked at load time;
//! * [`matching`]: the default-deny decision of which endpoint, if any, allows a request
//!   (method, path, raw query), with its decoded path and query parameters;
//! * [`response`]: an endpoint's `responseSchema` and [`transforms`] applied to a response;
//! * [`auth`]: the source's credentials (static, OAuth 2.0 grants, Google service accounts,
//!   Microsoft workload identity) with their token cache;
//! * [`keys`]: caller API keys of server mode;
//! * [`handler`]: the request flow both shells share; [`server`] (`psoxy serve`) and
//!   [`lambda`] (the function URL) are the shells; [`settings`] their configuration, read
//!   through [`crate::settings`] from flags, the environment and the parameter store.

pub mod auth;
pub mod decode;
pub mod handler;
pub mod keys;
pub mod lambda;
pub mod matching;
pub mod params;
pub mod response;
pub mod rules;
pub mod schema;
pub mod server;
pub mod settings;
pub mod template;
pub mod transforms;
mod yaml_tags;

pub use handler::{ApiHandler, ApiService, ApiSetupError, ProxyRequest, ProxyResponse};
pub use matching::{Blocked, EndpointMatch, Matcher, RejectReason, Rejection, RequestParam};
pub use params::{ParamFormat, ParamProblem, ParamSchema, ParamType};
pub use response::{ResponseError, ResponsePlan};
pub use rules::{ApiRules, ApiRulesError, Endpoint, EndpointPath};
pub use schema::{ResponseSchema, SchemaType};
pub use settings::{ApiSettings, ApiSettingsError};
pub use template::{PathTemplate, TemplateParam};
pub use transforms::{Transform, TransformKind};
