//! Listing and deleting objects over GCS's JSON API (`storage/v1`). The client library's
//! data-plane client (`Storage`) reads and writes only, and its control-plane client speaks
//! gRPC; these two calls are all the queues on Google Cloud need (the webhook queue and the
//! asynchronous requests' jobs), so they are two plain HTTP requests with Google's
//! credentials (none for an emulator).

use google_cloud_auth::credentials::{CacheableResource, Credentials};
use serde::Deserialize;

use super::client::{emulator_endpoint, ClientError};
use super::GcsError;

/// GCS's public endpoint.
const ENDPOINT: &str = "https://storage.googleapis.com";

/// The most names one list request asks for (the API's own limit is 1,000).
const PAGE: usize = 1000;

/// The JSON API client for listing and deleting.
#[derive(Clone)]
pub struct GcsObjects {
    http: reqwest::Client,
    endpoint: reqwest::Url,
    credentials: Credentials,
}

impl std::fmt::Debug for GcsObjects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GcsObjects")
            .field("endpoint", &self.endpoint.as_str())
            .finish()
    }
}

/// One page of `objects.list` (other members are ignored).
#[derive(Deserialize)]
struct ListPage {
    #[serde(default)]
    items: Vec<Item>,
    #[serde(default, rename = "nextPageToken")]
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct Item {
    name: String,
    /// A decimal string, in the JSON API.
    #[serde(default)]
    size: Option<String>,
    /// RFC 3339.
    #[serde(default)]
    updated: Option<String>,
}

impl GcsObjects {
    /// A client for GCS, or for the emulator `emulator_host` names (the value of
    /// `STORAGE_EMULATOR_HOST`), which gets no credentials.
    pub fn new(emulator_host: Option<&str>) -> Result<GcsObjects, ClientError> {
        crate::gcp_sdk::install_crypto_provider();
        let emulator = emulator_host.and_then(emulator_endpoint);
        let credentials = if emulator.is_some() {
            google_cloud_auth::credentials::anonymous::Builder::new().build()
        } else {
            google_cloud_auth::credentials::Builder::default()
                .build()
                .map_err(|e| ClientError::new(format!("no Google credentials: {e}")))?
        };
        let endpoint = reqwest::Url::parse(emulator.as_deref().unwrap_or(ENDPOINT))
            .map_err(|_| ClientError::new("STORAGE_EMULATOR_HOST is not a URL".into()))?;
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(|e| ClientError::new(format!("cannot create the HTTP client: {e}")))?;
        Ok(GcsObjects {
            http,
            endpoint,
            credentials,
        })
    }

    /// `storage/v1/b/<bucket>/o[/<name>]`, each part percent-encoded (a `/` in a name too).
    fn url(&self, bucket: &str, name: Option<&str>) -> reqwest::Url {
        let mut url = self.endpoint.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty()
                .extend(["storage", "v1", "b", bucket, "o"]);
            if let Some(name) = name {
                path.push(name);
            }
        }
        url
    }

    async fn send(
        &self,
        operation: &'static str,
        bucket: &str,
        key: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, GcsError> {
        let failed = |detail: String| GcsError::Transient {
            operation,
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            detail,
        };
        let headers = match self
            .credentials
            .headers(hyper::http::Extensions::new())
            .await
        {
            Ok(CacheableResource::New { data, .. }) => data,
            Ok(CacheableResource::NotModified) => hyper::http::HeaderMap::new(),
            Err(e) => return Err(failed(format!("no access token: {e}"))),
        };
        let response = request
            .headers(headers)
            .send()
            .await
            .map_err(|e| failed(format!("request failed: {}", e.without_url())))?;
        let status = response.status().as_u16();
        if response.status().is_success() {
            return Ok(response);
        }
        let (bucket, key) = (bucket.to_owned(), key.to_owned());
        Err(match status {
            404 => GcsError::NotFound {
                operation,
                bucket,
                key,
            },
            401 | 403 => GcsError::AccessDenied {
                operation,
                bucket,
                key,
                status,
            },
            408 | 429 | 500..=599 => GcsError::Transient {
                operation,
                bucket,
                key,
                detail: format!("HTTP {status}"),
            },
            _ => GcsError::Other {
                operation,
                bucket,
                key,
                detail: format!("HTTP {status}"),
            },
        })
    }

    /// The names of the objects directly under `prefix` in `bucket` (not those in "folders"
    /// below it), in name order, at most `max`.
    pub async fn list(
        &self,
        bucket: &str,
        prefix: &str,
        max: usize,
    ) -> Result<Vec<String>, GcsError> {
        let items = self.items(bucket, prefix, Some("/"), max).await?;
        Ok(items.into_iter().map(|i| i.name).collect())
    }

    /// Every object of `bucket` whose name starts with `prefix`, at any depth, in name order,
    /// with its size and update time (what `psoxy replay` re-processes).
    pub async fn list_all(
        &self,
        bucket: &str,
        prefix: &str,
    ) -> Result<Vec<crate::storage::ListedObject>, GcsError> {
        let items = self.items(bucket, prefix, None, usize::MAX).await?;
        Ok(items
            .into_iter()
            .map(|i| crate::storage::ListedObject {
                size: i.size.and_then(|s| s.parse().ok()).unwrap_or(0),
                last_modified: i
                    .updated
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
                    .map(std::time::SystemTime::from),
                key: i.name,
            })
            .collect())
    }

    /// `objects.list`, page by page: at most `max` items, `delimiter` cutting "folders".
    async fn items(
        &self,
        bucket: &str,
        prefix: &str,
        delimiter: Option<&str>,
        max: usize,
    ) -> Result<Vec<Item>, GcsError> {
        let mut items = Vec::new();
        let mut token: Option<String> = None;
        while items.len() < max {
            let mut query = vec![
                ("prefix", prefix.to_owned()),
                (
                    "fields",
                    "items(name,size,updated),nextPageToken".to_owned(),
                ),
                ("maxResults", (max - items.len()).min(PAGE).to_string()),
            ];
            if let Some(d) = delimiter {
                query.push(("delimiter", d.to_owned()));
            }
            if let Some(t) = token.take() {
                query.push(("pageToken", t));
            }
            let request = self.http.get(self.url(bucket, None)).query(&query);
            let response = self.send("list", bucket, prefix, request).await?;
            let bad = |detail: String| GcsError::Other {
                operation: "list",
                bucket: bucket.to_owned(),
                key: prefix.to_owned(),
                detail,
            };
            let bytes = response
                .bytes()
                .await
                .map_err(|e| bad(format!("the list was cut short: {}", e.without_url())))?;
            let page: ListPage = serde_json::from_slice(&bytes).map_err(|e| {
                bad(format!(
                    "not a list of objects ({})",
                    crate::format::JsonSyntax::of(&e).kind()
                ))
            })?;
            items.extend(page.items);
            match page.next_page_token {
                Some(t) if !t.is_empty() => token = Some(t),
                _ => break,
            }
        }
        items.truncate(max);
        Ok(items)
    }

    /// Deletes `bucket/key`; one already gone is not an error.
    pub async fn delete(&self, bucket: &str, key: &str) -> Result<(), GcsError> {
        let request = self.http.delete(self.url(bucket, Some(key)));
        match self.send("delete", bucket, key, request).await {
            Ok(_) | Err(GcsError::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_one_encoded_segment() {
        let objects = GcsObjects::new(Some("127.0.3.9:80")).unwrap();
        assert_eq!(
            objects.url("b", Some("queue/a b.ndjson")).as_str(),
            "http://127.0.3.9/storage/v1/b/b/o/queue%2Fa%20b.ndjson"
        );
        assert_eq!(
            objects.url("b", None).as_str(),
            "http://127.0.3.9/storage/v1/b/b/o"
        );
    }
}
