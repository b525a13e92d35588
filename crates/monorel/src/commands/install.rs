//! `git release install` and `git release uninstall`: the pre-push hook in the directory
//! git reads hooks from (`core.hooksPath`, else the common git dir's `hooks/`, which
//! linked worktrees share).

use std::path::Path;
use std::process::ExitCode;

use clap::Args;
use monorel_core::config::FILE_NAME;
use monorel_core::hook::{self, InstallError, Installed, Uninstalled, CHAINED_NAME};
use monorel_core::repo::Repo;
use monorel_core::safe_write::WriteError;
use monorel_core::text;

use crate::error::{CliError, CliResult, Kind};
use crate::ui::{self, Style};

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

impl From<InstallError> for CliError {
    fn from(e: InstallError) -> Self {
        let kind = match e {
            InstallError::Write(e) => return e.into(),
            InstallError::Io { .. } | InstallError::Scope(_) => Kind::Internal,
            InstallError::SharedHooksDir { ref dir, .. } => {
                let shared = format!(
                    "hooks in {} then no longer run in this repository: copy the ones it needs into the new directory first (a pre-push there is kept and chained by install)",
                    dir.display()
                );
                return CliError::new(Kind::Refused, e.to_string())
                    .hint("give this repository its own hooks directory, then install again: git config core.hooksPath \"$(git rev-parse --path-format=absolute --git-common-dir)/hooks\" && git release install")
                    .hint(shared);
            }
            _ => Kind::Refused,
        };
        CliError::new(kind, e.to_string())
    }
}

/// Every safe write (pins, `init`, the hook): a link out of the repository or a held lock
/// is refused; the file system failing is internal.
impl From<WriteError> for CliError {
    fn from(e: WriteError) -> Self {
        let kind = match &e {
            WriteError::Io { .. } => Kind::Internal,
            _ => Kind::Refused,
        };
        CliError::new(kind, e.to_string())
    }
}

/// Runs `install`.
pub fn run_install(dir: &Path, args: InstallArgs) -> CliResult {
    let repo = Repo::discover(dir)?;
    let hooks_dir = repo.hooks_dir();
    hook::refuse_shared_hooks_dir(repo.root(), &hooks_dir)?;
    let outcome = hook::install(&hooks_dir, args.force)?;
    let style = Style::stdout();
    let path = hooks_dir.join(hook::HOOK_NAME);
    let shown = text::line(&path.display().to_string()).into_owned();
    match outcome {
        Installed::Fresh => println!("{} installed the pre-push hook: {shown}", style.good("✓")),
        Installed::Updated => println!("{} updated the pre-push hook: {shown}", style.good("✓")),
        Installed::Chained => {
            println!("{} installed the pre-push hook: {shown}", style.good("✓"));
            println!(
                "  the pre-push hook that was there is kept as {CHAINED_NAME} and runs after the release check"
            );
        }
        Installed::Unchanged => {
            println!("the pre-push hook is already installed: {shown} (nothing changed)")
        }
    }
    if !repo.root().join(FILE_NAME).exists() {
        ui::warn(&format!(
            "{} has no {FILE_NAME}, so pushing a tag will fail the hook; run `git release init`",
            text::line(&repo.root().display().to_string())
        ));
    }
    if !on_path("git-release") {
        ui::warn("git-release is not on PATH, so the hook will refuse every push; add its bin directory (e.g. ~/.cargo/bin) to PATH");
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `uninstall`.
pub fn run_uninstall(dir: &Path, _args: UninstallArgs) -> CliResult {
    let repo = Repo::discover(dir)?;
    let hooks_dir = repo.hooks_dir();
    let style = Style::stdout();
    let path = hooks_dir.join(hook::HOOK_NAME);
    match hook::uninstall(&hooks_dir)? {
        Uninstalled::Removed => {
            println!("{} removed the pre-push hook: {}", style.good("✓"), text::line(&path.display().to_string()))
        }
        Uninstalled::Restored => println!(
            "{} removed the git-release pre-push hook and restored the one that was there before: {}",
            style.good("✓"),
            text::line(&path.display().to_string())
        ),
        Uninstalled::NotInstalled => println!(
            "no git-release pre-push hook in {} (nothing changed)",
            text::line(&hooks_dir.display().to_string())
        ),
    }
    Ok(ExitCode::SUCCESS)
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}
