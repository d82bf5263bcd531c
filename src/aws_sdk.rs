//! The AWS SDK configuration every client shares (S3, SSM Parameter Store, Secrets Manager):
//! one HTTPS client and the timeouts, with region, credentials and endpoints read as every AWS
//! SDK reads them.

use aws_sdk_s3::config::SharedHttpClient;

/// How long one attempt of a request may take, from sending it to the answer's headers
/// (sending the body included: at most one part). The SDK's defaults have no such limit, so
/// a request whose answer never comes (a silently dropped connection) would wait until the
/// Lambda function times out, leaving its multipart upload unfinished; with it the attempt
/// fails as a timeout and the SDK retries it on a new connection. Generous: an 8 MiB part
/// takes well under a second in Lambda, and S3 sends the headers of a long
/// `CompleteMultipartUpload` at once. (Bodies being read or sent are covered separately, by
/// the SDK's stalled-stream protection.)
pub const READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// The HTTPS client (rustls with ring, OS root certificates; plain `http://` endpoints work
/// too). Build it once per process: [`sdk_config`] does.
pub fn https_client() -> SharedHttpClient {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// The timeouts of every AWS client: the SDK's defaults (a 3.1 s connect timeout) and
/// [`READ_TIMEOUT`] per attempt.
pub fn timeout_config() -> aws_sdk_s3::config::timeout::TimeoutConfig {
    aws_sdk_s3::config::timeout::TimeoutConfig::builder()
        .read_timeout(READ_TIMEOUT)
        .build()
}

/// The shared AWS configuration, as every AWS SDK reads it: region and credentials from the
/// environment, profile or instance role (in Lambda: the function's role), endpoints from
/// `AWS_ENDPOINT_URL` and the per-service `AWS_ENDPOINT_URL_<SERVICE>` variables, the
/// HTTPS client of [`https_client`] and the timeouts of [`timeout_config`].
///
/// Loading it costs time (and, outside Lambda, may query the instance metadata service): load
/// it once per process and build every client from it.
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(https_client())
        .timeout_config(timeout_config())
        .load()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_have_a_read_timeout_and_keep_the_default_connect_timeout() {
        let config = timeout_config();
        assert_eq!(config.read_timeout(), Some(READ_TIMEOUT));
        // Unset here: taken from the SDK's defaults when the configuration loads.
        assert_eq!(config.connect_timeout(), None);
        assert_eq!(config.operation_timeout(), None);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let sdk = runtime.block_on(
            aws_config::defaults(aws_config::BehaviorVersion::latest())
                .region(aws_sdk_s3::config::Region::new("us-east-1"))
                .credentials_provider(aws_sdk_s3::config::Credentials::new(
                    "id", "secret", None, None, "test",
                ))
                .http_client(https_client())
                .timeout_config(timeout_config())
                .load(),
        );
        let loaded = sdk.timeout_config().expect("timeouts");
        assert_eq!(loaded.read_timeout(), Some(READ_TIMEOUT));
        assert_eq!(
            loaded.connect_timeout(),
            Some(std::time::Duration::from_millis(3100))
        );
    }
}
