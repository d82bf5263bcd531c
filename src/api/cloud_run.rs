//! The Cloud Run shell of the proxy: settings from the environment (Cloud Run binds the
//! secrets as variables) and Secret Manager, once per process; the requests come through the
//! shared HTTP server (`api/server.rs`, [`Platform::CloudRun`](super::server::Platform)).
//! Cloud Run's IAM checks the caller's ID token before a request arrives (`roles/run.invoker`
//! on the service for the caller's service account): the proxy adds no caller check of its own.

use super::flow::ApiService;
use super::settings::resolve_gcp;

/// Builds the service from the process environment and Secret Manager. A configuration
/// problem gives an [`ApiService::Misconfigured`] that answers health checks with 412 (and is
/// logged).
pub async fn service_from_env() -> ApiService {
    let env = |name: &str| std::env::var(name).ok();
    ApiService::from_resolved(resolve_gcp(&env).await)
}
