//! `git release hook pre-push <remote> <url>`: run by the shim that `git release install`
//! writes, never by people.
//!
//! Speed matters on every push: stdin is read first, and a push without tag refs exits
//! before the repository, the configuration or the registry is touched.

use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

use clap::Args;
use monorel_core::{check, hook};

use super::Context;
use crate::error::{CliError, CliResult, Kind};
use crate::ui::{self, Style};

/// Arguments of `hook`.
#[derive(Debug, Args)]
pub struct HookArgs {
    /// The hook to run (pre-push)
    pub name: String,
    /// The arguments git gave the hook
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

/// Runs `hook`.
pub fn run(dir: &Path, args: HookArgs) -> CliResult {
    if args.name != "pre-push" {
        return Err(CliError::new(
            Kind::Usage,
            format!(
                "`{}` is not a hook git-release runs; the only one is pre-push (installed by `git release install`)",
                args.name
            ),
        ));
    }
    let mut raw = Vec::new();
    std::io::stdin().read_to_end(&mut raw)?;
    let input = String::from_utf8_lossy(&raw);
    if !hook::mentions_tags(&input) {
        return Ok(ExitCode::SUCCESS);
    }
    // Before the lines are read: a repository git-release cannot read (reftable, SHA-256)
    // blocks the push with the reason, not with a complaint about its object names.
    let ctx = Context::load(dir)?;
    let updates =
        hook::parse_pre_push(&input).map_err(|e| CliError::new(Kind::Usage, e.to_string()))?;
    if updates.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    let remote = args.args.first().map_or("the remote", String::as_str);

    let stores = super::check::open_stores(&ctx.config);
    let report = check::check_tags(&ctx.config, &ctx.repo, &updates, &stores)
        .map_err(|e| CliError::new(Kind::Internal, e.to_string()))?;
    let style = Style::stderr();
    // One write for all lines: a push of 100 tags would otherwise make 100 syscalls.
    let mut text = String::new();
    for line in super::check::report_lines(&report, &style) {
        text.push_str(&line);
        text.push('\n');
    }
    eprint!("{text}");
    ctx.warn_if_unchecked();
    for warning in &report.warnings {
        ui::warn(warning);
    }
    if report.ok() {
        return Ok(ExitCode::SUCCESS);
    }
    Err(CliError::new(
        super::check::refusal_kind(&report),
        super::check::refusal(
            &format!(
                "the push to {} was refused",
                monorel_core::text::line(remote)
            ),
            &report,
        ),
    ))
}
