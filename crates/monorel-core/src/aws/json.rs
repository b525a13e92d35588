//! A small client for AWS's two JSON protocols, for the ECS and Lambda deploy targets.
//!
//! The generated SDK clients of ECS and Lambda cost ~165 CPU-s of a cold source build
//! (their front end, the monomorphised orchestrator, serde of every shape, and their share
//! of the fat-LTO step; docs/benchmarks.md, "Build cost") for the ten or so operations the
//! targets call. This module speaks those operations directly, on what the build has
//! anyway:
//! - **awsJson1_1** (ECS): `POST /` with `X-Amz-Target: <prefix>.<Operation>`;
//!   **restJson1** (Lambda): a method and a path whose labels are percent-encoded (a
//!   function name may be an ARN, with `:`). JSON in, JSON out, as [`serde_json::Value`]:
//!   the deploy targets copy what they read (a task definition) field by field, so a field
//!   a pinned SDK would not know is still copied.
//! - **SigV4** from the SDK's own `aws-sigv4`, with credentials from the session's loaded
//!   [`SdkConfig`], so profiles, SSO, `credential_process`, web identity and environment
//!   variables work exactly as for the SDK clients; session tokens are signed in.
//! - **HTTP** through the connector the SDK clients use (`https.rs`: hyper 1, rustls on
//!   ring, the proxy from `HTTPS_PROXY`/`NO_PROXY`, the connect timeout), one per session,
//!   so connections are reused and the network behaves as it did with the SDK clients.
//! - **Endpoints** resolved as the SDK does: `AWS_ENDPOINT_URL_<SERVICE>`, then
//!   `AWS_ENDPOINT_URL`, then the profile's `endpoint_url` (all through the SDK's own
//!   service-config loader), else `https://{svc}[-fips].{region}.amazonaws.com[.cn]`.
//!
//! Bounds and retries follow the SDK's standard mode: each attempt is bounded by
//! [`super::ATTEMPT_TIMEOUT`], the caller bounds the operation (`Session::block_on`), and
//! up to three attempts are made with jittered exponential backoff on throttling, HTTP 5xx
//! and transport failures. **A mutating call is retried only when the request provably
//! never left** (the connection could not be opened): a `RegisterTaskDefinition` whose
//! answer was lost may have registered a revision, and sending it again would register a
//! second one; an `UpdateFunctionCode` with `Publish` would publish a second version.
//!
//! Failures come back as the shared [`Diagnosis`], read from the answer's
//! `x-amzn-errortype` header or its body (`__type`, `code`, `message`), every service text
//! through the text gate. Credentials and the `Authorization` header never reach a
//! message: no request header is ever formatted.

// With only one of the two targets built, the other protocol's half is unused.
#![cfg_attr(not(all(feature = "ecs", feature = "lambda")), allow(dead_code))]

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hash, Hasher};
use std::time::{Duration, SystemTime};

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_http_client::Connector;
use aws_smithy_runtime_api::client::http::HttpConnector;
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_types::body::SdkBody;
use aws_types::service_config::ServiceConfigKey;
use aws_types::SdkConfig;
use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_TYPE, HOST, USER_AGENT};
use http::{Method, Request};
use http_body_util::{BodyExt, Limited};
use serde_json::Value;

use super::errors::{classify, error_chain, one_line, xml_field};
use super::{Diagnosis, ServiceAnswer, ATTEMPT_TIMEOUT};

/// The most attempts of one call, as the SDK's standard retry mode.
const MAX_ATTEMPTS: u32 = 3;

/// The largest answer read (a task definition with many containers is tens of KiB).
const MAX_BODY: usize = 8 << 20;

/// The first backoff's upper bound; it doubles per attempt (the SDK's standard mode).
const BACKOFF_BASE: Duration = Duration::from_secs(1);

/// Credentials that expire sooner than this are fetched again before signing.
const CREDENTIALS_MARGIN: Duration = Duration::from_secs(300);

/// The AWS services this client speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Service {
    /// Amazon ECS (awsJson1_1).
    Ecs,
    /// AWS Lambda (restJson1).
    Lambda,
}

impl Service {
    /// The SigV4 signing name, which is also the endpoint's first label.
    fn signing_name(self) -> &'static str {
        match self {
            Service::Ecs => "ecs",
            Service::Lambda => "lambda",
        }
    }

    /// The service id the SDK's endpoint configuration is keyed by
    /// (`AWS_ENDPOINT_URL_ECS`, `[services] ecs = …` in the config file).
    fn service_id(self) -> &'static str {
        match self {
            Service::Ecs => "ECS",
            Service::Lambda => "Lambda",
        }
    }

    /// The name in messages.
    pub(crate) fn display(self) -> &'static str {
        match self {
            Service::Ecs => "ECS",
            Service::Lambda => "Lambda",
        }
    }
}

/// The awsJson1_1 target prefix of ECS's operations.
const ECS_TARGET_PREFIX: &str = "AmazonEC2ContainerServiceV20141113";

/// One operation call.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    /// The operation's name, for awsJson1_1's target header.
    operation: &'static str,
    /// The HTTP method.
    method: Method,
    /// The path and query, already percent-encoded.
    path: String,
    /// The JSON input, if the operation takes a body.
    body: Option<Value>,
    /// Whether the call changes something (then it is retried only if it never left).
    mutating: bool,
    /// Whether this is an awsJson1_1 call (the target header and content type).
    aws_json: bool,
}

impl Call {
    /// The operation's name, for messages.
    pub(crate) fn operation(&self) -> &'static str {
        self.operation
    }

    /// An awsJson1_1 (ECS) call: `POST /` with the operation in `X-Amz-Target`.
    pub(crate) fn ecs(operation: &'static str, input: Value, mutating: bool) -> Call {
        Call {
            operation,
            method: Method::POST,
            path: "/".into(),
            body: Some(input),
            mutating,
            aws_json: true,
        }
    }

    /// A restJson1 (Lambda) call to `path` (built with [`path`]), with an optional body.
    pub(crate) fn rest(
        operation: &'static str,
        method: Method,
        path: String,
        body: Option<Value>,
        mutating: bool,
    ) -> Call {
        Call {
            operation,
            method,
            path,
            body,
            mutating,
            aws_json: false,
        }
    }
}

/// Builds a request path from literal parts and labels: each label is percent-encoded
/// whole (`/` and `:` included), so a function ARN is one path segment.
pub(crate) fn path(parts: &[Segment<'_>]) -> String {
    let mut out = String::new();
    for part in parts {
        match part {
            Segment::Literal(text) => out.push_str(text),
            Segment::Label(text) => out.push_str(&encode(text)),
        }
    }
    out
}

/// Appends `?name=value` query parameters, the values percent-encoded.
pub(crate) fn with_query(mut path: String, query: &[(&str, &str)]) -> String {
    for (i, (name, value)) in query.iter().enumerate() {
        path.push(if i == 0 { '?' } else { '&' });
        path.push_str(name);
        path.push('=');
        path.push_str(&encode(value));
    }
    path
}

/// One part of a request path.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Segment<'a> {
    /// Literal path text, like `/2015-03-31/functions/`.
    Literal(&'a str),
    /// A label's value, percent-encoded.
    Label(&'a str),
}

/// Percent-encodes everything but RFC 3986's unreserved characters, as Smithy does for
/// labels and query values.
fn encode(text: &str) -> String {
    crate::text::percent_encode(text)
}

/// The error returned by [`Client::new`]: the endpoint cannot be worked out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ClientError {
    /// The configuration asks for dual-stack endpoints, which this client does not build.
    #[error("the AWS configuration asks for dual-stack endpoints (use_dualstack_endpoint), which git-release's {service} client does not support")]
    DualStack {
        /// The service.
        service: &'static str,
    },
    /// The region is not a DNS label (it would become part of a host name).
    #[error("the AWS region `{region}` is not a valid region name")]
    BadRegion {
        /// The region, through the text gate.
        region: String,
    },
    /// The configured endpoint URL is not an `http(s)://host[:port]` URL.
    #[error("the {service} endpoint URL `{url}` is not an http:// or https:// URL with a host")]
    BadEndpoint {
        /// The service.
        service: &'static str,
        /// The URL, through the text gate.
        url: String,
    },
}

impl ClientError {
    /// What to do about it.
    pub(crate) fn hint(&self) -> String {
        match self {
            ClientError::DualStack { service } => format!(
                "unset AWS_USE_DUALSTACK_ENDPOINT (or use_dualstack_endpoint in ~/.aws/config), or set AWS_ENDPOINT_URL_{} to the dual-stack endpoint",
                service.to_ascii_uppercase()
            ),
            ClientError::BadRegion { .. } => {
                "set the environment's region in git-release.toml (like region = \"eu-west-1\"), or fix AWS_REGION".into()
            }
            ClientError::BadEndpoint { service, .. } => format!(
                "fix AWS_ENDPOINT_URL_{} / AWS_ENDPOINT_URL (or endpoint_url in ~/.aws/config)",
                service.to_ascii_uppercase()
            ),
        }
    }
}

/// The client of one service in one session.
pub(crate) struct Client {
    service: Service,
    http: Connector,
    /// `scheme://authority[/path]`, without a trailing `/`.
    endpoint: String,
    region: String,
    provider: Option<SharedCredentialsProvider>,
    /// The last credentials, reused until they are about to expire (the SDK caches them
    /// in its identity cache; the provider chain itself does not).
    cached: tokio::sync::Mutex<Option<Credentials>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // No credentials here, ever.
        f.debug_struct("Client")
            .field("service", &self.service)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Builds the client of `service` from a loaded configuration; no I/O.
    pub(crate) fn new(
        service: Service,
        sdk: &SdkConfig,
        connect_timeout: Duration,
    ) -> Result<Client, ClientError> {
        let region = sdk.region().map(ToString::to_string).unwrap_or_default();
        let configured = sdk
            .service_config()
            .and_then(|conf| {
                ServiceConfigKey::builder()
                    .service_id(service.service_id())
                    .env("AWS_ENDPOINT_URL")
                    .profile("endpoint_url")
                    .build()
                    .ok()
                    .and_then(|key| conf.load_config(key))
            })
            .or_else(|| sdk.endpoint_url().map(str::to_string))
            .filter(|url| !url.is_empty());
        let endpoint = match configured {
            Some(url) => checked_endpoint(service, &url)?,
            None => default_endpoint(
                service,
                &region,
                sdk.use_fips().unwrap_or(false),
                sdk.use_dual_stack().unwrap_or(false),
            )?,
        };
        Ok(Client {
            service,
            http: super::https::connector(connect_timeout, sdk.sleep_impl()),
            endpoint,
            region,
            provider: sdk.credentials_provider(),
            cached: tokio::sync::Mutex::new(None),
        })
    }

    /// The endpoint calls go to.
    #[cfg(test)]
    fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Makes one call, with the retries described in the module header, and returns the
    /// answer's JSON (`Value::Null` for an empty body).
    pub(crate) async fn send(&self, call: &Call) -> Result<Value, Diagnosis> {
        let body = match &call.body {
            Some(value) => Bytes::from(serde_json::to_vec(value).map_err(|e| {
                Diagnosis::Answer(ServiceAnswer {
                    context: format!("cannot encode the {} input: {e}", call.operation),
                    ..ServiceAnswer::default()
                })
            })?),
            None => Bytes::new(),
        };
        let mut attempt = 1;
        loop {
            let credentials = self.credentials().await?;
            let request = self.request(call, &body, &credentials)?;
            let (diagnosis, retry) =
                match tokio::time::timeout(ATTEMPT_TIMEOUT, self.attempt(request)).await {
                    Err(_) => (Diagnosis::Timeout, !call.mutating),
                    Ok(Err(Sent::Never(diagnosis))) => (diagnosis, true),
                    Ok(Err(Sent::Maybe(diagnosis))) => (diagnosis, !call.mutating),
                    Ok(Ok((status, answer))) if (200..300).contains(&status) => {
                        return parse_success(status, &answer.body);
                    }
                    Ok(Ok((status, answer))) => {
                        let diagnosis =
                            read_error(status, answer.errortype.as_deref(), &answer.body);
                        let retry = !call.mutating && retryable(&diagnosis);
                        (diagnosis, retry)
                    }
                };
            if !retry || attempt >= MAX_ATTEMPTS {
                return Err(diagnosis);
            }
            tokio::time::sleep(backoff(attempt)).await;
            attempt += 1;
        }
    }

    /// The credentials to sign with: the cached ones while they last, else the provider's.
    async fn credentials(&self) -> Result<Credentials, Diagnosis> {
        let mut cached = self.cached.lock().await;
        if let Some(credentials) = cached.as_ref() {
            let fresh = credentials
                .expiry()
                .is_none_or(|at| at > SystemTime::now() + CREDENTIALS_MARGIN);
            if fresh {
                return Ok(credentials.clone());
            }
        }
        let Some(provider) = &self.provider else {
            return Err(Diagnosis::NoCredentials(
                "no credentials provider is configured".into(),
            ));
        };
        let credentials = provider
            .provide_credentials()
            .await
            .map_err(|e| Diagnosis::NoCredentials(error_chain(&e)))?;
        *cached = Some(credentials.clone());
        Ok(credentials)
    }

    /// Builds and signs one attempt's request (signed again per attempt: a fresh date).
    fn request(
        &self,
        call: &Call,
        body: &Bytes,
        credentials: &Credentials,
    ) -> Result<HttpRequest, Diagnosis> {
        let unsigned = |e: String| {
            Diagnosis::Answer(ServiceAnswer {
                context: format!("cannot sign the {} request: {e}", call.operation),
                ..ServiceAnswer::default()
            })
        };
        let uri = format!("{}{}", self.endpoint, call.path);
        let parsed: http::Uri = uri.parse().map_err(|e| unsigned(format!("{e}")))?;
        let host = parsed
            .authority()
            .map(|a| host_header(parsed.scheme_str(), a))
            .ok_or_else(|| unsigned("the endpoint has no host".into()))?;
        let target = format!("{ECS_TARGET_PREFIX}.{}", call.operation);
        let content_type = if call.aws_json {
            "application/x-amz-json-1.1"
        } else {
            "application/json"
        };
        let mut headers: Vec<(&str, &str)> = vec![("host", &host)];
        if call.body.is_some() {
            headers.push(("content-type", content_type));
        }
        if call.aws_json {
            headers.push(("x-amz-target", &target));
        }
        let identity = credentials.clone().into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(self.service.signing_name())
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| unsigned(e.to_string()))?
            .into();
        let signable = SignableRequest::new(
            call.method.as_str(),
            uri.as_str(),
            headers.iter().copied(),
            SignableBody::Bytes(body),
        )
        .map_err(|e| unsigned(e.to_string()))?;
        let (instructions, _signature) = sign(signable, &params)
            .map_err(|e| unsigned(e.to_string()))?
            .into_parts();
        let mut builder = Request::builder()
            .method(call.method.clone())
            .uri(parsed)
            .header(HOST, host.as_str())
            .header(
                USER_AGENT,
                concat!("git-release/", env!("CARGO_PKG_VERSION")),
            );
        if call.body.is_some() {
            builder = builder.header(CONTENT_TYPE, HeaderValue::from_static(content_type));
        }
        if call.aws_json {
            builder = builder.header("x-amz-target", target.as_str());
        }
        let mut request = builder
            .body(SdkBody::from(body.clone()))
            .map_err(|e| unsigned(e.to_string()))?;
        instructions.apply_to_request_http1x(&mut request);
        HttpRequest::try_from(request).map_err(|e| unsigned(e.to_string()))
    }

    /// Sends one request and reads its answer.
    async fn attempt(&self, request: HttpRequest) -> Result<(u16, Raw), Sent> {
        let response = self
            .http
            .call(request)
            .await
            .map_err(|e| transport_failure(&e))?;
        let status = response.status().as_u16();
        let errortype = response
            .headers()
            .get("x-amzn-errortype")
            .map(str::to_string);
        let body = Limited::new(response.into_body(), MAX_BODY)
            .collect()
            .await
            .map_err(|e| {
                Sent::Maybe(Diagnosis::Unreachable(format!(
                    "the {} answer could not be read: {}",
                    self.service.display(),
                    one_line(&e.to_string())
                )))
            })?
            .to_bytes();
        Ok((status, Raw { errortype, body }))
    }
}

/// Sorts a failure to get an answer. Only a failure to open the connection (refused,
/// DNS, TLS handshake, the proxy's CONNECT, the connect timeout) proves that nothing was
/// sent; anything later may have reached the service.
fn transport_failure(err: &ConnectorError) -> Sent {
    let context = error_chain(err);
    let diagnosis = if err.is_timeout() {
        Diagnosis::Timeout
    } else if context.contains("refused") {
        Diagnosis::Unreachable("connection refused".into())
    } else {
        Diagnosis::Unreachable(context)
    };
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = next {
        if e.downcast_ref::<hyper_util::client::legacy::Error>()
            .is_some_and(hyper_util::client::legacy::Error::is_connect)
        {
            return Sent::Never(diagnosis);
        }
        next = e.source();
    }
    Sent::Maybe(diagnosis)
}

/// Reads a successful answer's JSON: `Null` for an empty body; a body that is not JSON is
/// an answer that cannot be used, never read as "nothing there".
fn parse_success(status: u16, body: &[u8]) -> Result<Value, Diagnosis> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(body).map_err(|e| {
        Diagnosis::Answer(ServiceAnswer {
            status: Some(status),
            message: format!("the answer is not JSON ({e})"),
            ..ServiceAnswer::default()
        })
    })
}

/// An answer's parts that an error is read from.
struct Raw {
    errortype: Option<String>,
    body: Bytes,
}

/// How far a failed attempt got.
enum Sent {
    /// The connection was never opened: nothing reached the service.
    Never(Diagnosis),
    /// The request may have reached the service.
    Maybe(Diagnosis),
}

/// The `Host` value as hyper and SigV4 both write it: the port only when not the default.
fn host_header(scheme: Option<&str>, authority: &http::uri::Authority) -> String {
    match (scheme, authority.port_u16()) {
        (Some("https"), Some(443)) | (Some("http"), Some(80)) | (_, None) => {
            authority.host().to_string()
        }
        (_, Some(port)) => format!("{}:{port}", authority.host()),
    }
}

/// Whether a failed answer is worth another attempt (a read only; see the module header).
fn retryable(diagnosis: &Diagnosis) -> bool {
    match diagnosis {
        Diagnosis::Timeout | Diagnosis::Unreachable(_) | Diagnosis::Throttled(_) => true,
        Diagnosis::Answer(answer) => answer.is_server_error(),
        Diagnosis::NoCredentials(_) | Diagnosis::RejectedCredentials(_) => false,
    }
}

/// The wait before attempt `attempt + 1`: uniformly random up to `BACKOFF_BASE * 2^(attempt-1)`
/// ("full jitter"), so clients throttled together do not retry together.
fn backoff(attempt: u32) -> Duration {
    let ceiling = BACKOFF_BASE * 2u32.saturating_pow(attempt.saturating_sub(1));
    let mut hasher = RandomState::new().build_hasher();
    attempt.hash(&mut hasher);
    std::time::Instant::now().hash(&mut hasher);
    let fraction = (hasher.finish() % 1_000) as u32;
    ceiling * fraction / 1_000
}

/// Checks a configured endpoint URL and drops its trailing `/`.
fn checked_endpoint(service: Service, url: &str) -> Result<String, ClientError> {
    let bad = || ClientError::BadEndpoint {
        service: service.display(),
        url: crate::text::line(url).into_owned(),
    };
    let uri: http::Uri = url.parse().map_err(|_| bad())?;
    match (uri.scheme_str(), uri.host()) {
        (Some("http" | "https"), Some(host)) if !host.is_empty() && uri.query().is_none() => {
            Ok(url.trim_end_matches('/').to_string())
        }
        _ => Err(bad()),
    }
}

/// The service's public endpoint in `region`, as the SDK's endpoint rules build it for
/// the standard partitions.
pub(crate) fn default_endpoint(
    service: Service,
    region: &str,
    fips: bool,
    dual_stack: bool,
) -> Result<String, ClientError> {
    if dual_stack {
        return Err(ClientError::DualStack {
            service: service.display(),
        });
    }
    let valid = !region.is_empty()
        && region.len() <= 63
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !region.starts_with('-');
    if !valid {
        return Err(ClientError::BadRegion {
            region: crate::text::line(region).into_owned(),
        });
    }
    let suffix = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else if region.starts_with("us-isob-") {
        "sc2s.sgov.gov"
    } else if region.starts_with("us-iso-") {
        "c2s.ic.gov"
    } else {
        "amazonaws.com"
    };
    let name = service.signing_name();
    let fips = if fips { "-fips" } else { "" };
    Ok(format!("https://{name}{fips}.{region}.{suffix}"))
}

/// Reads a failed answer of either protocol into a [`Diagnosis`]. The code comes from the
/// `x-amzn-errortype` header (restJson1), else the body's `__type` (awsJson1_1) or `code`;
/// a namespace (`com.amazonaws.ecs#`) and a trailing `:…` URL are stripped. The message is
/// the body's `message` or `Message`. A non-JSON body (a proxy's XML or HTML) yields its
/// XML `Code`/`Message` if any, else the status alone.
pub(crate) fn read_error(status: u16, errortype: Option<&str>, body: &[u8]) -> Diagnosis {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let field = |names: &[&str]| {
        json.as_ref().and_then(|v| {
            names
                .iter()
                .find_map(|n| v.get(*n).and_then(Value::as_str).map(str::to_string))
        })
    };
    let text = String::from_utf8_lossy(body);
    let code = errortype
        .map(str::to_string)
        .filter(|c| !c.trim().is_empty())
        .or_else(|| field(&["__type", "code", "Code"]))
        .or_else(|| xml_field(&text, "Code"))
        .map(|c| sanitize_code(&c))
        .unwrap_or_default();
    let message = field(&["message", "Message", "errorMessage"])
        .or_else(|| xml_field(&text, "Message"))
        .map(|m| one_line(&m))
        .unwrap_or_default();
    classify(ServiceAnswer {
        status: Some(status),
        code,
        message,
        context: format!("HTTP {status}"),
    })
}

/// `aws.ns#Code:http://…` → `Code`, through the text gate.
fn sanitize_code(raw: &str) -> String {
    let code = raw.split(':').next().unwrap_or(raw);
    let code = code.rsplit('#').next().unwrap_or(code);
    one_line(code.trim())
}

#[cfg(test)]
mod tests {
    //! Error answers here are recorded from the protocols' documentation and moto's wire
    //! format: awsJson1_1 puts the code in the body's `__type` (ECS:
    //! `{"__type":"ClusterNotFoundException","message":"Cluster not found."}`), restJson1
    //! in the `x-amzn-ErrorType` header with `{"Type":"User","Message":…}` in the body
    //! (Lambda). Signing itself is exercised end to end against moto (tests/e2e/live.rs).
    use super::*;

    fn answer(d: Diagnosis) -> ServiceAnswer {
        match d {
            Diagnosis::Answer(a) => a,
            other => panic!("not an answer: {other:?}"),
        }
    }

    #[test]
    fn aws_json_errors_are_read_from_the_body() {
        let a = answer(read_error(
            400,
            None,
            br#"{"__type":"com.amazonaws.ecs#ClusterNotFoundException","message":"Cluster not found."}"#,
        ));
        assert_eq!(a.code, "ClusterNotFoundException");
        assert_eq!(a.message, "Cluster not found.");
        assert_eq!(a.status, Some(400));
        assert_eq!(
            a.describe(),
            "HTTP 400, ClusterNotFoundException: Cluster not found."
        );
    }

    #[test]
    fn rest_json_errors_are_read_from_the_header() {
        let a = answer(read_error(
            404,
            Some("ResourceNotFoundException:http://internal.amazon.com/coral/com.amazonaws.awslambda/"),
            br#"{"Type":"User","Message":"Function not found: arn:aws:lambda:eu-west-1:1:function:web"}"#,
        ));
        assert_eq!(a.code, "ResourceNotFoundException");
        assert_eq!(
            a.message,
            "Function not found: arn:aws:lambda:eu-west-1:1:function:web"
        );
    }

    #[test]
    fn credentials_and_throttling_are_classified() {
        assert!(matches!(
            read_error(
                400,
                None,
                br#"{"__type":"UnrecognizedClientException","message":"The security token included in the request is invalid."}"#
            ),
            Diagnosis::RejectedCredentials(_)
        ));
        assert!(matches!(
            read_error(403, Some("InvalidSignatureException"), b"{}"),
            Diagnosis::RejectedCredentials(_)
        ));
        match read_error(
            400,
            None,
            br#"{"__type":"ExpiredTokenException","message":"The security token included in the request is expired"}"#,
        ) {
            Diagnosis::NoCredentials(cause) => assert!(cause.contains("expired"), "{cause}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            read_error(
                400,
                None,
                br#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#
            ),
            Diagnosis::Throttled(_)
        ));
        assert!(matches!(
            read_error(
                429,
                Some("TooManyRequestsException"),
                br#"{"Type":"User","message":"Rate exceeded","retryAfterSeconds":"1"}"#
            ),
            Diagnosis::Throttled(_)
        ));
        assert!(matches!(
            read_error(503, None, b""),
            Diagnosis::Throttled(_)
        ));
    }

    #[test]
    fn odd_bodies_still_give_a_status_and_hostile_text_is_gated() {
        let a = answer(read_error(502, None, b"<html>Bad Gateway</html>"));
        assert_eq!(a.describe(), "HTTP 502");
        assert!(a.is_server_error());
        let a = answer(read_error(
            403,
            None,
            b"<ErrorResponse><Error><Code>AccessDenied</Code><Message>no</Message></Error></ErrorResponse>",
        ));
        assert!(a.is_access_denied());
        let a = answer(read_error(
            400,
            None,
            b"{\"__type\":\"Bad\\u001b[31mCode\",\"message\":\"line one\\nline\\u001b]0;x\\u0007 two\"}",
        ));
        assert!(!a.code.contains('\u{1b}'), "{:?}", a.code);
        assert!(!a.message.contains('\u{1b}') && !a.message.contains('\n'));
        assert!(!a.message.contains('\u{7}'), "{:?}", a.message);
    }

    #[test]
    fn only_reads_and_unsent_calls_are_retried() {
        assert!(retryable(&Diagnosis::Timeout));
        assert!(retryable(&read_error(500, None, b"{}")));
        assert!(retryable(&read_error(
            400,
            None,
            br#"{"__type":"ThrottlingException"}"#
        )));
        assert!(!retryable(&read_error(
            400,
            None,
            br#"{"__type":"InvalidParameterException"}"#
        )));
        assert!(!retryable(&Diagnosis::NoCredentials("x".into())));
        for attempt in 1..=3 {
            assert!(backoff(attempt) <= BACKOFF_BASE * 2u32.pow(attempt - 1));
        }
    }

    #[test]
    fn endpoints_follow_the_partition_and_fips() {
        assert_eq!(
            default_endpoint(Service::Ecs, "eu-west-1", false, false).as_deref(),
            Ok("https://ecs.eu-west-1.amazonaws.com")
        );
        assert_eq!(
            default_endpoint(Service::Lambda, "cn-north-1", false, false).as_deref(),
            Ok("https://lambda.cn-north-1.amazonaws.com.cn")
        );
        assert_eq!(
            default_endpoint(Service::Lambda, "us-gov-west-1", true, false).as_deref(),
            Ok("https://lambda-fips.us-gov-west-1.amazonaws.com")
        );
        assert!(matches!(
            default_endpoint(Service::Ecs, "eu-west-1", false, true),
            Err(ClientError::DualStack { .. })
        ));
        assert!(matches!(
            default_endpoint(Service::Ecs, "evil.com/x#", false, false),
            Err(ClientError::BadRegion { .. })
        ));
        assert_eq!(
            checked_endpoint(Service::Ecs, "http://127.0.0.1:5000/").as_deref(),
            Ok("http://127.0.0.1:5000")
        );
        assert!(checked_endpoint(Service::Ecs, "ftp://x").is_err());
        assert!(checked_endpoint(Service::Ecs, "not a url").is_err());
    }

    #[test]
    fn labels_are_encoded_whole() {
        let p = path(&[
            Segment::Literal("/2015-03-31/functions/"),
            Segment::Label("arn:aws:lambda:eu-west-1:123456789012:function:web"),
            Segment::Literal("/aliases/"),
            Segment::Label("live/x y"),
        ]);
        assert_eq!(
            p,
            "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aeu-west-1%3A123456789012%3Afunction%3Aweb/aliases/live%2Fx%20y"
        );
        assert_eq!(
            with_query("/f".into(), &[("Qualifier", "$LATEST")]),
            "/f?Qualifier=%24LATEST"
        );
    }

    #[test]
    fn the_host_header_omits_default_ports() {
        let a: http::uri::Authority = "ecs.eu-west-1.amazonaws.com:443"
            .parse()
            .expect("authority");
        assert_eq!(
            host_header(Some("https"), &a),
            "ecs.eu-west-1.amazonaws.com"
        );
        let a: http::uri::Authority = "127.0.0.1:5000".parse().expect("authority");
        assert_eq!(host_header(Some("http"), &a), "127.0.0.1:5000");
    }

    /// A request signed at a fixed time with the AWS documentation's example key has the
    /// canonical SigV4 shape: scope, signed headers (the target header included) and a
    /// 64-hex signature, and the session token is sent.
    #[test]
    fn requests_are_signed_with_the_target_and_token() {
        let sdk = SdkConfig::builder()
            .region(aws_types::region::Region::new("eu-west-1"))
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "AKIDEXAMPLE",
                "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                Some("session-token".into()),
                None,
                "test",
            )))
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let client = Client::new(Service::Ecs, &sdk, Duration::from_secs(1)).expect("client");
        assert_eq!(client.endpoint(), "https://ecs.eu-west-1.amazonaws.com");
        let credentials = Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            Some("session-token".into()),
            None,
            "test",
        );
        let call = Call::ecs(
            "DescribeServices",
            serde_json::json!({"cluster": "main", "services": ["web"]}),
            false,
        );
        let body = Bytes::from(serde_json::to_vec(&call.body).expect("json"));
        let request = client.request(&call, &body, &credentials).expect("signed");
        let headers = request.headers();
        let auth = headers.get("authorization").expect("signed");
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"),
            "{auth}"
        );
        assert!(auth.contains("/eu-west-1/ecs/aws4_request"), "{auth}");
        assert!(
            auth.contains(
                "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target"
            ),
            "{auth}"
        );
        let signature = auth.rsplit("Signature=").next().expect("signature");
        assert_eq!(signature.len(), 64);
        assert_eq!(headers.get("x-amz-security-token"), Some("session-token"));
        assert_eq!(
            headers.get("x-amz-target"),
            Some("AmazonEC2ContainerServiceV20141113.DescribeServices")
        );
        assert_eq!(
            headers.get("content-type"),
            Some("application/x-amz-json-1.1")
        );
        assert_eq!(headers.get("host"), Some("ecs.eu-west-1.amazonaws.com"));
        // The Debug form never shows credentials.
        assert!(!format!("{client:?}").contains("EXAMPLEKEY"));
    }
}
