//! `git release next <service>`: the next version, without tagging.

use std::path::Path;
use std::process::ExitCode;

use clap::Args;
use monorel_core::plan::{self, PlanError, RemoteState};
use monorel_core::text;
use monorel_core::Bump;
use serde::Serialize;

use super::Context;
use crate::error::CliResult;
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
    /// Print `{service, current, next, tag, commit}` as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct Next {
    service: String,
    current: Option<String>,
    next: String,
    tag: String,
    commit: String,
    bump: Bump,
    suggested: bool,
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
    let bump = args.bump.unwrap_or(analysis.suggestion);
    let version = analysis
        .next_for(&ctx.config, bump, args.pre.as_deref())
        .map_err(PlanError::from)?;
    let tag = ctx.config.tag_template().render(service, &version);
    if args.json {
        ui::print_json(&Next {
            service: service.clone(),
            current: analysis.current.as_ref().map(|c| c.version.to_string()),
            next: version.to_string(),
            tag,
            commit: analysis.commit.clone(),
            bump,
            suggested: args.bump.is_none(),
        })?;
    } else {
        println!("{version}");
    }
    Ok(ExitCode::SUCCESS)
}
