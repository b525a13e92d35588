//! What every AWS backend shares: one lazily loaded SDK configuration with bounded waits,
//! the HTTPS client on `ring`, and the reading of SDK errors into the classes people can
//! act on.
//!
//! ECR, S3, ECS and Lambda clients are all built from a [`Session`] (ECS and Lambda through
//! the small signed-JSON client in `json.rs`, not generated SDK clients). A session does no
//! I/O and starts no runtime until its first call, so a push without release tags, or a
//! command that never reaches AWS, pays nothing (FACTS.md: off EC2, an unbounded
//! credential chain probes instance metadata for seconds). Each backend keeps its own
//! session: the trait callers stay synchronous, and tokio stays off the paths that never
//! touch AWS.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use tokio::time::Instant;

mod errors;
mod https;
#[cfg(feature = "aws-json")]
pub(crate) mod json;
mod wording;

#[cfg(feature = "s3")]
pub(crate) use errors::xml_field;
pub use errors::{
    diagnose, error_chain, login_hint, no_credentials_cause, one_line, Diagnosis, ServiceAnswer,
};
pub use wording::{no_credentials, Class, Quote, Resolved, Voice, Worded};

/// The longest single attempt; the operation as a whole is bounded by the session timeout.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);

/// How a backend wants its AWS calls made.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Settings {
    /// The service's name in messages, like `ECR` or `S3`.
    pub service: &'static str,
    /// The suffix of the service's own endpoint variable (`AWS_ENDPOINT_URL_<suffix>`),
    /// like `ECR` or `S3`.
    pub endpoint_env: &'static str,
    /// The region from `git-release.toml`, which wins over the AWS chain's.
    pub region: Option<String>,
    /// Where the region key lives, for the hint when none is found (`[registry] region`).
    pub region_key: String,
    /// The bound on one whole operation, retries included.
    pub timeout: Duration,
    /// The bound on opening a connection.
    pub connect_timeout: Duration,
}

/// A loaded SDK configuration with its runtime, shared by every session of the same
/// [`Settings`] in one process.
#[derive(Debug)]
pub struct Loaded {
    /// The runtime every call of this configuration runs on. Current-thread: callers
    /// block, and tokio lets several threads block on it at once (the first drives the
    /// I/O for all), which is how `status` reads a hundred targets concurrently.
    pub runtime: tokio::runtime::Runtime,
    /// The resolved configuration: region, credentials provider, endpoint override.
    pub sdk: SdkConfig,
    /// The signed-JSON client (ECS, Lambda) of this configuration, built on first use:
    /// one connection pool and one credentials cache for all its targets.
    #[cfg(feature = "aws-json")]
    pub(crate) json: OnceLock<Result<json::Client, json::ClientError>>,
}

/// What a session's first call loads: the configuration, or why it could not be.
type Shared = Arc<OnceLock<Result<Arc<Loaded>, SessionError>>>;

/// The configurations loaded in this process, by settings. A `status` over fifty services
/// in two live environments opens a hundred targets with two distinct settings: they load
/// `~/.aws/config` and resolve credentials twice, not a hundred times.
fn shared(settings: &Settings) -> Shared {
    static LOADED: OnceLock<Mutex<HashMap<Settings, Shared>>> = OnceLock::new();
    let map = LOADED.get_or_init(|| Mutex::new(HashMap::new()));
    // A panic while the map was held cannot leave it inconsistent (one insert).
    let mut map = map
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    map.entry(settings.clone()).or_default().clone()
}

/// Why a session could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// The async runtime could not start (an exhausted system).
    #[error("cannot start the async runtime for {service}: {reason}")]
    Runtime {
        /// The AWS service.
        service: &'static str,
        /// What the OS said.
        reason: String,
    },
    /// Loading the configuration (profile files, SSO cache) took longer than the timeout.
    #[error("loading the AWS configuration for {service} took longer than {seconds} s")]
    Timeout {
        /// The AWS service.
        service: &'static str,
        /// The bound that passed.
        seconds: u64,
    },
    /// Neither `git-release.toml` nor the AWS environment names a region.
    #[error("no AWS region for {service}: git-release.toml has no {key} and the AWS environment names none")]
    NoRegion {
        /// The AWS service.
        service: &'static str,
        /// The config key that would set it.
        key: String,
    },
}

impl SessionError {
    /// What to do about it.
    pub fn hint(&self) -> String {
        match self {
            SessionError::Runtime { .. } => "this is a bug or an exhausted system; retry".into(),
            SessionError::Timeout { .. } => "check ~/.aws/config and your network, then retry".into(),
            SessionError::NoRegion { key, .. } => format!(
                "set `{key}` in git-release.toml (like region = \"eu-west-1\"), or export AWS_REGION"
            ),
        }
    }
}

/// One backend's lazily loaded AWS configuration.
#[derive(Debug)]
pub struct Session {
    settings: Settings,
    loaded: OnceLock<Result<Arc<Loaded>, SessionError>>,
}

impl Session {
    /// Prepares a session; nothing is loaded until [`Session::load`].
    pub fn new(settings: Settings) -> Session {
        Session {
            settings,
            loaded: OnceLock::new(),
        }
    }

    /// The settings the session was made with.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Whether the SDK was initialised (tests and benchmarks assert laziness).
    pub fn initialised(&self) -> bool {
        self.loaded.get().is_some()
    }

    /// The bound on one operation.
    pub fn timeout(&self) -> Duration {
        self.settings.timeout.max(Duration::from_secs(1))
    }

    /// The instant by which an operation started now must have finished.
    pub fn deadline(&self) -> Instant {
        Instant::now() + self.timeout()
    }

    /// The loaded configuration, if a previous call loaded it.
    pub fn loaded(&self) -> Option<&Loaded> {
        self.loaded.get().and_then(|l| l.as_deref().ok())
    }

    /// Builds the runtime and loads the AWS configuration, once per process and settings
    /// (another session of the same settings shares it), bounded by `deadline`.
    pub fn load(&self, deadline: Instant) -> Result<&Loaded, SessionError> {
        self.loaded
            .get_or_init(|| {
                shared(&self.settings)
                    .get_or_init(|| self.build(deadline).map(Arc::new))
                    .clone()
            })
            .as_deref()
            .map_err(Clone::clone)
    }

    fn build(&self, deadline: Instant) -> Result<Loaded, SessionError> {
        let service = self.settings.service;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| SessionError::Runtime {
                service,
                reason: e.to_string(),
            })?;
        let timeout = self.timeout();
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(self.settings.connect_timeout.max(Duration::from_secs(1)))
            .operation_attempt_timeout(ATTEMPT_TIMEOUT.min(timeout))
            .operation_timeout(timeout)
            .build();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(https::https_client())
            .timeout_config(timeouts)
            .retry_config(RetryConfig::standard().with_max_attempts(3));
        // The configured region wins, so nothing waits on instance metadata off EC2.
        if let Some(region) = &self.settings.region {
            loader = loader.region(Region::new(region.clone()));
        }
        let sdk = block_on_until(&runtime, deadline, loader.load()).map_err(|_| {
            SessionError::Timeout {
                service,
                seconds: timeout.as_secs(),
            }
        })?;
        // Without a region every call fails deep in the SDK with a message that does not
        // say where to set it; say it here, before any call.
        if sdk.region().is_none() {
            return Err(SessionError::NoRegion {
                service,
                key: self.settings.region_key.clone(),
            });
        }
        Ok(Loaded {
            runtime,
            sdk,
            #[cfg(feature = "aws-json")]
            json: OnceLock::new(),
        })
    }

    /// The region calls go to: the configured one, the loaded chain's, or the
    /// environment's (read without the SDK, for messages before anything is loaded).
    pub fn region_name(&self) -> Option<String> {
        self.settings
            .region
            .clone()
            .or_else(|| {
                self.loaded()
                    .and_then(|l| l.sdk.region().map(ToString::to_string))
            })
            .or_else(|| env_region().map(|(_, region)| region))
    }

    /// The endpoint override (`AWS_ENDPOINT_URL_<SERVICE>` or `AWS_ENDPOINT_URL`), if any.
    pub fn endpoint_override(&self) -> Option<String> {
        if let Some(url) = self.loaded().and_then(|l| l.sdk.endpoint_url()) {
            return Some(url.to_string());
        }
        [
            format!("AWS_ENDPOINT_URL_{}", self.settings.endpoint_env),
            "AWS_ENDPOINT_URL".to_string(),
        ]
        .iter()
        .find_map(|var| std::env::var(var).ok().filter(|v| !v.is_empty()))
    }

    /// Runs `future` on the session's runtime, giving up at `deadline`.
    pub fn block_on<F: std::future::Future>(
        &self,
        loaded: &Loaded,
        deadline: Instant,
        future: F,
    ) -> Result<F::Output, tokio::time::error::Elapsed> {
        block_on_until(&loaded.runtime, deadline, future)
    }
}

/// Runs `future` on `runtime`, giving up at `deadline` (the timer needs the runtime's context).
pub fn block_on_until<F: std::future::Future>(
    runtime: &tokio::runtime::Runtime,
    deadline: Instant,
    future: F,
) -> Result<F::Output, tokio::time::error::Elapsed> {
    runtime.block_on(async move { tokio::time::timeout_at(deadline, future).await })
}

/// The region from the environment, read without the SDK (for messages only).
pub fn env_region() -> Option<(&'static str, String)> {
    ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .into_iter()
        .find_map(|var| {
            std::env::var(var)
                .ok()
                .filter(|v| !v.is_empty())
                .map(|v| (var, v))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            service: "S3",
            endpoint_env: "S3",
            region: Some("eu-west-1".into()),
            region_key: "[registries.lambda] region".into(),
            timeout: Duration::from_secs(3),
            connect_timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn a_new_session_loads_nothing() {
        let session = Session::new(settings());
        assert!(!session.initialised());
        assert_eq!(session.region_name().as_deref(), Some("eu-west-1"));
    }

    #[test]
    fn the_no_region_hint_names_the_key() {
        let e = SessionError::NoRegion {
            service: "S3",
            key: "[registries.lambda] region".into(),
        };
        assert!(e.to_string().contains("[registries.lambda] region"), "{e}");
        assert!(
            e.hint().contains("[registries.lambda] region"),
            "{}",
            e.hint()
        );
    }
}
