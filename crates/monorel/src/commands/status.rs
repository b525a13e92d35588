//! `git release status`: what runs where.
//!
//! One row per service: its latest release, how many commits touched it since, and for
//! each environment the release pinned in that environment's Terraform variables (read
//! back from the files `git release deploy` writes), marked when it is behind the latest.
//! A SAM environment's pin is the release its template's `CodeUri` names for the
//! service's function (the template is read once per environment).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use clap::Args;
use monorel_core::config::{EnvironmentKind, RegistryKind};
use monorel_core::deploy;
use monorel_core::deploy::sam::pins::{self as sam_pins, SamPin};
use monorel_core::history;
use monorel_core::repo::HeadState;
use monorel_core::text;
use monorel_core::version::parse_release_version;
use serde::Serialize;

use super::list::history_queries;
use super::Context;
use crate::error::CliResult;
use crate::ui::{self, Style};

/// Arguments of `status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print the table as JSON
    #[arg(long)]
    pub json: bool,
}

/// The `--json` document; its shape is a stable contract for scripts.
#[derive(Serialize)]
struct Status {
    environments: Vec<String>,
    services: Vec<ServiceRow>,
}

#[derive(Serialize)]
struct ServiceRow {
    service: String,
    latest: Option<String>,
    commits_since: usize,
    environments: BTreeMap<String, EnvCell>,
    #[serde(skip)]
    latest_version: Option<String>,
}

#[derive(Serialize)]
struct EnvCell {
    pinned: Option<String>,
    behind: bool,
    /// Live environments and Terraform environments that name what they run: the
    /// release running now (by the tag recorded on the revision, by image digest, or by
    /// a zip's SHA-256 checksum).
    #[serde(skip_serializing_if = "Option::is_none")]
    running: Option<String>,
    /// The revision that runs (`family:revision`, a Lambda version).
    #[serde(skip_serializing_if = "Option::is_none")]
    running_revision: Option<String>,
    /// The image digest that runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    running_digest: Option<String>,
    /// Pinned in Terraform and running something else.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    drift: bool,
    /// Why what runs could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    live_error: Option<String>,
    /// SAM: why the function's `CodeUri` names no release of the service (a local
    /// directory, a commit's object, another bucket, an intrinsic); `pinned` is then null.
    #[serde(skip_serializing_if = "Option::is_none")]
    unpinned: Option<String>,
    /// SAM: why the environment's template could not be read; `pinned` is then null.
    #[serde(skip_serializing_if = "Option::is_none")]
    pin_error: Option<String>,
    #[serde(skip)]
    shown: String,
}

/// Runs `status`.
pub fn run(dir: &Path, args: StatusArgs) -> CliResult {
    let ctx = Context::load(dir)?;
    let root = ctx.root();
    let template = ctx.config.tag_template();
    let environments: Vec<String> = ctx.config.environments.keys().cloned().collect();
    let is_sam = |env: &str| {
        ctx.config
            .environments
            .get(env)
            .is_some_and(|e| e.kind == EnvironmentKind::Sam)
    };
    let configured = &ctx.config.services;
    let latest_all =
        history::latest_releases(&ctx.repo, &template, configured.keys().map(String::as_str))?;
    // Right after `git init` there is no HEAD to count from yet: nothing since, as `list`.
    let counts = match ctx.repo.head_state()? {
        HeadState::Unborn => vec![0; configured.len()],
        _ => {
            let head = ctx.repo.resolve_commit("HEAD")?;
            let queries = history_queries(&ctx.config, configured.values(), &latest_all);
            history::count_since(&ctx.repo, head, &queries)?
        }
    };
    // Every cell's pin at once: a file shared by many services is parsed once.
    let mut targets = Vec::with_capacity(configured.len() * environments.len());
    for name in configured.keys() {
        for env in environments.iter().filter(|e| !is_sam(e)) {
            if ctx.config.live_target(name, env).is_none() {
                // An S3 service's tag variable has its own default (`_release_tag`).
                let objects = ctx.config.store_of(name).1.kind == RegistryKind::S3;
                targets.push(deploy::target_for(&ctx.config, &root, name, env, objects)?);
            }
        }
    }
    let mut pins = deploy::read_pins(&targets).into_iter();
    // A SAM template is read once for all its services; one that cannot be read is one
    // warning, and every cell of its column says why.
    let names: Vec<&str> = configured.keys().map(String::as_str).collect();
    let mut sam: BTreeMap<&str, Result<std::vec::IntoIter<SamPin>, String>> = BTreeMap::new();
    for env in environments.iter().filter(|e| is_sam(e)) {
        let read = sam_pins::read_pins(&ctx.config, &root, env, &names).map_err(|e| {
            let message = e.to_string();
            ui::warn(&format!("{env}: {message}"));
            text::line(&message).into_owned()
        });
        sam.insert(env, read.map(Vec::into_iter));
    }
    let mut live = super::status_live::read_all(&ctx, &environments);
    let mut services = Vec::new();
    for ((name, latest), commits_since) in configured.keys().zip(latest_all).zip(counts) {
        let mut cells = BTreeMap::new();
        for env in &environments {
            let (mut unpinned, mut pin_error) = (None, None);
            let read = if let Some(read) = sam.get_mut(env.as_str()) {
                match read {
                    Ok(cells) => match cells.next() {
                        Some(SamPin::Release(tag)) => Ok(Some(tag)),
                        Some(SamPin::Unpinned { short, reason }) => {
                            unpinned = Some((short, reason));
                            Ok(None)
                        }
                        Some(SamPin::Absent) | None => Ok(None),
                    },
                    Err(message) => {
                        pin_error = Some(message.clone());
                        Ok(None)
                    }
                }
            } else if ctx.config.live_target(name, env).is_some() {
                Ok(None)
            } else {
                pins.next().unwrap_or(Ok(None))
            };
            let pinned = match read {
                Ok(pinned) => pinned,
                Err(e) => {
                    ui::warn(&format!("{e}"));
                    None
                }
            };
            let pinned_version = pinned.as_deref().and_then(|tag| {
                template
                    .version_part(name, tag)
                    .and_then(|v| parse_release_version(v).ok())
            });
            let behind = match (&pinned, &latest) {
                (Some(tag), Some(latest)) => match &pinned_version {
                    Some(v) => *v < latest.version,
                    None => *tag != latest.tag,
                },
                _ => false,
            };
            let mut shown = match (&pinned_version, &pinned) {
                (Some(v), _) => v.to_string(),
                (None, Some(tag)) => text::line(tag).into_owned(),
                (None, None) if pin_error.is_some() => "- (template: ?)".into(),
                (None, None) => match &unpinned {
                    Some((short, _)) => format!("- ({})", text::line(short)),
                    None => "-".into(),
                },
            };
            let mut cell = EnvCell {
                pinned,
                behind,
                running: None,
                running_revision: None,
                running_digest: None,
                drift: false,
                live_error: None,
                unpinned: unpinned.map(|(_, reason)| reason),
                pin_error,
                shown: String::new(),
            };
            if let Some(read) = live.remove(&(name.clone(), env.clone())) {
                let version_of = |tag: &str| {
                    template
                        .version_part(name, tag)
                        .and_then(|v| parse_release_version(v).ok())
                };
                match read {
                    Ok(found) => {
                        let running_version = found.tag.as_deref().and_then(version_of);
                        let running_shown = match (&running_version, &found.tag) {
                            (Some(v), _) => v.to_string(),
                            (None, Some(tag)) => text::line(tag).into_owned(),
                            (None, None) => format!("{} (no release)", text::line(&found.revision)),
                        };
                        if let Some(pinned) = &cell.pinned {
                            if found.tag.as_deref() != Some(pinned.as_str()) {
                                cell.drift = true;
                                shown = format!("pinned {shown}, running {running_shown}");
                            }
                        } else {
                            shown = running_shown;
                            cell.behind = match (&running_version, &latest) {
                                (Some(v), Some(latest)) => *v < latest.version,
                                _ => false,
                            };
                        }
                        cell.running = found.tag;
                        cell.running_revision = Some(found.revision);
                        cell.running_digest = found.digest;
                    }
                    Err(message) => {
                        ui::warn(&format!("{name} in {env}: {message}"));
                        shown = format!("{shown} (live: ?)");
                        cell.live_error = Some(message);
                    }
                }
            }
            cell.shown = shown;
            cells.insert(env.clone(), cell);
        }
        services.push(ServiceRow {
            service: name.clone(),
            latest_version: latest.as_ref().map(|r| r.version.to_string()),
            latest: latest.map(|r| r.tag),
            commits_since,
            environments: cells,
        });
    }
    let status = Status {
        environments,
        services,
    };
    if args.json {
        ui::print_json(&status)?;
    } else {
        print!("{}", render_table(&status, &Style::stdout()));
    }
    Ok(ExitCode::SUCCESS)
}

/// Renders the table; widths come from the plain text so colour never breaks alignment.
fn render_table(status: &Status, style: &Style) -> String {
    const BEHIND: &str = " (behind)";
    let mut headers = vec!["SERVICE".to_string(), "LATEST".into(), "COMMITS".into()];
    headers.extend(
        status
            .environments
            .iter()
            .map(|e| text::line(&e.to_uppercase()).into_owned()),
    );
    let plain_rows: Vec<Vec<String>> = status
        .services
        .iter()
        .map(|row| {
            let mut cells = vec![
                text::line(&row.service).into_owned(),
                row.latest_version.clone().unwrap_or_else(|| "-".into()),
                row.commits_since.to_string(),
            ];
            for env in &status.environments {
                let cell = &row.environments[env];
                let suffix = if cell.behind { BEHIND } else { "" };
                cells.push(format!("{}{suffix}", cell.shown));
            }
            cells
        })
        .collect();
    let widths: Vec<usize> = (0..headers.len())
        .map(|i| {
            plain_rows
                .iter()
                .map(|r| r[i].chars().count())
                .chain([headers[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    let line = |cells: Vec<(String, String)>, out: &mut String| {
        let last = cells.len() - 1;
        for (i, (plain, painted)) in cells.into_iter().enumerate() {
            out.push_str(&painted);
            if i < last {
                let pad = widths[i] - plain.chars().count() + 2;
                out.push_str(&" ".repeat(pad));
            }
        }
        out.push('\n');
    };
    line(
        headers
            .iter()
            .map(|h| (h.clone(), style.strong(h)))
            .collect(),
        &mut out,
    );
    for (row, plain) in status.services.iter().zip(&plain_rows) {
        let mut cells = Vec::new();
        for (i, text) in plain.iter().enumerate() {
            let painted = match i {
                0 => text.clone(),
                1 if row.latest.is_some() => style.strong(text),
                2 if row.commits_since > 0 => style.warning(text),
                1 | 2 => style.dim(text),
                _ => {
                    let cell = &row.environments[&status.environments[i - 3]];
                    if cell.pin_error.is_some() {
                        style.warning(text)
                    } else if cell.pinned.is_none() && cell.running.is_none() {
                        style.dim(text)
                    } else if cell.behind || cell.drift || cell.live_error.is_some() {
                        style.warning(text)
                    } else {
                        style.good(text)
                    }
                }
            };
            cells.push((text.clone(), painted));
        }
        line(cells, &mut out);
    }
    if status.environments.is_empty() {
        out.push_str(
            "no environments are configured; add [environments.stg] with dir = \"infra/stg\" to git-release.toml\n",
        );
    }
    out
}
