//! The GCS storage layer against a real GCS emulator (fake-gcs-server, on a loopback address,
//! started by the test): Google's official storage client reads and writes through the
//! `ObjectStore` interface the bulk service uses.
#![cfg(feature = "gcp")]

#[path = "support/gcs.rs"]
mod gcs;

use std::collections::HashMap;
use std::io::{Read, Write};

use psoxy::storage::gcs::storage_client;
use psoxy::storage::{GcsStore, ObjectStore, PutOptions, StoreError};

/// Deterministic pseudo-random bytes (xorshift), so a misplaced piece shows.
fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

async fn store(bucket: &str) -> GcsStore {
    gcs::create_bucket(bucket).await;
    let client = storage_client(Some(gcs::host())).await.expect("client");
    // Small pieces, so a few MiB take several upload requests.
    GcsStore::new(client, tokio::runtime::Handle::current()).with_upload_buffer(256 * 1024)
}

fn options() -> PutOptions {
    PutOptions {
        content_type: Some("text/csv".into()),
        content_encoding: Some("gzip".into()),
        metadata: HashMap::from([("psoxy-instance-id".to_string(), "hris".to_string())]),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_write_reads_back_whole_with_its_metadata() {
    let store = store("round-trip").await;
    let bytes = data(3 * 1024 * 1024 + 12_345, 7);
    let key = "exports/Jan 2026/hris+extra é.csv";
    let (s, b) = (store.clone(), bytes.clone());
    let (info, read) = tokio::task::spawn_blocking(move || {
        let mut sink = s.write("round-trip", key, options()).expect("write");
        for piece in b.chunks(70_001) {
            sink.write_all(piece).expect("write piece");
        }
        sink.commit().expect("commit");
        let info = s.info("round-trip", key).expect("info");
        let mut read = Vec::new();
        s.read("round-trip", key)
            .expect("read")
            .read_to_end(&mut read)
            .expect("read body");
        (info, read)
    })
    .await
    .unwrap();
    assert_eq!(read.len(), bytes.len());
    assert!(read == bytes, "the object reads back byte for byte");
    // Two divergences of this fake-gcs-server build from GCS, so not checked here: it sends no
    // `x-goog-stored-content-length` (no size), and it stores the content type of the upload's
    // data requests instead of the session's (fsouza/fake-gcs-server#1098, fixed upstream in
    // #2114); the session's metadata is what the client library sends.
    assert_eq!(info.content_encoding.as_deref(), Some("gzip"));
    assert_eq!(
        info.metadata.get("psoxy-instance-id").map(String::as_str),
        Some("hris")
    );
    assert_eq!(gcs::list("round-trip").await, [key]);
    assert_eq!(
        gcs::get("round-trip", key).await,
        bytes,
        "stored raw, not transcoded"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_write_leaves_no_object() {
    let store = store("abandoned").await;
    let s = store.clone();
    tokio::task::spawn_blocking(move || {
        let mut sink = s.write("abandoned", "half.csv", options()).expect("write");
        // More than one upload piece has gone out before the failure.
        sink.write_all(&data(2 * 1024 * 1024, 3)).expect("write");
        drop(sink);
        let empty = s.write("abandoned", "empty.csv", options()).expect("write");
        drop(empty);
    })
    .await
    .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(gcs::list("abandoned").await.is_empty(), "nothing finalized");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_output_is_an_empty_object() {
    let store = store("empty").await;
    let s = store.clone();
    tokio::task::spawn_blocking(move || {
        let sink = s
            .write("empty", "none.csv", PutOptions::default())
            .expect("write");
        sink.commit().expect("commit");
    })
    .await
    .unwrap();
    assert_eq!(gcs::get("empty", "none.csv").await, Vec::<u8>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_object_is_named_and_not_retryable() {
    let store = store("missing").await;
    let s = store.clone();
    let err = tokio::task::spawn_blocking(move || s.info("missing", "no such.csv"))
        .await
        .unwrap()
        .expect_err("missing");
    assert!(matches!(err, StoreError::Gcs(_)), "{err:?}");
    assert!(!err.is_retryable());
    assert_eq!(
        err.to_string(),
        "gs://missing/no such.csv: read: no such object"
    );
}

/// Listing and deleting over the JSON API: the objects directly under a prefix (not those in
/// "folders" below it), in name order, at most as many as asked; names with spaces, `+` and
/// non-ASCII survive; deleting twice is fine; a store without the JSON client says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_under_a_prefix_are_listed_and_deleted() {
    use psoxy::storage::gcs::GcsObjects;
    let plain = store("listing").await;
    let store = plain
        .clone()
        .with_objects(GcsObjects::new(Some(gcs::host())).expect("objects client"));
    let names = [
        "queue/b é+1.ndjson",
        "queue/a.ndjson",
        "queue/failed/x.ndjson",
        "queue-other/c.ndjson",
        "top.ndjson",
    ];
    for name in names {
        gcs::put("listing", name, b"{}".to_vec(), None).await;
    }
    let listed = tokio::task::spawn_blocking(move || {
        let under = store.list("listing", "queue/", 10).expect("list");
        let first = store.list("listing", "queue/", 1).expect("list one");
        let top = store.list("listing", "", 10).expect("list top");
        store
            .delete("listing", "queue/b é+1.ndjson")
            .expect("delete");
        store
            .delete("listing", "queue/b é+1.ndjson")
            .expect("delete again");
        let after = store.list("listing", "queue/", 10).expect("list after");
        let unsupported = plain.list("listing", "", 1).unwrap_err();
        (under, first, top, after, unsupported)
    })
    .await
    .unwrap();
    let (under, first, top, after, unsupported) = listed;
    assert_eq!(under, ["queue/a.ndjson", "queue/b é+1.ndjson"]);
    assert_eq!(first, ["queue/a.ndjson"]);
    assert_eq!(top, ["top.ndjson"]);
    assert_eq!(after, ["queue/a.ndjson"]);
    assert!(
        matches!(unsupported, StoreError::Unsupported { .. }),
        "{unsupported}"
    );
    assert!(gcs::list("listing")
        .await
        .contains(&"queue/failed/x.ndjson".to_owned()));
}
