//! Which commits a release's notes cover: from the service's previous release (or
//! `--from`) to the release's tag, or to `HEAD` for the unreleased notes of a service.
//!
//! The previous release of a stable version is the highest *stable* release below it, so
//! the notes of 2.0.0 cover everything since 1.x, not only what came after 2.0.0-rc.2; a
//! pre-release's previous release is the highest release of any kind below it.

use semver::Version;
use serde::Serialize;

use super::{build, CommitInput, Notes};
use crate::config::{Config, UnknownService};
use crate::repo::{Repo, RepoError};
use crate::tag::ParsedTag;
use crate::text;

/// The notes of one release (or of a service's unreleased commits), with what they cover.
#[derive(Debug, Clone, Serialize)]
pub struct ReleaseNotes {
    /// The service.
    pub service: String,
    /// The release's version; `None` for the unreleased commits.
    pub version: Option<String>,
    /// The release's tag; `None` for the unreleased commits.
    pub tag: Option<String>,
    /// The release's date (`YYYY-MM-DD`, the tagger's date, else the commit's).
    pub date: Option<String>,
    /// Where the range starts: the previous release's tag, `--from`, or `None` (the start
    /// of history).
    pub previous: Option<String>,
    /// The commit the range ends at (full hex).
    pub commit: String,
    /// The notes.
    #[serde(flatten)]
    pub notes: Notes,
}

/// The error returned by [`read`].
#[derive(Debug, thiserror::Error)]
pub enum NotesError {
    /// Neither a service nor a tag.
    #[error("`{0}` is neither a configured service nor a tag; name a service (`git release list` shows them) or one of its release tags")]
    UnknownTarget(String),
    /// A tag that is not a release of a configured service.
    #[error("tag `{0}` is not a release tag of a configured service (the tag template is `{1}`); name a release tag or a service")]
    NotARelease(String, String),
    /// The tag's service is not configured any more.
    #[error(transparent)]
    UnknownService(#[from] UnknownService),
    /// Repository trouble.
    #[error(transparent)]
    Repo(#[from] RepoError),
    /// Reading the range's history failed.
    #[error(transparent)]
    History(#[from] crate::history::HistoryError),
}

/// Reads the notes of `target`, a release tag or a service name, starting at `from` (a
/// tag or any revision) instead of the previous release when given.
pub fn read(
    repo: &Repo,
    config: &Config,
    target: &str,
    from: Option<&str>,
) -> Result<ReleaseNotes, NotesError> {
    let template = config.tag_template();
    let (service, release, until) = if config.services.contains_key(target) {
        (target.to_string(), None, repo.resolve_commit("HEAD")?)
    } else if repo.tag_target(target)?.is_some() {
        match template.parse_tag(target, config.services.keys().map(String::as_str)) {
            ParsedTag::Release { service, version } => {
                let until = repo.resolve_commit(&format!("refs/tags/{target}"))?;
                (service, Some(version), until)
            }
            _ => {
                return Err(NotesError::NotARelease(
                    text::line(target).into_owned(),
                    config.defaults.tag.clone(),
                ))
            }
        }
    } else {
        return Err(NotesError::UnknownTarget(text::line(target).into_owned()));
    };
    let paths = config.paths_of(config.service(&service)?);
    let (previous, since) = match from {
        Some(from) => (
            Some(text::line(from).into_owned()),
            Some(repo.resolve_commit(from)?.to_string()),
        ),
        None => {
            let previous = previous_release(
                repo.releases(&template, &service)?
                    .into_iter()
                    .map(|r| (r.version, r.tag)),
                release.as_ref(),
            );
            let since = previous.as_ref().map(|tag| format!("refs/tags/{tag}"));
            (previous, since)
        }
    };
    let query = crate::history::Query::new(paths, since);
    // Borrowed from git's output: the notes copy only what they list.
    let log = crate::history::log(repo.root(), &query, until)?;
    let input: Vec<CommitInput<'_>> = log
        .commits()
        .map(|c| CommitInput {
            id: c.id,
            message: c.message,
            parents: c.parents,
        })
        .collect();
    let date = match &release {
        Some(_) => repo.tag_date(target)?,
        None => None,
    };
    Ok(ReleaseNotes {
        tag: release.as_ref().map(|_| target.to_string()),
        version: release.map(|v| v.to_string()),
        service,
        date,
        previous,
        commit: until.to_string(),
        notes: build(&input),
    })
}

/// Returns the tag of the release the notes of `version` start after (see the module
/// header); the latest release when `version` is `None` (unreleased commits).
pub fn previous_release(
    releases: impl Iterator<Item = (Version, String)>,
    version: Option<&Version>,
) -> Option<String> {
    releases
        .filter(|(v, _)| match version {
            None => true,
            Some(version) if version.pre.is_empty() => v < version && v.pre.is_empty(),
            Some(version) => v < version,
        })
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, tag)| tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previous_release_skips_pre_releases_for_a_stable_one() {
        let releases = [
            "1.0.0",
            "1.1.0",
            "2.0.0-rc.1",
            "2.0.0-rc.2",
            "2.0.0",
            "1.1.1",
        ];
        let all = || {
            releases
                .iter()
                .map(|v| (Version::parse(v).expect("version"), format!("a-v{v}")))
        };
        let v = |s: &str| Version::parse(s).expect("version");
        let prev = |s: &str| previous_release(all(), Some(&v(s)));
        assert_eq!(prev("2.0.0").as_deref(), Some("a-v1.1.1"));
        assert_eq!(prev("2.0.0-rc.2").as_deref(), Some("a-v2.0.0-rc.1"));
        assert_eq!(prev("1.1.1").as_deref(), Some("a-v1.1.0"));
        assert_eq!(prev("1.0.0"), None);
        assert_eq!(previous_release(all(), None).as_deref(), Some("a-v2.0.0"));
    }
}
