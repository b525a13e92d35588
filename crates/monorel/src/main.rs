//! `git-release`: cut, check and promote per-service releases in a monorepo.
//!
//! This binary parses arguments, talks to people (prompts, colour, spinners) and prints;
//! every decision lives in `monorel-core`.

mod cli;
mod commands;
mod error;
mod ui;

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(err) => err.report(),
    }
}
