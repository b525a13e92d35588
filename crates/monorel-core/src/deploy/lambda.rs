//! Lambda functions: publish a version with the release's code and move an alias to it.
//!
//! The calls, in order: `GetFunction` (`$LATEST`: its revision id, and whether an update
//! is still in progress), `GetAlias` and `GetFunction` of the alias's version (what runs
//! now), `UpdateFunctionCode` with `Publish = true` and the revision id (so a concurrent
//! change fails instead of being overwritten), `GetFunctionConfiguration` of the new
//! version until `LastUpdateStatus` is `Successful`, then `UpdateAlias` with the alias's
//! revision id. A missing alias is created (`CreateAlias`): the first deploy to an
//! environment is what makes it, and nothing else would route to it before.
//!
//! The code is a [`Code`]: an image by digest (`ImageUri`), or an S3 object at one
//! version (`S3Bucket`/`S3Key`/`S3ObjectVersion`, in the function's region). Whether an
//! object already runs cannot be told from `GetFunction` (it answers a presigned URL),
//! so only images are recognised as already running.

use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use aws_sdk_lambda::error::SdkError;
use aws_sdk_lambda::types::LastUpdateStatus;
use aws_sdk_lambda::Client;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::rollout::{Clock, Progress, SystemClock};
use super::target::{
    aws_failure, AwsFailure, Change, Code, Deployed, Observer, Options, Request, Running, Target,
    TargetError,
};
use crate::aws::{Loaded, Session, Settings};
use crate::config::LiveTarget;
use crate::text;

/// How often a function update is polled.
const POLL_INTERVAL: Duration = Duration::from_secs(2);

/// The bound on one Lambda call, retries included.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// One Lambda function's alias in one environment.
#[derive(Debug)]
pub struct Lambda {
    function: String,
    alias: String,
    session: Session,
    client: OnceLock<Client>,
}

/// The alias as it is now.
struct Alias {
    version: String,
    revision_id: Option<String>,
}

impl Lambda {
    /// Prepares the target; nothing is loaded or called until the first operation.
    pub fn new(env: &str, live: &LiveTarget) -> Lambda {
        let (function, alias, region) = match live {
            LiveTarget::Lambda {
                function,
                alias,
                region,
            } => (function.clone(), alias.clone(), region.clone()),
            LiveTarget::Ecs { service, .. } => (service.clone(), env.to_string(), None),
        };
        Lambda {
            function,
            alias,
            session: Session::new(Settings {
                service: "Lambda",
                endpoint_env: "LAMBDA",
                region,
                region_key: format!("[environments.{}] region", text::line(env)),
                timeout: CALL_TIMEOUT,
                connect_timeout: Duration::from_secs(2),
            }),
            client: OnceLock::new(),
        }
    }

    fn what(&self) -> String {
        format!(
            "Lambda function `{}` alias `{}`",
            text::line(&self.function),
            text::line(&self.alias)
        )
    }

    fn backend(&self) -> Result<(&Loaded, &Client), TargetError> {
        let loaded = self
            .session
            .load(self.session.deadline())
            .map_err(|e| TargetError::Aws {
                kind: AwsFailure::Unavailable,
                message: e.to_string(),
                hint: e.hint(),
            })?;
        Ok((loaded, self.client.get_or_init(|| Client::new(&loaded.sdk))))
    }

    /// Runs one call; `Ok(None)` when Lambda answers `ResourceNotFoundException` and
    /// `missing_ok`.
    fn call<T, E, F>(
        &self,
        operation: &str,
        missing_ok: bool,
        make: impl FnOnce(&Client) -> F,
    ) -> Result<Option<T>, TargetError>
    where
        F: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let (loaded, client) = self.backend()?;
        let region = self.session.region_name().unwrap_or_else(|| "?".into());
        match self
            .session
            .block_on(loaded, self.session.deadline(), make(client))
        {
            Ok(Ok(out)) => Ok(Some(out)),
            Ok(Err(e)) if missing_ok && e.code() == Some("ResourceNotFoundException") => Ok(None),
            Ok(Err(e)) => Err(aws_failure(
                &format!("Lambda {operation} for {} ({region})", self.what()),
                &e,
                &["ResourceNotFoundException"],
                &format!("Lambda function `{}`", text::line(&self.function)),
                &region,
            )),
            Err(_) => Err(TargetError::Aws {
                kind: AwsFailure::Unavailable,
                message: format!(
                    "Lambda {operation} for {} did not answer within {} s",
                    self.what(),
                    self.session.timeout().as_secs()
                ),
                hint: "check the network and AWS_ENDPOINT_URL, then retry".into(),
            }),
        }
    }

    fn alias(&self) -> Result<Option<Alias>, TargetError> {
        let out = self.call("GetAlias", true, |c| {
            c.get_alias()
                .function_name(&self.function)
                .name(&self.alias)
                .send()
        })?;
        Ok(out.map(|a| Alias {
            version: a.function_version().unwrap_or("$LATEST").to_string(),
            revision_id: a.revision_id().map(str::to_string),
        }))
    }

    /// What one version of the function runs.
    fn version_code(&self, version: &str) -> Result<Running, TargetError> {
        let out = self
            .call("GetFunction", false, |c| {
                c.get_function()
                    .function_name(&self.function)
                    .qualifier(version)
                    .send()
            })?
            .ok_or_else(|| self.not_found())?;
        let code = out
            .code()
            .and_then(|c| c.image_uri())
            .map(|uri| Code::Image {
                uri: uri.to_string(),
            });
        // A zip package is known by its checksum only (GetFunction answers a presigned
        // URL of Lambda's own copy, not the S3 object it came from).
        let code_sha256 = out
            .configuration()
            .and_then(|c| c.code_sha256())
            .filter(|_| code.is_none())
            .map(str::to_string);
        Ok(Running {
            revision: version.to_string(),
            code,
            recorded_tag: None,
            code_sha256,
        })
    }

    fn not_found(&self) -> TargetError {
        TargetError::NotFound {
            what: format!("Lambda function `{}`", text::line(&self.function)),
            where_: format!(
                " in {}",
                self.session.region_name().unwrap_or_else(|| "?".into())
            ),
        }
    }

    /// Polls the new version until Lambda says its update succeeded or failed.
    fn wait_successful(
        &self,
        version: &str,
        timeout: Duration,
        observer: &mut dyn Observer,
        previous: &Running,
    ) -> Result<(), TargetError> {
        let mut clock = SystemClock::default();
        let mut last = String::new();
        loop {
            let out = self
                .call("GetFunctionConfiguration", false, |c| {
                    c.get_function_configuration()
                        .function_name(&self.function)
                        .qualifier(version)
                        .send()
                })?
                .ok_or_else(|| self.not_found())?;
            let status = out
                .last_update_status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_else(|| "Successful".into());
            if status != last {
                observer.progress(&Progress {
                    state: status.clone(),
                    ..Progress::default()
                });
                last = status.clone();
            }
            match out.last_update_status() {
                None | Some(LastUpdateStatus::Successful) => return Ok(()),
                Some(LastUpdateStatus::Failed) => {
                    return Err(TargetError::Failed {
                        what: self.what(),
                        revision: format!("version {version}"),
                        reason: text::line(
                            out.last_update_status_reason()
                                .unwrap_or("Lambda reported the update Failed"),
                        )
                        .into_owned(),
                        previous: Box::new(previous.clone()),
                    })
                }
                _ => {}
            }
            if clock.now() >= timeout {
                return Err(TargetError::TimedOut {
                    what: self.what(),
                    revision: format!("version {version}"),
                    seconds: timeout.as_secs(),
                    last: status,
                    previous: Box::new(previous.clone()),
                });
            }
            clock.sleep(POLL_INTERVAL);
        }
    }
}

impl Target for Lambda {
    fn describe(&self) -> String {
        match self.session.region_name() {
            Some(region) => format!("{} ({})", self.what(), text::line(&region)),
            None => self.what(),
        }
    }

    fn deploy(
        &self,
        request: &Request,
        options: Options,
        observer: &mut dyn Observer,
    ) -> Result<Deployed, TargetError> {
        observer.step(&format!("reading {}", self.describe()));
        let latest = self
            .call("GetFunction", false, |c| {
                c.get_function().function_name(&self.function).send()
            })?
            .ok_or_else(|| self.not_found())?;
        let config = latest.configuration();
        let alias = self.alias()?;
        let previous = match &alias {
            Some(a) => self.version_code(&a.version)?,
            None => Running::default(),
        };
        if alias.is_some()
            && request.code.digest().is_some()
            && previous.digest() == request.code.digest()
        {
            return Ok(Deployed {
                changed: false,
                dry_run: options.dry_run,
                previous,
                revision: None,
                changes: Vec::new(),
                waited: false,
            });
        }
        if config.and_then(|c| c.last_update_status()) == Some(&LastUpdateStatus::InProgress)
            && !options.force
        {
            return Err(TargetError::InProgress {
                what: format!("Lambda function `{}`", text::line(&self.function)),
                detail: "its last update is InProgress".into(),
            });
        }
        let changes = vec![
            Change {
                what: format!(
                    "Lambda function `{}`, code (published as a new version)",
                    text::line(&self.function)
                ),
                from: previous
                    .code
                    .as_ref()
                    .map(|c| text::line(&c.to_string()).into_owned())
                    .unwrap_or_else(|| "-".into()),
                to: text::line(&request.code.to_string()).into_owned(),
            },
            Change {
                what: format!("alias `{}`, version", text::line(&self.alias)),
                from: alias
                    .as_ref()
                    .map(|a| text::line(&a.version).into_owned())
                    .unwrap_or_else(|| "- (created)".into()),
                to: "<new version>".into(),
            },
        ];
        if options.dry_run {
            return Ok(Deployed {
                changed: true,
                dry_run: true,
                previous,
                revision: None,
                changes,
                waited: false,
            });
        }
        observer.step(&format!(
            "publishing {}",
            text::line(&request.code.to_string())
        ));
        let revision_id = config.and_then(|c| c.revision_id()).map(str::to_string);
        let updated = self
            .call("UpdateFunctionCode", false, |c| {
                let call = c
                    .update_function_code()
                    .function_name(&self.function)
                    .publish(true)
                    .set_revision_id(revision_id);
                let call = match &request.code {
                    Code::Image { uri } => call.image_uri(uri),
                    Code::Object {
                        bucket,
                        key,
                        version,
                    } => call
                        .s3_bucket(bucket)
                        .s3_key(key)
                        .s3_object_version(version),
                };
                call.send()
            })?
            .ok_or_else(|| self.not_found())?;
        let version = updated.version().map(str::to_string).ok_or_else(|| {
            TargetError::Malformed("Lambda answered UpdateFunctionCode without a version".into())
        })?;
        let timeout = options.wait.unwrap_or(Duration::from_secs(600));
        self.wait_successful(&version, timeout, observer, &previous)?;
        observer.step(&format!(
            "moving alias {} to version {version}",
            text::line(&self.alias)
        ));
        match &alias {
            Some(a) => {
                self.call("UpdateAlias", false, |c| {
                    c.update_alias()
                        .function_name(&self.function)
                        .name(&self.alias)
                        .function_version(&version)
                        .set_revision_id(a.revision_id.clone())
                        .send()
                })?;
            }
            None => {
                self.call("CreateAlias", false, |c| {
                    c.create_alias()
                        .function_name(&self.function)
                        .name(&self.alias)
                        .function_version(&version)
                        .send()
                })?;
            }
        }
        Ok(Deployed {
            changed: true,
            dry_run: false,
            previous,
            revision: Some(version),
            changes,
            waited: true,
        })
    }

    fn running(&self) -> Result<Running, TargetError> {
        match self.alias()? {
            Some(a) => self.version_code(&a.version),
            None => Err(TargetError::NotFound {
                what: self.what(),
                where_: format!(
                    " in {}",
                    self.session.region_name().unwrap_or_else(|| "?".into())
                ),
            }),
        }
    }
}
