//! The command line. Help texts are the doc comments: first line imperative, no period.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::commands;
use crate::error::{CliError, Kind};

/// Cut, check and promote per-service releases in a monorepo
///
/// `git release <service>` tags the next version of one service as an annotated tag on a
/// commit whose image exists in the registry. The pre-push hook (`git release install`)
/// checks every tag you push; `git release promote <tag>` re-tags the image in CI.
#[derive(Debug, Parser)]
#[command(
    name = "git-release",
    bin_name = "git release",
    version,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = "Examples:\n  git release service-a --bump minor --push\n  git release next service-a --json\n  git release list\n\nExit codes: 0 ok, 1 refused by a release rule, 2 usage, 3 config, 4 registry or remote unavailable, 5 git or I/O failure, 130 cancelled."
)]
pub struct Cli {
    /// Run as if started in this directory
    #[arg(short = 'C', global = true, value_name = "PATH")]
    pub directory: Option<PathBuf>,

    #[command(flatten)]
    pub release: commands::release::ReleaseArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands. A service cannot be named like one of them (see `RESERVED_NAMES`).
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Release a service (the same as `git release <service>`)
    Release(commands::release::ReleaseArgs),
    /// Print the next version of a service without tagging
    Next(commands::next::NextArgs),
    /// Print the release notes of a release tag, or the unreleased notes of a service
    Notes(commands::notes::NotesArgs),
    /// List every configured service with its latest release
    List(commands::list::ListArgs),
    /// Write a starter git-release.toml (and CI workflows with --ci)
    Init(commands::init::InitArgs),
    /// Install the pre-push hook into this repository
    Install(commands::install::InstallArgs),
    /// Remove the pre-push hook and restore what was there before
    Uninstall(commands::install::UninstallArgs),
    /// Run a git hook (called by the hook shim, not by people)
    Hook(commands::hook::HookArgs),
    /// Check release tags against every rule (CI's twin of the pre-push hook)
    Check(commands::check::CheckArgs),
    /// Re-tag a release's image in the registry, server-side
    Promote(commands::promote::PromoteArgs),
    /// Diagnose configuration, hook, credentials and registry access
    Doctor(commands::doctor::DoctorArgs),
    /// Pin an environment to a release in Terraform variables
    Deploy(commands::deploy::DeployArgs),
    /// Show every service's latest release and what each environment runs
    Status(commands::status::StatusArgs),
    /// Print shell completions
    Completions(CompletionsArgs),
    /// Print the man page
    Man,
}

impl Command {
    /// Whether the command was asked for `--json`: its reader is a program, so no
    /// progress is drawn even on a terminal (stdout stays the document, stderr the errors).
    pub fn wants_json(&self) -> bool {
        match self {
            Command::Release(args) => args.json,
            Command::Next(args) => args.json,
            Command::List(args) => args.json,
            Command::Check(args) => args.json,
            Command::Promote(args) => args.json,
            Command::Doctor(args) => args.json,
            Command::Deploy(args) => args.json,
            Command::Status(args) => args.json,
            Command::Notes(_)
            | Command::Init(_)
            | Command::Install(_)
            | Command::Uninstall(_)
            | Command::Hook(_)
            | Command::Completions(_)
            | Command::Man => false,
        }
    }
}

/// Arguments of `completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to print completions for
    pub shell: clap_complete::Shell,
}

/// Parses the process's arguments.
///
/// `--help`, `--version` and usage errors come back as clap's error, printed by `main`
/// through the same output as everything else (clap's own printing ignores a full disk).
pub fn parse() -> Result<Cli, clap::Error> {
    let (directory, args) = split_leading_directory(std::env::args_os().collect());
    let mut cli = Cli::try_parse_from(args)?;
    if cli.directory.is_none() {
        cli.directory = directory;
    }
    Ok(cli)
}

/// Moves into `-C <path>` (if given) like `git -C`, and returns the directory to start
/// looking for the repository from.
///
/// git resolves a relative `GIT_DIR`, `GIT_WORK_TREE`, … against the directory it was
/// started in (after `-C`); git-release runs git in the work tree's root, so such
/// variables are made absolute here, once, for gix and every git it starts to see the
/// same repository the user's git does.
pub fn enter_directory(directory: Option<&std::path::Path>) -> Result<PathBuf, CliError> {
    if let Some(dir) = directory {
        std::env::set_current_dir(dir).map_err(|e| {
            CliError::new(
                Kind::Usage,
                format!("cannot change to directory {}: {e}", dir.display()),
            )
        })?;
    }
    let cwd = std::env::current_dir()?;
    for name in [
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_COMMON_DIR",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
    ] {
        if let Some(value) = std::env::var_os(name) {
            let path = PathBuf::from(&value);
            if !value.is_empty() && path.is_relative() {
                // Still one thread: nothing else reads the environment yet.
                std::env::set_var(name, cwd.join(path));
            }
        }
    }
    Ok(cwd)
}

/// Takes a leading `-C <path>` (as in `git -C`) off the arguments.
///
/// clap treats a global option before a subcommand as one of the top-level release
/// arguments, which `args_conflicts_with_subcommands` then refuses; so `-C` is read here
/// when it comes first, and by clap when it comes after the subcommand.
fn split_leading_directory(
    mut args: Vec<std::ffi::OsString>,
) -> (Option<PathBuf>, Vec<std::ffi::OsString>) {
    let mut directory: Option<PathBuf> = None;
    while args.len() > 2 && args[1] == "-C" {
        let path = PathBuf::from(args.remove(2));
        args.remove(1);
        // Later `-C`s are relative to earlier ones, like git's.
        directory = Some(match directory {
            Some(base) => base.join(path),
            None => path,
        });
    }
    (directory, args)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    #[test]
    fn leading_directory_is_taken_off() {
        let args = ["git-release", "-C", "a", "-C", "b", "list"]
            .map(std::ffi::OsString::from)
            .to_vec();
        let (dir, rest) = super::split_leading_directory(args);
        assert_eq!(dir, Some(std::path::PathBuf::from("a/b")));
        assert_eq!(
            rest,
            ["git-release", "list"]
                .map(std::ffi::OsString::from)
                .to_vec()
        );
    }

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn reserved_names_match_subcommands() {
        let mut names: Vec<String> = Cli::command()
            .get_subcommands()
            .map(|c| c.get_name().to_string())
            .chain(["help".to_string()])
            .collect();
        names.sort();
        let mut reserved: Vec<String> = monorel_core::config::RESERVED_NAMES
            .iter()
            .map(|s| s.to_string())
            .collect();
        reserved.sort();
        assert_eq!(names, reserved);
    }
}
