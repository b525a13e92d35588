//! `git release doctor`.

use std::path::Path;

use clap::Args;

use crate::error::CliResult;

/// Arguments of `doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Print the findings as JSON
    #[arg(long)]
    pub json: bool,
}

/// Runs `doctor`.
pub fn run(_dir: &Path, _args: DoctorArgs) -> CliResult {
    super::not_yet("doctor")
}
