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
use super::deferred::{wants_async, AsyncError, AsyncJob, AsyncLeg};
use super::error::ProxyError;
use super::ip_allow::IpAllowList;
use super::keys::{CallerKeys, CallerRefusal};
use super::matching::{Blocked, Matcher, RejectReason, Rejection};
use super::path_prefix::PathNormalizer;
use super::redirect::{redirect_fetch, PublicOnlyResolver, RedirectFetch};
use super::reversal::{has_dot_segment, reverse_whole, upstream_url};
use super::rules::body_allows;
use super::settings::ApiSettings;
use super::side_output::{SideMeta, SideOutputs};
use super::target_override::{target_path, target_query, TARGET_PATH_HEADER, TARGET_QUERY_HEADER};
use super::upstream::{answer, is_reserved_header, same_origin_redirects, send, Outgoing};
use super::wire::{ProxyRequest, ProxyResponse, ERROR_HEADER};
use crate::pseudonym::Pseudonymizer;
use crate::storage::ObjectPrefix;
use crate::transform::ResponsePlan;

/// Most asynchronous requests `psoxy serve` runs at once.
pub const IN_PROCESS_JOBS: usize = 8;

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

    /// Runs the async leg of a queued request (see [`ApiHandler::run_async`]).
    pub async fn run_async(&self, job: AsyncJob) -> Result<(), AsyncError> {
        match self {
            ApiService::Ready(h) => h.run_async(job).await,
            ApiService::Misconfigured { problem } => Err(AsyncError::NotAJob(problem.clone())),
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
    follow_redirects: bool,
    /// Asynchronous requests (`ASYNC_OUTPUT_DESTINATION`), set by the shell.
    async_leg: std::sync::OnceLock<AsyncLeg>,
    /// What the settings ask of asynchronous requests: the destination and the queue's URL.
    async_settings: Option<(ObjectPrefix, Option<String>)>,
    /// Side outputs, set by the shell.
    side_outputs: std::sync::OnceLock<SideOutputs>,
    /// What the settings ask of side outputs: sanitized, original.
    side_output_settings: (Option<ObjectPrefix>, Option<ObjectPrefix>),
    /// `S3_FORCE_PATH_STYLE`.
    s3_path_style: bool,
    /// Fetches a redirect's `Location` at the source's origin on the async leg: no credentials,
    /// no redirects.
    plain_http: reqwest::Client,
    /// The same for another origin: public addresses only.
    public_http: reqwest::Client,
}

/// Which leg of a request runs: the caller's, or the async leg of an accepted
/// `Prefer: respond-async` request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Leg {
    Caller,
    Async,
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
        let plain_http = with_tls(reqwest::Client::builder())
            .timeout(settings.upstream_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(format!("{} (gzip)", settings.user_agent))
            .build()
            .map_err(ApiSetupError::Http)?;
        let public_http = with_tls(reqwest::Client::builder())
            .timeout(settings.upstream_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .https_only(true)
            .dns_resolver(Arc::new(PublicOnlyResolver))
            .user_agent(format!("{} (gzip)", settings.user_agent))
            .build()
            .map_err(ApiSetupError::Http)?;
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
                follow_redirects: settings.follow_redirects,
                async_leg: std::sync::OnceLock::new(),
                async_settings: settings
                    .async_destination
                    .map(|d| (d, settings.async_queue_url)),
                side_outputs: std::sync::OnceLock::new(),
                side_output_settings: (
                    settings.side_output_sanitized,
                    settings.side_output_original,
                ),
                s3_path_style: settings.s3_path_style,
                plain_http,
                public_http,
            }),
        })
    }

    /// Turns on asynchronous requests: `Prefer: respond-async` requests are queued on
    /// `leg.queue` and their answers written to `leg.destination`. Set once; later calls are
    /// ignored.
    pub fn with_async(self, leg: AsyncLeg) -> ApiHandler {
        let _ = self.inner.async_leg.set(leg);
        self
    }

    /// Runs the jobs of an in-process queue
    /// ([`AsyncQueue::InProcess`](crate::api::deferred::AsyncQueue::InProcess)), at most
    /// [`IN_PROCESS_JOBS`] at once, until `stop` completes; then runs the jobs accepted before
    /// the stop and waits for every job to record its outcome.
    pub async fn run_queue(
        self,
        mut jobs: tokio::sync::mpsc::UnboundedReceiver<AsyncJob>,
        stop: impl std::future::Future<Output = ()>,
    ) {
        let limit = Arc::new(tokio::sync::Semaphore::new(IN_PROCESS_JOBS));
        let mut running = tokio::task::JoinSet::new();
        let start = |job: AsyncJob, running: &mut tokio::task::JoinSet<()>, permit| {
            let handler = self.clone();
            running.spawn(async move {
                let _permit: tokio::sync::OwnedSemaphorePermit = permit;
                let id = job.id.clone();
                if let Err(e) = handler.run_async(job).await {
                    tracing::error!(error = %e, request_id = %id, "an asynchronous request's outcome could not be written");
                }
            });
        };
        tokio::pin!(stop);
        loop {
            let job = tokio::select! {
                job = jobs.recv() => job,
                () = &mut stop => None,
            };
            let Some(job) = job else { break };
            let Ok(permit) = limit.clone().acquire_owned().await else {
                break;
            };
            start(job, &mut running, permit);
            while running.try_join_next().is_some() {}
        }
        while let Ok(job) = jobs.try_recv() {
            let Ok(permit) = limit.clone().acquire_owned().await else {
                break;
            };
            start(job, &mut running, permit);
        }
        while running.join_next().await.is_some() {}
    }

    /// What the settings ask of asynchronous requests (`ASYNC_OUTPUT_DESTINATION` and
    /// `ASYNC_API_REQUEST_QUEUE_URL`), for the shell to build the leg from.
    pub fn async_settings(&self) -> Option<(&ObjectPrefix, Option<&str>)> {
        self.inner
            .async_settings
            .as_ref()
            .map(|(d, q)| (d, q.as_deref()))
    }

    /// What the settings ask of side outputs (`SIDE_OUTPUT_SANITIZED`, `SIDE_OUTPUT_ORIGINAL`),
    /// for the shell to build them from; `None` when neither is set.
    pub fn side_output_settings(&self) -> Option<(Option<&ObjectPrefix>, Option<&ObjectPrefix>)> {
        let (sanitized, original) = &self.inner.side_output_settings;
        (sanitized.is_some() || original.is_some())
            .then_some((sanitized.as_ref(), original.as_ref()))
    }

    /// Turns on what the settings ask of the storage: asynchronous requests (when `queue` is
    /// given and `ASYNC_OUTPUT_DESTINATION` set) and side outputs, written through `store`.
    pub fn with_outputs(
        self,
        store: std::sync::Arc<dyn crate::storage::ObjectStore + Send>,
        queue: Option<super::deferred::AsyncQueue>,
    ) -> ApiHandler {
        let mut handler = self;
        let destination = handler.async_settings().map(|(d, _)| d.clone());
        if let (Some(destination), Some(queue)) = (destination, queue) {
            handler = handler.with_async(AsyncLeg {
                destination,
                store: store.clone(),
                queue,
            });
        }
        let side = handler
            .side_output_settings()
            .map(|(s, o)| (s.cloned(), o.cloned()));
        if let Some((sanitized, original)) = side {
            handler = handler.with_side_outputs(SideOutputs {
                sanitized,
                original,
                store,
            });
        }
        handler
    }

    /// Whether asynchronous requests or side outputs are configured: the shell must give
    /// [`ApiHandler::with_outputs`] a store.
    pub fn needs_storage(&self) -> bool {
        self.async_settings().is_some() || self.side_output_settings().is_some()
    }

    /// Checks that every location setting (`ASYNC_OUTPUT_DESTINATION`, `SIDE_OUTPUT_*`) is in
    /// the platform's store, `scheme` (`s3` on AWS, `gs` on Google Cloud).
    pub fn require_store(&self, scheme: &'static str) -> Result<(), crate::storage::WrongStore> {
        let (sanitized, original) = &self.inner.side_output_settings;
        let locations = [
            (
                self.inner.async_settings.as_ref().map(|(d, _)| d),
                crate::settings::catalog::ASYNC_OUTPUT_DESTINATION.name,
            ),
            (
                sanitized.as_ref(),
                crate::settings::catalog::SIDE_OUTPUT_SANITIZED.name,
            ),
            (
                original.as_ref(),
                crate::settings::catalog::SIDE_OUTPUT_ORIGINAL.name,
            ),
        ];
        for (prefix, setting) in locations {
            if let Some(p) = prefix {
                p.require(scheme, setting)?;
            }
        }
        Ok(())
    }

    /// `S3_FORCE_PATH_STYLE`, for the shell's S3 client.
    pub fn s3_path_style(&self) -> bool {
        self.inner.s3_path_style
    }

    /// Turns on side outputs. Set once; later calls are ignored.
    pub fn with_side_outputs(self, outputs: SideOutputs) -> ApiHandler {
        let _ = self.inner.side_outputs.set(outputs);
        self
    }

    /// The async leg's configuration, when asynchronous requests are on.
    pub fn async_leg(&self) -> Option<&AsyncLeg> {
        self.inner.async_leg.get()
    }

    /// Runs the async leg of an accepted request: the whole pipeline again, then its outcome
    /// recorded (the sanitized body, or the failure record). An error means neither could be
    /// written, and the job should be delivered again.
    pub async fn run_async(&self, job: AsyncJob) -> Result<(), AsyncError> {
        let started = Instant::now();
        let Some(leg) = self.inner.async_leg.get() else {
            return Err(AsyncError::NotAJob(
                "asynchronous requests are not configured (ASYNC_OUTPUT_DESTINATION)".into(),
            ));
        };
        let mut audit = Audit {
            caller: job.caller.clone(),
            ..Audit::default()
        };
        let req = job.request();
        let outcome = self.respond(&req, &mut audit, Leg::Async).await;
        let (status, error, content_type, body) = match outcome {
            Ok(r) => {
                let error = r.header(ERROR_HEADER).map(str::to_owned);
                let content_type = r.header("content-type").map(str::to_owned);
                (r.status, error, content_type, r.body)
            }
            Err(e) => {
                let (status, code) = e.status_and_code();
                (status, Some(code.to_owned()), None, Vec::new())
            }
        };
        let recorded = leg
            .record(
                &job,
                status,
                error.as_deref(),
                content_type.as_deref(),
                body,
            )
            .await;
        tracing::info!(
            target: "psoxy_audit",
            caller = audit.caller.as_deref().unwrap_or("-"),
            method = %req.method,
            endpoint = audit.endpoint.as_deref().unwrap_or("-"),
            request_id = %job.id,
            status,
            latency_ms = started.elapsed().as_millis() as u64,
            error = error.as_deref().unwrap_or("-"),
            recorded = recorded.is_ok(),
            "asynchronous request"
        );
        recorded
    }

    /// Handles one request: never fails, every problem is an HTTP answer.
    pub async fn handle(&self, req: ProxyRequest) -> ProxyResponse {
        let started = Instant::now();
        let mut audit = Audit::default();
        let mut response = self
            .respond(&req, &mut audit, Leg::Caller)
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
        leg: Leg,
    ) -> Result<ProxyResponse, ProxyError> {
        let inner = &self.inner;
        // The async leg's request passed the caller's checks when it was accepted; its job holds
        // no credential to check again.
        if let (Some(callers), Leg::Caller) = (&inner.callers, leg) {
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
        if leg == Leg::Caller && wants_async(req) {
            if let Some(async_leg) = inner.async_leg.get() {
                // Only the headers the pipeline reads travel with the job.
                let mut keep: Vec<String> = [
                    "accept",
                    "content-type",
                    "content-encoding",
                    TARGET_PATH_HEADER,
                    TARGET_QUERY_HEADER,
                    IMPERSONATE_HEADER,
                ]
                .iter()
                .map(|h| (*h).to_owned())
                .collect();
                if inner.trust_forwarded_for {
                    keep.push("x-forwarded-for".into());
                }
                keep.extend(
                    inner
                        .matcher
                        .rules()
                        .allowed_request_headers
                        .iter()
                        .chain(&matched.endpoint.allowed_request_headers)
                        .map(|h| h.to_ascii_lowercase()),
                );
                let job = AsyncJob::new(req, &keep, audit.caller.clone());
                return self.accept_async(job, async_leg).await;
            }
        }
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
        let upstream = if leg == Leg::Async && !inner.follow_redirects {
            self.fetch_location(upstream, &url).await?
        } else {
            upstream
        };
        let side = inner.side_outputs.get();
        let mut original = Vec::new();
        let keep_original = side.is_some_and(|s| s.original.is_some());
        let mut response = answer(
            upstream,
            &inner.plans[matched.index],
            p,
            keep_original.then_some(&mut original),
        )
        .await?;
        if let Some(side) = side {
            if (200..300).contains(&response.status) {
                let meta = SideMeta {
                    method: req.method.to_ascii_uppercase(),
                    endpoint: matched.endpoint.path.as_str().to_owned(),
                    status: response.status,
                    content_type: response
                        .header("content-type")
                        .unwrap_or("application/json")
                        .to_owned(),
                    instance_id: inner.instance_id.clone(),
                    rules_sha: inner.rules_sha.clone(),
                    leg: if leg == Leg::Async { "async" } else { "caller" },
                };
                let original = keep_original.then_some(original.as_slice());
                if let Err(e) = side.write(&meta, &response.body, original).await {
                    tracing::error!(error = %e, "a side output could not be written");
                    response
                        .headers
                        .push(("x-psoxy-warning".into(), "side-output-failed".into()));
                }
            }
        }
        Ok(response)
    }

    /// Queues an accepted asynchronous request and answers `202 Accepted` with its `Location`.
    async fn accept_async(
        &self,
        job: AsyncJob,
        leg: &AsyncLeg,
    ) -> Result<ProxyResponse, ProxyError> {
        let location = job.location(&leg.destination);
        leg.send(&job).await.map_err(|e| match e {
            AsyncError::TooLarge => ProxyError::RequestTooLarge,
            e => {
                tracing::error!(error = %e, "cannot queue an asynchronous request");
                ProxyError::AsyncQueue
            }
        })?;
        let mut r = ProxyResponse::json(202, &json!({"location": location, "status": "accepted"}));
        r.headers.push(("location".into(), location));
        r.headers
            .push(("preference-applied".into(), "respond-async".into()));
        Ok(r)
    }

    /// On the async leg with `FOLLOW_REDIRECTS` off (ChatGPT Enterprise's and Slack's report
    /// downloads), a redirect from the source is fetched as Psoxy fetches presigned report
    /// URLs: the `Location` resolved against the request's URL and fetched with one GET that
    /// carries no credential and no caller header, at the source's own origin or over https
    /// to public addresses only ([`redirect_fetch`]). Anything else passes through unchanged.
    async fn fetch_location(
        &self,
        upstream: reqwest::Response,
        url: &str,
    ) -> Result<reqwest::Response, ProxyError> {
        if !upstream.status().is_redirection() {
            return Ok(upstream);
        }
        let Some(location) = upstream
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
        else {
            return Ok(upstream);
        };
        let (client, target) = match redirect_fetch(url, location) {
            RedirectFetch::SameOrigin(target) => (&self.inner.plain_http, target),
            RedirectFetch::Public(target) => (&self.inner.public_http, target),
            RedirectFetch::Refused => {
                tracing::warn!("the source redirected outside its origin to a non-https or non-public location; not followed");
                return Ok(upstream);
            }
        };
        tracing::info!("fetching the source's redirect without credentials (async leg)");
        client
            .get(target)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| {
                let e = e.without_url();
                if e.is_timeout() {
                    ProxyError::UpstreamTimeout
                } else {
                    ProxyError::UpstreamUnreachable(e)
                }
            })
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
