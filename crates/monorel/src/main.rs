//! `git-release`: cut, check and promote per-service releases in a monorepo.
//!
//! This binary parses arguments, talks to people (prompts, colour, spinners) and prints;
//! every decision lives in `monorel-core`.
// The doc comments of the clap structs are the `--help` text, where `[default: …]` is
// the convention; rustdoc would read those brackets as links.
#![allow(rustdoc::broken_intra_doc_links, rustdoc::invalid_html_tags)]

// Printing never panics: these shadow std's macros in every module below (output.rs).
macro_rules! print {
    ($($arg:tt)*) => { $crate::output::out(format_args!($($arg)*)) };
}
macro_rules! println {
    () => { $crate::output::out(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::output::out(format_args!("{}\n", format_args!($($arg)*))) };
}
macro_rules! eprint {
    ($($arg:tt)*) => { $crate::output::err(format_args!($($arg)*)) };
}
macro_rules! eprintln {
    () => { $crate::output::err(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::output::err(format_args!("{}\n", format_args!($($arg)*))) };
}

mod cli;
mod commands;
mod error;
mod output;
mod ui;

use std::process::ExitCode;

fn main() -> ExitCode {
    let result = match cli::parse() {
        Ok(cli) => commands::run(cli),
        Err(e) => Ok(print_clap(&e)),
    };
    match (result, output::finish()) {
        (Err(err), _) => err.report(),
        (Ok(code), Ok(())) => code,
        // The reader had all it wanted: the command's own outcome stands.
        (Ok(code), Err(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => code,
        (Ok(_), Err(e)) => error::CliError::new(
            error::Kind::Internal,
            format!("cannot write to standard output: {e}"),
        )
        .report(),
    }
}

/// Prints clap's help, version or usage error as clap would, through [`output`].
fn print_clap(e: &clap::Error) -> ExitCode {
    use std::io::IsTerminal;
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    if e.use_stderr() {
        // A usage error quotes the refused argument, which in CI is often repository data
        // (`git release check "$GITHUB_REF_NAME"`): it passes the text gate, uncoloured.
        eprint!("{}", monorel_core::text::block(&e.render().to_string()));
        return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
    }
    let terminal = std::io::stdout().is_terminal();
    let text = if terminal && !no_color {
        e.render().ansi().to_string()
    } else {
        e.render().to_string()
    };
    print!("{text}");
    // clap's codes: 0 for help and version, 2 for usage errors.
    ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2))
}
