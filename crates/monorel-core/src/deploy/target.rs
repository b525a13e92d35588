//! Where a release runs, behind one trait: apply a release, read what runs now.
//!
//! Terraform environments (the rest of `deploy`) only pin a release in a file; live
//! environments (`ecs`, `lambda`) change what runs. Both answer the same two questions,
//! so `deploy` and `status` never match on a backend: [`Target::deploy`] puts a release's
//! code in place by an immutable reference (an image by digest, an object by version),
//! and [`Target::running`] says what runs now, with the release tag recorded on it when
//! there is one. A target that is not compiled in fails closed ([`NotBuilt`]).

use std::time::Duration;

use serde::Serialize;

use super::rollout::Progress;
use crate::config::LiveTarget;

/// The release tag recorded on what a deploy creates (an ECS task-definition tag), so
/// `status` and a rollback can name the release without asking the registry.
pub const RELEASE_TAG_KEY: &str = "git-release-tag";

/// A release's code, by immutable reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Code {
    /// A container image, `<repository uri>@sha256:<digest>`.
    Image {
        /// The image reference by digest.
        uri: String,
    },
    /// An S3 object at one version (Lambda zip packages).
    Object {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// The object's version id.
        version: String,
        /// The base64 SHA-256 of the object, when S3 has it: what Lambda reports as the
        /// `CodeSha256` of a function running this zip, so a deploy of the release that
        /// already runs changes nothing.
        #[serde(skip_serializing_if = "Option::is_none")]
        sha256: Option<String>,
    },
}

impl Code {
    /// The image digest (`sha256:…`) of an image reference, if it is one by digest.
    pub fn digest(&self) -> Option<&str> {
        match self {
            Code::Image { uri } => digest_of(uri),
            Code::Object { .. } => None,
        }
    }

    /// Whether `running` runs this code: the same image digest, or a zip with the same
    /// SHA-256. Unknown on either side is "no": a deploy then goes ahead.
    pub fn runs_on(&self, running: &Running) -> bool {
        match self {
            Code::Image { .. } => self.digest().is_some() && running.digest() == self.digest(),
            Code::Object { sha256, .. } => {
                sha256.is_some() && running.code_sha256.as_deref() == sha256.as_deref()
            }
        }
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Code::Image { uri } => f.write_str(uri),
            Code::Object {
                bucket,
                key,
                version,
                ..
            } => write!(f, "s3://{bucket}/{key}?versionId={version}"),
        }
    }
}

/// Returns the `sha256:…` digest of an image reference like `repo@sha256:…`.
pub fn digest_of(image: &str) -> Option<&str> {
    image
        .rsplit_once('@')
        .map(|(_, digest)| digest)
        .filter(|d| crate::text::Digest::parse(d).is_ok())
}

/// What a deploy puts in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The release tag.
    pub tag: String,
    /// The release's code.
    pub code: Code,
}

/// How a deploy goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Read and plan only: nothing is registered, updated or published.
    pub dry_run: bool,
    /// Go ahead while another rollout of the same service is in progress.
    pub force: bool,
    /// How long to follow the rollout; `None` returns right after the update (`--no-wait`).
    pub wait: Option<Duration>,
}

/// What runs in a live environment now.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Running {
    /// The revision that runs: `family:revision` for ECS, the version for Lambda.
    pub revision: String,
    /// Its code, when it is known.
    pub code: Option<Code>,
    /// The release tag recorded on the revision ([`RELEASE_TAG_KEY`]), if any.
    pub recorded_tag: Option<String>,
    /// The base64 SHA-256 of the zip package that runs (Lambda's `CodeSha256`), when the
    /// code is no image. Lambda cannot say which S3 object a version came from, but this
    /// is the checksum S3 keeps for a single-part upload, so `status` names a running
    /// zip by the release object whose checksum it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code_sha256: Option<String>,
}

impl Running {
    /// The image digest that runs, if the code is an image by digest.
    pub fn digest(&self) -> Option<&str> {
        self.code.as_ref().and_then(Code::digest)
    }
}

/// One field a deploy changes (what `--dry-run` prints).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// What is changed, like `task definition web:7, container web, image`.
    pub what: String,
    /// The value now.
    pub from: String,
    /// The value after the deploy.
    pub to: String,
}

/// The result of a deploy that did not fail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deployed {
    /// False when the release already ran (nothing registered, nothing updated).
    pub changed: bool,
    /// True for `--dry-run`: `changes` were planned, nothing was done.
    pub dry_run: bool,
    /// What ran before.
    pub previous: Running,
    /// The new revision (`family:revision`, or the Lambda version), when one was made.
    pub revision: Option<String>,
    /// The changes, planned or made.
    pub changes: Vec<Change>,
    /// Whether the rollout was followed to completion (false with `--no-wait`).
    pub waited: bool,
}

/// Hears what a deploy does, for the binary to show (a spinner and progress bar on a
/// terminal, one line per change in CI). The library never prints.
pub trait Observer {
    /// A step starts, like `registering web:8`.
    fn step(&mut self, message: &str);
    /// The rollout's counts or state changed.
    fn progress(&mut self, progress: &Progress);
}

/// An observer that ignores everything (scripts, tests).
#[derive(Debug, Default)]
pub struct Quiet;

impl Observer for Quiet {
    fn step(&mut self, _message: &str) {}
    fn progress(&mut self, _progress: &Progress) {}
}

/// The class of an AWS failure, which fixes the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AwsFailure {
    /// Could not ask: timeout, unreachable, throttled, no credentials, a server error.
    Unavailable,
    /// The credentials lack a permission.
    AccessDenied,
    /// Anything else the service said (a refusal of the request itself).
    Refused,
}

/// The error returned by [`Target::deploy`] and [`Target::running`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// The target kind is not compiled into this build.
    #[error("environment `{env}` is kind = \"{kind}\", but this git-release was built without the `{kind}` feature")]
    NotBuilt {
        /// The environment.
        env: String,
        /// `ecs` or `lambda`.
        kind: &'static str,
    },
    /// The service, cluster, function or task definition does not exist.
    #[error("{what} does not exist{where_}")]
    NotFound {
        /// What was looked for.
        what: String,
        /// Where (region, cluster), with a leading space, or empty.
        where_: String,
    },
    /// The task definition has no container of the configured name.
    #[error("task definition {task_definition} has no container `{container}` (its containers: {}); set `container` for this environment in git-release.toml", .containers.join(", "))]
    ContainerMissing {
        /// The configured container name.
        container: String,
        /// `family:revision`.
        task_definition: String,
        /// The containers it has.
        containers: Vec<String>,
    },
    /// Another rollout of the same service is still in progress.
    #[error("{what} has a rollout in progress ({detail}); nothing was changed")]
    InProgress {
        /// The service or function.
        what: String,
        /// Its deployment and state.
        detail: String,
    },
    /// The rollout failed (circuit breaker, failed update, replaced deployment).
    #[error("the rollout of {revision} to {what} failed: {reason}")]
    Failed {
        /// The service or function.
        what: String,
        /// The new revision.
        revision: String,
        /// Why, in the service's words.
        reason: String,
        /// What ran before, for the rollback.
        previous: Box<Running>,
    },
    /// The rollout did not finish within the timeout.
    #[error("the rollout of {revision} to {what} did not finish within {seconds} s ({last})")]
    TimedOut {
        /// The service or function.
        what: String,
        /// The new revision.
        revision: String,
        /// The timeout.
        seconds: u64,
        /// The last state seen.
        last: String,
        /// What ran before, for the rollback.
        previous: Box<Running>,
    },
    /// The service went away while its rollout was followed.
    #[error("{what} was deleted while {revision} rolled out (status {status})")]
    Gone {
        /// The service.
        what: String,
        /// The new revision.
        revision: String,
        /// The last status seen (`INACTIVE`, `DRAINING`, `MISSING`).
        status: String,
        /// What ran before.
        previous: Box<Running>,
    },
    /// AWS could not be asked, or refused the call.
    #[error("{message}")]
    Aws {
        /// The class, which fixes the exit code.
        kind: AwsFailure,
        /// What failed, on one line.
        message: String,
        /// What to do.
        hint: String,
    },
    /// An answer that cannot be used (a container image that is not a string, …).
    #[error("{0}")]
    Malformed(String),
}

impl TargetError {
    /// What ran before a failed rollout, for the rollback command.
    pub fn previous(&self) -> Option<&Running> {
        match self {
            TargetError::Failed { previous, .. }
            | TargetError::TimedOut { previous, .. }
            | TargetError::Gone { previous, .. } => Some(previous),
            _ => None,
        }
    }
}

/// A place where releases run.
pub trait Target {
    /// Names the target for messages, like `ECS service web in cluster main (eu-west-1)`.
    fn describe(&self) -> String;

    /// Puts `request`'s code in place, or with [`Options::dry_run`] says what would change.
    /// When that code already runs, succeeds with `changed = false` and changes nothing.
    fn deploy(
        &self,
        request: &Request,
        options: Options,
        observer: &mut dyn Observer,
    ) -> Result<Deployed, TargetError>;

    /// Reads what runs now.
    fn running(&self) -> Result<Running, TargetError>;
}

/// Reads what runs on many targets at once, at most `bound` at a time, in the order given.
///
/// Each target keeps its own blocking client, so the reads run on scoped threads; the
/// bound keeps a status over hundreds of services from opening hundreds of connections.
/// The threads take the next read as soon as they finish one (a sliding window, not
/// batches that wait for their slowest read), so one slow environment does not hold up
/// the reads behind it.
pub fn running_all(
    targets: &[&(dyn Target + Sync)],
    bound: usize,
) -> Vec<Result<Running, TargetError>> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    let next = AtomicUsize::new(0);
    let out: Mutex<Vec<Option<Result<Running, TargetError>>>> =
        Mutex::new(vec![None; targets.len()]);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..bound.max(1).min(targets.len()))
            .map(|_| {
                scope.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(target) = targets.get(i) else {
                        break;
                    };
                    let result = target.running();
                    if let Ok(mut out) = out.lock() {
                        out[i] = Some(result);
                    }
                })
            })
            .collect();
        // Joined here, so a panicking read is not re-raised when the scope ends.
        for worker in workers {
            let _ = worker.join();
        }
    });
    // A read that panicked left its slot empty (and may have poisoned the lock): it
    // reads as failed, never as an answer.
    let out = match out.into_inner() {
        Ok(out) => out,
        Err(poisoned) => poisoned.into_inner(),
    };
    out.into_iter()
        .map(|r| r.unwrap_or_else(|| Err(TargetError::Malformed("a live read panicked".into()))))
        .collect()
}

/// Sorts a failed AWS call of a deploy target into a [`TargetError`]: `head` says which
/// call failed; an answer with one of `not_found` codes means `what` does not exist.
#[cfg(any(feature = "ecs", feature = "lambda"))]
pub(crate) fn aws_failure(
    head: &str,
    diagnosis: crate::aws::Diagnosis,
    not_found: &[&str],
    what: &str,
    region: &str,
) -> TargetError {
    use crate::aws::{login_hint, no_credentials_cause, Diagnosis};
    let unavailable = |message: String, hint: String| TargetError::Aws {
        kind: AwsFailure::Unavailable,
        message,
        hint,
    };
    match diagnosis {
        Diagnosis::Timeout => unavailable(
            format!("{head} timed out"),
            "check the network and AWS_ENDPOINT_URL, then retry".into(),
        ),
        Diagnosis::Unreachable(reason) => unavailable(
            format!("{head} failed: cannot reach AWS ({})", crate::text::line(&reason)),
            "check the network, the region and AWS_ENDPOINT_URL".into(),
        ),
        Diagnosis::NoCredentials(cause) => unavailable(
            format!("{head} failed: {}", no_credentials_cause(&cause)),
            login_hint(),
        ),
        Diagnosis::RejectedCredentials(answer) => unavailable(
            format!("{head} was refused: {}", answer.describe()),
            login_hint(),
        ),
        Diagnosis::Throttled(answer) => unavailable(
            format!("{head} was throttled: {}", answer.describe()),
            "retry in a minute".into(),
        ),
        Diagnosis::Answer(answer) if answer.is_access_denied() => TargetError::Aws {
            kind: AwsFailure::AccessDenied,
            message: format!("{head} was denied: {}", answer.describe()),
            hint: "grant the deploying role the actions listed in docs/guide.md (\"from :latest to releases on ECS\")".into(),
        },
        Diagnosis::Answer(answer) if not_found.contains(&answer.code.as_str()) => {
            TargetError::NotFound {
                what: what.to_string(),
                where_: format!(" in {region} ({})", answer.describe()),
            }
        }
        Diagnosis::Answer(answer) if answer.is_server_error() => unavailable(
            format!("{head} failed: {}", answer.describe()),
            "AWS had a server error; retry".into(),
        ),
        Diagnosis::Answer(answer) => TargetError::Aws {
            kind: AwsFailure::Refused,
            message: format!("{head} failed: {}", answer.describe()),
            hint: "check the environment's names and region in git-release.toml".into(),
        },
    }
}

/// Sends one call of a live target (`what`, for messages) through its session's shared
/// signed-JSON client of `service`, bounded by the session's timeout. The outer error is
/// what stops the call before any answer (no configuration, no client, no answer in
/// time); the inner one is the service's answer, for the target to read its own codes.
#[cfg(any(feature = "ecs", feature = "lambda"))]
pub(crate) fn json_call(
    session: &crate::aws::Session,
    service: crate::aws::json::Service,
    what: &str,
    call: &crate::aws::json::Call,
) -> Result<Result<serde_json::Value, crate::aws::Diagnosis>, TargetError> {
    let name = service.display();
    let loaded = session
        .load(session.deadline())
        .map_err(|e| TargetError::Aws {
            kind: AwsFailure::Unavailable,
            message: e.to_string(),
            hint: e.hint(),
        })?;
    let client = loaded
        .json
        .get_or_init(|| {
            crate::aws::json::Client::new(service, &loaded.sdk, session.settings().connect_timeout)
        })
        .as_ref()
        .map_err(|e| TargetError::Aws {
            kind: AwsFailure::Unavailable,
            message: format!("cannot call {name} for {what}: {e}"),
            hint: e.hint(),
        })?;
    session
        .block_on(loaded, session.deadline(), client.send(call))
        .map_err(|_| TargetError::Aws {
            kind: AwsFailure::Unavailable,
            message: format!(
                "{name} {} for {what} did not answer within {} s",
                call.operation(),
                session.timeout().as_secs()
            ),
            hint: "check the network and AWS_ENDPOINT_URL, then retry".into(),
        })
}

/// A target whose kind is not compiled in: every call fails closed.
#[derive(Debug)]
pub struct NotBuilt {
    env: String,
    kind: &'static str,
}

impl Target for NotBuilt {
    fn describe(&self) -> String {
        format!("{} (not built in)", self.kind)
    }

    fn deploy(
        &self,
        _request: &Request,
        _options: Options,
        _observer: &mut dyn Observer,
    ) -> Result<Deployed, TargetError> {
        Err(self.error())
    }

    fn running(&self) -> Result<Running, TargetError> {
        Err(self.error())
    }
}

impl NotBuilt {
    fn error(&self) -> TargetError {
        TargetError::NotBuilt {
            env: self.env.clone(),
            kind: self.kind,
        }
    }
}

/// Returns the target for one service in one live environment. Building it does no I/O.
pub fn open(env: &str, live: &LiveTarget) -> Box<dyn Target + Send + Sync> {
    match live {
        #[cfg(feature = "ecs")]
        LiveTarget::Ecs { .. } => Box::new(super::ecs::Ecs::new(env, live)),
        #[cfg(not(feature = "ecs"))]
        LiveTarget::Ecs { .. } => Box::new(NotBuilt {
            env: env.to_string(),
            kind: "ecs",
        }),
        #[cfg(feature = "lambda")]
        LiveTarget::Lambda { .. } => Box::new(super::lambda::Lambda::new(env, live)),
        #[cfg(not(feature = "lambda"))]
        LiveTarget::Lambda { .. } => Box::new(NotBuilt {
            env: env.to_string(),
            kind: "lambda",
        }),
    }
}

/// Opens the targets of many cells (environment, where it runs) for reading what runs:
/// like [`open`] each, except that the ECS services of one cluster are read together
/// (`ecs::ServiceBatch`: ten per `DescribeServices`).
pub fn open_all(cells: &[(String, LiveTarget)]) -> Vec<Box<dyn Target + Send + Sync>> {
    #[cfg(feature = "ecs")]
    {
        let mut batches = super::ecs::batches(cells);
        cells
            .iter()
            .enumerate()
            .map(|(index, (env, live))| match batches.remove(&index) {
                Some(batch) => Box::new(super::ecs::Ecs::new(env, live).in_batch(batch))
                    as Box<dyn Target + Send + Sync>,
                None => open(env, live),
            })
            .collect()
    }
    #[cfg(not(feature = "ecs"))]
    cells.iter().map(|(env, live)| open(env, live)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_read_from_references_by_digest_only() {
        let d = format!("sha256:{}", "a".repeat(64));
        assert_eq!(digest_of(&format!("1.dkr.ecr/x@{d}")), Some(d.as_str()));
        assert_eq!(digest_of("1.dkr.ecr/x:latest"), None);
        assert_eq!(digest_of("x@sha256:zz"), None);
    }

    /// Target `i` answers its index; target 0 first waits for target 2 to have started.
    struct Waiting {
        index: usize,
        started: std::sync::mpsc::SyncSender<()>,
        wait: Option<std::sync::Mutex<std::sync::mpsc::Receiver<()>>>,
    }

    impl Target for Waiting {
        fn describe(&self) -> String {
            format!("target {}", self.index)
        }

        fn deploy(
            &self,
            _request: &Request,
            _options: Options,
            _observer: &mut dyn Observer,
        ) -> Result<Deployed, TargetError> {
            Err(TargetError::Malformed("not in this test".into()))
        }

        fn running(&self) -> Result<Running, TargetError> {
            let _ = self.started.send(());
            if let Some(wait) = &self.wait {
                let rx = wait.lock().expect("lock");
                rx.recv_timeout(std::time::Duration::from_secs(10))
                    .map_err(|_| TargetError::Malformed("target 2 never started".into()))?;
            }
            Err(TargetError::Malformed(format!("answer {}", self.index)))
        }
    }

    #[test]
    fn reads_slide_past_a_slow_one_and_keep_their_order() {
        // Bound 2, three reads: the first cannot finish before the third has started,
        // which batches of two would never do.
        let (to_first, first_waits) = std::sync::mpsc::sync_channel(1);
        let (ignored, _keep) = std::sync::mpsc::sync_channel(8);
        let targets = [
            Waiting {
                index: 0,
                started: ignored.clone(),
                wait: Some(std::sync::Mutex::new(first_waits)),
            },
            Waiting {
                index: 1,
                started: ignored.clone(),
                wait: None,
            },
            Waiting {
                index: 2,
                started: to_first,
                wait: None,
            },
        ];
        let refs: Vec<&(dyn Target + Sync)> =
            targets.iter().map(|t| t as &(dyn Target + Sync)).collect();
        let answers: Vec<String> = running_all(&refs, 2)
            .into_iter()
            .map(|r| r.expect_err("every fake read fails").to_string())
            .collect();
        for (i, answer) in answers.iter().enumerate() {
            assert!(answer.contains(&format!("answer {i}")), "{answers:?}");
        }
        assert!(running_all(&[], 4).is_empty());
    }

    #[test]
    fn not_built_fails_closed() {
        let t = NotBuilt {
            env: "stg".into(),
            kind: "ecs",
        };
        let e = t.running().expect_err("fails closed");
        assert!(
            e.to_string().contains("built without the `ecs` feature"),
            "{e}"
        );
    }
}
