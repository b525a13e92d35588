//! `git release deploy <service> --env <env>`: pin an environment to a release.
//!
//! Writes the release tag and the image digest (read from the registry under the release
//! tag, so only promoted images can be deployed) into the service's own variables file
//! of the environment's Terraform root module, and with `--commit` commits exactly that
//! file. Terraform itself is applied by the team or its CI.
//!
//! An S3 service's pin holds the promoted object instead (bucket, key, version, code
//! hash), read from its store under the release key; in a SAM environment
//! (`kind = "sam"`) that object becomes the function's `CodeUri` in the template.

use std::path::Path;
use std::process::ExitCode;

use clap::Args;
use monorel_core::config::{EnvironmentKind, RegistryKind};
use monorel_core::deploy::sam::{self, SamError, SamTarget};
use monorel_core::deploy::{self, DeployError, ObjectLocation, ObjectVariables, Pin, PinTarget};
use monorel_core::process::git;
use monorel_core::registry::{self, ArtifactStatus, FailureKind, Identity};
use monorel_core::repo::Release;
use monorel_core::text;
use monorel_core::version::parse_release_version;
use serde::Serialize;

use super::Context;
use crate::error::{CliError, CliResult, Kind};
use crate::ui::{self, Style};

/// Arguments of `deploy`.
#[derive(Debug, Args)]
pub struct DeployArgs {
    /// The service to deploy
    pub service: String,
    /// The environment to pin (a table `environments.<name>` of git-release.toml)
    #[arg(long)]
    pub env: String,
    /// The version to deploy (default: the latest release)
    #[arg(long, conflicts_with = "tag")]
    pub version: Option<String>,
    /// The release tag to deploy
    #[arg(long)]
    pub tag: Option<String>,
    /// Commit the changed file with a conventional message
    #[arg(long)]
    pub commit: bool,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
    /// ECS/Lambda: print the change and touch nothing
    #[arg(long)]
    pub dry_run: bool,
    /// ECS/Lambda: return right after the service update instead of following the rollout
    #[arg(long)]
    pub no_wait: bool,
    /// ECS/Lambda: how long to follow the rollout, like `600`, `90s`, `10m` (default 10m)
    #[arg(long, value_name = "DURATION", value_parser = super::deploy_live::parse_duration, default_value = "10m")]
    pub timeout: std::time::Duration,
    /// ECS/Lambda: deploy even while another rollout of the service is in progress
    #[arg(long)]
    pub force: bool,
}

/// What `--json` prints. The fields of a Terraform pin keep their names; a SAM
/// environment has no variables (`null`) and names its `resource`.
#[derive(Serialize)]
struct Outcome<'a> {
    service: &'a str,
    env: &'a str,
    kind: &'static str,
    tag: &'a str,
    version: String,
    file: &'a str,
    variable: Option<&'a str>,
    digest_variable: Option<&'a str>,
    digest: Option<&'a str>,
    resource: Option<&'a str>,
    object: Option<&'a ObjectLocation>,
    object_variables: Option<&'a ObjectVariables>,
    changed: bool,
    commit: Option<String>,
}

impl From<DeployError> for CliError {
    fn from(e: DeployError) -> Self {
        let kind = match e {
            DeployError::UnknownEnvironment { .. } => Kind::Usage,
            DeployError::BadFile { .. }
            | DeployError::BadVariable { .. }
            | DeployError::NotTerraform { .. } => Kind::Config,
            DeployError::Malformed { .. } => Kind::Refused,
            DeployError::Io { .. } => Kind::Internal,
            DeployError::LiveEnvironment { .. } => Kind::Usage,
            DeployError::Write(e) => return e.into(),
        };
        CliError::new(kind, e.to_string())
    }
}

impl From<SamError> for CliError {
    fn from(e: SamError) -> Self {
        let kind = match e {
            SamError::NotSam { .. } | SamError::BadResource { .. } | SamError::Missing { .. } => {
                Kind::Config
            }
            SamError::Refused { .. } | SamError::Unparsable { .. } => Kind::Refused,
            SamError::Read { .. } => Kind::Internal,
            SamError::Write(e) => return e.into(),
        };
        CliError::new(kind, e.to_string())
    }
}

/// Where the release goes: a Terraform variables file or a SAM template.
enum Target {
    Terraform(PinTarget),
    Sam(SamTarget),
}

impl Target {
    fn file(&self) -> &str {
        match self {
            Target::Terraform(t) => &t.file,
            Target::Sam(t) => &t.file,
        }
    }
}

/// Runs `deploy`.
pub fn run(dir: &Path, args: DeployArgs) -> CliResult {
    let ctx = Context::load(dir)?;
    ctx.config.service(&args.service)?;
    if let Some(live) = ctx.config.live_target(&args.service, &args.env) {
        return super::deploy_live::run(&ctx, &args, &live);
    }
    let (store_name, store) = ctx.config.store_of(&args.service);
    let objects = store.kind == RegistryKind::S3;
    let sam = ctx
        .config
        .environments
        .get(&args.env)
        .is_some_and(|e| e.kind == EnvironmentKind::Sam);
    let target = if sam {
        if !objects {
            return Err(CliError::new(
                Kind::Config,
                format!(
                    "[environments.{}] is a SAM environment, which deploys Lambda zips, but {} is an image service (its store is {})",
                    text::line(&args.env),
                    text::line(&args.service),
                    store_name.map_or("[registry]".to_string(), |n| format!("[registries.{}]", text::line(n)))
                ),
            )
            .hint("give the service an S3 store: `registry = \"<name>\"` naming a `[registries.<name>]` with kind = \"s3\", in git-release.toml"));
        }
        Target::Sam(sam::target(
            &ctx.config,
            &ctx.root(),
            &args.service,
            &args.env,
        )?)
    } else {
        Target::Terraform(deploy::target_for(
            &ctx.config,
            &ctx.root(),
            &args.service,
            &args.env,
            objects,
        )?)
    };
    let release = choose_release(&ctx, &args)?;
    let (digest, object) = read_artifact(&ctx, &args.service, &release)?;
    let changed = match &target {
        Target::Terraform(target) => deploy::write_pin(
            target,
            &Pin {
                tag: release.tag.clone(),
                digest: digest.clone(),
                object: object.clone(),
            },
        )?,
        Target::Sam(target) => {
            let Some(object) = &object else {
                return Err(CliError::new(
                    Kind::Refused,
                    format!(
                        "no object was read for {}, so there is nothing to set as CodeUri",
                        text::line(&release.tag)
                    ),
                ));
            };
            sam::write_code_uri(target, object)?
        }
    };
    let file = target.file();
    // A pin written earlier without --commit is committed now, too.
    let commit = if args.commit && (changed || uncommitted(&ctx, file)?) {
        Some(commit_pin(
            &ctx,
            &args.env,
            file,
            &args.service,
            &release.tag,
        )?)
    } else {
        None
    };
    if args.json {
        let (terraform, sam) = match &target {
            Target::Terraform(t) => (Some(t), None),
            Target::Sam(t) => (None, Some(t)),
        };
        ui::print_json(&Outcome {
            service: &args.service,
            env: &args.env,
            kind: if sam.is_some() { "sam" } else { "terraform" },
            tag: &release.tag,
            version: release.version.to_string(),
            file,
            variable: terraform.map(|t| t.variable.as_str()),
            digest_variable: terraform.map(|t| t.digest_variable.as_str()),
            digest: digest.as_deref(),
            resource: sam.map(|t| t.resource.as_str()),
            object: object.as_ref(),
            object_variables: terraform
                .filter(|_| object.is_some())
                .map(|t| &t.object_variables),
            changed,
            commit,
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    let style = Style::stdout();
    let shown_file = text::line(file);
    let env = text::line(&args.env);
    let tag = text::line(&release.tag);
    match (&target, changed) {
        (Target::Terraform(_), true) => {
            println!("pinned {env} to {} in {shown_file}", style.strong(&tag))
        }
        (Target::Terraform(_), false) => println!(
            "{env} already pins {} in {shown_file}; nothing changed",
            style.strong(&tag)
        ),
        (Target::Sam(t), true) => println!(
            "set the CodeUri of {} in {shown_file} to {}",
            text::line(&t.resource),
            style.strong(&tag)
        ),
        (Target::Sam(t), false) => println!(
            "{} in {shown_file} already runs {}; nothing changed",
            text::line(&t.resource),
            style.strong(&tag)
        ),
    }
    if let (Some(digest), Target::Terraform(t)) = (&digest, &target) {
        println!(
            "  {} = {}",
            text::line(&t.digest_variable),
            style.dim(&text::line(digest))
        );
    }
    if let Some(object) = &object {
        let version = object
            .version_id
            .as_deref()
            .map(|v| format!(" (version {})", text::line(v)))
            .unwrap_or_default();
        println!(
            "  object s3://{}/{}{version}",
            text::line(&object.bucket),
            style.dim(&text::line(&object.key))
        );
    }
    match &commit {
        Some(sha) => println!(
            "committed {}: deploy({env}): {} {tag}",
            style.dim(&text::line(sha.get(..7).unwrap_or(sha))),
            text::line(&args.service),
        ),
        None if args.commit => println!("nothing to commit"),
        None => {}
    }
    Ok(ExitCode::SUCCESS)
}

/// Returns the release to deploy: `--tag`, `--version`, or the latest; refuses anything
/// that is not an existing release tag of the service.
pub(super) fn choose_release(ctx: &Context, args: &DeployArgs) -> Result<Release, CliError> {
    let template = ctx.config.tag_template();
    let service = &args.service;
    let releases = ctx.repo.releases(&template, service)?;
    let wanted = match (&args.tag, &args.version) {
        (Some(tag), _) => {
            let version = template
                .version_part(service, tag)
                .and_then(|v| parse_release_version(v).ok())
                .ok_or_else(|| {
                    CliError::new(
                        Kind::Usage,
                        format!(
                            "`{tag}` is not a release tag of {service}; its tags look like `{}`",
                            template.render(service, &ctx.config.defaults.initial_version)
                        ),
                    )
                })?;
            Some(Release {
                tag: tag.clone(),
                version,
            })
        }
        (None, Some(version)) => {
            let version = parse_release_version(version.trim_start_matches('v'))
                .map_err(|e| CliError::new(Kind::Usage, format!("--version {version}: {e}")))?;
            Some(Release {
                tag: template.render(service, &version),
                version,
            })
        }
        (None, None) => None,
    };
    let released: Vec<&str> = releases.iter().map(|r| r.tag.as_str()).collect();
    match wanted {
        None => releases.last().cloned().ok_or_else(|| {
            CliError::new(
                Kind::Refused,
                format!("{service} has no release yet, so there is nothing to deploy"),
            )
            .hint(format!(
                "release it first: {}",
                text::suggest(&["git", "release", service, "--bump", "minor", "--push"])
            ))
        }),
        Some(release) if released.contains(&release.tag.as_str()) => Ok(release),
        Some(release) => Err(not_released(service, &release, &released)),
    }
}

fn not_released(service: &str, release: &Release, released: &[&str]) -> CliError {
    const SHOWN: usize = 5;
    let known = if released.is_empty() {
        format!("{service} has no release yet")
    } else {
        let start = released.len().saturating_sub(SHOWN);
        let more = if start > 0 { "…, " } else { "" };
        format!("released: {more}{}", released[start..].join(", "))
    };
    CliError::new(
        Kind::Refused,
        format!(
            "`{}` is not a released tag of {service} ({known}); only released versions can be deployed",
            release.tag
        ),
    )
    .hint(format!(
        "release it first with {}, or deploy a released version",
        text::suggest(&[
            "git",
            "release",
            service,
            "--set-version",
            &release.version.to_string(),
            "--push"
        ])
    ))
}

/// Reads what the release stands on from the service's store, under the release name
/// (so only promoted artifacts deploy): an image's digest, or an object's location.
/// Refuses when CI has not promoted it yet.
pub(super) fn read_artifact(
    ctx: &Context,
    service: &str,
    release: &Release,
) -> Result<(Option<String>, Option<ObjectLocation>), CliError> {
    if ctx.config.store_of(service).1.kind == RegistryKind::None {
        ui::warn(&format!(
            "no image digest was recorded for {}: git-release.toml sets [registry] kind = \"none\", so only the tag is pinned",
            text::line(&release.tag)
        ));
        return Ok((None, None));
    }
    let artifact = registry::release_artifact(&ctx.config, service, &release.tag, &release.version);
    let shown = text::line(&artifact.to_string()).into_owned();
    let stores = registry::Stores::open(&ctx.config);
    let registry = stores.of(service);
    let read = || {
        registry
            .check(std::slice::from_ref(&artifact))
            .pop()
            .unwrap_or(ArtifactStatus::Unchecked)
    };
    let status = ui::with_spinner(
        &format!("reading {shown} from {}", registry.describe()),
        read,
    );
    match status {
        ArtifactStatus::Present(Identity::Image { digest }) => Ok((Some(digest), None)),
        ArtifactStatus::Present(Identity::Object(identity)) => {
            let Some(object) = artifact.as_object() else {
                return Ok((None, None));
            };
            Ok((
                None,
                Some(ObjectLocation {
                    bucket: object.bucket.clone(),
                    key: object.key.clone(),
                    version_id: identity.version_id,
                    // A composite checksum (`<b64>-<parts>`) is not the SHA-256 of the
                    // zip, which is what Terraform's source_code_hash compares.
                    checksum_sha256_base64: identity
                        .checksum_sha256
                        .filter(|sum| !sum.contains('-')),
                }),
            ))
        }
        ArtifactStatus::Unchecked => Ok((None, None)),
        ArtifactStatus::Missing => Err(CliError::new(
            Kind::Refused,
            format!(
                "{} {shown} not promoted yet; run {}",
                artifact.noun(),
                text::suggest(&text::operands(&["git", "release", "promote"], &[&release.tag]))
            ),
        )
        .hint(format!("CI promotes the {} when the release tag is pushed; wait for that workflow, or run promote with credentials for the store", artifact.noun()))),
        ArtifactStatus::Failed(failure) => {
            let kind = match failure.kind {
                FailureKind::RepositoryNotFound | FailureKind::BucketNotFound => Kind::Refused,
                _ => Kind::Unavailable,
            };
            Err(CliError::new(
                kind,
                format!("cannot read {} {shown}: {}", artifact.noun(), failure.message),
            )
            .hint(failure.hint))
        }
    }
}

/// Returns whether `file` differs from what HEAD has (or is untracked).
fn uncommitted(ctx: &Context, file: &str) -> Result<bool, CliError> {
    let out = git(&ctx.root(), &["status", "--porcelain", "--", file], None)
        .map_err(|e| CliError::new(Kind::Internal, e.to_string()))?;
    Ok(!out.is_empty())
}

/// Commits exactly `file`; other staged changes stay staged and uncommitted.
fn commit_pin(
    ctx: &Context,
    env: &str,
    file: &str,
    service: &str,
    tag: &str,
) -> Result<String, CliError> {
    let root = ctx.root();
    let message = format!("deploy({env}): {service} {tag}");
    let failed = |e: monorel_core::process::GitError| {
        CliError::new(
            Kind::Internal,
            format!(
                "the pin was written to {} but not committed: {e}",
                text::line(file)
            ),
        )
        .hint(format!(
            "commit it yourself: {}",
            text::suggest(&["git", "commit", "-m", &message, "--", file])
        ))
    };
    git(&root, &["add", "--", file], None).map_err(failed)?;
    git(&root, &["commit", "-q", "-m", &message, "--", file], None).map_err(failed)?;
    let sha = git(&root, &["rev-parse", "HEAD"], None).map_err(failed)?;
    Ok(String::from_utf8_lossy(&sha).trim().to_string())
}
