//! One file per subcommand; this module dispatches and holds what they share.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use monorel_core::config::{Config, ConfigCache, RegistryKind};
use monorel_core::repo::Repo;

use crate::cli::{Cli, Command};
use crate::error::{CliError, CliResult, Kind};

pub mod check;
pub mod deploy;
mod deploy_live;
pub mod doctor;
pub mod hook;
pub mod init;
pub mod init_ci;
mod init_github;
mod init_sam;
pub mod install;
pub mod list;
pub mod next;
pub mod notes;
pub mod promote;
pub mod release;
pub mod status;
mod status_live;

/// Runs the parsed command line.
pub fn run(cli: Cli) -> CliResult {
    let dir = crate::cli::enter_directory(cli.directory.as_deref())?;
    if cli
        .command
        .as_ref()
        .map_or(cli.release.json, Command::wants_json)
    {
        crate::ui::no_progress();
    }
    match cli.command {
        Some(Command::Release(args)) => release::run(&dir, args),
        Some(Command::Next(args)) => next::run(&dir, args),
        Some(Command::Notes(args)) => notes::run(&dir, args),
        Some(Command::List(args)) => list::run(&dir, args),
        Some(Command::Init(args)) => init::run(&dir, args),
        Some(Command::Install(args)) => install::run_install(&dir, args),
        Some(Command::Uninstall(args)) => install::run_uninstall(&dir, args),
        Some(Command::Hook(args)) => hook::run(&dir, args),
        Some(Command::Check(args)) => check::run(&dir, args),
        Some(Command::Promote(args)) => promote::run(&dir, args),
        Some(Command::Doctor(args)) => doctor::run(&dir, args),
        Some(Command::Deploy(args)) => deploy::run(&dir, args),
        Some(Command::Status(args)) => status::run(&dir, args),
        Some(Command::Completions(args)) => {
            use clap::CommandFactory;
            let mut command = Cli::command();
            // clap_complete panics when its writer fails: write to memory, then print.
            let mut script = Vec::new();
            clap_complete::generate(args.shell, &mut command, "git-release", &mut script);
            crate::output::out_bytes(&script);
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Man) => {
            use clap::CommandFactory;
            let mut page = Vec::new();
            clap_mangen::Man::new(Cli::command()).render(&mut page)?;
            crate::output::out_bytes(&page);
            Ok(ExitCode::SUCCESS)
        }
        None if cli.release.service.is_some() => release::run(&dir, cli.release),
        None => {
            use clap::CommandFactory;
            Cli::command().print_help()?;
            Err(CliError::new(Kind::Usage, "name a service to release, like `git release service-a --bump patch`, or a subcommand"))
        }
    }
}

/// The repository and its configuration, loaded once per command.
pub struct Context {
    /// The repository.
    pub repo: Repo,
    /// `git-release.toml`, with environment overrides applied.
    pub config: Config,
}

impl Context {
    /// Opens the repository containing `dir` and loads its configuration.
    pub fn load(dir: &Path) -> Result<Context, CliError> {
        let repo = Repo::discover(dir)?;
        let cache = ConfigCache::for_running_binary(repo.git_dir());
        let mut config = Config::load_cached(repo.root(), cache.as_ref())?;
        config.apply_env(|name| std::env::var(name).ok());
        Ok(Context { repo, config })
    }

    /// Says on stderr that images are not checked when the registry is `none`.
    pub fn warn_if_unchecked(&self) {
        if self.config.registry.kind == RegistryKind::None {
            crate::ui::warn(
                "images were not checked: git-release.toml sets [registry] kind = \"none\"",
            );
        }
    }

    /// Returns the repository root.
    pub fn root(&self) -> PathBuf {
        self.repo.root().to_path_buf()
    }
}
