//! Where sanitized webhooks wait to be batched: an SQS queue (`WEBHOOK_OUTPUT` on AWS), a
//! prefix in a bucket (`WEBHOOK_OUTPUT=gs://...` on Google Cloud, one object per message) or a
//! folder (`psoxy serve --webhook-output`). A message is the NDJSON of one request's sanitized
//! documents; only sanitized bytes are ever sent.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::storage::{blocking, put_object, ObjectPrefix, ObjectStore, PutOptions, StoreError};

/// Largest sanitized message queued (SQS's classic limit, 256 KiB).
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;

/// A queue of sanitized webhooks.
#[derive(Clone)]
pub enum Queue {
    /// An SQS queue, by URL.
    #[cfg(feature = "aws")]
    Sqs {
        /// The client.
        client: aws_sdk_sqs::Client,
        /// The queue's URL.
        url: String,
    },
    /// A folder: one file per message, written by temp file + rename.
    Folder(PathBuf),
    /// A prefix in a bucket: one object per message, directly under the prefix (the batch
    /// service drains it with [`super::batch::drain`]).
    Store {
        /// The store (GCS).
        store: Arc<dyn ObjectStore + Send>,
        /// Where messages go.
        prefix: ObjectPrefix,
    },
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            #[cfg(feature = "aws")]
            Queue::Sqs { url, .. } => f.debug_struct("Sqs").field("url", url).finish(),
            Queue::Folder(dir) => f.debug_tuple("Folder").field(dir).finish(),
            Queue::Store { prefix, .. } => f.debug_struct("Store").field("prefix", prefix).finish(),
        }
    }
}

/// A message could not be queued (retryable: the sender gets 503 and may send again).
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// SQS refused or failed.
    #[error("SQS SendMessage failed: {0}")]
    Sqs(String),
    /// The bucket could not be written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The folder could not be written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

impl Queue {
    /// Queues one message.
    pub async fn send(&self, message: String) -> Result<(), QueueError> {
        match self {
            #[cfg(feature = "aws")]
            Queue::Sqs { client, url } => {
                client
                    .send_message()
                    .queue_url(url)
                    .message_body(crate::api::deferred::sqs_safe(&message))
                    .send()
                    .await
                    .map_err(|e| {
                        QueueError::Sqs(aws_sdk_sqs::error::DisplayErrorContext(&e).to_string())
                    })?;
                Ok(())
            }
            Queue::Folder(dir) => {
                let dir = dir.clone();
                tokio::task::spawn_blocking(move || write_message(&dir, message.as_bytes()))
                    .await
                    .map_err(|e| QueueError::Io {
                        path: PathBuf::new(),
                        source: std::io::Error::other(e.to_string()),
                    })?
            }
            Queue::Store { store, prefix } => {
                let (store, bucket) = (store.clone(), prefix.bucket.clone());
                let key = prefix.key(&message_name());
                let options = PutOptions {
                    content_type: Some("application/x-ndjson".into()),
                    ..PutOptions::default()
                };
                blocking(move || {
                    put_object(store.as_ref(), &bucket, &key, options, message.as_bytes())
                })
                .await?;
                Ok(())
            }
        }
    }
}

/// A new message's name: `<nanoseconds>-<random>.ndjson`, so names sort in arrival order.
pub fn message_name() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "{nanos:024}-{:016x}.ndjson",
        rand::RngCore::next_u64(&mut rand::rngs::OsRng)
    )
}

/// Writes one message file into `dir`, named by [`message_name`]; visible only when whole.
pub fn write_message(dir: &Path, bytes: &[u8]) -> Result<(), QueueError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| QueueError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let name = message_name();
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io(dir))?;
    tmp.write_all(bytes).map_err(io(tmp.path()))?;
    let path = dir.join(name);
    tmp.persist(&path).map_err(|e| QueueError::Io {
        path,
        source: e.error,
    })?;
    Ok(())
}

/// The message files waiting in `dir`, oldest first (temporary files are left alone).
pub fn waiting_messages(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    match std::fs::read_dir(dir) {
        Ok(entries) => {
            for entry in entries {
                let path = entry?.path();
                if path.extension().is_some_and(|e| e == "ndjson") {
                    files.push(path);
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    files.sort();
    Ok(files)
}
