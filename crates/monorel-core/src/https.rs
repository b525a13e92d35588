//! The one HTTPS client constructor of the hand-written HTTP backends (the OCI registry
//! client and the signed-JSON client of ECS and Lambda): hyper 1 over rustls on `ring`,
//! native root certificates, HTTP/1.1, plain `http://` allowed for local endpoints (a
//! test registry, moto).
//!
//! Both backends ride the stack the AWS SDK already builds, so neither adds a TLS
//! implementation or an HTTP client to a cold build; building them in one place keeps
//! their TLS policy identical. One client per session: its pool reuses connections.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// The connector: TCP with a connect timeout, TLS when the URL says `https`.
pub(crate) type Https = hyper_rustls::HttpsConnector<HttpConnector>;

/// The client: whole bodies in, streamed bodies out.
pub(crate) type Client = hyper_util::client::legacy::Client<Https, Full<Bytes>>;

/// Builds a client; no I/O until the first request. Connections idle for 30 s are closed.
pub(crate) fn client(connect_timeout: Duration) -> Client {
    let mut http = HttpConnector::new();
    http.set_connect_timeout(Some(connect_timeout));
    http.set_nodelay(true);
    // The URL's scheme is the caller's decision (https unless a local endpoint is
    // configured), so the connector may follow either.
    http.enforce_http(false);
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls_config())
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    hyper_util::client::legacy::Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(30))
        .build(connector)
}

/// rustls on `ring` with the platform's root certificates.
fn tls_config() -> rustls::ClientConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .ok()
        .and_then(|builder| {
            use hyper_rustls::ConfigBuilderExt as _;
            builder.with_native_roots().ok()
        })
        .map(|builder| builder.with_no_client_auth())
        .unwrap_or_else(|| {
            // No root certificates on this machine: https then fails as untrusted,
            // which is the truth; plain http to a local endpoint still works.
            rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map(|b| {
                    b.with_root_certificates(rustls::RootCertStore::empty())
                        .with_no_client_auth()
                })
                .unwrap_or_else(|_| {
                    rustls::ClientConfig::builder()
                        .with_root_certificates(rustls::RootCertStore::empty())
                        .with_no_client_auth()
                })
        })
}
