//! Reading history once: every commit between the tips (the commit asked about and each
//! service's last release) and their common ancestor, with its parents, its committer
//! date, and which services it changed against each parent.
//!
//! One `git log --name-only -z` lists the changed paths of every non-merge commit (and of
//! root commits, against the empty tree); one `git diff-tree --stdin` lists a merge's
//! changes against each parent, which `git log` does not print. Paths are attributed to
//! services by looking up each of the path's leading directories in a map of prefixes,
//! so the cost grows with the paths changed, not with the number of services.
//!
//! Output is parsed by structure, never by trusting its text: paths come from the
//! repository and may contain anything but NUL, so every record header carries a random
//! marker that a path cannot imitate.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::path::Path;

use crate::process::{git, git_with_input, GitError};
use crate::repo::Repo;

use super::HistoryError;

/// A parent outside the history that was read (below the common ancestor).
pub(super) const OUTSIDE: u32 = u32::MAX;

/// The commits read, in `git log` order.
pub(super) struct Graph {
    /// Commit ids.
    pub(super) ids: Vec<gix::ObjectId>,
    /// Index of each id in `ids`.
    pub(super) index: HashMap<gix::ObjectId, u32>,
    /// Committer dates (what git's walk orders by).
    pub(super) date: Vec<i64>,
    /// Parents, in order, as indices; [`OUTSIDE`] when not read.
    pub(super) parents: Vec<Vec<u32>>,
    /// Per commit and parent (for a root: one entry, against the empty tree), the sorted
    /// service slots whose paths changed.
    pub(super) touched: Vec<Vec<Vec<u32>>>,
    /// Whether history was cut at a common ancestor (so parents can be [`OUTSIDE`]).
    pub(super) cut: bool,
    /// Whether some commit read is older than one of its parents.
    pub(super) skewed: bool,
}

/// Reads history from `until` and every tip in `since` (a service's last release; `None`
/// for a service without one) down to their common ancestor, attributing changes to the
/// services whose prefixes are `paths[slot]`.
pub(super) fn read(
    repo: &Repo,
    until: gix::ObjectId,
    since: &[Option<gix::ObjectId>],
    paths: &[&[String]],
) -> Result<Graph, HistoryError> {
    let mut tips: Vec<gix::ObjectId> = Vec::new();
    let mut all_released = true;
    for s in since {
        match s {
            Some(id) => tips.push(*id),
            None => all_released = false,
        }
    }
    tips.sort_unstable();
    tips.dedup();
    let root = repo.root();
    let base = if all_released && !tips.is_empty() {
        // Newest first: git folds the merge base pairwise, and neighbours in time are
        // close in history (3.5x faster over 1,000 releases, docs/benchmarks.md).
        let mut dated = Vec::with_capacity(tips.len());
        for tip in &tips {
            dated.push((repo.commit_time(*tip).unwrap_or(0), *tip));
        }
        dated.sort_unstable_by(|a, b| b.cmp(a));
        let tips: Vec<gix::ObjectId> = dated.into_iter().map(|(_, id)| id).collect();
        common_ancestor(root, &tips)?
    } else {
        None
    };
    let mut revs = format!("{until}\n");
    for tip in &tips {
        revs.push_str(&format!("{tip}\n"));
    }
    if let Some(base) = &base {
        // The common ancestor itself is read: it can be a release.
        revs.push_str(&format!("^{base}^@\n"));
    }
    let marker = marker();
    let format = format!("--format=%x01{marker} %H %P %ct");
    let out = git_with_input(
        root,
        &[
            "log",
            "-z",
            "--no-color",
            "--no-renames",
            "--no-relative",
            "--no-show-signature",
            "--ignore-submodules=none",
            "--root",
            "--name-only",
            &format,
            "--stdin",
        ],
        Some(revs.into_bytes()),
        None,
    )?;
    let prefixes = Prefixes::new(paths);
    let mut graph = Graph {
        ids: Vec::new(),
        index: HashMap::new(),
        date: Vec::new(),
        parents: Vec::new(),
        touched: Vec::new(),
        cut: base.is_some(),
        skewed: false,
    };
    let mut parent_ids: Vec<Vec<gix::ObjectId>> = Vec::new();
    let head = format!("\x01{marker} ");
    let mut current: Option<Vec<u32>> = None;
    let mut first_path = false;
    for token in out.split(|b| *b == 0) {
        if let Some(header) = token.strip_prefix(head.as_bytes()) {
            finish(&mut graph, current.take());
            let (id, parents, date) =
                parse_header(header).ok_or_else(|| unreadable("log", header))?;
            graph.index.insert(id, graph.ids.len() as u32);
            graph.ids.push(id);
            graph.date.push(date);
            parent_ids.push(parents);
            current = Some(Vec::new());
            first_path = true;
            continue;
        }
        let Some(path) = path_of(token, &mut first_path, "log")? else {
            continue;
        };
        match current.as_mut() {
            Some(touched) if !path.is_empty() => prefixes.attribute(path, touched),
            Some(_) => {}
            None if path.is_empty() => {}
            None => return Err(unreadable("log", token)),
        }
    }
    finish(&mut graph, current.take());
    for (c, parents) in parent_ids.iter().enumerate() {
        let resolved: Vec<u32> = parents
            .iter()
            .map(|p| graph.index.get(p).copied().unwrap_or(OUTSIDE))
            .collect();
        for &p in &resolved {
            if p != OUTSIDE && graph.date[p as usize] > graph.date[c] {
                graph.skewed = true;
            }
        }
        graph.parents.push(resolved);
    }
    read_merges(root, &marker, &prefixes, &mut graph, &parent_ids)?;
    Ok(graph)
}

/// Stores the paths attributed to the commit just parsed: for a non-merge, its only diff.
fn finish(graph: &mut Graph, touched: Option<Vec<u32>>) {
    if let Some(mut touched) = touched {
        touched.sort_unstable();
        touched.dedup();
        graph.touched.push(vec![touched]);
    }
}

/// Fills in each merge's changes against each of its parents.
fn read_merges(
    root: &Path,
    marker: &str,
    prefixes: &Prefixes,
    graph: &mut Graph,
    parent_ids: &[Vec<gix::ObjectId>],
) -> Result<(), HistoryError> {
    let mut input = String::new();
    let mut expected = Vec::new();
    for (c, parents) in parent_ids.iter().enumerate() {
        if parents.len() < 2 {
            continue;
        }
        graph.touched[c].clear();
        for p in parents {
            input.push_str(&format!("{} {p}\n", graph.ids[c]));
            expected.push(c);
        }
    }
    if expected.is_empty() {
        return Ok(());
    }
    let format = format!("--format=%x01{marker} %H");
    let out = git_with_input(
        root,
        &[
            "diff-tree",
            "--stdin",
            "-r",
            "-z",
            "--no-renames",
            "--ignore-submodules=none",
            "--name-only",
            "--always",
            &format,
        ],
        Some(input.into_bytes()),
        None,
    )?;
    let head = format!("\x01{marker} ");
    let mut next = expected.iter();
    let mut current: Option<(usize, Vec<u32>)> = None;
    let mut first_path = false;
    let flush = |graph: &mut Graph, current: Option<(usize, Vec<u32>)>| {
        if let Some((c, mut touched)) = current {
            touched.sort_unstable();
            touched.dedup();
            graph.touched[c].push(touched);
        }
    };
    for token in out.split(|b| *b == 0) {
        if let Some(header) = token.strip_prefix(head.as_bytes()) {
            flush(graph, current.take());
            let c = *next.next().ok_or_else(|| unreadable("diff-tree", header))?;
            if header != graph.ids[c].to_string().as_bytes() {
                return Err(unreadable("diff-tree", header));
            }
            current = Some((c, Vec::new()));
            first_path = true;
            continue;
        }
        let Some(path) = path_of(token, &mut first_path, "diff-tree")? else {
            continue;
        };
        match current.as_mut() {
            Some((_, touched)) if !path.is_empty() => prefixes.attribute(path, touched),
            Some(_) => {}
            None if path.is_empty() => {}
            None => return Err(unreadable("diff-tree", token)),
        }
    }
    flush(graph, current.take());
    if next.next().is_some() {
        return Err(HistoryError::Unreadable {
            command: "diff-tree",
            what: "fewer diffs than merge parents".into(),
        });
    }
    Ok(())
}

/// Returns a common ancestor of all `tips` (git's octopus merge base), or `None` when
/// they share none.
fn common_ancestor(
    root: &Path,
    tips: &[gix::ObjectId],
) -> Result<Option<gix::ObjectId>, HistoryError> {
    if let [only] = tips {
        return Ok(Some(*only));
    }
    let ids: Vec<String> = tips.iter().map(ToString::to_string).collect();
    let mut args = vec!["merge-base", "--octopus"];
    args.extend(ids.iter().map(String::as_str));
    let out = match git(root, &args, None) {
        Ok(out) => out,
        // Exit 1 without output: no common ancestor. Reading all history is always right.
        Err(GitError::Failed { .. }) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let text = String::from_utf8_lossy(&out);
    Ok(text
        .split_whitespace()
        .next()
        .and_then(|hex| gix::ObjectId::from_hex(hex.as_bytes()).ok()))
}

/// `<id> <parent>… <committer date>`.
fn parse_header(header: &[u8]) -> Option<(gix::ObjectId, Vec<gix::ObjectId>, i64)> {
    let text = std::str::from_utf8(header).ok()?;
    let mut words: Vec<&str> = text.split(' ').filter(|w| !w.is_empty()).collect();
    let date = words.pop()?.parse().ok()?;
    let mut words = words.into_iter();
    let id = gix::ObjectId::from_hex(words.next()?.as_bytes()).ok()?;
    let parents = words
        .map(|w| gix::ObjectId::from_hex(w.as_bytes()).ok())
        .collect::<Option<Vec<_>>>()?;
    Some((id, parents, date))
}

fn unreadable(command: &'static str, token: &[u8]) -> HistoryError {
    let shown: String = String::from_utf8_lossy(token).chars().take(60).collect();
    HistoryError::Unreadable {
        command,
        what: format!("unexpected record {:?}", crate::text::line(&shown)),
    }
}

/// A marker no repository can predict: 128 bits from the standard library's randomly
/// seeded hasher.
fn marker() -> String {
    let state = RandomState::new();
    let a = state.hash_one(std::process::id());
    let b = state.hash_one(std::time::SystemTime::now());
    format!("{a:016x}{b:016x}")
}

/// Service prefixes, looked up by a path's leading directories.
struct Prefixes {
    by_prefix: HashMap<Vec<u8>, Vec<u32>>,
}

impl Prefixes {
    fn new(paths: &[&[String]]) -> Prefixes {
        let mut by_prefix: HashMap<Vec<u8>, Vec<u32>> = HashMap::new();
        for (slot, prefixes) in paths.iter().enumerate() {
            for prefix in prefixes.iter() {
                let key = prefix.trim_matches('/').as_bytes().to_vec();
                by_prefix.entry(key).or_default().push(slot as u32);
            }
        }
        Prefixes { by_prefix }
    }

    /// Adds the slots of every service `path` belongs to: the path itself or any of its
    /// leading directories is one of the service's prefixes.
    fn attribute(&self, path: &[u8], touched: &mut Vec<u32>) {
        if let Some(slots) = self.by_prefix.get(path) {
            touched.extend(slots);
        }
        for (i, b) in path.iter().enumerate() {
            if *b == b'/' {
                if let Some(slots) = self.by_prefix.get(&path[..i]) {
                    touched.extend(slots);
                }
            }
        }
    }
}

/// Returns the path in `token`, a `-z` field of `git log --name-only` or `git diff-tree`
/// output: the first path after a header comes with git's `\n` before it; `None` for the
/// empty field after a header with no paths.
fn path_of<'a>(
    token: &'a [u8],
    first_path: &mut bool,
    command: &'static str,
) -> Result<Option<&'a [u8]>, HistoryError> {
    if !std::mem::take(first_path) {
        return Ok(Some(token));
    }
    match token.strip_prefix(b"\n") {
        Some(path) => Ok(Some(path)),
        None if token.is_empty() => Ok(None),
        None => Err(unreadable(command, token)),
    }
}
