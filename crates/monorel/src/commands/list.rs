//! `git release list`: every configured service, its latest release, and how many
//! commits touched it since.

use std::path::Path;
use std::process::ExitCode;

use clap::Args;
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
            let queries = history_queries(services.values().map(|s| &s.path), &latest);
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
        .collect();
    if args.json {
        ui::print_json(&rows)?;
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

/// One history question per service: its path, since its latest release.
pub(crate) fn history_queries<'a>(
    paths: impl Iterator<Item = &'a String>,
    latest: &[Option<Release>],
) -> Vec<Query> {
    paths
        .zip(latest)
        .map(|(path, latest)| Query {
            paths: vec![path.clone()],
            since: latest.as_ref().map(|r| format!("refs/tags/{}", r.tag)),
        })
        .collect()
}
