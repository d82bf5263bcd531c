//! The GCS client: Google's credentials (the metadata server on Cloud Run, else Application
//! Default Credentials), or an emulator without credentials when `STORAGE_EMULATOR_HOST` is
//! set (the convention of Google's client libraries: `host:port` or a URL).

use std::time::Duration;

use google_cloud_gax::retry_policy::RetryPolicyExt;
use google_cloud_storage::client::Storage;
use google_cloud_storage::retry_policy::RetryableErrors;

/// The variable naming a GCS emulator.
pub const EMULATOR_HOST: &str = "STORAGE_EMULATOR_HOST";

/// The storage client could not be built (credentials not found, a bad endpoint).
#[derive(Debug, thiserror::Error)]
#[error("cannot create the Cloud Storage client: {0}")]
pub struct ClientError(String);

impl ClientError {
    /// An error saying `detail` (never a credential).
    pub(crate) fn new(detail: String) -> ClientError {
        ClientError(detail)
    }
}

/// The endpoint of an emulator given as `STORAGE_EMULATOR_HOST` (`host:port` gets `http://`).
pub fn emulator_endpoint(host: &str) -> Option<String> {
    let host = host.trim().trim_end_matches('/');
    if host.is_empty() {
        return None;
    }
    Some(if host.contains("://") {
        host.to_owned()
    } else {
        format!("http://{host}")
    })
}

/// How many times one request is tried (with the library's backoff: about 15 s in all).
pub const ATTEMPTS: u32 = 5;
/// The longest one request is retried for. One event has about ten minutes (the Pub/Sub push
/// deadline): a longer outage is better answered with 503, so Pub/Sub redelivers later.
pub const RETRY_TIME: Duration = Duration::from_secs(60);

/// A client for GCS, or for the emulator that `emulator_host` (the value of
/// `STORAGE_EMULATOR_HOST`) names, which gets no credentials. Transient failures (the
/// library's list: 408, 429, 5xx, broken connections) are retried [`ATTEMPTS`] times within
/// [`RETRY_TIME`].
pub async fn storage_client(emulator_host: Option<&str>) -> Result<Storage, ClientError> {
    crate::gcp_sdk::install_crypto_provider();
    let retry = RetryableErrors
        .with_attempt_limit(ATTEMPTS)
        .with_time_limit(RETRY_TIME);
    let mut builder = Storage::builder().with_retry_policy(retry);
    if let Some(endpoint) = emulator_host.and_then(emulator_endpoint) {
        builder = builder
            .with_endpoint(endpoint)
            .with_credentials(google_cloud_auth::credentials::anonymous::Builder::new().build());
    }
    builder
        .build()
        .await
        .map_err(|e| ClientError(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emulator_hosts() {
        assert_eq!(
            emulator_endpoint("127.0.0.3:80").as_deref(),
            Some("http://127.0.0.3:80")
        );
        assert_eq!(
            emulator_endpoint("http://localhost:4443/").as_deref(),
            Some("http://localhost:4443")
        );
        assert_eq!(emulator_endpoint(" "), None);
    }
}
