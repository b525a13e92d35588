//! `git release notes <tag | service>`: the release notes of a release, or the unreleased
//! notes of a service, for CI to publish (Markdown for a GitHub or GitLab release body,
//! JSON for anything else). The notes themselves are built in `monorel_core::notes`.

use std::path::Path;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use monorel_core::notes;
use monorel_core::text;

use super::Context;
use crate::error::CliResult;

/// Arguments of `notes`.
#[derive(Debug, Args)]
pub struct NotesArgs {
    /// A release tag (its notes since the service's previous release) or a service (its
    /// commits since its latest release, up to HEAD)
    #[arg(value_name = "TAG|SERVICE")]
    pub target: String,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Md)]
    pub format: Format,
    /// Start after this tag (or any revision) instead of the previous release
    #[arg(long, value_name = "TAG")]
    pub from: Option<String>,
}

/// Output formats of `notes`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    /// Markdown, for a release body
    Md,
    /// JSON: version, date, previous tag, commits with type, scope, breaking, subject, id
    Json,
}

/// Runs `notes`.
pub fn run(dir: &Path, args: NotesArgs) -> CliResult {
    let ctx = Context::load(dir)?;
    let release = notes::read(&ctx.repo, &ctx.config, &args.target, args.from.as_deref())?;
    match args.format {
        Format::Json => crate::ui::print_json(&release)?,
        Format::Md if release.notes.is_empty() => {
            let since = release
                .previous
                .as_deref()
                .map_or("the start of history".into(), text::line);
            println!("No changes since {since}.");
        }
        // Every line of the notes passed the text gate when they were built.
        Format::Md => print!("{}", release.notes.to_markdown()),
    }
    Ok(ExitCode::SUCCESS)
}
