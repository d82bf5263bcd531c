//! The batch handler's core: queued messages merged into one gzipped NDJSON object, named by
//! its content (`<prefix><sha256 of the message ids and the NDJSON>.ndjson.gz`): the same batch
//! delivered again writes its own object again, and two batches never share a name, even with
//! identical events. A batch made up differently after a retry is a new object: delivery is at
//! least once. A message that is not NDJSON of JSON
//! documents is left out and reported failed (it returns to the queue, then its dead-letter
//! queue); the object is written whole or not at all, and when it cannot be written every
//! message of the batch is reported failed.

use sha2::{Digest, Sha256};

use crate::storage::{put_gzipped, ObjectPrefix, ObjectStore, PutOptions, StoreError};

/// One queued message.
#[derive(Debug, Clone)]
pub struct Message {
    /// The queue's id of it (reported back when it fails).
    pub id: String,
    /// Its body: NDJSON of sanitized documents.
    pub body: String,
}

/// Messages merged.
#[derive(Debug, Default)]
pub struct Merged {
    /// The NDJSON of every good message, in order, each line ending in `\n`.
    pub ndjson: Vec<u8>,
    /// Documents in it.
    pub records: usize,
    /// Ids of the messages merged.
    pub merged: Vec<String>,
    /// Ids of the messages left out (not NDJSON of JSON documents, or empty).
    pub failed: Vec<String>,
}

/// Merges `messages` in order.
pub fn merge(messages: &[Message]) -> Merged {
    let mut out = Merged::default();
    for m in messages {
        let lines: Vec<&str> = m
            .body
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        let good = !lines.is_empty()
            && lines
                .iter()
                .all(|l| serde_json::from_str::<serde::de::IgnoredAny>(l).is_ok());
        if !good {
            tracing::warn!(message = %m.id, "a queued message is not NDJSON; left out of the batch");
            out.failed.push(m.id.clone());
            continue;
        }
        for line in &lines {
            out.ndjson.extend_from_slice(line.as_bytes());
            out.ndjson.push(b'\n');
        }
        out.records += lines.len();
        out.merged.push(m.id.clone());
    }
    out
}

/// The key of a batch: `<prefix><sha256 hex of its message ids and NDJSON>.ndjson.gz`.
pub fn batch_key(output: &ObjectPrefix, merged: &Merged) -> String {
    let mut hash = Sha256::new();
    for id in &merged.merged {
        hash.update(id.as_bytes());
        hash.update(b"\n");
    }
    hash.update(b"\n");
    hash.update(&merged.ndjson);
    let digest = hash.finalize();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    output.key(&format!("{hex}.ndjson.gz"))
}

/// Writes the merged batch to `output` (blocking; run it off the async runtime): the key
/// written, or `None` when there was nothing to write.
pub fn write_batch(
    store: &dyn ObjectStore,
    output: &ObjectPrefix,
    merged: &Merged,
) -> Result<Option<String>, StoreError> {
    if merged.ndjson.is_empty() {
        return Ok(None);
    }
    let key = batch_key(output, merged);
    put_gzipped(
        store,
        &output.bucket,
        &key,
        PutOptions {
            content_type: Some("application/x-ndjson".into()),
            content_encoding: None,
            metadata: Default::default(),
        },
        &merged.ndjson,
    )?;
    Ok(Some(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(id: &str, body: &str) -> Message {
        Message {
            id: id.into(),
            body: body.into(),
        }
    }

    #[test]
    fn messages_merge_in_order_and_bad_ones_are_reported() {
        let merged = merge(&[
            m("1", "{\"a\":1}\n"),
            m("2", "not json"),
            m("3", "{\"b\":2}\n{\"c\":3}"),
            m("4", "  \n"),
        ]);
        assert_eq!(merged.ndjson, b"{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n");
        assert_eq!(merged.records, 3);
        assert_eq!(merged.merged, ["1", "3"]);
        assert_eq!(merged.failed, ["2", "4"]);
        let out = ObjectPrefix::parse_s3("s3://bucket/webhooks", "WEBHOOK_BATCH_OUTPUT").unwrap();
        assert_eq!(out.prefix, "webhooks/");
        let key = batch_key(&out, &merged);
        assert!(key.starts_with("webhooks/") && key.ends_with(".ndjson.gz"));
        assert_eq!(key, batch_key(&out, &merged));
        // The same events in other messages: another object.
        let again = merge(&[m("5", "{\"a\":1}\n"), m("6", "{\"b\":2}\n{\"c\":3}")]);
        assert_eq!(again.ndjson, merged.ndjson);
        assert_ne!(batch_key(&out, &again), key);
    }
}
