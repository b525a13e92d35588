//! `git release check <tag>…`.

use std::path::Path;

use clap::Args;

use crate::error::CliResult;

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

/// Runs `check`.
pub fn run(_dir: &Path, _args: CheckArgs) -> CliResult {
    super::not_yet("check")
}
