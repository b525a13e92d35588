//! `git release check <tag>…`: the pre-push rules on named local tags, for CI's tag-push
//! job (the server-side twin of the hook, which `git push --no-verify` cannot skip).

use std::path::Path;
use std::process::ExitCode;

use clap::Args;
use monorel_core::check::{self, Local, Report, TagUpdate, Verdict};
use monorel_core::registry;
use monorel_core::text;
use serde::Serialize;

use super::Context;
use crate::error::{CliError, CliResult, Kind};
use crate::ui::{self, Style};

/// Arguments of `check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The tags to check
    #[arg(required = true)]
    pub tags: Vec<String>,
    /// Print the verdicts as JSON
    #[arg(long)]
    pub json: bool,
}

/// The `--json` document; its field names are a stable contract for CI scripts.
#[derive(Serialize)]
struct JsonReport<'a> {
    ok: bool,
    images_checked: bool,
    warnings: &'a [String],
    tags: Vec<JsonTag<'a>>,
}

#[derive(Serialize)]
struct JsonTag<'a> {
    tag: &'a str,
    service: Option<&'a str>,
    version: Option<String>,
    commit: Option<&'a str>,
    ok: bool,
    digest: Option<&'a str>,
    /// The commit's artifact (image `repository`/`tag` or object `bucket`/`key`).
    #[serde(skip_serializing_if = "Option::is_none")]
    artifact: Option<&'a registry::ArtifactRef>,
    /// The object's `etag`, `checksum_sha256`, `version_id` and `size` (S3 stores).
    #[serde(skip_serializing_if = "Option::is_none")]
    object: Option<&'a registry::ObjectIdentity>,
    failures: &'a [check::Failure],
    /// True when the tag breaks no rule but the registry could not be asked about it.
    registry_unavailable: bool,
}

/// Runs `check`.
pub fn run(dir: &Path, args: CheckArgs) -> CliResult {
    let ctx = Context::load(dir)?;
    let mut updates = Vec::with_capacity(args.tags.len());
    for name in &args.tags {
        let tag = name.strip_prefix("refs/tags/").unwrap_or(name);
        // A name git cannot store names no tag: it is judged by its name alone (rule 1
        // says what is wrong), and the other tags are still checked.
        let local = if monorel_core::tag::check_ref_format(tag).is_err() {
            Local::Missing
        } else {
            match ctx.repo.tag_target(tag)? {
                Some(target) => Local::Object(target.ref_target),
                None => Local::Missing,
            }
        };
        updates.push(TagUpdate {
            tag: tag.to_string(),
            local,
            remote: None,
        });
    }
    let stores = open_stores(&ctx.config);
    let report = check::check_tags(&ctx.config, &ctx.repo, &updates, &stores)
        .map_err(|e| CliError::new(Kind::Internal, e.to_string()))?;
    ctx.warn_if_unchecked();
    for warning in &report.warnings {
        ui::warn(warning);
    }
    if args.json {
        ui::print_json(&JsonReport {
            ok: report.ok(),
            images_checked: report.images_checked,
            warnings: &report.warnings,
            tags: report
                .verdicts
                .iter()
                .map(|v| JsonTag {
                    tag: &v.tag,
                    service: v.service.as_deref(),
                    version: v.version.as_ref().map(ToString::to_string),
                    commit: v.commit.as_deref(),
                    ok: v.ok(),
                    digest: v.digest.as_deref(),
                    artifact: v.artifact.as_ref(),
                    object: v.object.as_ref(),
                    failures: &v.failures,
                    registry_unavailable: v.registry_unavailable,
                })
                .collect(),
        })?;
    } else {
        let style = Style::stdout();
        for line in report_lines(&report, &style) {
            println!("{line}");
        }
    }
    if report.ok() {
        return Ok(ExitCode::SUCCESS);
    }
    Err(CliError::new(
        refusal_kind(&report),
        refusal("the check failed", &report),
    ))
}

/// Returns the exit code of a refused report: 4 when the only failures are that the
/// registry could not be asked, 1 when any tag breaks a rule (the same in the hook, `check`
/// and `git release <service>`).
pub fn refusal_kind(report: &Report) -> Kind {
    if report.only_unavailable() {
        Kind::Unavailable
    } else {
        Kind::Refused
    }
}

/// Returns the summary of a refused report: `<what>: N of M tags break the release rules`.
pub fn refusal(what: &str, report: &Report) -> String {
    let bad = report.verdicts.iter().filter(|v| !v.ok()).count();
    let total = report.verdicts.len();
    let tags = if total == 1 { "tag" } else { "tags" };
    if report.only_unavailable() {
        let verb = if bad == 1 { "was" } else { "were" };
        return format!("{what}: {bad} of {total} {tags} {verb} not checked because the registry could not be asked; fix the cause in each ✗ above and retry (docs/hook.md says which failures `[hook] on-registry-error = \"warn\"` lets through)");
    }
    let verb = if bad == 1 { "breaks" } else { "break" };
    format!("{what}: {bad} of {total} {tags} {verb} the release rules; fix each ✗ above (the rules: docs/hook.md)")
}

/// Returns one line per passing tag and one per failure, ✓ or ✗ first.
pub fn report_lines(report: &Report, style: &Style) -> Vec<String> {
    let mut lines = Vec::new();
    for verdict in &report.verdicts {
        if verdict.ok() {
            lines.push(format!(
                "{} {}",
                style.good("✓"),
                ok_text(verdict, report, style)
            ));
        }
        for failure in &verdict.failures {
            lines.push(format!(
                "{} {} {}",
                style.bad("✗"),
                style.strong(&format!("[{}]", failure.rule)),
                text::line(&failure.message)
            ));
        }
    }
    lines
}

fn ok_text(verdict: &Verdict, report: &Report, style: &Style) -> String {
    let tag = style.strong(&text::line(&verdict.tag));
    if verdict.delete {
        return format!("{tag} deleted (not a release tag, or [hook] allow-rewrite = true)");
    }
    let commit = verdict.commit.as_deref().map_or(String::new(), |c| {
        format!(" on {}", style.dim(&text::line(c.get(..12).unwrap_or(c))))
    });
    let image = match (&verdict.digest, &verdict.object) {
        (Some(digest), _) => format!(", image {}", style.dim(&text::line(digest))),
        (None, Some(object)) => format!(", object {}", style.dim(&object.short())),
        (None, None) if report.images_checked => String::new(),
        (None, None) => ", image not checked".to_string(),
    };
    format!("{tag}{commit}{image}")
}

/// Opens the configured stores for the hook and `check`, with a spinner around each
/// artifact check when stderr is a terminal (the core library knows nothing of indicatif).
pub fn open_stores(config: &monorel_core::Config) -> registry::Stores<'_> {
    registry::Stores::open(config).with_progress(Box::new(Spinning))
}

/// Shows a spinner while the stores are asked.
struct Spinning;

impl registry::Progress for Spinning {
    fn around(&self, message: &str, work: &mut dyn FnMut()) {
        ui::with_spinner(message, work)
    }
}
