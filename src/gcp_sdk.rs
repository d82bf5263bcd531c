//! What every Google Cloud client shares (as `aws_sdk.rs` is for AWS): the TLS crypto
//! provider. Google's client libraries are built without their default provider (aws-lc),
//! so the process installs ring's, which the rest of the binary already uses.

/// Installs ring as the process's rustls provider (once; later calls do nothing).
pub fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Err means a provider is installed already: that one serves.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
