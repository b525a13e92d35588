//! `git-release`: cut, check and promote per-service releases in a monorepo.
//!
//! This binary parses arguments, talks to people (prompts, colour, spinners) and prints;
//! every decision lives in `monorel-core`.
// The doc comments of the clap structs are the `--help` text, where `[default: …]` is
// the convention; rustdoc would read those brackets as links.
#![allow(rustdoc::broken_intra_doc_links, rustdoc::invalid_html_tags)]

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
