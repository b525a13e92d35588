//! `git release init --ci github`: ready-made CI workflows.

use std::path::Path;

use super::init::CiProvider;
use crate::error::CliResult;

/// Writes the workflows of `provider` under `root`.
pub fn run(_root: &Path, _provider: CiProvider, _force: bool) -> CliResult {
    super::not_yet("init --ci")
}
