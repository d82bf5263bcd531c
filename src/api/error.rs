//! Every way the proxy refuses or fails a request, and the one place that maps each to its
//! HTTP status and `X-Psoxy-Error` code. Messages never hold a value of the request or the
//! response, nor a secret.

use super::auth::{AuthError, TokenError};

/// `Retry-After` of a 503 (the shared token is being refreshed, the store is unreachable).
pub const RETRY_AFTER_SECONDS: &str = "5";
use super::body::BodyCheckError;
use super::matching::Blocked;
use super::target_override::TargetOverrideError;
use super::wire::ProxyResponse;
use crate::transform::StepError;

/// Why a request was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// No caller key, or an unknown one (server mode).
    #[error("a valid API key is required: Authorization: Bearer <key>")]
    Unauthenticated,
    /// A known caller key past its expiry.
    #[error("this API key has expired")]
    KeyExpired,
    /// A caller key not allowed this connector.
    #[error("this API key may not call connector `{0}`")]
    ConnectorNotAllowed(String),
    /// A `.` or `..` path segment (it would reach another path at the source).
    #[error("blocked by rules: `.` and `..` path segments are not allowed")]
    DotSegment,
    /// No endpoint of the rules allows the request.
    #[error(transparent)]
    Blocked(#[from] Blocked),
    /// A `p~` token in the request that this proxy cannot decrypt.
    #[error("a p~ token in the request cannot be decrypted by this proxy (wrong key or salt, or damaged)")]
    TokenInvalid,
    /// A method that is not an HTTP token.
    #[error("invalid method")]
    BadMethod,
    /// The request's body is over the limit (server mode).
    #[error("request body too large")]
    RequestTooLarge,
    /// The client's address is not in `ALLOWED_DATA_ACCESS_IP_BLOCKS` (or is unknown).
    #[error("Client IP is not authorized to access this proxy instance.")]
    UnauthorizedIp,
    /// An invalid `X-Psoxy-TargetPath` or `X-Psoxy-TargetQuery` (the message names the rule
    /// broken, never the value).
    #[error(transparent)]
    TargetOverride(#[from] TargetOverrideError),
    /// A request body the proxy does not take: an encoding other than UTF-8's, a body on
    /// `GET`/`HEAD`, bytes that are not UTF-8.
    #[error(transparent)]
    Body(#[from] BodyCheckError),
    /// A JSON request body that does not parse, so its tokens cannot be decrypted.
    #[error("Failed to parse request; review logs")]
    BodyNotJson,
    /// A `p~` token in a body that is neither JSON nor a form: it cannot be decrypted in place
    /// safely.
    #[error(
        "a reversible token in a request body that is neither JSON nor a form cannot be decrypted"
    )]
    TokenInOpaqueBody,
    /// The body cannot carry the source's service key (`windsurf_service_key`).
    #[error(transparent)]
    ServiceKeyBody(#[from] crate::api::auth::ServiceKeyBodyError),
    /// The answer is over the Lambda response limit, even gzipped.
    #[error("the sanitized response is over the 6 MB limit of Lambda responses; ask for less (a smaller page) or send Accept-Encoding: gzip")]
    AnswerTooLarge,
    /// The source's credentials could not be obtained.
    #[error(transparent)]
    SourceAuth(#[from] AuthError),
    /// The source did not answer in time.
    #[error("the source did not answer in time")]
    UpstreamTimeout,
    /// The source cannot be reached.
    #[error("cannot reach the source")]
    UpstreamUnreachable(#[source] reqwest::Error),
    /// The source answered with an error status (its body is not passed on).
    #[error("the source answered {0}")]
    Source(reqwest::StatusCode),
    /// The source's response is over the limit.
    #[error("the source's response is too large")]
    ResponseTooLarge,
    /// The source's response is not JSON (nor NDJSON).
    #[error("the source's response is not JSON; it is not passed on")]
    ResponseNotJson,
    /// A transform failed on the response.
    #[error("cannot sanitize the response: {0}")]
    Sanitization(#[source] StepError),
    /// The proxy is not configured (see its health check).
    #[error("the proxy is not configured; see its health check")]
    Misconfigured,
    /// An accepted asynchronous request could not be queued.
    #[error("the asynchronous request could not be queued; retry")]
    AsyncQueue,
}

impl ProxyError {
    /// The HTTP status and the `X-Psoxy-Error` code of the error.
    pub fn status_and_code(&self) -> (u16, &'static str) {
        match self {
            ProxyError::Unauthenticated => (401, "UNAUTHENTICATED"),
            ProxyError::KeyExpired => (401, "KEY_EXPIRED"),
            ProxyError::ConnectorNotAllowed(_) => (403, "CONNECTOR_NOT_ALLOWED"),
            ProxyError::DotSegment | ProxyError::Blocked(_) => (403, "BLOCKED_BY_RULES"),
            ProxyError::TokenInvalid => (409, "REVERSIBLE_TOKEN_INVALID"),
            ProxyError::BadMethod => (400, "BAD_REQUEST"),
            ProxyError::RequestTooLarge => (413, "REQUEST_TOO_LARGE"),
            ProxyError::UnauthorizedIp => (403, "UNAUTHORIZED_IP_ADDRESS"),
            ProxyError::TargetOverride(_)
            | ProxyError::Body(_)
            | ProxyError::TokenInOpaqueBody
            | ProxyError::ServiceKeyBody(_) => (400, "INVALID_REQUEST"),
            ProxyError::BodyNotJson => (500, "CONNECTION_SETUP"),
            ProxyError::AnswerTooLarge => (500, "RESPONSE_TOO_LARGE"),
            ProxyError::SourceAuth(e) => match &e.source {
                TokenError::Timeout | TokenError::Unreachable(_) => (502, "NETWORK_EGRESS_BLOCKED"),
                TokenError::Store(_) => (503, "CONFIGURATION_FAILURE"),
                TokenError::LockNotAcquired => (503, "TOKEN_REFRESH_IN_PROGRESS"),
                _ => (500, "CONNECTION_SETUP"),
            },
            ProxyError::UpstreamTimeout => (504, "UPSTREAM_TIMEOUT"),
            ProxyError::UpstreamUnreachable(_) => (502, "UPSTREAM_UNREACHABLE"),
            ProxyError::Source(status) => (status.as_u16(), "API_ERROR"),
            ProxyError::ResponseTooLarge => (502, "RESPONSE_TOO_LARGE"),
            ProxyError::ResponseNotJson => (502, "RESPONSE_NOT_JSON"),
            ProxyError::Sanitization(_) => (500, "SANITIZATION_FAILED"),
            ProxyError::Misconfigured => (500, "MISCONFIGURED"),
            ProxyError::AsyncQueue => (503, "ASYNC_QUEUE_FAILED"),
        }
    }

    /// The caller's answer: the status, `X-Psoxy-Error` and a JSON body
    /// `{"error":{"code","message"}}`.
    pub fn response(&self) -> ProxyResponse {
        let (status, code) = self.status_and_code();
        let mut response = ProxyResponse::error(status, code, &self.to_string());
        if status == 503 {
            response
                .headers
                .push(("retry-after".into(), RETRY_AFTER_SECONDS.into()));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_carry_the_status_the_code_and_the_message() {
        let r = ProxyError::TokenInvalid.response();
        assert_eq!(r.status, 409);
        assert_eq!(r.header("x-psoxy-error"), Some("REVERSIBLE_TOKEN_INVALID"));
        let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(body["error"]["code"], "REVERSIBLE_TOKEN_INVALID");
        assert!(body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cannot be decrypted"));
        let r = ProxyError::Source(reqwest::StatusCode::TOO_MANY_REQUESTS).response();
        assert_eq!(
            (r.status, r.header("x-psoxy-error")),
            (429, Some("API_ERROR"))
        );
    }
}
