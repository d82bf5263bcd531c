//! The S3 storage layer against a real S3-compatible server (s3s + s3s-fs, in this process, on
//! 127.0.0.1): the aws-sdk-s3 client talks HTTP with SigV4 to it.
#![cfg(feature = "aws")]

#[path = "support/s3_server.rs"]
mod s3_server;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::sync::Arc;

use psoxy::storage::s3::{
    get_object_reader, head_object, list_multipart_uploads, S3Error as StorageError, S3ObjectWriter,
};
use psoxy::storage::PutOptions;

const MIB: usize = 1024 * 1024;

/// Deterministic pseudo-random bytes (xorshift), so a misplaced part shows.
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

/// Writes `bytes` in chunks of the given sizes (cycled).
fn write_in_chunks(w: &mut impl Write, bytes: &[u8], sizes: &[usize]) -> std::io::Result<()> {
    let mut pos = 0;
    for size in sizes.iter().cycle() {
        if pos == bytes.len() {
            break;
        }
        let end = (pos + size).min(bytes.len());
        w.write_all(&bytes[pos..end])?;
        pos = end;
    }
    Ok(())
}

fn writer(
    s3: &s3_server::TestS3,
    bucket: &str,
    key: &str,
    options: PutOptions,
    part_size: usize,
    max_in_flight: usize,
) -> S3ObjectWriter {
    S3ObjectWriter::new(
        tokio::runtime::Handle::current(),
        s3.client.clone(),
        bucket.into(),
        key.into(),
        options,
        part_size,
        max_in_flight,
    )
}

/// Reads a whole object through the blocking reader, on a blocking thread.
async fn read_back(client: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Vec<u8> {
    let (_, mut reader) = get_object_reader(client, bucket, key).await.unwrap();
    tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        let mut chunk = vec![0u8; 7777];
        loop {
            let n = reader.read(&mut chunk).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&chunk[..n]);
        }
        out
    })
    .await
    .unwrap()
}

fn options() -> PutOptions {
    PutOptions {
        content_type: Some("text/csv".into()),
        content_encoding: Some("gzip".into()),
        metadata: HashMap::from([
            ("psoxy-rules".to_string(), "hris".to_string()),
            ("source-key".to_string(), "exports/hris.csv".to_string()),
        ]),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_object_is_put_whole_with_its_metadata() {
    let s3 = s3_server::start();
    s3.create_bucket("out").await;
    let bytes = data(100_003, 1);

    let mut w = writer(&s3, "out", "dir/small.csv", options(), 5 * MIB, 2);
    let body = bytes.clone();
    tokio::task::spawn_blocking(move || {
        write_in_chunks(&mut w, &body, &[1, 999, 4096, 33_333]).unwrap();
        assert!(
            !w.is_multipart(),
            "a small object must not open a multipart upload"
        );
        w.finish().unwrap();
    })
    .await
    .unwrap();

    let head = head_object(&s3.client, "out", "dir/small.csv")
        .await
        .unwrap();
    assert_eq!(head.content_type.as_deref(), Some("text/csv"));
    assert_eq!(head.content_encoding.as_deref(), Some("gzip"));
    assert_eq!(head.metadata, options().metadata);
    assert_eq!(head.size, bytes.len() as u64);

    let (got_head, _) = get_object_reader(&s3.client, "out", "dir/small.csv")
        .await
        .unwrap();
    assert_eq!(got_head, head);
    assert!(read_back(&s3.client, "out", "dir/small.csv").await == bytes);
    assert!(list_multipart_uploads(&s3.client, "out")
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_object_is_stored() {
    let s3 = s3_server::start();
    s3.create_bucket("out").await;
    let w = writer(&s3, "out", "empty.csv", PutOptions::default(), 5 * MIB, 2);
    tokio::task::spawn_blocking(move || w.finish().unwrap())
        .await
        .unwrap();
    let head = head_object(&s3.client, "out", "empty.csv").await.unwrap();
    assert_eq!(head.size, 0);
    assert!(head.metadata.is_empty());
    assert!(read_back(&s3.client, "out", "empty.csv").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_object_goes_multipart_and_round_trips() {
    let s3 = s3_server::start();
    s3.create_bucket("out").await;
    // 12 MiB and a bit: parts of 5 + 5 + ~2 MiB.
    let bytes = data(12 * MIB + 12_345, 2);

    let mut w = writer(&s3, "out", "big.ndjson", options(), 5 * MIB, 2);
    let body = bytes.clone();
    tokio::task::spawn_blocking(move || {
        write_in_chunks(&mut w, &body, &[7919, 104_729, 1, 65_537, 3]).unwrap();
        assert!(w.is_multipart());
        w.finish().unwrap();
    })
    .await
    .unwrap();

    let head = head_object(&s3.client, "out", "big.ndjson").await.unwrap();
    assert_eq!(head.size, bytes.len() as u64);
    assert_eq!(head.metadata, options().metadata);
    assert_eq!(head.content_type.as_deref(), Some("text/csv"));
    assert_eq!(head.content_encoding.as_deref(), Some("gzip"));
    let got = read_back(&s3.client, "out", "big.ndjson").await;
    assert_eq!(got.len(), bytes.len());
    assert!(got == bytes, "object differs from what was written");
    assert!(list_multipart_uploads(&s3.client, "out")
        .await
        .unwrap()
        .is_empty());

    // Ranges across the parts, and copies of them (the server keeps the parts as the
    // object's bytes, as S3 completes an upload without copying).
    let store = psoxy::storage::S3Store::new(s3.client.clone(), tokio::runtime::Handle::current());
    let expected = bytes.clone();
    tokio::task::spawn_blocking(move || {
        use psoxy::storage::{ObjectStore, Segment};
        for (start, end) in [
            (0, 10),
            (5 * MIB - 3, 5 * MIB + 3),
            (MIB, 11 * MIB),
            (12 * MIB, 13 * MIB),
        ] {
            let mut got = Vec::new();
            store
                .read_range("out", "big.ndjson", None, start as u64, end as u64)
                .unwrap()
                .read_to_end(&mut got)
                .unwrap();
            assert!(
                got == expected[start..end.min(expected.len())],
                "{start}..{end}"
            );
        }
        let piece = |start: usize, end: usize| Segment::Object {
            bucket: "out".into(),
            key: "big.ndjson".into(),
            start: start as u64,
            end: end as u64,
        };
        let segments = [piece(MIB, 7 * MIB), piece(4 * MIB, 12 * MIB)];
        store
            .compose("out", "copied", PutOptions::default(), &segments)
            .unwrap();
        let mut got = Vec::new();
        store
            .read("out", "copied")
            .unwrap()
            .read_to_end(&mut got)
            .unwrap();
        assert!(got == [&expected[MIB..7 * MIB], &expected[4 * MIB..12 * MIB]].concat());
        // Written again whole, the key holds the new bytes only.
        let mut sink = store
            .write("out", "big.ndjson", PutOptions::default())
            .unwrap();
        sink.write_all(b"new").unwrap();
        sink.commit().unwrap();
        let mut got = Vec::new();
        store
            .read("out", "big.ndjson")
            .unwrap()
            .read_to_end(&mut got)
            .unwrap();
        assert_eq!(got, b"new");
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exact_multiple_of_the_part_size_round_trips() {
    let s3 = s3_server::start();
    s3.create_bucket("out").await;
    let bytes = data(10 * MIB, 3);
    let mut w = writer(&s3, "out", "exact.bin", PutOptions::default(), 5 * MIB, 4);
    let body = bytes.clone();
    tokio::task::spawn_blocking(move || {
        w.write_all(&body).unwrap();
        w.finish().unwrap();
    })
    .await
    .unwrap();
    assert!(read_back(&s3.client, "out", "exact.bin").await == bytes);
}

/// Writes 2 full parts and a bit into a new writer and waits until its upload is listed.
async fn writer_with_two_parts_sent(s3: &s3_server::TestS3, key: &str) -> S3ObjectWriter {
    let mut w = writer(s3, "out", key, options(), 5 * MIB, 2);
    let w = tokio::task::spawn_blocking(move || {
        w.write_all(&data(10 * MIB + 100, 4)).unwrap();
        assert!(w.is_multipart());
        w
    })
    .await
    .unwrap();
    assert_eq!(
        list_multipart_uploads(&s3.client, "out").await.unwrap(),
        vec![key.to_string()],
        "the upload is in progress"
    );
    w
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_writer_aborts_the_upload() {
    let s3 = s3_server::start();
    s3.create_bucket("out").await;
    let w = writer_with_two_parts_sent(&s3, "dropped.csv").await;
    tokio::task::spawn_blocking(move || drop(w)).await.unwrap();

    assert!(list_multipart_uploads(&s3.client, "out")
        .await
        .unwrap()
        .is_empty());
    let err = head_object(&s3.client, "out", "dropped.csv")
        .await
        .unwrap_err();
    assert!(matches!(err, StorageError::NoSuchKey { .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explicit_abort_leaves_nothing() {
    let s3 = s3_server::start();
    s3.create_bucket("out").await;
    let w = writer_with_two_parts_sent(&s3, "aborted.csv").await;
    tokio::task::spawn_blocking(move || w.abort().unwrap())
        .await
        .unwrap();

    assert!(list_multipart_uploads(&s3.client, "out")
        .await
        .unwrap()
        .is_empty());
    let err = get_object_reader(&s3.client, "out", "aborted.csv")
        .await
        .err()
        .expect("no object");
    assert!(err.is_not_found(), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_before_any_part_sends_nothing() {
    let s3 = s3_server::start();
    s3.create_bucket("out").await;
    let mut w = writer(&s3, "out", "never.csv", PutOptions::default(), 5 * MIB, 2);
    tokio::task::spawn_blocking(move || {
        w.write_all(b"a,b\n1,2\n").unwrap();
        w.abort().unwrap();
    })
    .await
    .unwrap();
    assert!(head_object(&s3.client, "out", "never.csv")
        .await
        .unwrap_err()
        .is_not_found());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_key_is_a_non_retryable_error_naming_bucket_and_key() {
    let s3 = s3_server::start();
    s3.create_bucket("input").await;

    let err = get_object_reader(&s3.client, "input", "exports/missing.csv")
        .await
        .err()
        .expect("missing key");
    eprintln!("{err}");
    assert!(matches!(err, StorageError::NoSuchKey { .. }), "{err:?}");
    assert!(!err.is_retryable());
    assert!(err.is_not_found());
    let msg = err.to_string();
    assert!(msg.contains("s3://input/exports/missing.csv"), "{msg}");
    assert!(!msg.contains(s3_server::SECRET_KEY) && !msg.contains(s3_server::ACCESS_KEY));
    assert_eq!((err.bucket(), err.key()), ("input", "exports/missing.csv"));

    let err = head_object(&s3.client, "input", "exports/missing.csv")
        .await
        .unwrap_err();
    assert!(err.is_not_found() && !err.is_retryable(), "{err:?}");
    assert!(err.to_string().contains("s3://input/exports/missing.csv"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_bucket_is_a_non_retryable_error() {
    let s3 = s3_server::start();
    s3.create_bucket("out").await;
    let w = writer(&s3, "nope", "x.csv", PutOptions::default(), 5 * MIB, 2);
    let err = tokio::task::spawn_blocking(move || {
        let mut w = w;
        w.write_all(b"small").unwrap();
        w.finish().unwrap_err()
    })
    .await
    .unwrap();
    assert!(matches!(err, StorageError::NoSuchBucket { .. }), "{err:?}");
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("s3://nope/x.csv"), "{err}");

    let err = get_object_reader(&s3.client, "nope", "x.csv")
        .await
        .err()
        .expect("no bucket");
    assert!(matches!(err, StorageError::NoSuchBucket { .. }), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_server_is_a_retryable_connection_error() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let config = s3_server::client_for(&endpoint)
        .config()
        .to_builder()
        .retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled())
        .build();
    let client = aws_sdk_s3::Client::from_conf(config);
    let err = get_object_reader(&client, "input", "a.csv")
        .await
        .err()
        .expect("no server");
    eprintln!("{err}");
    assert!(matches!(err, StorageError::Connection { .. }), "{err:?}");
    assert!(err.is_retryable());
    assert!(err.to_string().contains("s3://input/a.csv"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_part_upload_surfaces_and_nothing_is_stored() {
    let s3 = s3_server::start();
    s3.create_bucket("out").await;
    let mut w = writer(&s3, "out", "broken.csv", PutOptions::default(), 5 * MIB, 2);
    // First part sent: the multipart upload is open.
    let mut w = tokio::task::spawn_blocking(move || {
        w.write_all(&data(5 * MIB, 5)).unwrap();
        w
    })
    .await
    .unwrap();
    // Someone else aborts the upload: the next parts are refused by the server.
    let uploads = s3
        .client
        .list_multipart_uploads()
        .bucket("out")
        .send()
        .await
        .unwrap();
    let upload_id = uploads.uploads()[0].upload_id().unwrap().to_string();
    s3.client
        .abort_multipart_upload()
        .bucket("out")
        .key("broken.csv")
        .upload_id(upload_id)
        .send()
        .await
        .unwrap();

    let err = tokio::task::spawn_blocking(move || {
        // The error shows at a later write or at finish.
        match w.write_all(&data(6 * MIB, 6)) {
            Err(io_err) => {
                let err = StorageError::from_io_error(&io_err)
                    .expect("a StorageError inside")
                    .clone();
                // The writer stays failed.
                assert!(w.write_all(b"more").is_err());
                assert!(w.finish().is_err());
                err
            }
            Ok(()) => w.finish().unwrap_err(),
        }
    })
    .await
    .unwrap();
    eprintln!("{err}");
    assert!(!err.is_retryable(), "{err:?}");
    assert!(err.to_string().contains("s3://out/broken.csv"), "{err}");
    assert!(head_object(&s3.client, "out", "broken.csv")
        .await
        .unwrap_err()
        .is_not_found());
    assert!(list_multipart_uploads(&s3.client, "out")
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writer_memory_is_bounded_by_parts_in_flight() {
    let s3 = s3_server::start();
    s3.create_bucket("out").await;
    let part = 5 * MIB;
    let total = 5 * part + 4321;
    let mut w = writer(&s3, "out", "bounded.bin", PutOptions::default(), part, 1);
    let peak = tokio::task::spawn_blocking(move || {
        let mut left = total;
        let chunk = data(MIB + 17, 7);
        while left > 0 {
            let n = left.min(chunk.len());
            w.write_all(&chunk[..n]).unwrap();
            assert!(w.buffered_bytes() <= 2 * part, "{}", w.buffered_bytes());
            left -= n;
        }
        let peak = w.peak_buffered_bytes();
        w.finish().unwrap();
        peak
    })
    .await
    .unwrap();
    // One part uploading, one waiting for it (max_in_flight = 1) and none being filled meanwhile.
    assert!(peak <= 2 * part, "peak {peak} bytes");
    assert!(peak >= part, "peak {peak} bytes");
    let head = head_object(&s3.client, "out", "bounded.bin").await.unwrap();
    assert_eq!(head.size, total as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sanitizes_from_s3_to_s3() {
    use psoxy::pseudonym::{PseudonymSettings, Pseudonymizer};
    use psoxy::rules::parse_rules_yaml;
    use psoxy::sanitize::{Sanitizer, StreamOptions};

    let s3 = s3_server::start();
    s3.create_bucket("input").await;
    s3.create_bucket("out").await;
    let input =
        std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/sample-data/hris.csv")).unwrap();
    s3.client
        .put_object()
        .bucket("input")
        .key("hris.csv")
        .body(input.clone().into())
        .send()
        .await
        .unwrap();

    let rules = parse_rules_yaml("columnsToPseudonymize: [EMPLOYEE_ID, EMPLOYEE_EMAIL]\n").unwrap();
    let pseudonymizer = Arc::new(
        Pseudonymizer::new(&PseudonymSettings {
            salt: "salt".into(),
            ..Default::default()
        })
        .unwrap(),
    );
    let sanitizer = Arc::new(Sanitizer::new(&rules, pseudonymizer, 2).unwrap());
    let opts = StreamOptions {
        object_key: "hris.csv".into(),
        format: None,
        shuffle: true,
        gzip_output: false,
        content_type: None,
        output_format: None,
        ..Default::default()
    };
    let mut expected = Vec::new();
    sanitizer
        .sanitize_stream(&input[..], &mut expected, &opts, &mut |_| {})
        .unwrap();

    let (_, reader) = get_object_reader(&s3.client, "input", "hris.csv")
        .await
        .unwrap();
    let mut w = writer(&s3, "out", "hris.csv", PutOptions::default(), 5 * MIB, 2);
    let stats = tokio::task::spawn_blocking(move || {
        let stats = sanitizer.sanitize_stream(reader, &mut w, &opts, &mut |_| {})?;
        w.finish()
            .map_err(|e| psoxy::sanitize::SanitizeError::Write(e.into_io_error()))?;
        Ok::<_, psoxy::sanitize::SanitizeError>(stats)
    })
    .await
    .unwrap()
    .unwrap();
    assert!(stats.rows > 0);
    assert!(read_back(&s3.client, "out", "hris.csv").await == expected);
}

#[test]
fn writer_is_send() {
    fn send<T: Send>() {}
    send::<S3ObjectWriter>();
    send::<StorageError>();
}
