//! The HTTPS client every AWS backend gives the SDK: rustls on `ring`.
//!
//! The SDK's own default client (`default-https-client`) uses rustls on AWS-LC, whose C
//! build was the largest single cost of a cold source build (docs/benchmarks.md, "Build
//! cost"). This is the same client with the `ring` crypto provider: hyper 1 with rustls,
//! native root certificates, HTTPS and plain HTTP (a local endpoint such as moto), and
//! the proxy taken from `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY` as the SDK's current
//! behaviour version does. Connectors are cached per connector settings by the builder,
//! so one client serves every call and reuses its connections.
//!
//! The signed-JSON client of ECS and Lambda (`json.rs`) sends through one [`connector`]
//! built the same way, so its TLS, proxy and connect-timeout behaviour is the SDK's.

use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_http_client::tls::Provider;
use aws_smithy_http_client::{Builder, ConnectorBuilder};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

/// Returns the HTTPS client for every AWS call, built like the SDK's default one but on
/// `ring`. Nothing connects until the first request.
pub(crate) fn https_client() -> SharedHttpClient {
    // `build_with_connector_fn` is how the SDK builds its own default client: the
    // connector gets the per-operation settings (connect timeout) and the runtime's sleep.
    Builder::new().build_with_connector_fn(|settings, components| {
        let mut connector =
            ConnectorBuilder::default().tls_provider(Provider::Rustls(CryptoMode::Ring));
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
}

/// Returns one connector (a hyper 1 client with its connection pool) built as
/// [`https_client`] builds them, for callers that send requests themselves: a connect
/// timeout, the session's sleep (which the timeout needs) and the proxy from the
/// environment.
#[cfg(feature = "aws-json")]
pub(crate) fn connector(
    connect_timeout: std::time::Duration,
    sleep: Option<aws_types::sdk_config::SharedAsyncSleep>,
) -> aws_smithy_http_client::Connector {
    use aws_smithy_runtime_api::client::http::HttpConnectorSettings;
    let mut connector =
        ConnectorBuilder::default().tls_provider(Provider::Rustls(CryptoMode::Ring));
    connector.set_connector_settings(Some(
        HttpConnectorSettings::builder()
            .connect_timeout(connect_timeout)
            .build(),
    ));
    connector.set_sleep_impl(sleep);
    connector.set_proxy_config(Some(ProxyConfig::from_env()));
    connector.build()
}
