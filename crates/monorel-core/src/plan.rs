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
use crate::notes;
use crate::registry::{self, ArtifactRef, ArtifactStatus, Identity, ImageRef, ObjectIdentity};
use crate::repo::{CommitSummary, HeadState, Release, Repo, RepoError};
use crate::tag::{check_image_tag, check_ref_format};
use crate::text;
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
    /// Returns why releasing the analysed commit would release nothing new, or `None`.
    ///
    /// Two cases count: the commit carries a release of the service already, or no
    /// commit has touched the service since its last release (the commit list must have
    /// been scanned: [`analyze`], not `analyze_with(…, false)`). A first release always
    /// has something to release. `version`, when known, allows the one exception:
    /// finalising a pre-release (`1.0.0-rc.2` → `1.0.0`) ships exactly the code that
    /// was tested as the pre-release, so it is no empty release.
    pub fn nothing_to_release(
        &self,
        repo: &Repo,
        config: &Config,
        version: Option<&Version>,
    ) -> Result<Option<NothingToRelease>, PlanError> {
        let Some(current) = &self.current else {
            return Ok(None);
        };
        let finalises = |pre: &Version| {
            version.is_some_and(|v| {
                v.pre.is_empty()
                    && !pre.pre.is_empty()
                    && (v.major, v.minor, v.patch) == (pre.major, pre.minor, pre.patch)
            })
        };
        let on_commit = self.releases_on_commit(repo, config)?;
        if self.commits.is_empty() && !finalises(&current.version) {
            let released_here = on_commit
                .iter()
                .any(|r| r.tag == current.tag)
                .then(|| self.commit.clone());
            let service = config.service(&self.service)?;
            let paths = config.paths_of(service);
            return Ok(Some(NothingToRelease::NoChanges {
                since: current.tag.clone(),
                path: service.path.clone(),
                also: paths.prefixes[1..]
                    .iter()
                    .chain(&paths.globs)
                    .cloned()
                    .collect(),
                released_here,
            }));
        }
        // Commits since the last release, yet the commit carries a release: an older line
        // (a maintenance release) being released again.
        if let Some(release) = on_commit.iter().rev().find(|r| !finalises(&r.version)) {
            return Ok(Some(NothingToRelease::AlreadyReleased {
                tag: release.tag.clone(),
                commit: self.commit.clone(),
            }));
        }
        Ok(None)
    }

    /// Returns the service's releases whose annotated tag points at the analysed commit.
    fn releases_on_commit(&self, repo: &Repo, config: &Config) -> Result<Vec<Release>, PlanError> {
        let mut found = Vec::new();
        for release in repo.releases(&config.tag_template(), &self.service)? {
            let Some(target) = repo.tag_target(&release.tag)? else {
                continue;
            };
            // Only what the hook would accept counts as a release (annotated, on a commit).
            if target.annotated
                && target.peeled_kind == gix::object::Kind::Commit
                && gix::ObjectId::from_hex(self.commit.as_bytes()).ok() == Some(target.peeled)
            {
                found.push(release);
            }
        }
        Ok(found)
    }

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
    #[error("remote `{}` has {}, newer than {}; run {} and try again", text::line(remote), text::line(remote_tag), local.as_deref().map_or("any local release".to_string(), |l| format!("the local latest {}", text::line(l))), text::suggest(&text::operands(&["git", "fetch", "--tags"], &[remote])))]
    RemoteAhead {
        /// The remote.
        remote: String,
        /// The remote's highest release tag.
        remote_tag: String,
        /// Our highest release tag.
        local: Option<String>,
    },
    /// The tag already exists on the remote.
    #[error("tag `{}` already exists on remote `{}`; run {} and choose the next version", text::line(tag), text::line(remote), text::suggest(&text::operands(&["git", "fetch", "--tags"], &[remote])))]
    TagOnRemote {
        /// The tag.
        tag: String,
        /// The remote.
        remote: String,
    },
    /// The release would release nothing new.
    #[error("nothing to release for {service}: {reason}; {}", reason.fix())]
    NothingToRelease {
        /// The service.
        service: String,
        /// Why.
        reason: NothingToRelease,
    },
}

/// The error returned by [`ReleasePlan::push_created`].
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The remote got a tag of the same name, on another object, first.
    #[error("the push was refused: remote `{}` already has {} on another object ({}): someone else released this version first; {}", text::line(remote), text::line(tag), text::line(theirs.get(..12).unwrap_or(theirs)), if *removed { format!("your local tag {} was removed, nothing else was written", text::line(tag)) } else { format!("remove your local tag with {}", text::suggest(&text::operands(&["git", "tag", "-d"], &[tag]))) })]
    LostRace {
        /// The remote.
        remote: String,
        /// The tag.
        tag: String,
        /// The object the remote's tag names (hex).
        theirs: String,
        /// Whether the local tag was removed.
        removed: bool,
    },
    /// The push failed for another reason; the local tag stays.
    #[error(transparent)]
    Failed(#[from] RepoError),
}

/// Why a release would release nothing new.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
pub enum NothingToRelease {
    /// No commit touched the service's path between its last release and the commit.
    NoChanges {
        /// The last release's tag.
        since: String,
        /// The service's path.
        path: String,
        /// Its shared paths (`[defaults] also` and its own `also`), which were looked at
        /// too.
        also: Vec<String>,
        /// The commit (full hex), when the last release is on this very commit.
        released_here: Option<String>,
    },
    /// The commit already carries a release of the service.
    AlreadyReleased {
        /// That release's tag.
        tag: String,
        /// The commit (full hex).
        commit: String,
    },
}

impl NothingToRelease {
    /// Returns what to do about it.
    pub fn fix(&self) -> &'static str {
        match self {
            NothingToRelease::NoChanges { .. } => "commit a change to the service first, or pass --allow-empty to release the same code under a new version",
            NothingToRelease::AlreadyReleased { .. } => "release a newer commit (--commit), or pass --allow-empty to give the same commit another version",
        }
    }
}

impl std::fmt::Display for NothingToRelease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NothingToRelease::NoChanges {
                since,
                released_here: Some(commit),
                ..
            } => write!(
                f,
                "no changes since {since}: commit {} is already released as {since}",
                &commit[..commit.len().min(7)]
            ),
            NothingToRelease::NoChanges {
                since, path, also, ..
            } => {
                write!(
                    f,
                    "no changes since {since}: no commit has touched `{}`",
                    text::line(path)
                )?;
                if !also.is_empty() {
                    let shared: Vec<String> = also
                        .iter()
                        .map(|p| format!("`{}`", text::line(p)))
                        .collect();
                    write!(f, " or its shared paths {}", shared.join(", "))?;
                }
                write!(f, " since then")
            }
            NothingToRelease::AlreadyReleased { tag, commit } => write!(
                f,
                "commit {} is already released as {tag}",
                &commit[..commit.len().min(7)]
            ),
        }
    }
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
        let query = history::Query::new(config.paths_of(service_config), since);
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
            .map(|f| text::line(f).into_owned())
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
    /// The commit's artifact: the image, or the object (`bucket`, `key`).
    pub artifact: ArtifactRef,
    /// The commit's image, when the service's store holds images.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageRef>,
    /// The image's digest, once the registry confirmed it.
    pub digest: Option<String>,
    /// The object's identity (ETag, checksum, version, size), once S3 confirmed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<ObjectIdentity>,
    /// The annotated tag's message.
    pub message: String,
    /// The remote it will be pushed to, with `--push`.
    pub push_to: Option<String>,
}

impl ReleasePlan {
    /// Builds and checks the plan; writes nothing.
    ///
    /// A release with nothing to release ([`Analysis::nothing_to_release`]) is refused
    /// unless `allow_empty`.
    pub fn new(
        repo: &Repo,
        config: &Config,
        analysis: &Analysis,
        choice: &VersionChoice,
        custom_message: Option<&str>,
        push_to: Option<String>,
        allow_empty: bool,
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
        if !allow_empty {
            if let Some(reason) = analysis.nothing_to_release(repo, config, Some(&version))? {
                return Err(PlanError::NothingToRelease {
                    service: analysis.service.clone(),
                    reason,
                });
            }
        }
        let artifact = registry::commit_artifact(config, &analysis.service, &analysis.commit);
        let message = if config.release.notes {
            let (since, commits) = notes_range(repo, config, analysis, &version)?;
            tag_message(analysis, &version, custom_message, Some((since, &commits)))
        } else {
            tag_message(analysis, &version, custom_message, None)
        };
        Ok(ReleasePlan {
            service: analysis.service.clone(),
            current: analysis.current.clone(),
            version,
            tag,
            commit: analysis.commit.clone(),
            commits: analysis.commits.clone(),
            image: artifact.as_image().cloned(),
            artifact,
            digest: None,
            object: None,
            message,
            push_to,
        })
    }

    /// Records the store's answer for the plan's artifact in the plan and in the tag's
    /// message: `Image: <repository>:<tag>@<digest>` for an image; for an object its
    /// location and identity, one `Object-…:` line each, so the tag names the exact bytes
    /// without asking S3.
    pub fn record_artifact(&mut self, status: &ArtifactStatus) {
        match status {
            ArtifactStatus::Present(Identity::Image { digest }) => {
                self.digest = Some(digest.clone());
                self.message = format!(
                    "{}\nImage: {}@{}\n",
                    self.message.trim_end(),
                    text::line(&self.artifact.to_string()),
                    text::line(digest)
                );
            }
            ArtifactStatus::Present(Identity::Object(object)) => {
                self.object = Some(object.clone());
                self.message = format!(
                    "{}\n{}",
                    self.message.trim_end(),
                    object_lines(&self.artifact, object)
                );
            }
            _ => {}
        }
    }

    /// Creates the annotated tag, then pushes it when the plan says so.
    pub fn execute(&self, repo: &Repo) -> Result<(), RepoError> {
        self.create(repo)?;
        self.push(repo)
    }

    /// Creates the annotated tag; returns the tag object's id.
    pub fn create(&self, repo: &Repo) -> Result<gix::ObjectId, RepoError> {
        let commit = gix::ObjectId::from_hex(self.commit.as_bytes()).map_err(|_| {
            RepoError::UnknownRevision {
                rev: self.commit.clone(),
            }
        })?;
        repo.create_annotated_tag(&self.tag, commit, &self.message)
    }

    /// Pushes the created tag when the plan says so (`--push`); does nothing otherwise.
    pub fn push(&self, repo: &Repo) -> Result<(), RepoError> {
        if let Some(remote) = &self.push_to {
            repo.push_tag(remote, &self.tag)?;
        }
        Ok(())
    }

    /// Pushes the tag that [`ReleasePlan::create`] made (`created`), and cleans up after
    /// a lost race.
    ///
    /// When two people release the same version at once, both pass the remote check and
    /// the second push is refused (by git, or by the remote's copy of the hook rules).
    /// The remote then has the tag on another object, so the local tag can never be
    /// pushed: it is removed, only if it is still the one this run created, and the
    /// error says what happened ([`PushError::LostRace`]).
    pub fn push_created(
        &self,
        repo: &Repo,
        config: &Config,
        created: gix::ObjectId,
    ) -> Result<(), PushError> {
        let Err(error) = self.push(repo) else {
            return Ok(());
        };
        let Some(remote) = &self.push_to else {
            return Err(error.into());
        };
        let timeout = Duration::from_secs(config.defaults.remote_timeout_seconds.max(1));
        let theirs = repo
            .remote_tags(remote, &self.tag, timeout)
            .ok()
            .and_then(|tags| tags.into_iter().find(|(tag, _)| *tag == self.tag));
        match theirs {
            Some((_, theirs))
                if gix::ObjectId::from_hex(theirs.as_bytes()).ok() != Some(created) =>
            {
                Err(PushError::LostRace {
                    remote: remote.clone(),
                    tag: self.tag.clone(),
                    removed: repo.delete_tag_if(&self.tag, created).is_ok(),
                    theirs,
                })
            }
            _ => Err(error.into()),
        }
    }
}

/// Returns where the release notes of `version` start (a tag, or `None` for the start of
/// history) and their commits: the analysis's commits, except for a stable release after
/// pre-releases, whose notes start at the previous stable release like
/// `git release notes` (notes.rs), so that 2.0.0's tag lists what 2.0.0-rc.1 did too.
fn notes_range(
    repo: &Repo,
    config: &Config,
    analysis: &Analysis,
    version: &Version,
) -> Result<(Option<String>, Vec<CommitSummary>), PlanError> {
    let current = analysis.current.as_ref();
    let after_pre = version.pre.is_empty() && current.is_some_and(|c| !c.version.pre.is_empty());
    if !after_pre {
        return Ok((current.map(|c| c.tag.clone()), analysis.commits.clone()));
    }
    let template = config.tag_template();
    let previous = notes::previous_release(
        repo.releases(&template, &analysis.service)?
            .into_iter()
            .map(|r| (r.version, r.tag)),
        Some(version),
    );
    let until = repo.resolve_commit(&analysis.commit)?;
    let since = previous.as_ref().map(|tag| format!("refs/tags/{tag}"));
    let paths = config.paths_of(config.service(&analysis.service)?);
    let query = history::Query::new(paths, since);
    let commits = history::per_service(repo.root(), &query, until)?;
    Ok((previous, commits))
}

/// Returns the annotated tag's message: the first paragraph (`-m`, else "<service>
/// version <version>"), then, given `notes` (`[release] notes`, on by default), the
/// release notes of those commits and where they start. The artifact's identity is
/// appended later, once the registry has confirmed it ([`ReleasePlan::record_artifact`]).
///
/// It is read later by `git show` and `git tag -n`, which print it raw, so everything in
/// it passes the gate: the custom message keeps its line breaks ([`text::block`]), names
/// and commit subjects stay on one line (the notes sanitise each line themselves).
pub(crate) fn tag_message(
    analysis: &Analysis,
    version: &Version,
    custom: Option<&str>,
    notes: Option<(Option<String>, &[CommitSummary])>,
) -> String {
    let mut message = match custom {
        Some(custom) => text::block(custom.trim_end()).into_owned(),
        None => format!("{} version {version}", text::line(&analysis.service)),
    };
    let Some((since, commits)) = notes else {
        return message;
    };
    let input: Vec<notes::CommitInput<'_>> = commits
        .iter()
        .map(|c| notes::CommitInput {
            id: &c.id,
            message: &c.message,
            parents: c.parents,
        })
        .collect();
    let notes = notes::build(&input);
    if !notes.is_empty() {
        let since = since.map_or_else(|| "the start".to_string(), |t| text::line(&t).into_owned());
        message.push_str(&format!("\n\nChanges since {since}:\n\n"));
        message.push_str(&notes.to_text());
    }
    message
}

/// The lines of a tag message that record an object: where it is and what it holds.
pub fn object_lines(artifact: &ArtifactRef, object: &ObjectIdentity) -> String {
    let mut lines = format!("Object: {}\n", text::line(&artifact.to_string()));
    if let Some(version) = &object.version_id {
        lines.push_str(&format!("Object-Version: {}\n", text::line(version)));
    }
    if let Some(sum) = &object.checksum_sha256 {
        lines.push_str(&format!("Object-SHA256: {}\n", text::line(sum)));
    }
    lines.push_str(&format!(
        "Object-ETag: {}\nObject-Size: {}\n",
        text::line(&object.etag),
        object.size
    ));
    lines
}
