//! `client_from_env` honours the standard AWS settings plus `S3_FORCE_PATH_STYLE`: pointed at the
//! in-process S3 server by environment variables only. (Its own test binary: it sets the
//! process environment.)
#![cfg(feature = "aws")]

#[path = "support/s3_server.rs"]
mod s3_server;

use std::io::{Read, Write};

use psoxy::storage::s3::{client_from_env, get_object_reader, S3ObjectWriter};
use psoxy::storage::PutOptions;

#[test]
fn client_from_env_reaches_the_endpoint_of_the_environment() {
    let s3 = s3_server::start();
    let nowhere = tempfile::tempdir().unwrap();
    // Only these settings: no profile files, no instance metadata, no other endpoint.
    for (name, value) in [
        ("AWS_ENDPOINT_URL_S3", s3.endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", s3_server::ACCESS_KEY),
        ("AWS_SECRET_ACCESS_KEY", s3_server::SECRET_KEY),
        ("AWS_REGION", s3_server::REGION),
        ("S3_FORCE_PATH_STYLE", "true"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ] {
        std::env::set_var(name, value);
    }
    std::env::set_var("AWS_CONFIG_FILE", nowhere.path().join("config"));
    std::env::set_var(
        "AWS_SHARED_CREDENTIALS_FILE",
        nowhere.path().join("credentials"),
    );
    for name in [
        "AWS_ENDPOINT_URL",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    ] {
        std::env::remove_var(name);
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client = client_from_env().await;
        client.create_bucket().bucket("env").send().await.unwrap();
        let mut w = S3ObjectWriter::new(
            tokio::runtime::Handle::current(),
            client.clone(),
            "env".into(),
            "hello.txt".into(),
            PutOptions::default(),
            0,
            0,
        );
        assert_eq!(w.part_size(), psoxy::storage::s3::MIN_PART_SIZE);
        tokio::task::spawn_blocking(move || {
            w.write_all(b"hello from the environment").unwrap();
            w.finish().unwrap();
        })
        .await
        .unwrap();
        let (head, mut reader) = get_object_reader(&client, "env", "hello.txt")
            .await
            .unwrap();
        assert_eq!(head.size, 26);
        let body = tokio::task::spawn_blocking(move || {
            let mut s = String::new();
            reader.read_to_string(&mut s).unwrap();
            s
        })
        .await
        .unwrap();
        assert_eq!(body, "hello from the environment");
    });
}
