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

use std::time::Duration;

use http::Method;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use super::rollout::{Clock, Progress, SystemClock};
use super::target::{
    aws_failure, json_call, Change, Code, Deployed, Observer, Options, Request, Running, Target,
    TargetError,
};
use crate::aws::json::{path, with_query, Call, Segment, Service};
use crate::aws::{Diagnosis, Session, Settings};
use crate::config::LiveTarget;
use crate::text;

/// How often a function update is polled.
const POLL_INTERVAL: Duration = Duration::from_secs(2);

/// The bound on one Lambda call, retries included.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// The Lambda API's version prefix of every function path.
const FUNCTIONS: &str = "/2015-03-31/functions/";

/// One Lambda function's alias in one environment.
#[derive(Debug)]
pub struct Lambda {
    function: String,
    alias: String,
    session: Session,
}

/// The alias as it is now.
struct Alias {
    version: String,
    revision_id: Option<String>,
}

/// A function's configuration, as far as it is read (`GetFunction`'s `Configuration`,
/// `GetFunctionConfiguration`, `UpdateFunctionCode`'s answer). Unknown fields are ignored.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Configuration {
    /// `Successful`, `Failed` or `InProgress`.
    last_update_status: Option<String>,
    /// Why, in Lambda's words.
    last_update_status_reason: Option<String>,
    /// The revision id, for the conditional update.
    revision_id: Option<String>,
    /// The version (`$LATEST` or a number).
    version: Option<String>,
    /// The base64 SHA-256 of the deployment package (a zip's; for an image, of its
    /// manifest).
    code_sha256: Option<String>,
}

/// Where a function's code is, as far as it is read.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct CodeLocation {
    /// The image, for image functions.
    image_uri: Option<String>,
}

/// A `GetFunction` answer.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Function {
    configuration: Option<Configuration>,
    code: Option<CodeLocation>,
}

/// A `GetAlias` answer.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct AliasConfiguration {
    function_version: Option<String>,
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
        }
    }

    fn what(&self) -> String {
        format!(
            "Lambda function `{}` alias `{}`",
            text::line(&self.function),
            text::line(&self.alias)
        )
    }

    /// The path of the function (its name or ARN one encoded segment), then `tail`.
    fn function_path(&self, tail: &[Segment<'_>]) -> String {
        let mut parts = vec![Segment::Literal(FUNCTIONS), Segment::Label(&self.function)];
        parts.extend_from_slice(tail);
        path(&parts)
    }

    /// Runs one call and reads its answer; `Ok(None)` when Lambda answers
    /// `ResourceNotFoundException` and `missing_ok`. Mutating calls are not retried once
    /// sent (aws/json.rs).
    fn call<T: DeserializeOwned>(
        &self,
        call: Call,
        missing_ok: bool,
    ) -> Result<Option<T>, TargetError> {
        let region = self.session.region_name().unwrap_or_else(|| "?".into());
        let operation = call.operation();
        let answer = match json_call(&self.session, Service::Lambda, &self.what(), &call)? {
            Ok(answer) => answer,
            Err(Diagnosis::Answer(a)) if missing_ok && a.code == "ResourceNotFoundException" => {
                return Ok(None)
            }
            Err(diagnosis) => {
                return Err(aws_failure(
                    &format!("Lambda {operation} for {} ({region})", self.what()),
                    diagnosis,
                    &["ResourceNotFoundException"],
                    &format!("Lambda function `{}`", text::line(&self.function)),
                    &region,
                ))
            }
        };
        serde_json::from_value(answer).map(Some).map_err(|e| {
            TargetError::Malformed(format!(
                "Lambda answered {operation} for {} with an answer that cannot be read ({})",
                self.what(),
                text::line(&e.to_string())
            ))
        })
    }

    /// `GetAlias`: `GET /2015-03-31/functions/{name}/aliases/{alias}`.
    fn alias(&self) -> Result<Option<Alias>, TargetError> {
        let path =
            self.function_path(&[Segment::Literal("/aliases/"), Segment::Label(&self.alias)]);
        let out: Option<AliasConfiguration> =
            self.call(Call::rest("GetAlias", Method::GET, path, None, false), true)?;
        Ok(out.map(|a| Alias {
            version: a.function_version.unwrap_or_else(|| "$LATEST".into()),
            revision_id: a.revision_id,
        }))
    }

    /// `GetFunction`: `GET /2015-03-31/functions/{name}[?Qualifier=…]`.
    fn get_function(&self, qualifier: Option<&str>) -> Result<Function, TargetError> {
        let path = match qualifier {
            Some(q) => with_query(self.function_path(&[]), &[("Qualifier", q)]),
            None => self.function_path(&[]),
        };
        self.call(
            Call::rest("GetFunction", Method::GET, path, None, false),
            false,
        )?
        .ok_or_else(|| self.not_found())
    }

    /// What one version of the function runs.
    fn version_code(&self, version: &str) -> Result<Running, TargetError> {
        Ok(running_of(version, self.get_function(Some(version))?))
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
            let path = with_query(
                self.function_path(&[Segment::Literal("/configuration")]),
                &[("Qualifier", version)],
            );
            let out: Configuration = self
                .call(
                    Call::rest("GetFunctionConfiguration", Method::GET, path, None, false),
                    false,
                )?
                .ok_or_else(|| self.not_found())?;
            let status = out
                .last_update_status
                .clone()
                .unwrap_or_else(|| "Successful".into());
            if status != last {
                observer.progress(&Progress {
                    state: status.clone(),
                    ..Progress::default()
                });
                last = status.clone();
            }
            match out.last_update_status.as_deref() {
                None | Some("Successful") => return Ok(()),
                Some("Failed") => {
                    return Err(TargetError::Failed {
                        what: self.what(),
                        revision: format!("version {version}"),
                        reason: text::line(
                            out.last_update_status_reason
                                .as_deref()
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
        let latest = self.get_function(None)?;
        let config = latest.configuration.as_ref();
        let alias = self.alias()?;
        let previous = match &alias {
            Some(a) => self.version_code(&a.version)?,
            None => Running::default(),
        };
        if alias.is_some() && request.code.runs_on(&previous) {
            return Ok(Deployed {
                changed: false,
                dry_run: options.dry_run,
                previous,
                revision: None,
                changes: Vec::new(),
                waited: false,
            });
        }
        if config.and_then(|c| c.last_update_status.as_deref()) == Some("InProgress")
            && !options.force
        {
            return Err(TargetError::InProgress {
                what: format!("Lambda function `{}`", text::line(&self.function)),
                detail: "its last update is InProgress".into(),
            });
        }
        let mut changes = vec![
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
                // Known once UpdateFunctionCode has published it; a dry run says so.
                to: "(the version published next)".into(),
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
        // `UpdateFunctionCode`: `PUT /2015-03-31/functions/{name}/code`, conditional on
        // the revision id read above, publishing a version.
        let mut input = match &request.code {
            Code::Image { uri } => json!({"ImageUri": uri}),
            Code::Object {
                bucket,
                key,
                version,
                ..
            } => json!({"S3Bucket": bucket, "S3Key": key, "S3ObjectVersion": version}),
        };
        input["Publish"] = Value::Bool(true);
        if let Some(revision_id) = config.and_then(|c| c.revision_id.as_deref()) {
            input["RevisionId"] = Value::String(revision_id.to_string());
        }
        let path = self.function_path(&[Segment::Literal("/code")]);
        let updated: Configuration = self
            .call(
                Call::rest("UpdateFunctionCode", Method::PUT, path, Some(input), true),
                false,
            )?
            .ok_or_else(|| self.not_found())?;
        let version = updated.version.ok_or_else(|| {
            TargetError::Malformed("Lambda answered UpdateFunctionCode without a version".into())
        })?;
        if let Some(alias_change) = changes.last_mut() {
            alias_change.to = text::line(&version).into_owned();
        }
        let timeout = options.wait.unwrap_or(Duration::from_secs(600));
        self.wait_successful(&version, timeout, observer, &previous)?;
        observer.step(&format!(
            "moving alias {} to version {version}",
            text::line(&self.alias)
        ));
        match &alias {
            Some(a) => {
                // `UpdateAlias`: `PUT …/aliases/{alias}`, conditional on its revision id.
                let mut input = json!({"FunctionVersion": version});
                if let Some(revision_id) = &a.revision_id {
                    input["RevisionId"] = Value::String(revision_id.clone());
                }
                let path = self
                    .function_path(&[Segment::Literal("/aliases/"), Segment::Label(&self.alias)]);
                let _: Option<Value> = self.call(
                    Call::rest("UpdateAlias", Method::PUT, path, Some(input), true),
                    false,
                )?;
            }
            None => {
                // `CreateAlias`: `POST …/aliases`.
                let input = json!({"Name": self.alias, "FunctionVersion": version});
                let path = self.function_path(&[Segment::Literal("/aliases")]);
                let _: Option<Value> = self.call(
                    Call::rest("CreateAlias", Method::POST, path, Some(input), true),
                    false,
                )?;
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

    /// One call: `GetFunction` qualified by the alias answers the version the alias
    /// points at with that version's code (`status` reads hundreds of these at once).
    fn running(&self) -> Result<Running, TargetError> {
        let path = with_query(self.function_path(&[]), &[("Qualifier", &self.alias)]);
        let out: Option<Function> = self.call(
            Call::rest("GetFunction", Method::GET, path, None, false),
            true,
        )?;
        let Some(out) = out else {
            return Err(TargetError::NotFound {
                what: self.what(),
                where_: format!(
                    " in {}",
                    self.session.region_name().unwrap_or_else(|| "?".into())
                ),
            });
        };
        let version = out
            .configuration
            .as_ref()
            .and_then(|c| c.version.clone())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                TargetError::Malformed(format!(
                    "Lambda answered GetFunction for {} without the alias's version",
                    self.what()
                ))
            })?;
        Ok(running_of(&version, out))
    }
}

/// What a `GetFunction` answer for `version` says runs: the image, or for a zip package
/// its checksum (GetFunction answers a presigned URL of Lambda's own copy, not the S3
/// object it came from).
fn running_of(version: &str, out: Function) -> Running {
    let code = out
        .code
        .and_then(|c| c.image_uri)
        .map(|uri| Code::Image { uri });
    let code_sha256 = out
        .configuration
        .and_then(|c| c.code_sha256)
        .filter(|_| code.is_none());
    Running {
        revision: version.to_string(),
        code,
        recorded_tag: None,
        code_sha256,
    }
}
