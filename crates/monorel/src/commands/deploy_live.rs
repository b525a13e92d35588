//! `git release deploy` to a live environment (`kind = "ecs"` or `"lambda"`): the release's
//! image by digest, put in place by the environment's target, and the rollout followed.
//!
//! The domain decisions (what to register, when a rollout is done) are the library's
//! (`monorel_core::deploy::{target, ecs, lambda, rollout}`); this file chooses the release,
//! shows progress, and turns failures into the exact rollback command.

use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use monorel_core::config::LiveTarget;
use monorel_core::deploy::rollout::Progress;
use monorel_core::deploy::target::{
    self, AwsFailure, Code, Deployed, Observer, Options, Request, Running, TargetError,
};
use monorel_core::registry::{self, ArtifactStatus, Identity, Wanted};
use monorel_core::repo::Release;
use monorel_core::text;
use serde::Serialize;

use super::deploy::{choose_release, read_artifact, DeployArgs};
use super::Context;
use crate::error::{CliError, CliResult, Kind};
use crate::ui::{self, Style};

/// Parses `--timeout`: seconds, or a number with `s`, `m` or `h`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let n: u64 = number.parse().map_err(|_| {
        format!("`{text}` is not a duration; use seconds or a number with s, m or h, like 10m")
    })?;
    let seconds = match unit {
        "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        _ => {
            return Err(format!(
                "`{text}` has an unknown unit; use s, m or h, like 10m"
            ))
        }
    };
    if seconds == 0 || seconds > 24 * 3600 {
        return Err(format!("`{text}` is out of range; use 1 s to 24 h"));
    }
    Ok(Duration::from_secs(seconds))
}

/// What `--json` prints for a live deploy.
#[derive(Serialize)]
struct Outcome<'a> {
    service: &'a str,
    env: &'a str,
    tag: &'a str,
    version: String,
    target: &'a LiveTarget,
    code: &'a Code,
    #[serde(flatten)]
    deployed: &'a Deployed,
}

/// Shows a deploy's steps: a spinner with the rollout counts on a terminal, one line per
/// change otherwise (CI logs).
struct Display {
    bar: Option<indicatif::ProgressBar>,
    /// The step under way, for the message of an interrupted deploy.
    step: Arc<Mutex<String>>,
}

impl Display {
    /// No spinner where [`ui::can_animate`] says no, `--json` included.
    fn new() -> Display {
        let bar = ui::spinner("");
        let step = Arc::new(Mutex::new(String::from("starting the deploy")));
        on_interrupt(bar.clone(), Arc::clone(&step));
        Display { bar, step }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Observer for Display {
    fn step(&mut self, message: &str) {
        let message = text::line(message).into_owned();
        *self.step.lock().unwrap_or_else(PoisonError::into_inner) = message.clone();
        match &self.bar {
            Some(bar) => bar.set_message(message),
            None => eprintln!("{message}"),
        }
    }

    fn progress(&mut self, progress: &Progress) {
        let line = format!("rollout: {}", text::line(&progress.to_string()));
        match &self.bar {
            Some(bar) => bar.set_message(line),
            None => eprintln!("{line}"),
        }
    }
}

/// Answers Ctrl-C during a deploy. By default SIGINT kills the process mid-line: the
/// spinner's last frame stays on the screen, the shell prompt lands after it, and nothing
/// says how far the deploy got, though what was sent to AWS stays sent (ECS goes on
/// rolling out a service already pointed at the new revision). The handler clears the
/// spinner, names the step that was interrupted and how to see what runs, and exits 130
/// (cancelled). A handler already installed (ctrlc takes one per process) is kept.
fn on_interrupt(bar: Option<indicatif::ProgressBar>, step: Arc<Mutex<String>>) {
    let _ = ctrlc::set_handler(move || {
        if let Some(bar) = &bar {
            bar.finish_and_clear();
        }
        let step = step.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let _ = CliError::new(Kind::Cancelled, format!("interrupted while {step}"))
            .hint(format!(
                "what was sent to AWS stays sent; see what runs with {}",
                text::suggest(&["git", "release", "status"])
            ))
            .report();
        std::process::exit(Kind::Cancelled as i32);
    });
}

/// Runs `deploy` for a live environment.
pub fn run(ctx: &Context, args: &DeployArgs, live: &LiveTarget) -> CliResult {
    let release = choose_release(ctx, args)?;
    let code = release_code(ctx, &args.service, &release)?;
    let target = target::open(&args.env, live);
    let request = Request {
        tag: release.tag.clone(),
        code: code.clone(),
    };
    let options = Options {
        dry_run: args.dry_run,
        force: args.force,
        wait: (!args.no_wait).then_some(args.timeout),
    };
    let mut display = Display::new();
    let result = target.deploy(&request, options, &mut display);
    display.finish();
    let deployed = result.map_err(|e| failure(ctx, args, live, e))?;
    if args.json {
        ui::print_json(&Outcome {
            service: &args.service,
            env: &args.env,
            tag: &release.tag,
            version: release.version.to_string(),
            target: live,
            code: &code,
            deployed: &deployed,
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    let style = Style::stdout();
    let env = text::line(&args.env);
    let tag = text::line(&release.tag);
    let where_ = text::line(&target.describe()).into_owned();
    if !deployed.changed {
        println!(
            "{env} already runs {} ({where_} runs {}); nothing changed",
            style.strong(&tag),
            text::line(&deployed.previous.revision)
        );
        return Ok(ExitCode::SUCCESS);
    }
    if deployed.dry_run {
        println!("would deploy {} to {env} ({where_}):", style.strong(&tag));
    } else {
        let revision = deployed.revision.as_deref().unwrap_or("?");
        let how = if deployed.waited {
            "rolled out"
        } else {
            "updated (rollout not followed: --no-wait)"
        };
        println!(
            "deployed {} to {env}: {where_} {how} to {}",
            style.strong(&tag),
            text::line(revision)
        );
    }
    for change in &deployed.changes {
        println!(
            "  {}: {} -> {}",
            text::line(&change.what),
            style.dim(&text::line(&change.from)),
            text::line(&change.to)
        );
    }
    if deployed.dry_run {
        println!("nothing was changed (--dry-run)");
    }
    Ok(ExitCode::SUCCESS)
}

/// The release's code by immutable reference: `<repository uri>@<digest>` of the image
/// under the release tag, or the promoted object at its version. A store that records
/// neither a digest nor a version cannot be deployed from: a tag or a key can change.
fn release_code(ctx: &Context, service: &str, release: &Release) -> Result<Code, CliError> {
    let (digest, object) = read_artifact(ctx, service, release)?;
    if let Some(object) = object {
        let Some(version) = object.version_id else {
            return Err(CliError::new(
                Kind::Refused,
                format!(
                    "cannot deploy {} to a live environment: bucket {} is not versioned, so the object has no version id to deploy by",
                    text::line(&release.tag),
                    text::line(&object.bucket)
                ),
            )
            .hint("turn on versioning for the bucket (aws s3api put-bucket-versioning --versioning-configuration Status=Enabled), promote again, then deploy; or deploy through a Terraform or SAM environment"));
        };
        return Ok(Code::Object {
            bucket: object.bucket,
            key: object.key,
            version,
            sha256: object.checksum_sha256_base64,
        });
    }
    let Some(digest) = digest else {
        return Err(CliError::new(
            Kind::Refused,
            format!(
                "cannot deploy {} to a live environment: without an image digest only a tag could be deployed, and a tag can move",
                text::line(&release.tag)
            ),
        )
        .hint("set [registry] kind = \"ecr\" in git-release.toml so deploys go by digest"));
    };
    let repository = ctx.config.image_repository(service);
    let registry = registry::open(&ctx.config);
    let info = registry
        .inspect_repositories(std::slice::from_ref(&repository))
        .pop();
    let uri = match info {
        Some(Ok(info)) => info.uri,
        Some(Err(failure)) => {
            return Err(CliError::new(
                Kind::Unavailable,
                format!(
                    "cannot read the URI of image repository {}: {}",
                    text::line(&repository),
                    failure.message
                ),
            )
            .hint(failure.hint))
        }
        None => None,
    };
    let uri = uri.ok_or_else(|| {
        CliError::new(
            Kind::Unavailable,
            format!(
                "the registry did not say the URI of image repository {}",
                text::line(&repository)
            ),
        )
    })?;
    Ok(Code::Image {
        uri: format!("{uri}@{digest}"),
    })
}

/// Returns `(digest, release tag)` for every release of `service` whose image the
/// registry has, in one batched check (how a running digest is named back as a release).
pub(super) fn release_digests(ctx: &Context, service: &str) -> Vec<(String, String)> {
    let template = ctx.config.tag_template();
    let Ok(releases) = ctx.repo.releases(&template, service) else {
        return Vec::new();
    };
    let wanted: Vec<Wanted> = releases
        .iter()
        .map(|r| Wanted {
            service: service.to_string(),
            artifact: registry::release_artifact(&ctx.config, service, &r.tag, &r.version),
        })
        .collect();
    let statuses = registry::Stores::open(&ctx.config).check(&wanted);
    releases
        .into_iter()
        .zip(statuses)
        .filter_map(|(release, status)| match status {
            ArtifactStatus::Present(Identity::Image { digest }) => Some((digest, release.tag)),
            _ => None,
        })
        .collect()
}

/// The error for a failed deploy; for a failed rollout it names the previous revision
/// and the exact command that rolls back.
fn failure(ctx: &Context, args: &DeployArgs, live: &LiveTarget, e: TargetError) -> CliError {
    let kind = match &e {
        TargetError::NotBuilt { .. } => Kind::Config,
        TargetError::NotFound { .. }
        | TargetError::ContainerMissing { .. }
        | TargetError::InProgress { .. } => Kind::Refused,
        TargetError::Failed { .. } | TargetError::Gone { .. } => Kind::RolloutFailed,
        TargetError::TimedOut { .. } => Kind::RolloutTimedOut,
        TargetError::Aws { kind, .. } => match kind {
            AwsFailure::Unavailable | AwsFailure::AccessDenied => Kind::Unavailable,
            AwsFailure::Refused => Kind::Refused,
        },
        TargetError::Malformed(_) => Kind::Unavailable,
    };
    let mut error = CliError::new(kind, e.to_string());
    match &e {
        TargetError::Aws { hint, .. } => error = error.hint(hint.clone()),
        TargetError::InProgress { .. } => {
            error = error.hint(format!(
                "wait for it to finish, or go ahead anyway with {}",
                text::suggest(&[
                    "git",
                    "release",
                    "deploy",
                    &args.service,
                    "--env",
                    &args.env,
                    "--force"
                ])
            ))
        }
        TargetError::NotBuilt { .. } => {
            error = error.hint("install a git-release built with default features (`cargo install` without --no-default-features)")
        }
        _ => {}
    }
    if let Some(previous) = e.previous() {
        error = error.hint(rollback_hint(ctx, args, live, previous));
    }
    error
}

/// The command that puts the previous release back, or the AWS command for a previous
/// revision that no release recorded.
fn rollback_hint(
    ctx: &Context,
    args: &DeployArgs,
    live: &LiveTarget,
    previous: &Running,
) -> String {
    let template = ctx.config.tag_template();
    let tag = previous.recorded_tag.clone().or_else(|| {
        let digest = previous.digest()?;
        release_digests(ctx, &args.service)
            .into_iter()
            .find(|(d, _)| d == digest)
            .map(|(_, tag)| tag)
    });
    let version = tag
        .as_deref()
        .and_then(|t| template.version_part(&args.service, t))
        .map(str::to_string);
    let revision = text::line(&previous.revision).into_owned();
    match version {
        Some(version) => format!(
            "the previous revision {revision} ran {}; roll back with {}",
            text::line(tag.as_deref().unwrap_or("?")),
            text::suggest(&[
                "git",
                "release",
                "deploy",
                &args.service,
                "--env",
                &args.env,
                "--version",
                &version
            ])
        ),
        None => {
            let command: Vec<&str> = match live {
                LiveTarget::Ecs {
                    cluster, service, ..
                } => vec![
                    "aws",
                    "ecs",
                    "update-service",
                    "--cluster",
                    cluster,
                    "--service",
                    service,
                    "--task-definition",
                    &previous.revision,
                ],
                LiveTarget::Lambda {
                    function, alias, ..
                } => vec![
                    "aws",
                    "lambda",
                    "update-alias",
                    "--function-name",
                    function,
                    "--name",
                    alias,
                    "--function-version",
                    &previous.revision,
                ],
            };
            format!(
                "the previous revision {revision} ran no recorded release; roll back with {}",
                text::suggest(&command)
            )
        }
    }
}
