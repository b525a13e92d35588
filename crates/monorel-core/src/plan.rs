//! A release plan: everything `git release <service>` will do, validated before anything
//! is written.
//!
//! The flow is parse → [`analyze`] (read-only: releases, commits, suggestion) → choose a
//! version (flag or prompt, in the binary) → [`ReleasePlan::new`] (every rule checked) →
//! [`ReleasePlan::execute`]. `--dry-run` and `--json` print the plan and stop.

use std::time::Duration;

use semver::Version;
use serde::Serialize;

use crate::config::{Config, UnknownService};
use crate::conventional;
use crate::history::{self, HistoryError};
use crate::registry::{self, ImageRef, ImageStatus};
use crate::repo::{CommitSummary, HeadState, Release, Repo, RepoError};
use crate::sanitize::for_terminal;
use crate::tag::{check_image_tag, check_ref_format};
use crate::version::{ensure_greater, next_version, parse_release_version, Bump, VersionError};

/// What the repository says about a service before a version is chosen.
#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    /// The service.
    pub service: String,
    /// Its highest release, if any.
    pub current: Option<Release>,
    /// The commit to release (full hex).
    pub commit: String,
    /// Commits since the current release that touched the service's path, newest first.
    pub commits: Vec<CommitSummary>,
    /// The bump the commits' conventional messages call for.
    pub suggestion: Bump,
}

impl Analysis {
    /// Returns the version `bump` would produce (or why it cannot).
    pub fn next_for(
        &self,
        config: &Config,
        bump: Bump,
        pre: Option<&str>,
    ) -> Result<Version, VersionError> {
        next_version(
            self.current.as_ref().map(|r| &r.version),
            bump,
            pre,
            &config.defaults.initial_version,
        )
    }
}

/// How the version is chosen.
#[derive(Debug, Clone)]
pub enum VersionChoice {
    /// A bump, optionally into a pre-release.
    Bump {
        /// The bump.
        bump: Bump,
        /// `--pre <id>`.
        pre: Option<String>,
    },
    /// `--set-version`.
    Exact(String),
}

/// The error returned by [`analyze`] and [`ReleasePlan::new`].
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// Unknown service.
    #[error(transparent)]
    UnknownService(#[from] UnknownService),
    /// Repository trouble.
    #[error(transparent)]
    Repo(#[from] RepoError),
    /// Reading the commits since the last release failed.
    #[error(transparent)]
    History(#[from] HistoryError),
    /// Version trouble.
    #[error(transparent)]
    Version(#[from] VersionError),
    /// A rebase/merge/cherry-pick is in progress.
    #[error("a {0} is in progress; finish or abort it before releasing")]
    OperationInProgress(String),
    /// HEAD is detached and no `--commit` was given.
    #[error("HEAD is detached, so it is unclear what to release; pass `--commit HEAD` (or a branch/sha) to release that commit")]
    Detached,
    /// No commit yet.
    #[error("the current branch has no commits yet; commit the service first")]
    Unborn,
    /// Uncommitted changes under the service's path.
    #[error("`{path}` has uncommitted changes ({files}); the release tags the commit, not your work tree: commit or stash them, or pass --allow-dirty")]
    Dirty {
        /// The service path.
        path: String,
        /// Some of the files.
        files: String,
    },
    /// The tag name breaks a naming rule.
    #[error("tag `{tag}` {rule}")]
    BadTagName {
        /// The tag.
        tag: String,
        /// The rule it breaks.
        rule: String,
    },
    /// The remote has releases newer than ours.
    #[error("remote `{remote}` has {remote_tag}, newer than {}; run `git fetch --tags {remote}` and try again", local.as_deref().map_or("any local release".to_string(), |l| format!("the local latest {l}")))]
    RemoteAhead {
        /// The remote.
        remote: String,
        /// The remote's highest release tag.
        remote_tag: String,
        /// Our highest release tag.
        local: Option<String>,
    },
    /// The tag already exists on the remote.
    #[error("tag `{tag}` already exists on remote `{remote}`; run `git fetch --tags {remote}` and choose the next version")]
    TagOnRemote {
        /// The tag.
        tag: String,
        /// The remote.
        remote: String,
    },
}

/// Reads the state of `service` for releasing `rev` (default `HEAD`).
pub fn analyze(
    repo: &Repo,
    config: &Config,
    service: &str,
    rev: Option<&str>,
) -> Result<Analysis, PlanError> {
    analyze_with(repo, config, service, rev, true)
}

/// Like [`analyze`]; without `scan_commits` the commit list stays empty and the
/// suggestion is not meaningful (for callers that were given an explicit bump).
pub fn analyze_with(
    repo: &Repo,
    config: &Config,
    service: &str,
    rev: Option<&str>,
    scan_commits: bool,
) -> Result<Analysis, PlanError> {
    let service_config = config.service(service)?;
    let commit = match rev {
        Some(rev) => repo.resolve_commit(rev)?,
        None => {
            match repo.head_state()? {
                HeadState::Unborn => return Err(PlanError::Unborn),
                HeadState::Detached => return Err(PlanError::Detached),
                HeadState::Branch(_) => {}
            }
            repo.resolve_commit("HEAD")?
        }
    };
    let template = config.tag_template();
    let current = repo.latest_release(&template, service)?;
    let since = current.as_ref().map(|r| format!("refs/tags/{}", r.tag));
    let commits = if scan_commits {
        let query = history::Query {
            paths: vec![service_config.path.clone()],
            since,
        };
        history::commits_since(repo, commit, std::slice::from_ref(&query), true)?
            .pop()
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let suggestion = conventional::suggest(
        current.as_ref().map(|r| &r.version),
        commits.iter().map(|c| c.message.as_str()),
    );
    Ok(Analysis {
        service: service.to_string(),
        current,
        commit: commit.to_string(),
        commits,
        suggestion,
    })
}

/// Checks the work tree and the in-progress state where they matter for a release.
pub fn check_work_tree(
    repo: &Repo,
    config: &Config,
    service: &str,
    allow_dirty: bool,
) -> Result<(), PlanError> {
    if let Some(op) = repo.operation_in_progress() {
        return Err(PlanError::OperationInProgress(op));
    }
    if allow_dirty {
        return Ok(());
    }
    let path = &config.service(service)?.path;
    let dirty = repo.dirty_paths(path)?;
    if !dirty.is_empty() {
        let mut files: Vec<String> = dirty
            .iter()
            .take(3)
            .map(|f| for_terminal(f).into_owned())
            .collect();
        if dirty.len() > 3 {
            files.push(format!("and {} more", dirty.len() - 3));
        }
        return Err(PlanError::Dirty {
            path: path.clone(),
            files: files.join(", "),
        });
    }
    Ok(())
}

/// What the remote's tags say about a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum RemoteState {
    /// Not asked (`--offline`).
    Skipped,
    /// Could not ask; the reason is for a warning.
    Unavailable {
        /// Why.
        reason: String,
    },
    /// The remote has no release newer than the local latest.
    UpToDate {
        /// Remote releases that are missing locally (older than the local latest).
        missing_locally: Vec<String>,
    },
    /// The remote has a newer release.
    Ahead {
        /// The remote's highest release tag.
        remote_tag: String,
    },
}

/// Asks the remote for the service's release tags (one bounded `git ls-remote`).
pub fn remote_state(
    repo: &Repo,
    config: &Config,
    remote: &str,
    service: &str,
    local: Option<&Release>,
) -> (RemoteState, Vec<String>) {
    let template = config.tag_template();
    let timeout = Duration::from_secs(config.defaults.remote_timeout_seconds.max(1));
    let tags = match repo.remote_tags(remote, &template.prefix(service), timeout) {
        Ok(tags) => tags,
        Err(e) => {
            return (
                RemoteState::Unavailable {
                    reason: e.to_string(),
                },
                Vec::new(),
            )
        }
    };
    let mut remote_releases: Vec<(Version, String)> = tags
        .iter()
        .filter_map(|(tag, _)| {
            let v = parse_release_version(template.version_part(service, tag)?).ok()?;
            Some((v, tag.clone()))
        })
        .collect();
    remote_releases.sort();
    let names = remote_releases.iter().map(|(_, t)| t.clone()).collect();
    let local_version = local.map(|l| &l.version);
    match remote_releases.last() {
        Some((v, tag)) if local_version.is_none_or(|l| v > l) => (
            RemoteState::Ahead {
                remote_tag: tag.clone(),
            },
            names,
        ),
        _ => {
            let missing = remote_releases
                .iter()
                .filter(|(_, t)| repo.tag_target(t).ok().flatten().is_none())
                .map(|(_, t)| t.clone())
                .collect();
            (
                RemoteState::UpToDate {
                    missing_locally: missing,
                },
                names,
            )
        }
    }
}

/// A checked release, ready to execute.
#[derive(Debug, Clone, Serialize)]
pub struct ReleasePlan {
    /// The service.
    pub service: String,
    /// The current highest release, if any.
    pub current: Option<Release>,
    /// The new version.
    pub version: Version,
    /// The new tag's name.
    pub tag: String,
    /// The commit it goes on.
    pub commit: String,
    /// The commits since the last release that touched the service.
    pub commits: Vec<CommitSummary>,
    /// The commit's image.
    pub image: ImageRef,
    /// The image's digest, once the registry confirmed it.
    pub digest: Option<String>,
    /// The annotated tag's message.
    pub message: String,
    /// The remote it will be pushed to, with `--push`.
    pub push_to: Option<String>,
}

impl ReleasePlan {
    /// Builds and checks the plan; writes nothing.
    pub fn new(
        repo: &Repo,
        config: &Config,
        analysis: &Analysis,
        choice: &VersionChoice,
        custom_message: Option<&str>,
        push_to: Option<String>,
    ) -> Result<ReleasePlan, PlanError> {
        let current = analysis.current.as_ref().map(|r| &r.version);
        let version = match choice {
            VersionChoice::Bump { bump, pre } => {
                analysis.next_for(config, *bump, pre.as_deref())?
            }
            VersionChoice::Exact(text) => {
                let version = parse_release_version(text)?;
                ensure_greater(&version, current)?;
                version
            }
        };
        let tag = config.tag_template().render(&analysis.service, &version);
        for rule in [check_ref_format(&tag), check_image_tag(&tag)] {
            rule.map_err(|rule| PlanError::BadTagName {
                tag: tag.clone(),
                rule,
            })?;
        }
        if repo.tag_target(&tag)?.is_some() {
            return Err(RepoError::TagExists(tag).into());
        }
        let image = registry::commit_image(config, &analysis.service, &analysis.commit);
        let message = tag_message(analysis, &version, custom_message);
        Ok(ReleasePlan {
            service: analysis.service.clone(),
            current: analysis.current.clone(),
            version,
            tag,
            commit: analysis.commit.clone(),
            commits: analysis.commits.clone(),
            image,
            digest: None,
            message,
            push_to,
        })
    }

    /// Records the registry's answer for the plan's image; returns it for the caller to judge.
    pub fn record_image(&mut self, status: &ImageStatus) {
        if let ImageStatus::Present { digest } = status {
            self.digest = Some(digest.clone());
            self.message = format!(
                "{}\nImage: {}@{digest}\n",
                self.message.trim_end(),
                self.image
            );
        }
    }

    /// Creates the annotated tag, then pushes it when the plan says so.
    pub fn execute(&self, repo: &Repo) -> Result<(), RepoError> {
        let commit = gix::ObjectId::from_hex(self.commit.as_bytes()).map_err(|_| {
            RepoError::UnknownRevision {
                rev: self.commit.clone(),
            }
        })?;
        repo.create_annotated_tag(&self.tag, commit, &self.message)?;
        if let Some(remote) = &self.push_to {
            repo.push_tag(remote, &self.tag)?;
        }
        Ok(())
    }
}

fn tag_message(analysis: &Analysis, version: &Version, custom: Option<&str>) -> String {
    let mut message = match custom {
        Some(custom) => custom.trim_end().to_string(),
        None => format!("{} version {version}", analysis.service),
    };
    if !analysis.commits.is_empty() {
        let since = analysis
            .current
            .as_ref()
            .map_or("the start".to_string(), |c| c.tag.clone());
        message.push_str(&format!("\n\nChanges since {since}:\n"));
        for commit in &analysis.commits {
            message.push_str(&format!(
                "- {} {}\n",
                commit.short_id(),
                for_terminal(&commit.subject)
            ));
        }
    }
    message
}
