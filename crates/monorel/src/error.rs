//! The one user-facing error type: a kind that fixes the exit code, a message, causes and
//! hints, rendered git-style (`error: …`, `caused by: …`, `hint: …`).

use std::process::ExitCode;

use monorel_core::config::ConfigError;
use monorel_core::history::HistoryError;
use monorel_core::plan::PlanError;
use monorel_core::repo::RepoError;
use monorel_core::text;

/// Stable exit codes; scripts depend on them (documented in docs/reference.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// 1: a release rule refused the operation, or a check found a bad tag.
    Refused = 1,
    /// 2: the command line is wrong (also: no `--bump` without a terminal).
    Usage = 2,
    /// 3: `git-release.toml` is missing or invalid.
    Config = 3,
    /// 4: the registry or remote could not be asked.
    Unavailable = 4,
    /// 5: git or the file system failed.
    Internal = 5,
    /// 6: a live deploy was applied but its rollout failed (ECS circuit breaker, a failed
    /// Lambda update, the deployment replaced, the service deleted).
    RolloutFailed = 6,
    /// 7: a live deploy was applied but its rollout did not finish within `--timeout`.
    RolloutTimedOut = 7,
    /// 130: cancelled by the user.
    Cancelled = 130,
    /// 0: stdout was closed by its reader (a broken pipe is not a failure).
    ReaderClosed = 0,
}

/// An error on its way to the user.
#[derive(Debug)]
pub struct CliError {
    kind: Kind,
    message: String,
    hints: Vec<String>,
}

impl CliError {
    /// Creates an error of `kind`.
    pub fn new(kind: Kind, message: impl Into<String>) -> CliError {
        CliError {
            kind,
            message: message.into(),
            hints: Vec::new(),
        }
    }

    /// Adds a hint line.
    pub fn hint(mut self, hint: impl Into<String>) -> CliError {
        self.hints.push(hint.into());
        self
    }

    /// A failure that was already reported line by line (check, hook): exit without more text.
    pub fn silent(kind: Kind) -> CliError {
        CliError {
            kind,
            message: String::new(),
            hints: Vec::new(),
        }
    }

    /// Prints the error and returns its exit code.
    pub fn report(self) -> ExitCode {
        if !self.message.is_empty() {
            let style = crate::ui::Style::stderr();
            // Messages quote tag names, remotes, paths and registry answers: the gate makes
            // their control characters visible (already-escaped text passes unchanged).
            eprintln!("{} {}", style.error("error:"), text::line(&self.message));
            for hint in &self.hints {
                eprintln!("{} {}", style.hint("hint:"), text::line(hint));
            }
        }
        ExitCode::from(self.kind as u8)
    }
}

impl From<ConfigError> for CliError {
    fn from(e: ConfigError) -> Self {
        CliError::new(Kind::Config, e.to_string())
    }
}

impl From<RepoError> for CliError {
    fn from(e: RepoError) -> Self {
        let kind = match &e {
            RepoError::NotARepository { .. } | RepoError::Bare(_) => Kind::Usage,
            RepoError::UnknownRevision { .. }
            | RepoError::NotACommit { .. }
            | RepoError::TagExists(_)
            | RepoError::NoIdentity
            | RepoError::TagChainTooDeep { .. } => Kind::Refused,
            RepoError::Unborn => Kind::Refused,
            RepoError::Git { .. }
            | RepoError::BadTagObject { .. }
            | RepoError::CorruptObject { .. }
            | RepoError::UnsupportedRefStorage { .. }
            | RepoError::UnsupportedObjectFormat { .. }
            | RepoError::UnsupportedExtension { .. }
            | RepoError::UnsupportedFormatVersion { .. }
            | RepoError::Command(_) => Kind::Internal,
        };
        let error = CliError::new(kind, e.to_string());
        match e.hint() {
            Some(hint) => error.hint(hint),
            None => error,
        }
    }
}

impl From<HistoryError> for CliError {
    fn from(e: HistoryError) -> Self {
        match e {
            HistoryError::Repo(e) => e.into(),
            e => CliError::new(Kind::Internal, e.to_string()),
        }
    }
}

impl From<PlanError> for CliError {
    fn from(e: PlanError) -> Self {
        match e {
            PlanError::Repo(e) => e.into(),
            PlanError::History(e) => e.into(),
            e => CliError::new(Kind::Refused, e.to_string()),
        }
    }
}

impl From<monorel_core::notes::NotesError> for CliError {
    fn from(e: monorel_core::notes::NotesError) -> Self {
        use monorel_core::notes::NotesError;
        match e {
            NotesError::Repo(e) => e.into(),
            e => CliError::new(Kind::Refused, e.to_string()),
        }
    }
}

impl From<monorel_core::config::UnknownService> for CliError {
    fn from(e: monorel_core::config::UnknownService) -> Self {
        CliError::new(Kind::Refused, e.to_string())
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        // `git release man | head`: the reader has all it wanted; that is success.
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            return CliError::silent(Kind::ReaderClosed);
        }
        CliError::new(Kind::Internal, e.to_string())
    }
}

impl From<serde_json::Error> for CliError {
    fn from(e: serde_json::Error) -> Self {
        if e.io_error_kind() == Some(std::io::ErrorKind::BrokenPipe) {
            return CliError::silent(Kind::ReaderClosed);
        }
        CliError::new(Kind::Internal, format!("cannot write JSON: {e}"))
    }
}

/// The result of a command: an exit code, or an error to report.
pub type CliResult = Result<ExitCode, CliError>;
