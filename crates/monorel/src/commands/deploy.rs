//! `git release deploy <service> --env <env>`.

use std::path::Path;

use clap::Args;

use crate::error::CliResult;

/// Arguments of `deploy`.
#[derive(Debug, Args)]
pub struct DeployArgs {
    /// The service to deploy
    pub service: String,
    /// The environment to pin, as configured under [environments]
    #[arg(long)]
    pub env: String,
    /// The version to deploy (default: the latest release)
    #[arg(long, conflicts_with = "tag")]
    pub version: Option<String>,
    /// The release tag to deploy
    #[arg(long)]
    pub tag: Option<String>,
    /// Commit the changed file with a conventional message
    #[arg(long)]
    pub commit: bool,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

/// Runs `deploy`.
pub fn run(_dir: &Path, _args: DeployArgs) -> CliResult {
    super::not_yet("deploy")
}
