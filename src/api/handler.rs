//! The request handler both shells share (`psoxy serve` and the Lambda function URL): caller
//! keys, health check, default-deny rule match, reversal of `p~` tokens, forwarding with the
//! source's credentials, response sanitizing, and the audit line (SPEC-API "Request flow").

use std::sync::Arc;
use std::time::Instant;

use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use serde_json::{json, Value};

use super::auth::{SecretWriter, SourceAuth, Strategy};
use super::keys::{CallerKeys, CallerRefusal};
use super::matching::Matcher;
use super::response::ResponsePlan;
use super::settings::ApiSettings;
use crate::pseudonym::Pseudonymizer;

/// Header that asks for the health check instead of a forwarded request.
pub const HEALTH_CHECK_HEADER: &str = "x-psoxy-health-check";
/// Header naming why the proxy refused or failed a request.
pub const ERROR_HEADER: &str = "x-psoxy-error";
/// Largest upstream response body read (larger ones fail closed with 502).
pub const MAX_RESPONSE_BYTES: usize = 64 << 20;
/// Headers of the source's responses passed back to the caller (plus `x-ratelimit-*`).
const PASSED_RESPONSE_HEADERS: &[&str] = &["etag", "link", "retry-after"];

/// Characters percent-encoded in a path segment (RFC 3986 `pchar` complement).
const PATH_SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// A request as either shell received it.
#[derive(Debug, Clone, Default)]
pub struct ProxyRequest {
    /// HTTP method.
    pub method: String,
    /// Path, as sent (percent-encoded).
    pub path: String,
    /// Raw query string without `?`.
    pub query: Option<String>,
    /// Headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: bytes::Bytes,
}

impl ProxyRequest {
    /// A request as an HTTP library hands it over (both shells use `http` 1.x types).
    pub fn from_parts(parts: &hyper::http::request::Parts, body: bytes::Bytes) -> ProxyRequest {
        ProxyRequest {
            method: parts.method.as_str().to_owned(),
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().map(str::to_owned),
            headers: parts
                .headers
                .iter()
                .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
                .collect(),
            body,
        }
    }

    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The answer either shell sends back.
#[derive(Debug, Clone, PartialEq)]
pub struct ProxyResponse {
    /// HTTP status.
    pub status: u16,
    /// Headers (lower-case names).
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl ProxyResponse {
    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn error(status: u16, code: &str, message: &str) -> ProxyResponse {
        ProxyResponse {
            status,
            headers: vec![
                ("content-type".into(), "application/json".into()),
                (ERROR_HEADER.into(), code.into()),
            ],
            body: json!({"error": {"code": code, "message": message}})
                .to_string()
                .into_bytes(),
        }
    }
}

/// The proxy cannot be built from its settings. Names the setting or rule, never a value.
#[derive(Debug, thiserror::Error)]
pub enum ApiSetupError {
    /// The settings are missing or invalid.
    #[error(transparent)]
    Settings(#[from] super::settings::ApiSettingsError),
    /// The pseudonym settings are inconsistent.
    #[error(transparent)]
    Pseudonym(#[from] crate::pseudonym::PseudonymError),
    /// An endpoint's response plan does not compile.
    #[error("rules: endpoints[{index}] ({path}): {source}")]
    Plan {
        /// The endpoint's index.
        index: usize,
        /// Its path template or regex.
        path: String,
        /// Why.
        source: crate::transform::PlanError,
    },
    /// The HTTP client cannot be built.
    #[error("cannot build the HTTP client: {0}")]
    Http(#[source] reqwest::Error),
}

/// The proxy: a ready handler, or the reason it cannot serve (still answering health checks
/// with 412 so a misconfiguration is visible).
#[derive(Clone)]
pub enum ApiService {
    /// Configured.
    Ready(ApiHandler),
    /// Not configured; every request fails with 500, health checks with 412.
    Misconfigured {
        /// What is wrong (names settings, never values).
        problem: String,
    },
}

impl ApiService {
    /// Handles one request.
    pub async fn handle(&self, req: ProxyRequest) -> ProxyResponse {
        match self {
            ApiService::Ready(h) => h.handle(req).await,
            ApiService::Misconfigured { problem } => {
                let mut r = if req.header(HEALTH_CHECK_HEADER).is_some() {
                    ProxyResponse {
                        status: 412,
                        headers: vec![("content-type".into(), "application/json".into())],
                        body: json!({"status": "misconfigured", "version": env!("CARGO_PKG_VERSION"), "problem": problem})
                            .to_string()
                            .into_bytes(),
                    }
                } else {
                    ProxyResponse::error(
                        500,
                        "MISCONFIGURED",
                        "the proxy is not configured; see its health check",
                    )
                };
                r.headers
                    .push(("x-psoxy-version".into(), env!("CARGO_PKG_VERSION").into()));
                tracing::info!(target: "psoxy_audit", method = %req.method, status = r.status, "request to a misconfigured proxy");
                r
            }
        }
    }
}

/// The configured proxy. Cheap to clone.
#[derive(Clone)]
pub struct ApiHandler {
    inner: Arc<Inner>,
}

struct Inner {
    matcher: Matcher,
    plans: Vec<ResponsePlan>,
    pseudonymizer: Pseudonymizer,
    target: reqwest::Url,
    http: reqwest::Client,
    auth: SourceAuth,
    callers: Option<CallerKeys>,
    instance_id: String,
    rules_sha: String,
    salt_sha: String,
}

/// What the audit line reports of a request besides its status.
#[derive(Default)]
struct Audit {
    caller: Option<String>,
    endpoint: Option<String>,
}

/// A redirect policy that follows at most 5 redirects, and only on the same scheme, host
/// and port (a source must not send credentials, or the caller, elsewhere).
fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let same = attempt.previous().first().is_some_and(|first| {
            first.scheme() == attempt.url().scheme()
                && first.host_str() == attempt.url().host_str()
                && first.port_or_known_default() == attempt.url().port_or_known_default()
        });
        if !same || attempt.previous().len() > 5 {
            attempt.stop()
        } else {
            attempt.follow()
        }
    })
}

impl ApiHandler {
    /// Builds the handler: compiles every endpoint's response plan, builds the HTTP clients.
    /// `callers`: server mode's caller keys (`None` behind the function URL's IAM auth).
    pub fn new(
        settings: ApiSettings,
        callers: Option<CallerKeys>,
        writer: Option<Arc<dyn SecretWriter>>,
    ) -> Result<ApiHandler, ApiSetupError> {
        let pseudonymizer = Pseudonymizer::new(&settings.pseudonym)?;
        let mut plans = Vec::with_capacity(settings.rules.endpoints.len());
        for (index, endpoint) in settings.rules.endpoints.iter().enumerate() {
            plans.push(
                ResponsePlan::compile(endpoint, &settings.rules, &pseudonymizer).map_err(
                    |source| ApiSetupError::Plan {
                        index,
                        path: endpoint.path.as_str().to_owned(),
                        source,
                    },
                )?,
            );
        }
        let user_agent = concat!("psoxy/", env!("CARGO_PKG_VERSION"));
        let http = reqwest::Client::builder()
            .timeout(settings.upstream_timeout)
            .redirect(same_origin_redirects())
            .user_agent(user_agent)
            .build()
            .map_err(ApiSetupError::Http)?;
        let token_http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(user_agent)
            .build()
            .map_err(ApiSetupError::Http)?;
        let salt_sha = pseudonymizer.salt_fingerprint();
        Ok(ApiHandler {
            inner: Arc::new(Inner {
                matcher: Matcher::new(settings.rules),
                plans,
                pseudonymizer,
                target: settings.target,
                http,
                auth: SourceAuth::new(settings.strategy, token_http, writer),
                callers,
                instance_id: settings.instance_id,
                rules_sha: settings.rules_sha,
                salt_sha,
            }),
        })
    }

    /// Handles one request: never fails, every problem is an HTTP answer.
    pub async fn handle(&self, req: ProxyRequest) -> ProxyResponse {
        let started = Instant::now();
        let mut audit = Audit::default();
        let mut response = self.respond(&req, &mut audit).await;
        let inner = &self.inner;
        response
            .headers
            .push(("x-psoxy-version".into(), env!("CARGO_PKG_VERSION").into()));
        response
            .headers
            .push(("x-psoxy-rules-sha".into(), inner.rules_sha.clone()));
        response
            .headers
            .push(("x-psoxy-salt-sha".into(), inner.salt_sha.clone()));
        tracing::info!(
            target: "psoxy_audit",
            caller = audit.caller.as_deref().unwrap_or("-"),
            method = %req.method,
            endpoint = audit.endpoint.as_deref().unwrap_or("-"),
            status = response.status,
            bytes = response.body.len(),
            latency_ms = started.elapsed().as_millis() as u64,
            error = response.header(ERROR_HEADER).unwrap_or("-"),
            "request"
        );
        response
    }

    async fn respond(&self, req: &ProxyRequest, audit: &mut Audit) -> ProxyResponse {
        let inner = &self.inner;
        if let Some(callers) = &inner.callers {
            match callers.check(
                req.header("authorization"),
                &inner.instance_id,
                chrono::Utc::now(),
            ) {
                Ok(id) => audit.caller = Some(id.to_owned()),
                Err(CallerRefusal::Unauthenticated) => {
                    return ProxyResponse::error(
                        401,
                        "UNAUTHENTICATED",
                        "a valid API key is required: Authorization: Bearer <key>",
                    )
                }
                Err(CallerRefusal::Expired { id }) => {
                    audit.caller = Some(id);
                    return ProxyResponse::error(401, "KEY_EXPIRED", "this API key has expired");
                }
                Err(CallerRefusal::WrongConnector { id }) => {
                    audit.caller = Some(id);
                    return ProxyResponse::error(
                        403,
                        "CONNECTOR_NOT_ALLOWED",
                        &format!(
                            "this API key may not call connector `{}`",
                            inner.instance_id
                        ),
                    );
                }
            }
        }
        if req.header(HEALTH_CHECK_HEADER).is_some() {
            return self.health();
        }
        if has_dot_segment(&req.path) {
            // `/orgs/../admin` would match `/orgs/{org}` here and reach `/admin` at the source.
            return ProxyResponse::error(
                403,
                "BLOCKED_BY_RULES",
                "blocked by rules: `.` and `..` path segments are not allowed",
            );
        }
        let matched = match inner
            .matcher
            .decide(&req.method, &req.path, req.query.as_deref())
        {
            Ok(m) => m,
            Err(blocked) => {
                return ProxyResponse::error(403, "BLOCKED_BY_RULES", &blocked.to_string())
            }
        };
        audit.endpoint = Some(matched.endpoint.path.as_str().to_owned());
        let url = match self.upstream_url(&req.path, req.query.as_deref()) {
            Ok(url) => url,
            Err(message) => return ProxyResponse::error(409, "REVERSIBLE_TOKEN_INVALID", &message),
        };
        let Ok(method) = reqwest::Method::from_bytes(req.method.as_bytes()) else {
            return ProxyResponse::error(400, "BAD_REQUEST", "invalid method");
        };
        let mut headers = vec![(
            "accept".to_owned(),
            req.header("accept")
                .unwrap_or("application/json")
                .to_owned(),
        )];
        let allowed = inner
            .matcher
            .rules()
            .allowed_request_headers
            .iter()
            .chain(&matched.endpoint.allowed_request_headers);
        for name in allowed.filter(|n| !is_reserved_header(n)) {
            if let Some(value) = req.header(name) {
                match self.reverse_whole(value) {
                    Ok(v) => headers.push((name.to_ascii_lowercase(), v)),
                    Err(message) => {
                        return ProxyResponse::error(409, "REVERSIBLE_TOKEN_INVALID", &message)
                    }
                }
            }
        }
        let upstream = match self.send(&method, &url, &headers, &req.body).await {
            Ok(r) => r,
            Err(r) => return r,
        };
        self.answer(upstream, &inner.plans[matched.index]).await
    }

    /// Sends the request with the source's credentials; on a 401 from a source with tokens,
    /// refreshes once and retries.
    async fn send(
        &self,
        method: &reqwest::Method,
        url: &str,
        headers: &[(String, String)],
        body: &bytes::Bytes,
    ) -> Result<reqwest::Response, ProxyResponse> {
        let auth = &self.inner.auth;
        let refreshable = matches!(auth.strategy(), Strategy::OAuth(_));
        let mut force = false;
        loop {
            let credentials = auth.credentials(force).await.map_err(|e| {
                tracing::error!(error = %e, "source authentication failed");
                ProxyResponse::error(502, "SOURCE_AUTH_FAILED", &e.to_string())
            })?;
            let mut request = self.inner.http.request(method.clone(), url);
            // A caller's header never stands beside or in for a credential header.
            let callers = headers.iter().filter(|(name, _)| {
                !credentials
                    .iter()
                    .any(|(c, _)| c.eq_ignore_ascii_case(name))
            });
            for (name, value) in callers.chain(&credentials) {
                request = request.header(name.as_str(), value.as_str());
            }
            if !body.is_empty() {
                request = request.body(body.clone());
            }
            let response = request.send().await.map_err(upstream_failure)?;
            if response.status() == reqwest::StatusCode::UNAUTHORIZED && refreshable && !force {
                tracing::info!("the source answered 401: refreshing its token and retrying once");
                force = true;
                continue;
            }
            return Ok(response);
        }
    }

    /// The caller's answer to the source's response.
    async fn answer(&self, upstream: reqwest::Response, plan: &ResponsePlan) -> ProxyResponse {
        let status = upstream.status();
        let mut headers: Vec<(String, String)> = upstream
            .headers()
            .iter()
            .filter(|(name, _)| {
                let name = name.as_str();
                PASSED_RESPONSE_HEADERS.contains(&name) || name.starts_with("x-ratelimit-")
            })
            .filter_map(|(name, value)| {
                Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
            })
            .collect();
        if status == reqwest::StatusCode::NOT_MODIFIED {
            // The caller's cached copy (If-None-Match) is current: no body, not an error.
            return ProxyResponse {
                status: status.as_u16(),
                headers,
                body: Vec::new(),
            };
        }
        if !status.is_success() {
            let mut r = ProxyResponse::error(
                status.as_u16(),
                "API_ERROR",
                &format!("the source answered {status}"),
            );
            r.headers.append(&mut headers);
            return r;
        }
        if upstream
            .content_length()
            .is_some_and(|n| n > MAX_RESPONSE_BYTES as u64)
        {
            return ProxyResponse::error(
                502,
                "RESPONSE_TOO_LARGE",
                "the source's response is too large",
            );
        }
        let body = match read_limited(upstream).await {
            Ok(b) => b,
            Err(r) => return r,
        };
        let (body, content_type) = match sanitize_body(&body, plan, &self.inner.pseudonymizer) {
            Ok(x) => x,
            Err(r) => return r,
        };
        headers.push(("content-type".into(), content_type.into()));
        ProxyResponse {
            status: status.as_u16(),
            headers,
            body,
        }
    }

    fn health(&self) -> ProxyResponse {
        let inner = &self.inner;
        let body = json!({
            "status": "ok",
            "version": env!("CARGO_PKG_VERSION"),
            "instanceId": inner.instance_id,
            "targetHost": inner.target.origin().ascii_serialization(),
            "rulesSha": inner.rules_sha,
            "endpoints": inner.matcher.rules().endpoints.len(),
            "saltPresent": true,
            "saltSha": inner.salt_sha,
            "encryptionKeyPresent": inner.pseudonymizer.has_encryption_key(),
            "sourceAuth": {"strategy": inner.auth.strategy().name(), "credentialsPresent": true},
            "callerKeys": inner.callers.as_ref().map(CallerKeys::len),
        });
        ProxyResponse {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        }
    }

    /// The source URL of a request: `TARGET_HOST` + path + raw query, with every `p~` token
    /// (a whole path segment or query value) replaced by the original value, encoded.
    fn upstream_url(&self, path: &str, query: Option<&str>) -> Result<String, String> {
        let mut url = self.inner.target.as_str().trim_end_matches('/').to_owned();
        let path = if path.starts_with('/') {
            path.to_owned()
        } else {
            format!("/{path}")
        };
        let segments: Vec<String> = path
            .split('/')
            .map(|raw| {
                let decoded = crate::api::decode::decode_path_part(raw);
                if is_token(&decoded) {
                    let original = self.decrypt(&decoded)?;
                    Ok(encode_segment(&original))
                } else {
                    Ok(raw.to_owned())
                }
            })
            .collect::<Result<_, String>>()?;
        url.push_str(&segments.join("/"));
        if let Some(q) = query.filter(|q| !q.is_empty()) {
            let pairs: Vec<String> = q
                .split('&')
                .map(|pair| {
                    let Some((name, raw_value)) = pair.split_once('=') else {
                        return Ok(pair.to_owned());
                    };
                    let value = crate::api::decode::decode_query_part(raw_value);
                    if is_token(&value) {
                        let original = self.decrypt(&value)?;
                        let encoded: String =
                            form_urlencoded::byte_serialize(original.as_bytes()).collect();
                        Ok(format!("{name}={encoded}"))
                    } else {
                        Ok(pair.to_owned())
                    }
                })
                .collect::<Result<_, String>>()?;
            url.push('?');
            url.push_str(&pairs.join("&"));
        }
        Ok(url)
    }

    fn reverse_whole(&self, value: &str) -> Result<String, String> {
        if is_token(value.trim()) {
            self.decrypt(value.trim())
        } else {
            Ok(value.to_owned())
        }
    }

    fn decrypt(&self, token: &str) -> Result<String, String> {
        self.inner
            .pseudonymizer
            .decrypt(token)
            .map_err(|_| "a p~ token in the request cannot be decrypted by this proxy (wrong key or salt, or damaged)".to_owned())
    }
}

/// Headers a rule cannot pass from the caller to the source even when it lists them: the
/// caller's own credentials (its key, its SigV4 signature) and the connection's framing; the
/// proxy sets these itself.
const RESERVED_REQUEST_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "accept",
    "accept-encoding",
    "user-agent",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
];

fn is_reserved_header(name: &str) -> bool {
    RESERVED_REQUEST_HEADERS
        .iter()
        .any(|r| r.eq_ignore_ascii_case(name))
        || name.to_ascii_lowercase().starts_with("x-psoxy-")
}

/// A decrypted value as one path segment: percent-encoded, and a value of `.` or `..` with
/// its dots encoded too, so it cannot step to another path at the source.
fn encode_segment(value: &str) -> String {
    if value == "." || value == ".." {
        return value.replace('.', "%2E");
    }
    utf8_percent_encode(value, PATH_SEGMENT).to_string()
}

/// Whether a path has a `.` or `..` segment, also percent-encoded (`%2e%2E`).
fn has_dot_segment(path: &str) -> bool {
    path.split('/').any(|raw| {
        let decoded = crate::api::decode::decode_path_part(raw);
        decoded == "." || decoded == ".."
    })
}

/// Whether a request value is a reversible token (`p~` + base64url, optional `@domain`).
fn is_token(value: &str) -> bool {
    value.len() > 2
        && value.starts_with("p~")
        && value[2..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'@' | b'.'))
}

fn upstream_failure(e: reqwest::Error) -> ProxyResponse {
    // The error's URL may hold query values: never logged or returned.
    let e = e.without_url();
    if e.is_timeout() {
        tracing::warn!("the source did not answer in time");
        ProxyResponse::error(504, "UPSTREAM_TIMEOUT", "the source did not answer in time")
    } else {
        tracing::warn!(error = %e, "cannot reach the source");
        ProxyResponse::error(502, "UPSTREAM_UNREACHABLE", "cannot reach the source")
    }
}

async fn read_limited(mut upstream: reqwest::Response) -> Result<Vec<u8>, ProxyResponse> {
    let mut body = Vec::new();
    loop {
        match upstream.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                    return Err(ProxyResponse::error(
                        502,
                        "RESPONSE_TOO_LARGE",
                        "the source's response is too large",
                    ));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(e) => return Err(upstream_failure(e)),
        }
    }
}

/// Sanitizes a 2xx body: one JSON document, or NDJSON (one per line). Anything else fails
/// closed (502); nothing of the original body is returned.
fn sanitize_body(
    body: &[u8],
    plan: &ResponsePlan,
    p: &Pseudonymizer,
) -> Result<(Vec<u8>, &'static str), ProxyResponse> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok((Vec::new(), "application/json"));
    }
    let failed = |e: super::response::ResponseError| {
        tracing::error!(error = %e, "cannot sanitize the response");
        ProxyResponse::error(
            500,
            "SANITIZATION_FAILED",
            &format!("cannot sanitize the response: {e}"),
        )
    };
    let not_json = || {
        ProxyResponse::error(
            502,
            "RESPONSE_NOT_JSON",
            "the source's response is not JSON; it is not passed on",
        )
    };
    match serde_json::from_slice::<Value>(body) {
        Ok(mut doc) => {
            plan.apply(&mut doc, p).map_err(failed)?;
            Ok((doc.to_string().into_bytes(), "application/json"))
        }
        Err(_) => {
            let mut out = Vec::with_capacity(body.len());
            for line in body.split(|b| *b == b'\n') {
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let mut doc: Value = serde_json::from_slice(line).map_err(|_| not_json())?;
                plan.apply(&mut doc, p).map_err(failed)?;
                out.extend_from_slice(doc.to_string().as_bytes());
                out.push(b'\n');
            }
            Ok((out, "application/x-ndjson"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decrypted_segments_stay_one_segment() {
        assert_eq!(encode_segment(".."), "%2E%2E");
        assert_eq!(encode_segment("a/b c"), "a%2Fb%20c");
        assert_eq!(encode_segment("alice@acme.com"), "alice@acme.com");
    }

    #[test]
    fn reserved_headers() {
        assert!(is_reserved_header("Authorization"));
        assert!(is_reserved_header("X-Psoxy-Health-Check"));
        assert!(!is_reserved_header("If-None-Match"));
    }

    #[test]
    fn dot_segments() {
        assert!(has_dot_segment("/orgs/../admin"));
        assert!(has_dot_segment("/orgs/%2e%2E/admin"));
        assert!(has_dot_segment("/./x"));
        assert!(!has_dot_segment("/orgs/a..b/x"));
        assert!(!has_dot_segment("/"));
    }

    #[test]
    fn tokens_are_recognized() {
        assert!(is_token("p~abc_-9"));
        assert!(is_token("p~abc@acme.com"));
        assert!(!is_token("p~"));
        assert!(!is_token("t~abc"));
        assert!(!is_token("p~a b"));
    }
}
