//! `git release install` and `git release uninstall`.

use std::path::Path;

use clap::Args;

use crate::error::CliResult;

/// Arguments of `install`.
#[derive(Debug, Args)]
pub struct InstallArgs {
    /// Replace a git-release hook of another version
    #[arg(long)]
    pub force: bool,
}

/// Arguments of `uninstall`.
#[derive(Debug, Args)]
pub struct UninstallArgs {}

/// Runs `install`.
pub fn run_install(_dir: &Path, _args: InstallArgs) -> CliResult {
    super::not_yet("install")
}

/// Runs `uninstall`.
pub fn run_uninstall(_dir: &Path, _args: UninstallArgs) -> CliResult {
    super::not_yet("uninstall")
}
