//! The webhook collector's request flow, shared by the Lambda function and `psoxy serve`:
//! the IP allow-list, CORS, the discovery document and JWKS, then for a `POST`: size, bearer
//! JWT, content type, the payload parsed (JSON or NDJSON), claims bound to it, sanitized with
//! the endpoint's transforms, and queued. `200` with an empty body once queued; nothing
//! unsanitized is written anywhere, and refusals name the reason, never a value.

use std::sync::Arc;
use std::time::Instant;

use serde_json::{json, Value};

use super::claims::{ClaimChecks, ClaimRefusal};
use super::cors::{AllowOrigins, ALLOWED_HEADERS, ALLOWED_METHODS};
use super::jwt::{algorithm_name, bearer_token, verify, TokenPolicy, TokenRefusal};
use super::keys::{AcceptedKeys, RSA_ALGORITHMS};
use super::queue::{Queue, QueueError, MAX_MESSAGE_BYTES};
use super::settings::WebhookSettings;
use crate::api::decode::parse_query;
use crate::api::ip_allow::IpAllowList;
use crate::api::wire::{ProxyRequest, ProxyResponse};
use crate::format::JsonSyntax;
use crate::pseudonym::{PseudonymError, Pseudonymizer};
use crate::transform::program::Program;
use crate::transform::response::{compile_transforms, ResponsePlanError};
use crate::transform::PlanError;

/// Largest request body accepted (a queued message must fit SQS's 256 KiB).
pub const MAX_BODY_BYTES: usize = MAX_MESSAGE_BYTES;

/// Path of the OpenID discovery document (any prefix before it is accepted).
pub const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";
/// Path of the key set.
pub const JWKS_PATH: &str = "/.well-known/jwks.json";

/// The collector cannot be built. Names the rule or setting, never a value.
#[derive(Debug, thiserror::Error)]
pub enum CollectorSetupError {
    /// The pseudonym settings are inconsistent.
    #[error(transparent)]
    Pseudonym(#[from] PseudonymError),
    /// A transform does not build.
    #[error("rules: endpoints[0].{0}")]
    Transforms(#[from] ResponsePlanError),
    /// A transform needs an encryption key the deployment does not have.
    #[error("rules: endpoints[0].{0}")]
    Keys(#[from] PlanError),
}

/// Why a webhook was refused or failed: its status and `X-Psoxy-Error` code.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// The caller's address is not allowed.
    #[error("the caller's address is not allowed")]
    IpNotAllowed,
    /// Not `POST` (nor `OPTIONS` or a well-known `GET`).
    #[error("only POST delivers webhooks")]
    Method,
    /// The body is over [`MAX_BODY_BYTES`], or the sanitized message over the queue's limit.
    #[error("the payload is over {MAX_BODY_BYTES} bytes")]
    TooLarge,
    /// The token is refused.
    #[error("{0}")]
    Token(#[from] TokenRefusal),
    /// The accepted keys could not be fetched.
    #[error("the accepted keys cannot be read now; retry")]
    KeysUnavailable,
    /// The content type is not JSON or NDJSON in UTF-8.
    #[error("the content type must be application/json or NDJSON, in UTF-8")]
    ContentType,
    /// The body is not JSON (or NDJSON).
    #[error("the payload is not valid JSON: {0}")]
    Payload(String),
    /// The claims do not bind to the payload.
    #[error("{0}")]
    Claims(#[from] ClaimRefusal),
    /// A transform failed on the payload.
    #[error("the payload could not be sanitized: {0}")]
    Sanitize(String),
    /// The queue failed.
    #[error("the webhook could not be queued; retry")]
    Queue,
    /// The preflight's origin is not allowed.
    #[error("the origin is not allowed")]
    Origin,
    /// Not configured for this (no issuer, or tokens not checked).
    #[error("not found")]
    NotFound,
}

impl Refusal {
    /// The status and `X-Psoxy-Error` code.
    pub fn status_and_code(&self) -> (u16, &'static str) {
        match self {
            Refusal::IpNotAllowed => (403, "UNAUTHORIZED_IP_ADDRESS"),
            Refusal::Method => (405, "METHOD_NOT_ALLOWED"),
            Refusal::TooLarge => (413, "PAYLOAD_TOO_LARGE"),
            Refusal::Token(_) => (401, "UNAUTHORIZED"),
            Refusal::KeysUnavailable => (503, "AUTH_KEYS_UNAVAILABLE"),
            Refusal::ContentType => (400, "UNSUPPORTED_CONTENT_TYPE"),
            Refusal::Payload(_) => (400, "INVALID_PAYLOAD"),
            Refusal::Claims(_) => (401, "CLAIMS_MISMATCH"),
            Refusal::Sanitize(_) => (400, "SANITIZE_FAILED"),
            Refusal::Queue => (503, "QUEUE_FAILED"),
            Refusal::Origin => (403, "ORIGIN_NOT_ALLOWED"),
            Refusal::NotFound => (404, "NOT_FOUND"),
        }
    }

    fn response(&self) -> ProxyResponse {
        let (status, code) = self.status_and_code();
        let mut r = ProxyResponse::error(status, code, &self.to_string());
        if matches!(self, Refusal::Token(_) | Refusal::Claims(_)) {
            r.headers.push(("www-authenticate".into(), "Bearer".into()));
        }
        if matches!(self, Refusal::Method) {
            r.headers.push(("allow".into(), ALLOWED_METHODS.into()));
        }
        r
    }
}

/// The collector. Cheap to clone.
#[derive(Clone)]
pub struct Collector {
    inner: Arc<Inner>,
}

struct Inner {
    program: Program,
    claims: ClaimChecks,
    pseudonymizer: Pseudonymizer,
    auth: Option<(AcceptedKeys, TokenPolicy)>,
    issuer: Option<String>,
    origins: AllowOrigins,
    ip_allow: IpAllowList,
    queue: Queue,
    rules_sha: String,
}

/// Whether a body is one JSON document or NDJSON lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyKind {
    Json,
    Ndjson,
}

impl Collector {
    /// Compiles the rules and keys of `settings`; webhooks go to `queue`.
    pub fn new(settings: WebhookSettings, queue: Queue) -> Result<Collector, CollectorSetupError> {
        let pseudonymizer = Pseudonymizer::new(&settings.pseudonym)?;
        let endpoint = &settings.rules.endpoints[0];
        let program = compile_transforms(&endpoint.transforms)?;
        if let Some((index, op)) = program.first_reversible() {
            if !pseudonymizer.has_encryption_key() {
                return Err(PlanError::ResponseNeedsKey { index, op }.into());
            }
        }
        Ok(Collector {
            inner: Arc::new(Inner {
                program,
                claims: ClaimChecks::compile(&settings.rules),
                pseudonymizer,
                auth: settings.auth,
                issuer: settings.issuer,
                origins: settings.origins,
                ip_allow: settings.ip_allow,
                queue,
                rules_sha: settings.rules_sha,
            }),
        })
    }

    /// SHA-256 of the rules in use.
    pub fn rules_sha(&self) -> &str {
        &self.inner.rules_sha
    }

    /// Handles one request.
    pub async fn handle(&self, req: ProxyRequest) -> ProxyResponse {
        let started = Instant::now();
        let origin = req.header("origin").map(str::to_owned);
        let bytes = req.body.len();
        let method = req.method.to_ascii_uppercase();
        let outcome = self.route(&method, req).await;
        let (mut response, refusal) = match outcome {
            Ok(r) => (r, None),
            Err(refusal) => {
                let code = refusal.status_and_code().1;
                (refusal.response(), Some(code))
            }
        };
        if method != "OPTIONS" {
            if let Some(allowed) = self.inner.origins.allow(origin.as_deref()) {
                response
                    .headers
                    .push(("access-control-allow-origin".into(), allowed));
                response.headers.push(("vary".into(), "Origin".into()));
            }
        }
        tracing::info!(
            target: "psoxy_audit",
            %method,
            status = response.status,
            refusal = refusal.unwrap_or(""),
            bytes,
            micros = started.elapsed().as_micros() as u64,
            "webhook"
        );
        response
    }

    async fn route(&self, method: &str, req: ProxyRequest) -> Result<ProxyResponse, Refusal> {
        let inner = &self.inner;
        if !inner.ip_allow.allows(req.client_ip.as_deref()) {
            return Err(Refusal::IpNotAllowed);
        }
        match method {
            "OPTIONS" => self.preflight(&req),
            "GET" | "HEAD" if req.path.ends_with(DISCOVERY_PATH) => self.discovery(),
            "GET" | "HEAD" if req.path.ends_with(JWKS_PATH) => self.jwks().await,
            "POST" => self.collect(req).await,
            _ => Err(Refusal::Method),
        }
    }

    fn preflight(&self, req: &ProxyRequest) -> Result<ProxyResponse, Refusal> {
        let allowed = self
            .inner
            .origins
            .allow(req.header("origin"))
            .ok_or(Refusal::Origin)?;
        Ok(ProxyResponse {
            status: 204,
            headers: vec![
                ("access-control-allow-origin".into(), allowed),
                (
                    "access-control-allow-methods".into(),
                    ALLOWED_METHODS.into(),
                ),
                (
                    "access-control-allow-headers".into(),
                    ALLOWED_HEADERS.into(),
                ),
                ("access-control-max-age".into(), "3600".into()),
                ("vary".into(), "Origin".into()),
            ],
            body: Vec::new(),
        })
    }

    fn discovery(&self) -> Result<ProxyResponse, Refusal> {
        let issuer = self.inner.issuer.as_deref().ok_or(Refusal::NotFound)?;
        if self.inner.auth.is_none() {
            return Err(Refusal::NotFound);
        }
        let base = issuer.trim_end_matches('/');
        Ok(ProxyResponse::json(
            200,
            &json!({
                "issuer": issuer,
                "jwks_uri": format!("{base}{JWKS_PATH}"),
                "id_token_signing_alg_values_supported":
                    RSA_ALGORITHMS.iter().map(|a| algorithm_name(*a)).collect::<Vec<_>>(),
                "response_types_supported": ["id_token"],
                "subject_types_supported": ["public"],
            }),
        ))
    }

    async fn jwks(&self) -> Result<ProxyResponse, Refusal> {
        let (keys, _) = self.inner.auth.as_ref().ok_or(Refusal::NotFound)?;
        let keys = keys.keys().await.map_err(|e| {
            tracing::error!(error = %e, "cannot read the accepted keys");
            Refusal::KeysUnavailable
        })?;
        let jwks: Vec<Value> = keys.iter().map(|k| k.jwk()).collect();
        let mut r = ProxyResponse::json(200, &json!({ "keys": jwks }));
        r.headers
            .push(("cache-control".into(), "public, max-age=600".into()));
        Ok(r)
    }

    async fn collect(&self, req: ProxyRequest) -> Result<ProxyResponse, Refusal> {
        let inner = &self.inner;
        if req.body.len() > MAX_BODY_BYTES {
            return Err(Refusal::TooLarge);
        }
        let claims = match &inner.auth {
            Some((keys, policy)) => {
                let token = bearer_token(
                    req.header("x-psoxy-authorization"),
                    req.header("authorization"),
                )?;
                let now = chrono::Utc::now().timestamp();
                // The inline keys first: no call to KMS for tokens they sign.
                match verify(token, keys.inline_keys(), policy, now) {
                    Ok(claims) => Some(claims),
                    Err(TokenRefusal::Signature | TokenRefusal::Algorithm) if keys.needs_kms() => {
                        let kms = keys.kms_keys().await.map_err(|e| {
                            tracing::error!(error = %e, "cannot read the accepted keys");
                            Refusal::KeysUnavailable
                        })?;
                        Some(verify(token, &kms, policy, now)?)
                    }
                    Err(refusal) => return Err(refusal.into()),
                }
            }
            None => None,
        };
        let kind = body_kind(req.header("content-type"))?;
        let mut documents = parse_body(&req.body, kind)?;
        if let Some(claims) = &claims {
            let query: Vec<(String, String)> = parse_query(req.query.as_deref().unwrap_or(""))
                .into_iter()
                .map(|p| (p.name, p.value.unwrap_or_default()))
                .collect();
            inner.claims.check(claims, &documents, &query)?;
        } else if !inner.claims.is_empty() {
            // Settings refuse this combination; never accept unbound claims.
            return Err(Refusal::Token(TokenRefusal::Missing));
        }
        let mut message = String::with_capacity(req.body.len() + 64);
        for doc in &mut documents {
            inner
                .program
                .apply(doc, &inner.pseudonymizer)
                .map_err(|e| Refusal::Sanitize(e.to_string()))?;
            message.push_str(&doc.to_string());
            message.push('\n');
        }
        if message.len() > MAX_MESSAGE_BYTES {
            return Err(Refusal::TooLarge);
        }
        inner.queue.send(message).await.map_err(|e: QueueError| {
            tracing::error!(error = %e, "cannot queue a webhook");
            Refusal::Queue
        })?;
        Ok(ProxyResponse {
            status: 200,
            headers: Vec::new(),
            body: Vec::new(),
        })
    }
}

/// The body's kind from its content type: absent or `application/json` is one document, an
/// NDJSON type is lines; any `charset` but UTF-8 is refused, other parameters are ignored.
fn body_kind(content_type: Option<&str>) -> Result<BodyKind, Refusal> {
    let Some(content_type) = content_type else {
        return Ok(BodyKind::Json);
    };
    let mut parts = content_type.split(';');
    let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    for param in parts {
        if let Some((name, value)) = param.split_once('=') {
            if name.trim().eq_ignore_ascii_case("charset") {
                let value = value.trim().trim_matches('"');
                if !value.eq_ignore_ascii_case("utf-8") && !value.eq_ignore_ascii_case("utf8") {
                    return Err(Refusal::ContentType);
                }
            }
        }
    }
    match media.as_str() {
        "" | "application/json" => Ok(BodyKind::Json),
        "application/x-ndjson"
        | "application/ndjson"
        | "application/jsonl"
        | "application/x-jsonlines"
        | "application/jsonlines" => Ok(BodyKind::Ndjson),
        _ => Err(Refusal::ContentType),
    }
}

/// The payload's documents: the one document, or every non-blank line.
fn parse_body(body: &[u8], kind: BodyKind) -> Result<Vec<Value>, Refusal> {
    let text = std::str::from_utf8(body)
        .map_err(|e| Refusal::Payload(format!("not UTF-8 at byte {}", e.valid_up_to())))?;
    let parse = |t: &str, line: Option<usize>| {
        serde_json::from_str::<Value>(t).map_err(|e| {
            let syntax = JsonSyntax::of(&e);
            Refusal::Payload(match line {
                Some(n) => format!("line {n}: {} at column {}", syntax.kind(), e.column()),
                None => format!(
                    "{} at line {}, column {}",
                    syntax.kind(),
                    e.line(),
                    e.column()
                ),
            })
        })
    };
    let documents = match kind {
        BodyKind::Json => {
            if text.trim().is_empty() {
                return Err(Refusal::Payload("the body is empty".into()));
            }
            vec![parse(text, None)?]
        }
        BodyKind::Ndjson => {
            let mut docs = Vec::new();
            for (i, line) in text.lines().enumerate() {
                if !line.trim().is_empty() {
                    docs.push(parse(line, Some(i + 1))?);
                }
            }
            if docs.is_empty() {
                return Err(Refusal::Payload("the body has no JSON lines".into()));
            }
            docs
        }
    };
    Ok(documents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        for ok in [
            None,
            Some("application/json"),
            Some("Application/JSON; charset=UTF-8"),
            Some("application/json;charset=\"utf-8\""),
            Some("application/json; boundary=x"),
        ] {
            assert_eq!(body_kind(ok).unwrap(), BodyKind::Json, "{ok:?}");
        }
        assert_eq!(
            body_kind(Some("application/x-ndjson; charset=utf-8")).unwrap(),
            BodyKind::Ndjson
        );
        for bad in [
            "text/plain",
            "application/json; charset=iso-8859-1",
            "application/json-seq",
            "application/xml",
        ] {
            assert!(body_kind(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn bodies_parse_without_showing_values() {
        assert_eq!(parse_body(b"{\"a\":1}", BodyKind::Json).unwrap().len(), 1);
        assert_eq!(
            parse_body(b"{\"a\":1}\n\n{\"b\":2}\n", BodyKind::Ndjson)
                .unwrap()
                .len(),
            2
        );
        let e = parse_body(b"{\"a\":\"secret@x.com\"", BodyKind::Json)
            .unwrap_err()
            .to_string();
        assert!(!e.contains("secret"), "{e}");
        let e = parse_body(b"{}\n{\"secret\"}\n", BodyKind::Ndjson)
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2") && !e.contains("secret"), "{e}");
        assert!(parse_body(b"  ", BodyKind::Json).is_err());
        assert!(parse_body(b"\xff", BodyKind::Json).is_err());
    }
}
