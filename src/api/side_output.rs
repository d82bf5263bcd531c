//! Side outputs (`SIDE_OUTPUT_SANITIZED`, and only when explicitly set `SIDE_OUTPUT_ORIGINAL`):
//! every 2xx answer, of the caller's leg and of the async leg, is also written (gzip) to
//! `s3://bucket/prefix/yyyyMMdd/<id>`, with the request's metadata as object metadata: the
//! method, the endpoint's rule (its path template or regex, never the request's path), the
//! status, the content type, the instance and the rules' SHA-256; no query value, no path
//! value, no header value. A side output that cannot be written is logged and marked on the
//! answer (`X-Psoxy-Warning: side-output-failed`); the caller still gets its answer.

use std::collections::HashMap;
use std::sync::Arc;

use crate::storage::{blocking, put_gzipped, ObjectPrefix, ObjectStore, PutOptions, StoreError};

/// Where the side outputs go, and the store that writes them.
#[derive(Clone)]
pub struct SideOutputs {
    /// `SIDE_OUTPUT_SANITIZED`.
    pub sanitized: Option<ObjectPrefix>,
    /// `SIDE_OUTPUT_ORIGINAL`: the source's bodies as they came, before sanitizing.
    pub original: Option<ObjectPrefix>,
    /// The store (S3, or local folders).
    pub store: Arc<dyn ObjectStore + Send>,
}

impl std::fmt::Debug for SideOutputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SideOutputs")
            .field("sanitized", &self.sanitized)
            .field("original", &self.original)
            .finish()
    }
}

/// What a side output's metadata says of its request (nothing from the caller's values).
#[derive(Debug, Clone)]
pub struct SideMeta {
    /// Method.
    pub method: String,
    /// The endpoint's rule that allowed the request.
    pub endpoint: String,
    /// The answer's status.
    pub status: u16,
    /// The sanitized answer's content type.
    pub content_type: String,
    /// The instance.
    pub instance_id: String,
    /// SHA-256 of the rules.
    pub rules_sha: String,
    /// `caller` or `async`.
    pub leg: &'static str,
}

impl SideOutputs {
    /// Writes the sanitized answer (and the original, when configured) under one new id.
    pub async fn write(
        &self,
        meta: &SideMeta,
        sanitized: &[u8],
        original: Option<&[u8]>,
    ) -> Result<(), StoreError> {
        let mut id = [0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut id);
        let id: String = id.iter().map(|b| format!("{b:02x}")).collect();
        let date = chrono::Utc::now().format("%Y%m%d").to_string();
        let mut writes = Vec::new();
        if let Some(d) = &self.sanitized {
            writes.push((d.clone(), sanitized.to_vec(), "sanitized"));
        }
        if let (Some(d), Some(body)) = (&self.original, original) {
            writes.push((d.clone(), body.to_vec(), "original"));
        }
        let metadata: HashMap<String, String> = [
            ("psoxy-request-id", id.clone()),
            ("psoxy-method", meta.method.clone()),
            ("psoxy-endpoint", meta.endpoint.clone()),
            ("psoxy-status", meta.status.to_string()),
            ("psoxy-instance-id", meta.instance_id.clone()),
            ("psoxy-rules-sha", meta.rules_sha.clone()),
            ("psoxy-leg", meta.leg.to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let store = self.store.clone();
        let content_type = meta.content_type.clone();
        blocking(move || -> Result<(), StoreError> {
            for (destination, body, kind) in writes {
                let key = destination.key(&format!("{date}/{id}"));
                let mut metadata = metadata.clone();
                metadata.insert("psoxy-side-output".into(), kind.into());
                let options = PutOptions {
                    content_type: Some(content_type.clone()),
                    content_encoding: None,
                    metadata,
                };
                put_gzipped(store.as_ref(), &destination.bucket, &key, options, &body)?;
            }
            Ok(())
        })
        .await
    }
}
