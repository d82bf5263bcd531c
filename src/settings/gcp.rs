//! Google Cloud Secret Manager as a settings store, for the Cloud Run services: a secret's id
//! is the prefix followed by the setting's name (`PSOXY_SHARED_PSOXY_SALT`), its value is the
//! latest enabled version. Cloud Run binds most secrets as environment variables (read before
//! the store); the store serves the rest, and takes the API's rotated refresh token as a new
//! version.
//!
//! Requests go to the REST API (`SECRET_MANAGER_ENDPOINT`) with the credentials of Google's
//! auth library: the metadata server on Cloud Run (`GCE_METADATA_HOST` moves it), or
//! Application Default Credentials elsewhere. A secret that is missing, refused (403: the
//! service account may read only its own secrets) or without an enabled version counts as
//! absent, as an AWS `AccessDenied` does.

use std::collections::HashMap;

use base64::Engine;
use google_cloud_auth::credentials::{CacheableResource, Credentials};
use serde_json::{json, Value};

use super::catalog::{GOOGLE_CLOUD_PROJECT, SECRET_MANAGER_ENDPOINT};
use super::remote::{RemoteError, SecretStore, StoreFuture, StoreLocation};
use super::SettingError;

/// A JSON request body.
fn json_body(value: &Value) -> Vec<u8> {
    value.to_string().into_bytes()
}

/// The service's name in errors.
pub const SERVICE: &str = "Secret Manager";

/// The metadata server, unless `GCE_METADATA_HOST` names another.
const METADATA_HOST: &str = "metadata.google.internal";

/// Secret Manager over REST, for one project.
#[derive(Clone)]
pub struct SecretManager {
    http: reqwest::Client,
    endpoint: String,
    project: String,
    credentials: Credentials,
}

/// What a request came back with.
enum Answer {
    Body(Value),
    Absent,
    /// A write refused because the resource changed (HTTP 409 or 412: a stale etag).
    Conflict,
}

impl SecretManager {
    /// A client for the secrets of `project` at `endpoint`, with Application Default
    /// Credentials (the metadata server on Cloud Run).
    pub fn new(endpoint: &str, project: &str) -> Result<Self, RemoteError> {
        crate::gcp_sdk::install_crypto_provider();
        let fail = |detail: String| RemoteError {
            parameter: String::new(),
            service: SERVICE,
            write: false,
            detail,
        };
        let credentials = google_cloud_auth::credentials::Builder::default()
            .build()
            .map_err(|e| fail(format!("no Google credentials: {e}")))?;
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(|e| fail(format!("cannot create the HTTP client: {e}")))?;
        Ok(SecretManager {
            http,
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            project: project.to_owned(),
            credentials,
        })
    }

    fn secret_url(&self, name: &str) -> String {
        format!(
            "{}/v1/projects/{}/secrets/{}",
            self.endpoint, self.project, name
        )
    }

    fn error(name: &str, write: bool, detail: impl Into<String>) -> RemoteError {
        RemoteError {
            parameter: name.to_owned(),
            service: SERVICE,
            write,
            detail: detail.into(),
        }
    }

    async fn auth_headers(
        &self,
        name: &str,
        write: bool,
    ) -> Result<hyper::http::HeaderMap, RemoteError> {
        match self
            .credentials
            .headers(hyper::http::Extensions::new())
            .await
        {
            Ok(CacheableResource::New { data, .. }) => Ok(data),
            Ok(CacheableResource::NotModified) => Ok(hyper::http::HeaderMap::new()),
            Err(e) => Err(Self::error(name, write, format!("no access token: {e}"))),
        }
    }

    /// Sends `request` for secret `name`; 404, 403 and a failed precondition (no enabled
    /// version) are [`Answer::Absent`].
    async fn send(
        &self,
        name: &str,
        write: bool,
        request: reqwest::RequestBuilder,
    ) -> Result<Answer, RemoteError> {
        let headers = self.auth_headers(name, write).await?;
        let response = request
            .headers(headers)
            .send()
            .await
            .map_err(|e| Self::error(name, write, format!("request failed: {e}")))?;
        let status = response.status().as_u16();
        match status {
            200..=299 => {
                let body = response
                    .bytes()
                    .await
                    .map_err(|e| Self::error(name, write, format!("answer cut short: {e}")))?;
                serde_json::from_slice(&body)
                    .map(Answer::Body)
                    .map_err(|_| Self::error(name, write, "the answer is not JSON"))
            }
            403 | 404 if !write => Ok(Answer::Absent),
            400 if !write => Ok(Answer::Absent),
            409 | 412 if write => Ok(Answer::Conflict),
            _ => {
                // Google's error bodies carry a code and a message naming the resource.
                let body = response.bytes().await.unwrap_or_default();
                let status_name = serde_json::from_slice::<Value>(&body)
                    .ok()
                    .and_then(|b| b["error"]["status"].as_str().map(str::to_owned))
                    .unwrap_or_default();
                Err(Self::error(
                    name,
                    write,
                    format!("HTTP {status} {status_name}").trim_end().to_owned(),
                ))
            }
        }
    }

    /// The latest enabled version of secret `name`, if it exists and may be read.
    pub async fn access(&self, name: &str) -> Result<Option<String>, RemoteError> {
        let url = format!("{}/versions/latest:access", self.secret_url(name));
        let Answer::Body(body) = self.send(name, false, self.http.get(url)).await? else {
            return Ok(None);
        };
        let data = body["payload"]["data"]
            .as_str()
            .ok_or_else(|| Self::error(name, false, "the answer has no payload"))?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data)
            .map_err(|_| Self::error(name, false, "the payload is not base64"))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| Self::error(name, false, "the value is not UTF-8 text"))?;
        Ok(Some(text).filter(|v| !super::lookup::is_placeholder(v) && !v.trim().is_empty()))
    }

    /// Adds `value` as the new latest version of secret `name` (which must exist), then
    /// destroys the versions it replaces, as Psoxy does (a secret keeps one live value).
    pub async fn add_version(&self, name: &str, value: &str) -> Result<(), RemoteError> {
        let url = format!("{}:addVersion", self.secret_url(name));
        let data = base64::engine::general_purpose::STANDARD.encode(value.as_bytes());
        let request = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .body(json_body(&json!({ "payload": { "data": data } })));
        let Answer::Body(added) = self.send(name, true, request).await? else {
            return Ok(());
        };
        let added = added["name"].as_str().unwrap_or_default().to_owned();
        let url = format!("{}/versions", self.secret_url(name));
        let listed = self
            .send(
                name,
                true,
                self.http.get(url).query(&[("filter", "state:ENABLED")]),
            )
            .await?;
        let Answer::Body(listed) = listed else {
            return Ok(());
        };
        let older = listed["versions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v["name"].as_str())
            .filter(|v| !added.is_empty() && *v != added);
        for version in older {
            let url = format!("{}/v1/{version}:destroy", self.endpoint);
            // A version another instance destroyed first is gone already.
            if let Err(e) = self
                .send(
                    name,
                    true,
                    self.http
                        .post(url)
                        .header("content-type", "application/json")
                        .body(json_body(&json!({}))),
                )
                .await
            {
                tracing::warn!(secret = %name, error = %e, "an older version could not be destroyed");
            }
        }
        Ok(())
    }

    /// The labels of secret `name` and its etag (`None`: no such secret, or refused).
    pub async fn labels(
        &self,
        name: &str,
    ) -> Result<Option<(serde_json::Map<String, Value>, String)>, RemoteError> {
        let Answer::Body(body) = self
            .send(name, false, self.http.get(self.secret_url(name)))
            .await?
        else {
            return Ok(None);
        };
        let labels = body["labels"].as_object().cloned().unwrap_or_default();
        let etag = body["etag"].as_str().unwrap_or_default().to_owned();
        Ok(Some((labels, etag)))
    }

    /// Replaces the labels of secret `name` if its etag is still `etag`; `false` when another
    /// writer changed the secret first (HTTP 409 or 412: the update was refused).
    pub async fn set_labels(
        &self,
        name: &str,
        labels: serde_json::Map<String, Value>,
        etag: &str,
    ) -> Result<bool, RemoteError> {
        let request = self
            .http
            .patch(self.secret_url(name))
            .query(&[("updateMask", "labels")])
            .header("content-type", "application/json")
            .body(json_body(&json!({ "labels": labels, "etag": etag })));
        Ok(!matches!(
            self.send(name, true, request).await?,
            Answer::Conflict
        ))
    }
}

impl SecretStore for SecretManager {
    fn service(&self) -> &'static str {
        SERVICE
    }

    fn fetch<'a>(&'a self, names: &'a [String]) -> StoreFuture<'a, HashMap<String, String>> {
        Box::pin(async move {
            // One request per secret, all at once: a cold start reads a few dozen names.
            let mut tasks = tokio::task::JoinSet::new();
            for name in names {
                let (store, name) = (self.clone(), name.clone());
                tasks.spawn(async move {
                    let value = store.access(&name).await;
                    (name, value)
                });
            }
            let mut found = HashMap::new();
            while let Some(joined) = tasks.join_next().await {
                let (name, value) = joined.map_err(|e| Self::error("", false, e.to_string()))?;
                if let Some(v) = value? {
                    found.insert(name, v);
                }
            }
            Ok(found)
        })
    }

    fn put<'a>(&'a self, name: &'a str, value: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(self.add_version(name, value))
    }
}

/// The project of the secrets: `GOOGLE_CLOUD_PROJECT`, else the metadata server's.
async fn project(env: &dyn Fn(&str) -> Option<String>) -> Result<String, SettingError> {
    if let Some(p) = env(GOOGLE_CLOUD_PROJECT.name).filter(|p| !p.trim().is_empty()) {
        return Ok(p.trim().to_owned());
    }
    let host = env("GCE_METADATA_HOST")
        .filter(|h| !h.trim().is_empty())
        .unwrap_or_else(|| METADATA_HOST.to_owned());
    let url = format!("http://{host}/computeMetadata/v1/project/project-id");
    let missing = || SettingError::Missing(GOOGLE_CLOUD_PROJECT.name);
    let response = reqwest::Client::new()
        .get(url)
        .header("Metadata-Flavor", "Google")
        .timeout(std::time::Duration::from_secs(5))
        .send()
        .await
        .map_err(|_| missing())?;
    if !response.status().is_success() {
        return Err(missing());
    }
    let text = response.text().await.map_err(|_| missing())?;
    Some(text.trim().to_owned())
        .filter(|p| !p.is_empty())
        .ok_or_else(missing)
}

/// The Secret Manager store of a Cloud Run service and where its settings are
/// ([`StoreLocation::for_gcp`]), or `None` when no prefix is set.
pub async fn store_from_env(
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<(StoreLocation, SecretManager)>, GcpStoreError> {
    let Some(location) = StoreLocation::for_gcp(env)? else {
        return Ok(None);
    };
    let endpoint = env(SECRET_MANAGER_ENDPOINT.name)
        .filter(|e| !e.trim().is_empty())
        .or_else(|| SECRET_MANAGER_ENDPOINT.default.map(str::to_owned))
        .unwrap_or_default();
    let project = project(env).await?;
    Ok(Some((location, SecretManager::new(&endpoint, &project)?)))
}

/// Secret Manager cannot be used: where it is, or its client.
#[derive(Debug, thiserror::Error)]
pub enum GcpStoreError {
    /// A setting saying where the secrets are is missing or invalid.
    #[error(transparent)]
    Setting(#[from] SettingError),
    /// The client could not be built.
    #[error(transparent)]
    Client(#[from] RemoteError),
}
