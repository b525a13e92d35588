//! `git release promote <tag>`.

use std::path::Path;

use clap::Args;

use crate::error::CliResult;

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

/// Runs `promote`.
pub fn run(_dir: &Path, _args: PromoteArgs) -> CliResult {
    super::not_yet("promote")
}
