//! The distribution API subset git-release needs, on hyper 1 and rustls (ring): `GET /v2/`
//! once to learn the scheme, the token service for Bearer registries, and manifest
//! `HEAD`/`GET`/`PUT`.
//!
//! One client, one connection pool for the whole run. Authentication is learnt once (the
//! `/v2/` challenge) and tokens are fetched once per scope (`repository:<name>:pull` or
//! `…:pull,push`) and reused, so 50 images in 10 repositories cost 10 token requests, not 50.
//! A token the registry refuses (expired) is replaced once; a second refusal is an error.
//!
//! Secrets stay in this file's headers: the `Authorization` value is never formatted into
//! a message, and no response body of the token service is ever shown.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::auth::{Credential, Found};
use super::challenge::{self, Challenge};
use super::errors;
use super::reference::Endpoint;
use super::RegistryFailure;

/// The largest body read: distribution refuses manifests over 4 MiB.
const MAX_BODY: usize = 4 << 20;

/// The manifest media types asked for; asking for all four means nothing is converted.
pub(super) const MANIFEST_MEDIA_TYPES: [&str; 4] = [
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
];

type Https = hyper_rustls::HttpsConnector<HttpConnector>;

/// A registry's answer, body included (bounded by [`MAX_BODY`]).
#[derive(Debug)]
pub(super) struct Answer {
    /// The HTTP status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl Answer {
    /// Returns a header's value as text, if present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// How the registry wants to be spoken to, as its `/v2/` challenge said.
#[derive(Debug, Clone)]
enum Scheme {
    /// `/v2/` answered 200 without credentials.
    Anonymous,
    /// `Basic`: the credential with every request.
    Basic,
    /// `Bearer`: a token per scope from `realm`.
    Bearer {
        realm: String,
        service: Option<String>,
    },
}

/// The client of one registry.
pub(super) struct Client {
    http: hyper_util::client::legacy::Client<Https, Full<Bytes>>,
    endpoint: Endpoint,
    found: Found,
    scheme: tokio::sync::OnceCell<Result<Scheme, RegistryFailure>>,
    /// One slot per scope; its lock makes concurrent callers wait for one token request.
    tokens: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<String>>>>>,
    /// Requests sent, for tests and the benchmark (`promote` makes at most 3 after auth).
    pub sent: std::sync::atomic::AtomicUsize,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &self.endpoint)
            .field("source", &self.found.source)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Builds the client; no I/O.
    pub fn new(endpoint: Endpoint, found: Found, connect_timeout: Duration) -> Client {
        let mut http = HttpConnector::new();
        http.set_connect_timeout(Some(connect_timeout));
        http.set_nodelay(true);
        // The URL's scheme is ours (https unless `insecure`), and the token realm is
        // checked before use, so the connector may follow either.
        http.enforce_http(false);
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .ok()
            .and_then(|builder| {
                use hyper_rustls::ConfigBuilderExt as _;
                builder.with_native_roots().ok()
            })
            .map(|builder| builder.with_no_client_auth())
            .unwrap_or_else(|| {
                // No root certificates on this machine: https then fails as untrusted,
                // which is the truth; plain http to a local registry still works.
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
            });
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let http = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        Client {
            http,
            endpoint,
            found,
            scheme: tokio::sync::OnceCell::new(),
            tokens: Mutex::new(HashMap::new()),
            sent: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// The registry.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Where the credential came from.
    pub fn source(&self) -> &str {
        &self.found.source
    }

    /// The credential lookup's result (for classifying answers; never shown).
    pub fn found(&self) -> &Found {
        &self.found
    }

    /// Sends one request, without authentication of its own.
    async fn send(
        &self,
        method: Method,
        url: &str,
        headers: Vec<(http::header::HeaderName, HeaderValue)>,
        body: Bytes,
    ) -> Result<Answer, RegistryFailure> {
        let mut request = Request::builder().method(method.clone()).uri(url);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request = request.header(
            http::header::USER_AGENT,
            concat!("git-release/", env!("CARGO_PKG_VERSION")),
        );
        let request = request
            .body(Full::new(body))
            .map_err(|e| errors::other(&self.endpoint, &format!("cannot build a request: {e}")))?;
        self.sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let response = self
            .http
            .request(request)
            .await
            .map_err(|e| errors::transport(&self.endpoint, &e))?;
        let (parts, body) = response.into_parts();
        let body = if method == Method::HEAD {
            Bytes::new()
        } else {
            Limited::new(body, MAX_BODY)
                .collect()
                .await
                .map_err(|e| errors::body(&self.endpoint, e.as_ref()))?
                .to_bytes()
        };
        Ok(Answer {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }

    /// Learns the scheme from `GET /v2/`, once per run.
    pub async fn discover(&self) -> Result<(), RegistryFailure> {
        self.scheme
            .get_or_init(|| async {
                let answer = self
                    .send(
                        Method::GET,
                        &self.endpoint.url("/v2/"),
                        Vec::new(),
                        Bytes::new(),
                    )
                    .await?;
                match answer.status {
                    s if s.is_success() => Ok(Scheme::Anonymous),
                    StatusCode::UNAUTHORIZED => {
                        match answer
                            .header(WWW_AUTHENTICATE.as_str())
                            .and_then(challenge::parse)
                        {
                            Some(Challenge::Basic) => Ok(Scheme::Basic),
                            Some(Challenge::Bearer { realm, service, .. }) => {
                                self.check_realm(&realm)?;
                                Ok(Scheme::Bearer { realm, service })
                            }
                            None => Err(errors::unknown_challenge(&self.endpoint)),
                        }
                    }
                    _ => Err(errors::answer(
                        &self.endpoint,
                        &self.found,
                        "answer",
                        "/v2/",
                        &answer,
                    )),
                }
            })
            .await
            .clone()
            .map(|_| ())
    }

    /// Returns the scheme `/v2/` announced, for `doctor`.
    pub fn scheme_name(&self) -> Option<&'static str> {
        match self.scheme.get()? {
            Ok(Scheme::Anonymous) => Some("anonymous"),
            Ok(Scheme::Basic) => Some("basic"),
            Ok(Scheme::Bearer { .. }) => Some("bearer"),
            Err(_) => None,
        }
    }

    /// Refuses a token realm that would receive credentials in the clear.
    fn check_realm(&self, realm: &str) -> Result<(), RegistryFailure> {
        let uri: http::Uri = realm
            .parse()
            .map_err(|_| errors::bad_realm(&self.endpoint, realm, "it is not a URL"))?;
        match uri.scheme_str() {
            Some("https") => Ok(()),
            Some("http") if self.endpoint.scheme == "http" => Ok(()),
            _ => Err(errors::bad_realm(
                &self.endpoint,
                realm,
                "it is not https, and credentials are never sent in the clear to a registry configured for https",
            )),
        }
    }

    /// Sends `method path` with the scheme's authentication for `scope`, replacing a
    /// refused (expired) token once.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        scope: &str,
        headers: Vec<(http::header::HeaderName, HeaderValue)>,
        body: Bytes,
    ) -> Result<Answer, RegistryFailure> {
        self.discover().await?;
        let scheme = match self.scheme.get() {
            Some(Ok(scheme)) => scheme.clone(),
            _ => {
                return Err(errors::other(
                    &self.endpoint,
                    "the registry's scheme is unknown",
                ))
            }
        };
        let url = self.endpoint.url(path);
        let mut refused: Option<String> = None;
        for attempt in 0..2 {
            let mut sent = headers.clone();
            let mut used = None;
            match &scheme {
                Scheme::Anonymous => {}
                Scheme::Basic => {
                    if let Some(value) = self
                        .found
                        .credential
                        .as_ref()
                        .and_then(Credential::basic_header)
                    {
                        sent.push((AUTHORIZATION, secret_header(&value)?));
                    }
                }
                Scheme::Bearer { realm, service } => {
                    let token = self
                        .token(realm, service.as_deref(), scope, refused.as_deref())
                        .await?;
                    sent.push((AUTHORIZATION, secret_header(&format!("Bearer {token}"))?));
                    used = Some(token);
                }
            }
            let answer = self.send(method.clone(), &url, sent, body.clone()).await?;
            // A token refused for anything but its scope has most likely expired: one
            // fresh token, once. A second refusal is the answer.
            let expired = attempt == 0
                && used.is_some()
                && answer.status == StatusCode::UNAUTHORIZED
                && !insufficient_scope(&answer);
            if !expired {
                return Ok(answer);
            }
            refused = used;
        }
        Err(errors::other(
            &self.endpoint,
            "the registry refused a fresh token",
        ))
    }

    /// Returns the token for `scope`, fetching it when there is none or the one there is
    /// `stale` (the registry refused it).
    async fn token(
        &self,
        realm: &str,
        service: Option<&str>,
        scope: &str,
        stale: Option<&str>,
    ) -> Result<String, RegistryFailure> {
        let slot = {
            let mut tokens = self
                .tokens
                .lock()
                .map_err(|_| errors::other(&self.endpoint, "the token cache was poisoned"))?;
            tokens.entry(scope.to_string()).or_default().clone()
        };
        let mut held = slot.lock().await;
        if let Some(token) = held.as_deref() {
            if Some(token) != stale {
                return Ok(token.to_string());
            }
        }
        let token = self.fetch_token(realm, service, scope).await?;
        *held = Some(token.clone());
        Ok(token)
    }

    /// Asks the token service for a token for `scope`.
    async fn fetch_token(
        &self,
        realm: &str,
        service: Option<&str>,
        scope: &str,
    ) -> Result<String, RegistryFailure> {
        let mut query = Vec::new();
        if let Some(service) = service {
            query.push(("service", service));
        }
        query.push(("scope", scope));
        let answer = match &self.found.credential {
            Some(Credential::IdentityToken(token)) => {
                // docker's OAuth2 refresh-token grant.
                let mut form = query.clone();
                form.extend([
                    ("grant_type", "refresh_token"),
                    ("client_id", "git-release"),
                    ("refresh_token", token.as_str()),
                ]);
                self.send(
                    Method::POST,
                    realm,
                    vec![(
                        CONTENT_TYPE,
                        HeaderValue::from_static("application/x-www-form-urlencoded"),
                    )],
                    Bytes::from(encode_query(&form)),
                )
                .await?
            }
            credential => {
                let separator = if realm.contains('?') { '&' } else { '?' };
                let url = format!("{realm}{separator}{}", encode_query(&query));
                let mut headers = Vec::new();
                if let Some(value) = credential.as_ref().and_then(Credential::basic_header) {
                    headers.push((AUTHORIZATION, secret_header(&value)?));
                }
                self.send(Method::GET, &url, headers, Bytes::new()).await?
            }
        };
        if !answer.status.is_success() {
            return Err(errors::token_refused(
                &self.endpoint,
                &self.found,
                realm,
                scope,
                &answer,
            ));
        }
        let json: serde_json::Value = serde_json::from_slice(&answer.body)
            .map_err(|_| errors::bad_token(&self.endpoint, realm, "its answer is not JSON"))?;
        let token = json
            .get("token")
            .or_else(|| json.get("access_token"))
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_graphic()))
            .ok_or_else(|| {
                errors::bad_token(&self.endpoint, realm, "its answer has no usable token")
            })?;
        Ok(token.to_string())
    }
}

/// Whether a 401 says the token lacks the scope (not that it expired).
pub(super) fn insufficient_scope(answer: &Answer) -> bool {
    matches!(
        answer.header(WWW_AUTHENTICATE.as_str()).and_then(challenge::parse),
        Some(Challenge::Bearer { error: Some(ref e), .. }) if e == "insufficient_scope"
    )
}

/// Returns a header value marked sensitive (hyper then never shows it in `Debug`).
fn secret_header(value: &str) -> Result<HeaderValue, RegistryFailure> {
    let mut value = HeaderValue::from_str(value).map_err(|_| RegistryFailure {
        kind: super::FailureKind::NoCredentials,
        message: "the registry credential holds characters an HTTP header cannot carry".into(),
        hint: "log in again with `docker login <host>`".into(),
    })?;
    value.set_sensitive(true);
    Ok(value)
}

/// Returns the `Accept` header for every manifest media type.
pub(super) fn accept_manifests() -> (http::header::HeaderName, HeaderValue) {
    (ACCEPT, HeaderValue::from_static(
        "application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json",
    ))
}

/// Percent-encodes pairs as `application/x-www-form-urlencoded`.
fn encode_query(pairs: &[(&str, &str)]) -> String {
    let encode = crate::text::percent_encode;
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_encoded() {
        assert_eq!(
            encode_query(&[("scope", "repository:a/b:pull,push"), ("service", "x y")]),
            "scope=repository%3Aa%2Fb%3Apull%2Cpush&service=x%20y"
        );
    }

    #[test]
    fn secret_headers_are_hidden_from_debug() {
        let value = secret_header("Bearer abc").expect("valid");
        assert!(!format!("{value:?}").contains("abc"));
    }
}
