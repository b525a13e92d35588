//! `git release promote <tag>`: give the commit's artifact its release name, server-side.
//!
//! Runs in CI on a tag push: the release tag names a commit, CI built that commit's
//! artifact (an image under its commit tag, or an object under its commit key), and
//! promotion gives it the release name in the store: a retag in ECR (no layer moves), a
//! conditional server-side copy in S3 (no byte passes through the client). At most three
//! calls, idempotent, and it never silently replaces a release.

use std::path::Path;
use std::process::ExitCode;

use clap::Args;
use monorel_core::config::RegistryKind;
use monorel_core::registry::{self, Identity, PromoteRequest, Promotion, RegistryFailure};
use monorel_core::tag::{check_image_tag, ParsedTag};
use monorel_core::text;
use serde::Serialize;

use super::Context;
use crate::error::{CliError, CliResult, Kind};
use crate::ui::{self, Style};

/// Arguments of `promote`.
#[derive(Debug, Args)]
pub struct PromoteArgs {
    /// The release tag whose image or object to promote
    pub tag: String,
    /// Replace a release that holds other content (mutable image tags, or a versioned bucket, which keeps the old object)
    #[arg(long)]
    pub force: bool,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct Outcome<'a> {
    tag: &'a str,
    service: &'a str,
    commit: &'a str,
    registry: String,
    #[serde(flatten)]
    promotion: &'a Promotion,
}

#[derive(Serialize)]
struct Failed<'a> {
    tag: &'a str,
    service: &'a str,
    commit: &'a str,
    registry: String,
    failure: &'a RegistryFailure,
}

/// Runs `promote`.
pub fn run(dir: &Path, args: PromoteArgs) -> CliResult {
    let ctx = Context::load(dir)?;
    let tag = args.tag.as_str();
    let (service, version) = match ctx
        .config
        .tag_template()
        .parse_tag(tag, ctx.config.services.keys().map(String::as_str))
    {
        ParsedTag::Release { service, version } => (service, version),
        ParsedTag::BadVersion { service, error } => {
            return Err(CliError::new(
                Kind::Usage,
                format!("`{tag}` is not a release tag of {service}: {error}"),
            )
            .hint(format!(
                "release tags look like `{}`",
                ctx.config.defaults.tag
            )))
        }
        ParsedTag::UnknownService { guess } => {
            let known = ctx
                .config
                .services
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ");
            let why = match guess {
                Some(guess) => format!("`{guess}` is not a service in git-release.toml"),
                None => format!(
                    "it does not match the tag template `{}`",
                    ctx.config.defaults.tag
                ),
            };
            return Err(
                CliError::new(Kind::Usage, format!("`{tag}` is not a release tag: {why}"))
                    .hint(format!("configured services: {known}")),
            );
        }
    };
    if let Err(rule) = check_image_tag(tag) {
        return Err(CliError::new(
            Kind::Refused,
            format!("`{tag}` cannot be an image tag: {rule}"),
        ));
    }
    let Some(target) = ctx.repo.tag_target(tag)? else {
        return Err(CliError::new(
            Kind::Refused,
            format!("no tag {tag} in this repository"),
        )
        .hint("fetch it with `git fetch --tags`; in CI, check out with tags (actions/checkout `fetch-depth: 0`)"));
    };
    if target.peeled_kind.as_bytes() != b"commit" {
        return Err(CliError::new(
            Kind::Refused,
            format!(
                "tag {tag} points at a {}, not a commit; a release tag must name a commit",
                target.peeled_kind
            ),
        ));
    }
    match ctx.config.store_of(&service) {
        (None, store) if store.kind == RegistryKind::None => {
            return Err(CliError::new(
                Kind::Config,
                "promote needs a registry, but git-release.toml sets [registry] kind = \"none\"",
            )
            .hint("set [registry] kind = \"ecr\" and its region"));
        }
        (Some(name), store) if store.kind == RegistryKind::None => {
            return Err(CliError::new(
                Kind::Config,
                format!(
                    "promote needs a store, but {} is on [registries.{}], which is kind = \"none\"",
                    text::line(&service),
                    text::line(name)
                ),
            )
            .hint("set that store's kind to \"ecr\" or \"s3\", or the service's `registry` to another store"));
        }
        _ => {}
    }

    let commit = target.peeled.to_string();
    let request = PromoteRequest {
        source: registry::commit_artifact(&ctx.config, &service, &commit),
        target: registry::release_artifact(&ctx.config, &service, tag, &version),
        commit: commit.clone(),
        tag: tag.to_string(),
        force: args.force,
    };
    let source = text::line(&request.source.to_string()).into_owned();
    let stores = registry::Stores::open(&ctx.config);
    let registry = stores.of(&service);
    let result = ui::with_spinner(
        &format!("promoting {source} to {tag} in {}", registry.describe()),
        || registry.promote(&request),
    );
    let promotion = match result {
        Ok(promotion) => promotion,
        Err(failure) => {
            if args.json {
                ui::print_json(&Failed {
                    tag,
                    service: &service,
                    commit: &commit,
                    registry: registry.describe(),
                    failure: &failure,
                })?;
            }
            let kind = if failure.kind.refuses() {
                Kind::Refused
            } else {
                Kind::Unavailable
            };
            return Err(CliError::new(
                kind,
                format!("cannot promote {source} to {tag}: {}", failure.message),
            )
            .hint(failure.hint));
        }
    };

    if args.json {
        ui::print_json(&Outcome {
            tag,
            service: &service,
            commit: &commit,
            registry: registry.describe(),
            promotion: &promotion,
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    let style = Style::stdout();
    let target = text::line(&promotion.target.to_string()).into_owned();
    let source = text::line(&promotion.source.to_string()).into_owned();
    if promotion.changed {
        println!(
            "{} promoted {source} → {}",
            style.good("✓"),
            style.strong(&target)
        );
    } else {
        println!(
            "{} {} already names {source} (nothing to do)",
            style.good("✓"),
            style.strong(&target)
        );
    }
    match &promotion.identity {
        Identity::Image { digest } => {
            println!("  digest:     {}", text::line(digest));
            if let Some(media_type) = &promotion.media_type {
                println!("  media type: {}", text::line(media_type));
            }
            if let Some(previous) = promotion.previous_digest.as_ref().filter(|p| *p != digest) {
                println!("  moved from: {} (--force)", text::line(previous));
            }
        }
        Identity::Object(object) => {
            if let Some(sum) = &object.checksum_sha256 {
                println!("  sha256:     {}", text::line(sum));
            }
            println!("  etag:       {}", text::line(&object.etag));
            if let Some(version) = &object.version_id {
                println!("  version:    {}", text::line(version));
            }
            println!("  size:       {} bytes", object.size);
            if let Some(previous) = &promotion.previous_version_id {
                println!(
                    "  replaced:   version {} (--force; it stays in the bucket)",
                    text::line(previous)
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
