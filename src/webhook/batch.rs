//! The batch handler's core: queued messages merged into one gzipped NDJSON object, named by
//! its content (`<prefix><sha256 of the message ids and the NDJSON>.ndjson.gz`): the same batch
//! delivered again writes its own object again, and two batches never share a name, even with
//! identical events. A batch made up differently after a retry is a new object: delivery is at
//! least once. A message that is not NDJSON of JSON
//! documents is left out and reported failed (it returns to the queue, then its dead-letter
//! queue); the object is written whole or not at all, and when it cannot be written every
//! message of the batch is reported failed.

use sha2::{Digest, Sha256};

use crate::storage::{
    get_object, put_gzipped, put_object, ObjectPrefix, ObjectStore, PutOptions, StoreError,
};

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

/// Most messages one pass of [`drain`] merges.
pub const MAX_BATCH_MESSAGES: usize = 1000;

/// How many objects a pass reads or deletes at once (each is one request to GCS).
const IN_FLIGHT: usize = 16;

/// What [`drain`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Drained {
    /// Messages merged into batches.
    pub messages: usize,
    /// Documents in the batches.
    pub records: usize,
    /// Messages left out and moved to `failed/`.
    pub failed: usize,
    /// The batches' keys.
    pub batches: Vec<String>,
    /// Whether messages may still be waiting (the time allowed ran out after a full pass).
    pub backlog: bool,
}

/// `f` over `items`, [`IN_FLIGHT`] at a time on scoped threads (each blocks on its
/// request), in order; the first error wins.
fn in_parallel<T: Sync, R: Send>(
    items: &[T],
    f: impl Fn(&T) -> Result<R, StoreError> + Sync,
) -> Result<Vec<R>, StoreError> {
    let chunk = items.len().div_ceil(IN_FLIGHT).max(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = items
            .chunks(chunk)
            .map(|c| scope.spawn(|| c.iter().map(&f).collect::<Result<Vec<R>, _>>()))
            .collect();
        let mut out = Vec::with_capacity(items.len());
        for worker in workers {
            let done = worker.join().map_err(|_| StoreError::Local {
                path: "webhook batch".into(),
                source: std::io::Error::other("a batch worker panicked"),
            })?;
            out.extend(done?);
        }
        Ok(out)
    })
}

/// One pass of a batch handler whose queue is a prefix in a store (a folder for `psoxy
/// serve`, GCS on Google Cloud; blocking): up to `max` messages (the `*.ndjson` objects
/// directly under `queue`, oldest first, as their names start with the time they were
/// queued) merged into one object under `output`, then deleted. A message that is not NDJSON
/// is moved, as it was, to `<queue>failed/`; one gone since it was listed is skipped. If the
/// batch cannot be written nothing is deleted, and the next pass takes the messages again;
/// if a delete fails after the batch was written, the next pass writes the messages left
/// again, in a new batch (delivery is at least once).
pub fn drain_once(
    store: &dyn ObjectStore,
    queue: &ObjectPrefix,
    output: &ObjectPrefix,
    max: usize,
) -> Result<Drained, StoreError> {
    let keys: Vec<String> = store
        .list(&queue.bucket, &queue.prefix, max)?
        .into_iter()
        .filter(|k| k.ends_with(".ndjson"))
        .collect();
    let read = in_parallel(&keys, |key| match get_object(store, &queue.bucket, key) {
        Ok(bytes) => Ok(Some((key.clone(), bytes))),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    })?;
    let raw: Vec<(String, Vec<u8>)> = read.into_iter().flatten().collect();
    let messages: Vec<Message> = raw
        .iter()
        .map(|(key, bytes)| Message {
            id: key.clone(),
            // Not UTF-8: not NDJSON either, so the merge leaves it out.
            body: String::from_utf8(bytes.clone()).unwrap_or_default(),
        })
        .collect();
    let merged = merge(&messages);
    let batch = write_batch(store, output, &merged)?;
    in_parallel(&merged.merged, |key| store.delete(&queue.bucket, key))?;
    for (key, bytes) in raw.iter().filter(|(k, _)| merged.failed.contains(k)) {
        let name = key.rsplit('/').next().unwrap_or(key);
        let to = queue.key(&format!("failed/{name}"));
        put_object(store, &queue.bucket, &to, PutOptions::default(), bytes)?;
        store.delete(&queue.bucket, key)?;
    }
    Ok(Drained {
        messages: merged.merged.len(),
        records: merged.records,
        failed: merged.failed.len(),
        batches: batch.into_iter().collect(),
        backlog: keys.len() >= max,
    })
}

/// Passes of [`drain_once`] ([`MAX_BATCH_MESSAGES`] each) until one finds fewer waiting, or
/// until `budget` has passed (then [`Drained::backlog`] says messages may be left).
pub fn drain(
    store: &dyn ObjectStore,
    queue: &ObjectPrefix,
    output: &ObjectPrefix,
    budget: Option<std::time::Duration>,
) -> Result<Drained, StoreError> {
    let started = std::time::Instant::now();
    let mut total = Drained::default();
    loop {
        let pass = drain_once(store, queue, output, MAX_BATCH_MESSAGES)?;
        total.messages += pass.messages;
        total.records += pass.records;
        total.failed += pass.failed;
        total.batches.extend(pass.batches);
        total.backlog = pass.backlog;
        if !pass.backlog || budget.is_some_and(|b| started.elapsed() >= b) {
            return Ok(total);
        }
    }
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
        let out = ObjectPrefix::parse("s3://bucket/webhooks", "WEBHOOK_BATCH_OUTPUT").unwrap();
        assert_eq!(out.prefix, "webhooks/");
        let key = batch_key(&out, &merged);
        assert!(key.starts_with("webhooks/") && key.ends_with(".ndjson.gz"));
        assert_eq!(key, batch_key(&out, &merged));
        // The same events in other messages: another object.
        let again = merge(&[m("5", "{\"a\":1}\n"), m("6", "{\"b\":2}\n{\"c\":3}")]);
        assert_eq!(again.ndjson, merged.ndjson);
        assert_ne!(batch_key(&out, &again), key);
    }

    #[test]
    fn a_folder_queue_drains_into_one_batch() {
        let dir = tempfile::tempdir().unwrap();
        let (queue_dir, out_dir) = (dir.path().join("q"), dir.path().join("out"));
        std::fs::create_dir_all(queue_dir.join("failed")).unwrap();
        std::fs::create_dir_all(&out_dir).unwrap();
        std::fs::write(queue_dir.join("1.ndjson"), "{\"a\":1}\n").unwrap();
        std::fs::write(queue_dir.join("2.ndjson"), "nope").unwrap();
        std::fs::write(queue_dir.join("4.ndjson"), b"\xff\xfe not UTF-8").unwrap();
        std::fs::write(queue_dir.join("3.ndjson"), "{\"b\":2}").unwrap();
        std::fs::write(queue_dir.join(".tmp123"), "{}").unwrap();
        let store = crate::storage::LocalStore::new(
            [
                ("q".to_owned(), queue_dir.clone()),
                ("o".to_owned(), out_dir.clone()),
            ]
            .into(),
        );
        let queue = ObjectPrefix::new("file", "q", "");
        let out = ObjectPrefix::new("file", "o", "");
        let drained = drain_once(&store, &queue, &out, 2).unwrap();
        let counts = |d: &Drained| (d.messages, d.records, d.failed, d.backlog);
        assert_eq!(counts(&drained), (1, 1, 1, true));
        let drained = drain(&store, &queue, &out, None).unwrap();
        assert_eq!(counts(&drained), (1, 1, 1, false));
        assert_eq!(
            drain(&store, &queue, &out, None).unwrap(),
            Drained::default()
        );
        assert_eq!(
            std::fs::read(queue_dir.join("failed/2.ndjson")).unwrap(),
            b"nope"
        );
        assert_eq!(
            std::fs::read(queue_dir.join("failed/4.ndjson")).unwrap(),
            b"\xff\xfe not UTF-8",
            "a bad message is kept as it was"
        );
        assert!(
            queue_dir.join(".tmp123").exists(),
            "temporary files are left alone"
        );
        assert_eq!(std::fs::read_dir(&out_dir).unwrap().count(), 2);
    }
}
