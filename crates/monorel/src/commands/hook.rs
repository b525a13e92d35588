//! `git release hook pre-push <remote> <url>`.

use std::path::Path;

use clap::Args;

use crate::error::CliResult;

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
pub fn run(_dir: &Path, _args: HookArgs) -> CliResult {
    super::not_yet("hook")
}
