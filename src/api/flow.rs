//! The request flow both shells share (`psoxy serve` and the Lambda function URL): caller
//! keys, health check, default-deny rule match, reversal of `p~` tokens, the call to the
//! source with its credentials, the response sanitized by the endpoint's plan, and the audit
//! line (SPEC-API "Request flow").

use std::sync::Arc;
use std::time::Instant;

use serde_json::json;

use super::auth::{with_service_key, CredentialStore, SourceAuth, Strategy};
use super::body::{
    check_request_body, reverse_body, reverse_tokens_in, BodyReversalError, CompiledBodyRule,
};
use super::error::ProxyError;
use super::ip_allow::IpAllowList;
use super::keys::{CallerKeys, CallerRefusal};
use super::matching::{Blocked, Matcher, RejectReason, Rejection};
use super::path_prefix::PathNormalizer;
use super::reversal::{has_dot_segment, reverse_whole, upstream_url};
use super::rules::body_allows;
use super::settings::ApiSettings;
use super::target_override::{target_path, target_query, TARGET_PATH_HEADER, TARGET_QUERY_HEADER};
use super::upstream::{answer, is_reserved_header, same_origin_redirects, send, Outgoing};
use super::wire::{ProxyRequest, ProxyResponse, ERROR_HEADER};
use crate::pseudonym::Pseudonymizer;
use crate::transform::ResponsePlan;

/// Header that asks for the health check instead of a forwarded request.
pub const HEALTH_CHECK_HEADER: &str = "x-psoxy-health-check";

/// The user a Google service account's token is delegated to for one request
/// (SPEC-API-PARITY §3.4.1); honoured only on endpoints whose rules list it in
/// `allowedRequestHeaders`, never forwarded.
pub const IMPERSONATE_HEADER: &str = "x-psoxy-user-to-impersonate";

/// The proxy cannot be built from its settings. Names the setting or rule, never a value.
#[derive(Debug, thiserror::Error)]
pub enum ApiSetupError {
    /// The settings are missing or invalid.
    #[error(transparent)]
    Settings(#[from] super::settings::ApiSettingsError),
    /// The pseudonym settings are inconsistent.
    #[error(transparent)]
    Pseudonym(#[from] crate::pseudonym::PseudonymError),
    /// An endpoint's transforms need an encryption key the deployment does not have.
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
    /// The service of resolved settings (and their credential store), as the function shells
    /// build it at start: [`ApiService::Misconfigured`] when they are missing or invalid (the
    /// problem is logged; health checks answer 412).
    pub fn from_resolved(
        resolved: Result<
            (crate::settings::Settings, Option<Arc<dyn CredentialStore>>),
            super::settings::ApiSettingsError,
        >,
    ) -> ApiService {
        let handler = resolved
            .map_err(ApiSetupError::from)
            .and_then(|(resolved, writer)| {
                let settings = ApiSettings::from_settings(&resolved)?;
                let instance = settings.instance_id.clone();
                let rules_sha = settings.rules_sha.clone();
                let endpoints = settings.rules.rules.endpoints.len();
                let source_auth = settings.strategy.name();
                let handler = ApiHandler::new(settings, None, writer)?;
                tracing::info!(
                    version = env!("CARGO_PKG_VERSION"),
                    %instance,
                    %rules_sha,
                    endpoints,
                    source_auth,
                    "ready"
                );
                Ok(handler)
            });
        match handler {
            Ok(h) => ApiService::Ready(h),
            Err(problem) => {
                tracing::error!(%problem, "the proxy is misconfigured");
                ApiService::Misconfigured {
                    problem: problem.to_string(),
                }
            }
        }
    }

    /// Handles one request.
    pub async fn handle(&self, req: ProxyRequest) -> ProxyResponse {
        match self {
            ApiService::Ready(h) => h.handle(req).await,
            ApiService::Misconfigured { problem } => {
                let mut r = if req.header(HEALTH_CHECK_HEADER).is_some() {
                    ProxyResponse::json(
                        412,
                        &json!({"status": "misconfigured", "version": env!("CARGO_PKG_VERSION"), "problem": problem}),
                    )
                } else {
                    ProxyError::Misconfigured.response()
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
    /// The `requestBody` rule of each endpoint, compiled.
    bodies: Vec<Option<CompiledBodyRule>>,
    plans: Vec<ResponsePlan>,
    pseudonymizer: Pseudonymizer,
    target: reqwest::Url,
    http: reqwest::Client,
    auth: SourceAuth,
    callers: Option<CallerKeys>,
    instance_id: String,
    rules_sha: String,
    salt_sha: String,
    ip_allow: IpAllowList,
    trust_forwarded_for: bool,
    paths: PathNormalizer,
    user_agent: String,
}

/// What the audit line reports of a request besides its status.
#[derive(Default)]
struct Audit {
    caller: Option<String>,
    endpoint: Option<String>,
}

impl ApiHandler {
    /// Builds the handler: checks every endpoint's plan against the keys, builds the HTTP
    /// clients. `callers`: server mode's caller keys (`None` behind the function URL's IAM
    /// auth). `store`: where rotated refresh tokens and the shared access token are kept.
    pub fn new(
        settings: ApiSettings,
        callers: Option<CallerKeys>,
        store: Option<Arc<dyn CredentialStore>>,
    ) -> Result<ApiHandler, ApiSetupError> {
        let pseudonymizer = Pseudonymizer::new(&settings.pseudonym)?;
        let set = settings.rules;
        for (index, (endpoint, plan)) in set.rules.endpoints.iter().zip(&set.plans).enumerate() {
            plan.check_keys(&pseudonymizer)
                .map_err(|source| ApiSetupError::Plan {
                    index,
                    path: endpoint.path.as_str().to_owned(),
                    source,
                })?;
        }
        let redirects = if settings.follow_redirects {
            same_origin_redirects()
        } else {
            reqwest::redirect::Policy::none()
        };
        let with_tls = |b: reqwest::ClientBuilder| match settings.max_tls {
            Some(v) => b.max_tls_version(v),
            None => b,
        };
        let http = with_tls(reqwest::Client::builder())
            .timeout(settings.upstream_timeout)
            .redirect(redirects)
            .user_agent(format!("{} (gzip)", settings.user_agent))
            .build()
            .map_err(ApiSetupError::Http)?;
        let token_http = with_tls(reqwest::Client::builder())
            .timeout(std::time::Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(settings.user_agent.as_str())
            .build()
            .map_err(ApiSetupError::Http)?;
        let salt_sha = pseudonymizer.salt_fingerprint();
        Ok(ApiHandler {
            inner: Arc::new(Inner {
                matcher: Matcher::new(set.rules),
                bodies: set.bodies,
                plans: set.plans,
                pseudonymizer,
                target: settings.target,
                http,
                auth: SourceAuth::new(settings.strategy, token_http, store, settings.shared_token),
                callers,
                instance_id: settings.instance_id,
                rules_sha: settings.rules_sha,
                salt_sha,
                ip_allow: settings.ip_allow,
                trust_forwarded_for: settings.trust_forwarded_for,
                paths: settings.paths,
                user_agent: settings.user_agent,
            }),
        })
    }

    /// Handles one request: never fails, every problem is an HTTP answer.
    pub async fn handle(&self, req: ProxyRequest) -> ProxyResponse {
        let started = Instant::now();
        let mut audit = Audit::default();
        let mut response = self
            .respond(&req, &mut audit)
            .await
            .unwrap_or_else(|e| e.response());
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

    async fn respond(
        &self,
        req: &ProxyRequest,
        audit: &mut Audit,
    ) -> Result<ProxyResponse, ProxyError> {
        let inner = &self.inner;
        if let Some(callers) = &inner.callers {
            match callers.check(
                req.header("authorization"),
                &inner.instance_id,
                chrono::Utc::now(),
            ) {
                Ok(id) => audit.caller = Some(id.to_owned()),
                Err(CallerRefusal::Unauthenticated) => return Err(ProxyError::Unauthenticated),
                Err(CallerRefusal::Expired { id }) => {
                    audit.caller = Some(id);
                    return Err(ProxyError::KeyExpired);
                }
                Err(CallerRefusal::WrongConnector { id }) => {
                    audit.caller = Some(id);
                    return Err(ProxyError::ConnectorNotAllowed(inner.instance_id.clone()));
                }
            }
        }
        let client_ip = self.client_ip(req);
        let ip_allowed = inner.ip_allow.allows(client_ip);
        if req.header(HEALTH_CHECK_HEADER).is_some() {
            return Ok(self.health(ip_allowed));
        }
        if !ip_allowed {
            return Err(ProxyError::UnauthorizedIp);
        }
        // SPEC-API-PARITY 3.4.2, 3.5: a target path is used as given; otherwise the request's
        // path loses REQUEST_PATH_PREFIX_TO_TRIM and the function's name, once.
        let path = match req.header(TARGET_PATH_HEADER) {
            Some(raw) => target_path(raw)?,
            None => inner.paths.normalize(&req.path),
        };
        let query = match req.header(TARGET_QUERY_HEADER) {
            Some(raw) => target_query(raw)?,
            None => req.query.clone(),
        };
        let body = check_request_body(&req.method, req.header("content-encoding"), &req.body)?;
        if has_dot_segment(&path) {
            // `/orgs/../admin` would match `/orgs/{org}` here and reach `/admin` at the source.
            return Err(ProxyError::DotSegment);
        }
        let matched = inner.matcher.decide(&req.method, &path, query.as_deref())?;
        audit.endpoint = Some(matched.endpoint.path.as_str().to_owned());
        let content_type = req.header("content-type");
        if !body_allows(&inner.bodies, matched.index, content_type, body) {
            return Err(ProxyError::Blocked(Blocked {
                rejections: vec![Rejection {
                    endpoint: matched.index,
                    path: matched.endpoint.path.as_str().to_owned(),
                    reason: RejectReason::RequestBody,
                }],
            }));
        }
        let p = &inner.pseudonymizer;
        let url = upstream_url(p, &inner.target, &path, query.as_deref())?;
        let method = reqwest::Method::from_bytes(req.method.as_bytes())
            .map_err(|_| ProxyError::BadMethod)?;
        let mut headers = vec![(
            "accept".to_owned(),
            req.header("accept")
                .unwrap_or("application/json")
                .to_owned(),
        )];
        let mut forwarded_body = match body {
            None => bytes::Bytes::new(),
            Some(text) => {
                headers.push((
                    "content-type".to_owned(),
                    content_type.unwrap_or("application/json").to_owned(),
                ));
                let reversed = reverse_body(content_type, text, &mut |token| {
                    p.decrypt(token).map_err(|_| ProxyError::TokenInvalid)
                })
                .map_err(|e| match e {
                    BodyReversalError::InvalidJson => ProxyError::BodyNotJson,
                    BodyReversalError::TokenInUnsupportedContentType => {
                        ProxyError::TokenInOpaqueBody
                    }
                    BodyReversalError::Decrypt(e) => e,
                })?;
                bytes::Bytes::from(reversed)
            }
        };
        if let Strategy::ServiceKeyInBody(key) = inner.auth.strategy() {
            let (with_key, json) = with_service_key(content_type, &forwarded_body, key)?;
            headers.retain(|(name, _)| name != "content-type");
            headers.push(("content-type".to_owned(), json.to_owned()));
            forwarded_body = bytes::Bytes::from(with_key);
        }
        let allowed = inner
            .matcher
            .rules()
            .allowed_request_headers
            .iter()
            .chain(&matched.endpoint.allowed_request_headers);
        let mut impersonate_allowed = false;
        for name in allowed {
            if name.eq_ignore_ascii_case(IMPERSONATE_HEADER) {
                impersonate_allowed = true;
            } else if !is_reserved_header(name) {
                if let Some(value) = req.header(name) {
                    headers.push((name.to_ascii_lowercase(), reverse_whole(p, value)?));
                }
            }
        }
        let impersonate = match req.header(IMPERSONATE_HEADER) {
            Some(value) if impersonate_allowed => Some(reverse_tokens_in(value, &mut |token| {
                p.decrypt(token).map_err(|_| ProxyError::TokenInvalid)
            })?),
            Some(_) => {
                tracing::warn!(
                    endpoint = %matched.endpoint.path.as_str(),
                    "X-Psoxy-User-To-Impersonate ignored: the endpoint's rules do not list it in allowedRequestHeaders"
                );
                None
            }
            None => None,
        };
        let upstream = send(
            &inner.http,
            &inner.auth,
            Outgoing {
                method: &method,
                url: &url,
                headers: &headers,
                body: &forwarded_body,
                impersonate: impersonate.as_deref(),
            },
        )
        .await?;
        answer(upstream, &inner.plans[matched.index], p).await
    }

    /// The caller's address: the first `X-Forwarded-For` hop when trusted, else what the
    /// platform reported.
    fn client_ip<'r>(&self, req: &'r ProxyRequest) -> Option<&'r str> {
        if self.inner.trust_forwarded_for {
            if let Some(first) = req
                .header("x-forwarded-for")
                .and_then(|xff| xff.split(',').next())
            {
                return Some(first.trim());
            }
        }
        req.client_ip.as_deref()
    }

    fn health(&self, client_ip_authorized: bool) -> ProxyResponse {
        let inner = &self.inner;
        ProxyResponse::json(
            200,
            &json!({
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
                "userAgent": inner.user_agent,
                "clientIpAuthorized": client_ip_authorized,
            }),
        )
    }
}
