//! Which commits since each service's last release touched the service: the question
//! behind `list`, `status` and the release suggestion, answered for many services from
//! ONE pass over history.
//!
//! The answer is defined as what `git log <since>..<until> -- <paths>` prints for each
//! service alone (git's default history simplification: a merge that is TREESAME to a
//! parent for the service's paths follows only that parent, so a side branch whose
//! changes the merge did not keep is not counted). That per-service walk is [`per_service`];
//! it is exact by definition and stays the engine for a single service (git's
//! pathspec walk uses the commit-graph's Bloom filters and needs no diff output).
//!
//! For many services one `git log --name-only` over the union of the ranges (plus one
//! `git diff-tree` for merges, per parent) says which services each commit touched
//! against each parent; `walk` then replays git's own revision walk per service over
//! that graph in memory: the same date-ordered queue, the same marking of uninteresting
//! commits and the same pruning of TREESAME merge parents, so the commits and their
//! order come out as git would print them. Where the replay cannot be sure — a merge
//! whose parent lies below the part of history that was read, or committer dates that go
//! backwards inside it — that service falls back to [`per_service`]: never a guess.
//!
//! Each service is a list of path prefixes, so that shared paths (`also = [...]`) only
//! add prefixes; a prefix matches itself and everything under `prefix/`, like the
//! `:(literal)` pathspec the per-service walk uses.
//!
//! Globs (`also = ["libs/*/src"]`) are answered by [`per_service`] alone, with `:(glob)`
//! pathspecs: the in-memory attribution matches prefixes only, and re-implementing git's
//! wildmatch there would be a second definition that could drift from git's. A service
//! with a glob therefore costs one `git log` of its own; correctness first.

use std::path::Path;

use crate::process::{git, GitError};
use crate::repo::{CommitSummary, Repo, RepoError};

mod graph;
mod walk;

#[cfg(test)]
mod tests;

/// From how many services one pass over history is used instead of one `git log` per
/// service. A single service keeps its pathspec `git log`, which git speeds up with the
/// commit-graph's Bloom filters and which prints only the commits asked for (row 2 of
/// docs/benchmarks.md); from two services on, a second pathspec walk costs about as much
/// as the one read. Not tuned further: the crossover was not measured.
pub const ONE_PASS_FROM: usize = 2;

/// One service's question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The path prefixes that belong to the service (relative to the work tree's root).
    pub paths: Vec<String>,
    /// Glob patterns that belong to the service as well (git's `:(glob)` semantics); each
    /// matches the paths it names and everything under them.
    pub globs: Vec<String>,
    /// Its last release as a revision (`refs/tags/<tag>`); `None` asks for all history.
    pub since: Option<String>,
}

impl Query {
    /// The question for a service whose paths are `paths` (from
    /// [`crate::config::Config::paths_of`], so shared paths are never forgotten), since
    /// `since`.
    pub fn new(paths: crate::config::ServicePaths, since: Option<String>) -> Query {
        Query {
            paths: paths.prefixes,
            globs: paths.globs,
            since,
        }
    }
}

/// The error returned by [`commits_since`] and [`count_since`].
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// Reading the repository or running git failed.
    #[error(transparent)]
    Repo(#[from] RepoError),
    /// git printed something this module does not understand.
    #[error("cannot read the output of `git {command}` ({what}); run `git-release` with a newer git (2.25 or later) or report this")]
    Unreadable {
        /// The git subcommand.
        command: &'static str,
        /// What was wrong.
        what: String,
    },
}

impl From<GitError> for HistoryError {
    fn from(e: GitError) -> Self {
        HistoryError::Repo(RepoError::Command(e))
    }
}

/// Returns, for each query, the commits in `since..until` that touched its paths, newest
/// first, in the order `git log` prints them; with `messages`, each with its message.
pub fn commits_since(
    repo: &Repo,
    until: gix::ObjectId,
    queries: &[Query],
    messages: bool,
) -> Result<Vec<Vec<CommitSummary>>, HistoryError> {
    if queries.len() < ONE_PASS_FROM {
        return queries
            .iter()
            .map(|q| per_service(repo.root(), q, until))
            .collect();
    }
    let answers = one_pass(repo, until, queries)?;
    let mut wanted = Vec::new();
    let mut out = Vec::with_capacity(answers.len());
    for answer in answers {
        out.push(match answer {
            Answer::Listed(list) => list,
            Answer::Walked(ids) => {
                wanted.extend(ids.iter().cloned());
                ids.into_iter()
                    .map(|id| CommitSummary {
                        id: id.to_string(),
                        subject: String::new(),
                        message: String::new(),
                        parents: 0,
                    })
                    .collect()
            }
        });
    }
    if messages && !wanted.is_empty() {
        let found = messages_of(repo.root(), &wanted)?;
        for summary in out.iter_mut().flatten() {
            if let Some((subject, message, parents)) = found.get(summary.id.as_str()) {
                summary.subject.clone_from(subject);
                summary.message.clone_from(message);
                summary.parents = *parents;
            }
        }
    }
    Ok(out)
}

/// Returns, for each query, how many commits [`commits_since`] would list.
pub fn count_since(
    repo: &Repo,
    until: gix::ObjectId,
    queries: &[Query],
) -> Result<Vec<usize>, HistoryError> {
    if queries.len() < ONE_PASS_FROM {
        return queries
            .iter()
            .map(|q| per_service(repo.root(), q, until).map(|l| l.len()))
            .collect();
    }
    Ok(one_pass(repo, until, queries)?
        .into_iter()
        .map(|a| match a {
            Answer::Listed(list) => list.len(),
            Answer::Walked(ids) => ids.len(),
        })
        .collect())
}

/// One query's answer: walked in memory, or listed by a per-service `git log`.
enum Answer {
    Walked(Vec<gix::ObjectId>),
    Listed(Vec<CommitSummary>),
}

/// Answers every query from one read of history; falls back per query where the replay
/// of git's walk cannot be sure (see the module documentation).
fn one_pass(
    repo: &Repo,
    until: gix::ObjectId,
    queries: &[Query],
) -> Result<Vec<Answer>, HistoryError> {
    // Resolve the releases first: one that does not resolve is left to the per-service
    // walk, which fails on it exactly as before.
    let names = repo.tag_names()?;
    let mut since = Vec::with_capacity(queries.len());
    let mut simple = Vec::with_capacity(queries.len());
    for q in queries {
        let resolved = match &q.since {
            None => Some(None),
            // A packed release tag peels by its `^` line: no object read per service.
            Some(rev) => rev
                .strip_prefix("refs/tags/")
                .and_then(|tag| names.packed_peeled(tag))
                .or_else(|| repo.resolve_commit(rev).ok())
                .map(Some),
        };
        simple.push(
            resolved.is_some() && q.globs.is_empty() && q.paths.iter().all(|p| plain_prefix(p)),
        );
        since.push(resolved.flatten());
    }
    let walked: Vec<usize> = (0..queries.len()).filter(|&i| simple[i]).collect();
    let graph = if walked.is_empty() {
        None
    } else {
        let tips: Vec<Option<gix::ObjectId>> = walked.iter().map(|&i| since[i]).collect();
        let paths: Vec<&[String]> = walked
            .iter()
            .map(|&i| queries[i].paths.as_slice())
            .collect();
        Some(graph::read(repo, until, &tips, &paths)?)
    };
    let mut answers = Vec::with_capacity(queries.len());
    let mut walker = graph.as_ref().map(walk::Walker::new);
    let mut slot = 0;
    for (i, q) in queries.iter().enumerate() {
        let mut found = None;
        if simple[i] {
            if let (Some(graph), Some(walker)) = (&graph, walker.as_mut()) {
                found = walker
                    .run(slot as u32, until, since[i])
                    .map(|list| list.into_iter().map(|c| graph.ids[c as usize]).collect());
            }
            slot += 1;
        }
        answers.push(match found {
            Some(ids) => Answer::Walked(ids),
            None => Answer::Listed(per_service(repo.root(), q, until)?),
        });
    }
    Ok(answers)
}

/// Whether `path` is a prefix the in-memory attribution matches exactly as git's
/// `:(literal)` pathspec does (no empty or doubled components after trimming `/`).
fn plain_prefix(path: &str) -> bool {
    let path = path.trim_matches('/');
    !path.is_empty() && !path.split('/').any(str::is_empty)
}

/// Returns the commits in `since..until` that touched the query's paths, newest first:
/// one `git log` with a pathspec, the definition of the answer.
pub fn per_service(
    root: &Path,
    query: &Query,
    until: gix::ObjectId,
) -> Result<Vec<CommitSummary>, HistoryError> {
    Ok(log(root, query, until)?.commits().map(summary).collect())
}

/// Returns what [`per_service`] reads, without copying each commit out of it: the release
/// notes only borrow the ids and messages, and a copy of each was most of their work.
pub fn log(root: &Path, query: &Query, until: gix::ObjectId) -> Result<Log, HistoryError> {
    let range = match &query.since {
        Some(since) => format!("{since}..{until}"),
        None => until.to_string(),
    };
    let mut pathspecs: Vec<String> = query
        .paths
        .iter()
        .map(|p| format!(":(literal){}", p.trim_matches('/')))
        .collect();
    // A glob pathspec matches whole paths only; `<glob>/**` adds what lies under a
    // directory it names, so a glob behaves like a path.
    for glob in &query.globs {
        let glob = glob.trim_end_matches('/');
        pathspecs.push(format!(":(glob){glob}"));
        pathspecs.push(format!(":(glob){glob}/**"));
    }
    let mut args = vec!["log", "-z", "--no-color", FORMAT, &range, "--"];
    args.extend(pathspecs.iter().map(String::as_str));
    let out = git(root, &args, None)?;
    Ok(Log::new(out))
}

/// The `git log` format both engines read commits with: id, parents, message.
const FORMAT: &str = "--format=%H%x00%P%x00%B";

/// The output of `git log -z --format=%H%x00%P%x00%B` (id, parents, message), as text.
#[derive(Debug, Clone)]
pub struct Log {
    text: String,
}

/// One commit of a [`Log`], borrowed from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoggedCommit<'a> {
    /// Full hex id.
    pub id: &'a str,
    /// How many parents it has (2 or more: a merge).
    pub parents: usize,
    /// The whole message, trailing white space removed.
    pub message: &'a str,
}

impl Log {
    /// Reads git's output as text, checking it for UTF-8 once, as a whole: decoding every
    /// field on its own was a fifth of `git release notes`' own work (row 8 of
    /// docs/benchmarks.md). Only output with an invalid byte (a message written in another
    /// encoding) is converted lossily, and that gives the same text as converting each
    /// field: an invalid sequence never spans the NUL between two fields, since NUL is a
    /// character of its own in UTF-8.
    fn new(out: Vec<u8>) -> Log {
        let text = String::from_utf8(out)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        Log { text }
    }

    /// Returns the commits, in the order git printed them.
    pub fn commits(&self) -> impl Iterator<Item = LoggedCommit<'_>> + '_ {
        let mut fields = self.text.split('\0');
        std::iter::from_fn(move || {
            let (id, parents, message) = (fields.next()?, fields.next()?, fields.next()?);
            let id = id.trim();
            if id.is_empty() {
                return None;
            }
            Some(LoggedCommit {
                id,
                parents: parents.split(' ').filter(|p| !p.is_empty()).count(),
                message: message.trim_end(),
            })
        })
    }
}

/// Returns a commit of a [`Log`] as an owned summary.
fn summary(commit: LoggedCommit<'_>) -> CommitSummary {
    CommitSummary {
        id: commit.id.to_string(),
        subject: commit.message.lines().next().unwrap_or("").to_string(),
        message: commit.message.to_string(),
        parents: commit.parents,
    }
}

/// Reads the messages of `ids` with the same `git log` format as [`per_service`], so a
/// message reads byte for byte the same whichever engine found its commit.
fn messages_of(
    root: &Path,
    ids: &[gix::ObjectId],
) -> Result<std::collections::HashMap<String, (String, String, usize)>, HistoryError> {
    let mut input = Vec::with_capacity(ids.len() * 41);
    for id in ids {
        input.extend_from_slice(id.to_string().as_bytes());
        input.push(b'\n');
    }
    let out = crate::process::git_with_input(
        root,
        &[
            "log",
            "-z",
            "--no-color",
            "--no-walk=unsorted",
            FORMAT,
            "--stdin",
        ],
        Some(input),
        None,
    )?;
    Ok(Log::new(out)
        .commits()
        .map(|c| {
            let c = summary(c);
            (c.id, (c.subject, c.message, c.parents))
        })
        .collect())
}

/// Returns the highest release of each service, reading the repository's tag names once
/// (not one listing of `refs/tags` per service: that is quadratic at 10,000 services).
pub fn latest_releases<'a>(
    repo: &Repo,
    template: &crate::tag::TagTemplate,
    services: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<Option<crate::repo::Release>>, RepoError> {
    let names = repo.tag_names()?;
    services
        .into_iter()
        .map(|service| {
            let mut candidates: Vec<(semver::Version, Vec<u8>)> = Vec::new();
            names.scan_releases(template, service, |text, version| {
                candidates.push((version, text.to_vec()));
            })?;
            // Stable: among equal versions the last one scanned wins, as in
            // `Repo::latest_release`.
            candidates.sort_by(|a, b| a.0.cmp(&b.0));
            // A name is not enough: a lightweight tag, or one of a tree, is no release
            // (and a damaged tag object is an error, not a silent skip). Usually only the
            // top candidate is read.
            while let Some((version, text)) = candidates.pop() {
                let tag = format!(
                    "{}{}{}",
                    template.prefix(service),
                    // Never lossy: a version that parsed is valid UTF-8.
                    String::from_utf8_lossy(&text),
                    template.suffix()
                );
                if repo.is_release_tag(&tag)? {
                    return Ok(Some(crate::repo::Release { tag, version }));
                }
            }
            Ok(None)
        })
        .collect()
}
