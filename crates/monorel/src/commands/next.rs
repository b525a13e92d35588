//! `git release next <service>`: the next version, without tagging.

use std::path::Path;
use std::process::ExitCode;

use clap::Args;
use monorel_core::plan::{self, PlanError, RemoteState};
use monorel_core::text;
use monorel_core::Bump;
use serde::Serialize;

use super::Context;
use crate::error::{CliError, CliResult};
use crate::ui;

/// Arguments of `next`.
#[derive(Debug, Args)]
pub struct NextArgs {
    /// The service
    pub service: String,
    /// How to bump [default: what the commits since the last release suggest]
    #[arg(long, value_parser = super::release::bump_parser())]
    pub bump: Option<Bump>,
    /// Make a pre-release with this identifier
    #[arg(long, value_name = "ID")]
    pub pre: Option<String>,
    /// The commit the release would go on [default: HEAD]
    #[arg(long, value_name = "REV")]
    pub commit: Option<String>,
    /// The remote to compare with [default: [defaults] remote]
    #[arg(long, value_name = "NAME")]
    pub remote: Option<String>,
    /// Do not ask the remote for its tags
    #[arg(long)]
    pub offline: bool,
    /// Print `{service, current, next, tag, commit, bump, suggested, commits}` as JSON
    #[arg(long)]
    pub json: bool,
}

/// The `--json` document; its field names are a stable contract for scripts.
#[derive(Serialize)]
struct Next {
    service: String,
    current: Option<String>,
    /// `null` only when, without `--bump`, there is nothing to release.
    next: Option<String>,
    tag: Option<String>,
    commit: String,
    bump: Option<Bump>,
    suggested: bool,
    /// The commits since the current release that touched the service, as counted for
    /// the suggestion; `null` with `--bump`, which skips the count.
    commits: Option<usize>,
    /// Why there is nothing to release (`null` when there is something).
    nothing_to_release: Option<String>,
}

/// Runs `next`.
pub fn run(dir: &Path, args: NextArgs) -> CliResult {
    let ctx = Context::load(dir)?;
    let service = &args.service;
    ctx.config.service(service)?;
    // With an explicit bump the commit scan is not needed: skip it, `next` must stay fast
    // in repositories with 100,000 tags.
    let analysis = plan::analyze_with(
        &ctx.repo,
        &ctx.config,
        service,
        args.commit.as_deref(),
        args.bump.is_none(),
    )?;
    if !args.offline {
        let remote = args
            .remote
            .clone()
            .unwrap_or_else(|| ctx.config.defaults.remote.clone());
        let (state, _) = plan::remote_state(
            &ctx.repo,
            &ctx.config,
            &remote,
            service,
            analysis.current.as_ref(),
        );
        match state {
            RemoteState::Ahead { remote_tag } => {
                return Err(PlanError::RemoteAhead {
                    remote,
                    remote_tag,
                    local: analysis.current.as_ref().map(|c| c.tag.clone()),
                }
                .into())
            }
            RemoteState::Unavailable { reason } => ui::warn(&format!(
                "could not read the tags of remote `{}` ({}); the answer uses local tags only, pass --offline to skip this check",
                text::line(&remote),
                text::line(&reason)
            )),
            _ => {}
        }
    }
    let commits = args.bump.is_none().then_some(analysis.commits.len());
    // Without a bump the answer is the commits' suggestion; with nothing to release
    // there is none, and a patch would be a release of unchanged code.
    if args.bump.is_none() {
        if let Some(reason) = analysis.nothing_to_release(&ctx.repo, &ctx.config, None)? {
            if args.json {
                ui::print_json(&Next {
                    service: service.clone(),
                    current: analysis.current.as_ref().map(|c| c.version.to_string()),
                    next: None,
                    tag: None,
                    commit: analysis.commit.clone(),
                    bump: None,
                    suggested: true,
                    commits,
                    nothing_to_release: Some(reason.to_string()),
                })?;
            }
            return Err(CliError::from(PlanError::NothingToRelease {
                service: service.clone(),
                reason,
            })
            .hint("pass --bump to see the version that a release with --allow-empty would get"));
        }
    }
    let bump = args.bump.unwrap_or(analysis.suggestion);
    let version = analysis
        .next_for(&ctx.config, bump, args.pre.as_deref())
        .map_err(PlanError::from)?;
    let tag = ctx.config.tag_template().render(service, &version);
    if args.json {
        ui::print_json(&Next {
            service: service.clone(),
            current: analysis.current.as_ref().map(|c| c.version.to_string()),
            next: Some(version.to_string()),
            tag: Some(tag),
            commit: analysis.commit.clone(),
            bump: Some(bump),
            suggested: args.bump.is_none(),
            commits,
            nothing_to_release: None,
        })?;
    } else {
        println!("{version}");
    }
    Ok(ExitCode::SUCCESS)
}
