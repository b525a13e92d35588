//! `git release list`: every configured service, its latest release, and how many
//! commits touched it (its own path or its shared `also` paths) since.
//!
//! `--changed` keeps only the services with such commits, and `--since <rev>` asks about
//! `<rev>..HEAD` instead of each service's last release: what a CI matrix needs to build
//! what changed on a push. Both answer from the same one-pass history read.

use std::path::Path;
use std::process::ExitCode;

use clap::Args;
use monorel_core::config::{Config, ServiceConfig};
use monorel_core::history::{self, Query};
use monorel_core::repo::{HeadState, Release};
use monorel_core::text;
use serde::Serialize;

use super::Context;
use crate::error::CliResult;
use crate::ui::{self, Style};

/// Arguments of `list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print the list as JSON
    #[arg(long)]
    pub json: bool,
    /// List only the services with commits since their latest release (own or shared paths)
    #[arg(long)]
    pub changed: bool,
    /// With --changed, count the commits in <REV>..HEAD instead of since each release
    #[arg(long, value_name = "REV", requires = "changed")]
    pub since: Option<String>,
}

#[derive(Serialize)]
struct Row {
    service: String,
    path: String,
    latest: Option<String>,
    version: Option<String>,
    commits_since: usize,
}

/// Runs `list`.
pub fn run(dir: &Path, args: ListArgs) -> CliResult {
    let ctx = Context::load(dir)?;
    let template = ctx.config.tag_template();
    let services = &ctx.config.services;
    let latest =
        history::latest_releases(&ctx.repo, &template, services.keys().map(String::as_str))?;
    // Right after `git init` and `git release init` there is no HEAD to count from yet.
    let counts = match ctx.repo.head_state()? {
        HeadState::Unborn => vec![0; services.len()],
        _ => {
            let head = ctx.repo.resolve_commit("HEAD")?;
            let mut queries = history_queries(&ctx.config, services.values(), &latest);
            if let Some(rev) = &args.since {
                // Resolved here to an object id: a revision from the command line never
                // reaches `git log` as an argument it could read as an option.
                let since = ctx.repo.resolve_commit(rev)?.to_string();
                for query in &mut queries {
                    query.since = Some(since.clone());
                }
            }
            history::count_since(&ctx.repo, head, &queries)?
        }
    };
    let rows: Vec<Row> = services
        .iter()
        .zip(latest)
        .zip(counts)
        .map(|(((name, service), latest), commits_since)| Row {
            service: name.clone(),
            path: service.path.clone(),
            latest: latest.as_ref().map(|r| r.tag.clone()),
            version: latest.as_ref().map(|r| r.version.to_string()),
            commits_since,
        })
        .filter(|row| !args.changed || row.commits_since > 0)
        .collect();
    if args.json {
        ui::print_json(&rows)?;
        return Ok(ExitCode::SUCCESS);
    }
    if args.changed && rows.is_empty() {
        // Nothing changed: no output, exit 0, so `for s in $(…)` loops run zero times.
        return Ok(ExitCode::SUCCESS);
    }
    let style = Style::stdout();
    let width = rows
        .iter()
        .map(|r| text::line(&r.service).chars().count())
        .max()
        .unwrap_or(7)
        .max(7);
    println!("{:<width$}  {:<12}  COMMITS SINCE", "SERVICE", "LATEST");
    for row in &rows {
        let version = row.version.clone().unwrap_or_else(|| "-".into());
        let since = if row.commits_since > 0 {
            style.strong(&row.commits_since.to_string())
        } else {
            "0".into()
        };
        // Padding counts the escaped text, which is what the terminal shows.
        println!(
            "{:<width$}  {:<12}  {since}",
            text::line(&row.service),
            version
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// One history question per service: its paths (own and shared), since its latest
/// release.
pub(crate) fn history_queries<'a>(
    config: &Config,
    services: impl Iterator<Item = &'a ServiceConfig>,
    latest: &[Option<Release>],
) -> Vec<Query> {
    services
        .zip(latest)
        .map(|(service, latest)| {
            Query::new(
                config.paths_of(service),
                latest.as_ref().map(|r| format!("refs/tags/{}", r.tag)),
            )
        })
        .collect()
}
