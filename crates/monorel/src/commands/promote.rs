//! `git release promote <tag>`: give the commit's image the release tag, server-side.
//!
//! Runs in CI on a tag push: the release tag names a commit, CI built that commit's image
//! under its commit tag, and promotion retags it in the registry (no layer moves). Two
//! registry calls, idempotent, and it never silently moves a release tag.

use std::path::Path;
use std::process::ExitCode;

use clap::Args;
use monorel_core::config::RegistryKind;
use monorel_core::registry::{self, FailureKind, Promotion, RegistryFailure};
use monorel_core::tag::{check_image_tag, ParsedTag};
use monorel_core::text;
use serde::Serialize;

use super::Context;
use crate::error::{CliError, CliResult, Kind};
use crate::ui::{self, Style};

/// Arguments of `promote`.
#[derive(Debug, Args)]
pub struct PromoteArgs {
    /// The release tag whose image to promote
    pub tag: String,
    /// Move the release tag in the registry if it names another image (mutable repositories only)
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
    let service = match ctx
        .config
        .tag_template()
        .parse_tag(tag, ctx.config.services.keys().map(String::as_str))
    {
        ParsedTag::Release { service, .. } => service,
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
    if ctx.config.registry.kind == RegistryKind::None {
        return Err(CliError::new(
            Kind::Config,
            "promote needs a registry, but git-release.toml sets [registry] kind = \"none\"",
        )
        .hint("set [registry] kind = \"ecr\" and its region"));
    }

    let commit = target.peeled.to_string();
    let source = registry::commit_image(&ctx.config, &service, &commit);
    let registry = registry::open(&ctx.config);
    let result = ui::with_spinner(
        &format!("promoting {source} to {tag} in {}", registry.describe()),
        || registry.promote(&source, tag, args.force),
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
            let kind = match failure.kind {
                FailureKind::Conflict
                | FailureKind::ImageNotFound
                | FailureKind::RepositoryNotFound => Kind::Refused,
                _ => Kind::Unavailable,
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
    println!("  digest:     {}", text::line(&promotion.digest));
    println!("  media type: {}", text::line(&promotion.media_type));
    if let Some(previous) = promotion
        .previous_digest
        .as_ref()
        .filter(|p| **p != promotion.digest)
    {
        println!("  moved from: {} (--force)", text::line(previous));
    }
    Ok(ExitCode::SUCCESS)
}
