//! `git release deploy <service> --env <env>`: pin an environment to a release.
//!
//! Writes the release tag and the image digest (read from the registry under the release
//! tag, so only promoted images can be deployed) into the service's own variables file
//! of the environment's Terraform root module, and with `--commit` commits exactly that
//! file. Terraform itself is applied by the team or its CI.

use std::path::Path;
use std::process::ExitCode;

use clap::Args;
use monorel_core::config::RegistryKind;
use monorel_core::deploy::{self, DeployError, Pin, PinTarget};
use monorel_core::process::git;
use monorel_core::registry::{self, ArtifactRef, ArtifactStatus, FailureKind, Identity, ImageRef};
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
}

/// What `--json` prints.
#[derive(Serialize)]
struct Outcome<'a> {
    service: &'a str,
    env: &'a str,
    tag: &'a str,
    version: String,
    file: &'a str,
    variable: &'a str,
    digest_variable: &'a str,
    digest: Option<&'a str>,
    changed: bool,
    commit: Option<String>,
}

impl From<DeployError> for CliError {
    fn from(e: DeployError) -> Self {
        let kind = match e {
            DeployError::UnknownEnvironment { .. } => Kind::Usage,
            DeployError::BadFile { .. } | DeployError::BadVariable { .. } => Kind::Config,
            DeployError::Malformed { .. } => Kind::Refused,
            DeployError::Io { .. } => Kind::Internal,
            DeployError::Write(e) => return e.into(),
        };
        CliError::new(kind, e.to_string())
    }
}

/// Runs `deploy`.
pub fn run(dir: &Path, args: DeployArgs) -> CliResult {
    let ctx = Context::load(dir)?;
    ctx.config.service(&args.service)?;
    let target = deploy::target(&ctx.config, &ctx.root(), &args.service, &args.env)?;
    let release = choose_release(&ctx, &args)?;
    let digest = read_digest(&ctx, &args.service, &release)?;
    let pin = Pin {
        tag: release.tag.clone(),
        digest: digest.clone(),
    };
    let changed = deploy::write_pin(&target, &pin)?;
    // A pin written earlier without --commit is committed now, too.
    let commit = if args.commit && (changed || uncommitted(&ctx, &target)?) {
        Some(commit_pin(&ctx, &target, &args.service, &release.tag)?)
    } else {
        None
    };
    if args.json {
        ui::print_json(&Outcome {
            service: &args.service,
            env: &args.env,
            tag: &release.tag,
            version: release.version.to_string(),
            file: &target.file,
            variable: &target.variable,
            digest_variable: &target.digest_variable,
            digest: digest.as_deref(),
            changed,
            commit,
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    let style = Style::stdout();
    let file = text::line(&target.file);
    let env = text::line(&args.env);
    let tag = text::line(&release.tag);
    if changed {
        println!("pinned {env} to {} in {file}", style.strong(&tag));
    } else {
        println!(
            "{env} already pins {} in {file}; nothing changed",
            style.strong(&tag)
        );
    }
    if let Some(digest) = &digest {
        println!(
            "  {} = {}",
            text::line(&target.digest_variable),
            style.dim(&text::line(digest))
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
fn choose_release(ctx: &Context, args: &DeployArgs) -> Result<Release, CliError> {
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

/// Reads the digest of the release tag's image; refuses when CI has not promoted it yet.
fn read_digest(
    ctx: &Context,
    service: &str,
    release: &Release,
) -> Result<Option<String>, CliError> {
    if ctx.config.store_of(service).1.kind == RegistryKind::None {
        ui::warn(&format!(
            "no image digest was recorded for {}: git-release.toml sets [registry] kind = \"none\", so only the tag is pinned",
            release.tag
        ));
        return Ok(None);
    }
    let image = ImageRef {
        repository: ctx.config.image_repository(service),
        tag: release.tag.clone(),
    };
    let stores = registry::Stores::open(&ctx.config);
    let registry = stores.of(service);
    let status = ui::with_spinner(
        &format!("reading {image} from {}", registry.describe()),
        || {
            registry
                .check(&[ArtifactRef::Image(image.clone())])
                .pop()
                .unwrap_or(ArtifactStatus::Unchecked)
        },
    );
    match status {
        ArtifactStatus::Present(Identity::Image { digest }) => Ok(Some(digest)),
        ArtifactStatus::Present(Identity::Object(_)) | ArtifactStatus::Unchecked => Ok(None),
        ArtifactStatus::Missing => Err(CliError::new(
            Kind::Refused,
            format!(
                "image {} not promoted yet; run {}",
                text::line(&image.to_string()),
                text::suggest(&text::operands(&["git", "release", "promote"], &[&release.tag]))
            ),
        )
        .hint("CI promotes the image when the release tag is pushed; wait for that workflow, or run promote with registry credentials")),
        ArtifactStatus::Failed(failure) => {
            let kind = match failure.kind {
                FailureKind::RepositoryNotFound => Kind::Refused,
                _ => Kind::Unavailable,
            };
            Err(CliError::new(
                kind,
                format!("cannot read image {image}: {}", failure.message),
            )
            .hint(failure.hint))
        }
    }
}

/// Returns whether the pin file differs from what HEAD has (or is untracked).
fn uncommitted(ctx: &Context, target: &PinTarget) -> Result<bool, CliError> {
    let out = git(
        &ctx.root(),
        &["status", "--porcelain", "--", &target.file],
        None,
    )
    .map_err(|e| CliError::new(Kind::Internal, e.to_string()))?;
    Ok(!out.is_empty())
}

/// Commits exactly the pin file; other staged changes stay staged and uncommitted.
fn commit_pin(
    ctx: &Context,
    target: &PinTarget,
    service: &str,
    tag: &str,
) -> Result<String, CliError> {
    let root = ctx.root();
    let message = format!("deploy({}): {service} {tag}", target.env);
    let failed = |e: monorel_core::process::GitError| {
        CliError::new(
            Kind::Internal,
            format!(
                "the pin was written to {} but not committed: {e}",
                text::line(&target.file)
            ),
        )
        .hint(format!(
            "commit it yourself: {}",
            text::suggest(&["git", "commit", "-m", &message, "--", &target.file])
        ))
    };
    git(&root, &["add", "--", &target.file], None).map_err(failed)?;
    git(
        &root,
        &["commit", "-q", "-m", &message, "--", &target.file],
        None,
    )
    .map_err(failed)?;
    let sha = git(&root, &["rev-parse", "HEAD"], None).map_err(failed)?;
    Ok(String::from_utf8_lossy(&sha).trim().to_string())
}
