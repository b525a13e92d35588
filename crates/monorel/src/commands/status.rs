//! `git release status`.

use std::path::Path;

use clap::Args;

use crate::error::CliResult;

/// Arguments of `status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print the table as JSON
    #[arg(long)]
    pub json: bool,
}

/// Runs `status`.
pub fn run(_dir: &Path, _args: StatusArgs) -> CliResult {
    super::not_yet("status")
}
