//! The S3 client: built once per process from the shared AWS configuration.

use aws_sdk_s3::Client;

use crate::settings::catalog::S3_FORCE_PATH_STYLE;
use crate::settings::{Flags, Settings};

/// An S3 client from `config`; `path_style` makes it use path-style addresses
/// (`http://host/bucket/key`), as local S3-compatible servers need. Clones share connections.
pub fn s3_client(config: &aws_config::SdkConfig, path_style: bool) -> Client {
    let mut builder = aws_sdk_s3::config::Builder::from(config);
    if path_style {
        builder = builder.force_path_style(true);
    }
    Client::from_conf(builder.build())
}

/// Whether `S3_FORCE_PATH_STYLE` asks for path-style addresses (`true`, `1` or `yes`).
pub fn path_style(settings: &Settings) -> bool {
    settings
        .get(&S3_FORCE_PATH_STYLE)
        .is_some_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "true" | "1" | "yes"))
}

/// An S3 client configured from the environment ([`crate::aws_sdk::sdk_config`], then
/// [`env_client`]). Build it once per process and clone it.
pub async fn client_from_env() -> Client {
    env_client(&crate::aws_sdk::sdk_config().await)
}

/// An S3 client of `sdk` with the environment's `S3_FORCE_PATH_STYLE` ([`s3_client`]), for
/// callers that use the same configuration for other AWS clients too.
pub fn env_client(sdk: &aws_config::SdkConfig) -> Client {
    let settings = Settings::from_sources(&[&S3_FORCE_PATH_STYLE], &Flags::new(), &|name| {
        std::env::var(name).ok()
    });
    s3_client(sdk, path_style(&settings))
}
