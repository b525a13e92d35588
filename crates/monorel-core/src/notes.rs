//! Release notes from conventional commits: the annotated tag's body, and what
//! `git release notes` prints as Markdown or JSON.
//!
//! The notes are built ([`build`]) from a list of commits (id, message, number of
//! parents), newest first, as whoever walks the history hands them over; building never
//! reads the repository, so the one-pass history reader can feed it as well as today's
//! per-service `git log`. [`read`] only decides the range (previous release → tag) and
//! asks the repository for its commits. The rules (docs/notes.md has them for users):
//!
//! - Groups, in this order: breaking changes (`!` or a `BREAKING CHANGE:` /
//!   `BREAKING-CHANGE:` footer, whatever the type), features (`feat`), bug fixes (`fix`),
//!   performance (`perf`), reverts of changes released earlier, then everything else
//!   (`docs`, `refactor`, `chore`, any other type, and messages that are not conventional
//!   at all, which are never dropped). Within a group, newest first.
//! - Merge commits (two or more parents) whose subject is not a conventional header are
//!   left out: `git log` lists the merged commits themselves. A merge whose subject *is*
//!   conventional was written on purpose and is listed.
//! - A revert (`revert: …` or git's `Revert "…"` / `Reapply "…"`, naming its commit in
//!   git's `This reverts commit <sha>` line, or a `revert:` in a `Refs: <sha>, <sha>`
//!   footer as the specification suggests, or failing both by the reverted subject)
//!   cancels the commits it reverts when they are in the range: none of them is listed
//!   (a revert of some commits outside the range is still listed). A revert that is
//!   itself reverted in the range does not cancel anything. A revert of a change outside
//!   the range is listed under reverts.
//! - `feat: x (#123)` keeps its pull-request reference; JSON also gives it as `pr`.
//! - All text from commits passes [`text::line`]: an escape sequence in a subject never
//!   reaches a terminal, a tag message or a release page raw. In the tag message no line
//!   from a commit starts at column 0, so none can pass for a signature block.

use std::collections::HashMap;

mod range;
mod render;

pub use range::{previous_release, read, NotesError, ReleaseNotes};

use serde::Serialize;

use crate::conventional::{breaking_notes, parse_header, Header};
use crate::text;

/// One commit as the notes need it.
#[derive(Debug, Clone, Copy)]
pub struct CommitInput<'a> {
    /// Full hex id.
    pub id: &'a str,
    /// The whole message: subject, body, footers.
    pub message: &'a str,
    /// How many parents the commit has (2 or more: a merge).
    pub parents: usize,
}

/// The sections of the notes, in the order they are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Group {
    /// `!` or a `BREAKING CHANGE` footer.
    Breaking,
    /// `feat`.
    Features,
    /// `fix`.
    Fixes,
    /// `perf`.
    Performance,
    /// Reverts of changes outside the range.
    Reverts,
    /// Every other type, and commits that are not conventional.
    Other,
}

impl Group {
    /// Every group, in print order.
    pub const ALL: [Group; 6] = [
        Group::Breaking,
        Group::Features,
        Group::Fixes,
        Group::Performance,
        Group::Reverts,
        Group::Other,
    ];

    /// Returns the section's title.
    pub fn title(self) -> &'static str {
        match self {
            Group::Breaking => "Breaking changes",
            Group::Features => "Features",
            Group::Fixes => "Bug fixes",
            Group::Performance => "Performance",
            Group::Reverts => "Reverts",
            Group::Other => "Other changes",
        }
    }
}

/// One listed change. Every text field is already sanitised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// Full hex id.
    pub id: String,
    /// The 7-character abbreviation.
    pub short_id: String,
    /// The section it is listed in.
    pub group: Group,
    /// The conventional type, lower case; `None` for a message that is not conventional.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The scope, as written.
    pub scope: Option<String>,
    /// Whether the commit declares a breaking change.
    pub breaking: bool,
    /// The first line of the message, as written.
    pub subject: String,
    /// The description after `type(scope): ` (the whole subject when not conventional).
    pub description: String,
    /// The text of the commit's `BREAKING CHANGE:` footers, one per footer.
    pub breaking_notes: Vec<String>,
    /// The pull/merge request number of a `… (#123)` subject.
    pub pr: Option<u64>,
    /// For a revert: the id (as written in the message) of the commit it reverts.
    pub reverts: Option<String>,
}

/// Why a commit of the range is not listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
pub enum SkipReason {
    /// A merge commit with a non-conventional subject; its content is listed through
    /// the merged commits.
    Merge,
    /// Reverted by a commit in the same range.
    RevertedBy {
        /// The revert's id.
        by: String,
    },
    /// Reverts a commit in the same range.
    Reverts {
        /// The reverted commit's id.
        of: String,
    },
}

/// A commit of the range that the notes leave out, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// Full hex id.
    pub id: String,
    /// Why.
    #[serde(flatten)]
    pub reason: SkipReason,
}

/// The notes of a range of commits.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Notes {
    /// The listed changes, in group order, newest first within a group.
    pub commits: Vec<Entry>,
    /// The commits left out (merges, cancelled revert pairs), newest first.
    pub skipped: Vec<Skipped>,
}

/// What a commit says about reverting.
struct Revert<'m> {
    /// The ids written in `This reverts commit <id>` lines, or, for a conventional
    /// `revert:`, in a `Refs: <id>, <id>` footer (the specification's own example).
    ids: Vec<&'m str>,
    /// The reverted subject, from `Revert "…"` or `revert: …`.
    subject: &'m str,
}

/// Returns the leading hex id of `text` when it is at least 7 digits long.
fn leading_id(text: &str) -> Option<&str> {
    let end = text
        .find(|c: char| !c.is_ascii_hexdigit())
        .unwrap_or(text.len());
    (end >= 7).then(|| &text[..end])
}

/// Returns what `message` reverts, if it is a revert; `header` is its subject's
/// conventional header, parsed once by the caller.
fn revert_of<'m>(
    subject: &'m str,
    header: Option<&Header<'m>>,
    message: &'m str,
) -> Option<Revert<'m>> {
    let quoted = ["Revert \"", "Reapply \""]
        .iter()
        .find_map(|p| subject.strip_prefix(p))
        .and_then(|rest| rest.strip_suffix('"'));
    let reverted = match quoted {
        Some(inner) => inner,
        None => {
            let header = header?;
            if header.kind != "revert" {
                return None;
            }
            header.description
        }
    };
    let mut ids: Vec<&str> = message
        .lines()
        .skip(1)
        .filter_map(|line| leading_id(line.trim_start().strip_prefix("This reverts commit ")?))
        .collect();
    if ids.is_empty() && quoted.is_none() {
        ids = message
            .lines()
            .skip(1)
            .filter_map(|line| line.trim_start().strip_prefix("Refs: "))
            .flat_map(|refs| refs.split([',', ' ']))
            .filter_map(|id| leading_id(id.trim()).filter(|h| h.len() == id.trim().len()))
            .collect();
    }
    Some(Revert {
        ids,
        subject: reverted,
    })
}

/// Builds the notes of `commits` (newest first).
pub fn build(commits: &[CommitInput<'_>]) -> Notes {
    // The first non-blank line: `--cleanup=verbatim` can keep blank lines before it.
    let subjects: Vec<&str> = commits
        .iter()
        .map(|c| {
            c.message
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .unwrap_or("")
        })
        .collect();
    // Each subject is parsed once; the header is handed on to the revert detection, the
    // merge check and finally the entry itself.
    let mut headers: Vec<Option<Header<'_>>> = subjects.iter().map(|s| parse_header(s)).collect();
    let reverts: Vec<Option<Revert<'_>>> = commits
        .iter()
        .enumerate()
        .map(|(i, c)| revert_of(subjects[i], headers[i].as_ref(), c.message))
        .collect();
    // The index by id serves only reverts that name their commits; most ranges have none,
    // and hashing every id of a long range would cost more than the rest of the notes.
    let by_id: HashMap<&str, usize> = if reverts.iter().flatten().any(|r| !r.ids.is_empty()) {
        commits.iter().enumerate().map(|(i, c)| (c.id, i)).collect()
    } else {
        HashMap::new()
    };
    let find = |id: &str| {
        by_id.get(id).copied().or_else(|| {
            let id = id.to_ascii_lowercase();
            commits.iter().position(|c| c.id.starts_with(&id))
        })
    };
    // targets[i]: the commits of the range that commit i reverts; whole[i]: whether
    // everything it reverts is in the range (then it is not listed itself).
    let mut targets: Vec<Vec<usize>> = vec![Vec::new(); commits.len()];
    let mut whole: Vec<bool> = vec![false; commits.len()];
    let mut reverts_id: Vec<Option<String>> = vec![None; commits.len()];
    for (i, revert) in reverts.iter().enumerate() {
        let Some(revert) = revert else {
            continue;
        };
        reverts_id[i] = revert.ids.first().map(|id| text::line(id).into_owned());
        let found: Vec<usize> = if revert.ids.is_empty() {
            // No id: the newest older commit with the reverted subject.
            (i + 1..commits.len())
                .find(|&j| subjects[j] == revert.subject)
                .into_iter()
                .collect()
        } else {
            revert.ids.iter().filter_map(|id| find(id)).collect()
        };
        let found: Vec<usize> = found.into_iter().filter(|&j| j != i).collect();
        whole[i] = !found.is_empty() && found.len() >= revert.ids.len();
        targets[i] = found;
    }
    let effective = effective_reverts(&targets);

    // cancelled_by[t]: the (newest) effective revert of commit t in the range.
    let mut cancelled_by: Vec<Option<usize>> = vec![None; commits.len()];
    for (r, ts) in targets.iter().enumerate() {
        if effective[r] {
            for t in ts {
                cancelled_by[*t].get_or_insert(r);
            }
        }
    }

    let mut skipped = Vec::new();
    let mut by_group: [Vec<Entry>; Group::ALL.len()] = Default::default();
    for (i, commit) in commits.iter().enumerate() {
        let reason = if let Some(r) = cancelled_by[i] {
            Some(SkipReason::RevertedBy {
                by: commits[r].id.to_string(),
            })
        } else if whole[i] {
            Some(SkipReason::Reverts {
                of: commits[targets[i][0]].id.to_string(),
            })
        } else if commit.parents > 1 && headers[i].is_none() {
            Some(SkipReason::Merge)
        } else {
            None
        };
        match reason {
            Some(reason) => skipped.push(Skipped {
                id: commit.id.to_string(),
                reason,
            }),
            None => {
                let entry = entry(commit, subjects[i], headers[i].take(), reverts_id[i].take());
                // `Group::ALL` lists the groups in declaration order, so a group's
                // discriminant is its place in the notes.
                by_group[entry.group as usize].push(entry);
            }
        }
    }
    // Newest first within a group: each group's list is in commit order already, so the
    // lists are only joined (sorting would move every large entry many times).
    Notes {
        commits: by_group.into_iter().flatten().collect(),
        skipped,
    }
}

/// Returns, for each commit, whether it is a revert that takes effect: one that is not
/// itself reverted by an effective revert in the range. Iterative, so a hostile chain of
/// ten thousand reverts cannot overflow the stack.
fn effective_reverts(targets: &[Vec<usize>]) -> Vec<bool> {
    let mut reverted_by: Vec<Vec<usize>> = vec![Vec::new(); targets.len()];
    for (r, ts) in targets.iter().enumerate() {
        for t in ts {
            reverted_by[*t].push(r);
        }
    }
    let mut effective: Vec<Option<bool>> = vec![None; targets.len()];
    // One stack for every start: most starts are settled at once, and a stack of their
    // own would be one allocation per commit.
    let mut stack = Vec::new();
    for start in 0..targets.len() {
        stack.clear();
        stack.push(start);
        while let Some(&node) = stack.last() {
            if effective[node].is_some() {
                stack.pop();
                continue;
            }
            let pending: Vec<usize> = reverted_by[node]
                .iter()
                .copied()
                .filter(|&r| effective[r].is_none() && !stack.contains(&r))
                .collect();
            if pending.is_empty() {
                let undone = reverted_by[node]
                    .iter()
                    .any(|&r| effective[r] == Some(true));
                effective[node] = Some(!undone);
                stack.pop();
            } else {
                stack.extend(pending);
            }
        }
    }
    effective.into_iter().map(|e| e == Some(true)).collect()
}

/// Returns the entry of a listed commit whose first line is `subject` and whose
/// conventional header (if any) is `header`.
fn entry(
    commit: &CommitInput<'_>,
    subject: &str,
    header: Option<Header<'_>>,
    reverts: Option<String>,
) -> Entry {
    let clean = |s: &str| text::line(s).into_owned();
    let notes: Vec<String> = breaking_notes(commit.message)
        .iter()
        .map(|n| clean_lines(n))
        .collect();
    let (kind, scope, description, bang) = match header {
        Some(h) => (Some(h.kind), h.scope, h.description, h.bang),
        None if subject.starts_with("Revert \"") => (
            Some("revert".to_string()),
            None,
            subject
                .strip_prefix("Revert \"")
                .and_then(|s| s.strip_suffix('"'))
                .unwrap_or(subject),
            false,
        ),
        None => (None, None, subject, false),
    };
    // `Reapply "feat: x"` of a change reverted in an earlier release: the change is back,
    // so it is listed as what it reapplies.
    let reapplied = subject
        .strip_prefix("Reapply \"")
        .and_then(|s| s.strip_suffix('"'))
        .and_then(parse_header);
    let (kind, scope, description, bang) = match reapplied {
        Some(h) => (Some(h.kind), h.scope, subject, h.bang),
        None => (kind, scope, description, bang),
    };
    let breaking = bang || !notes.is_empty();
    let group = if breaking {
        Group::Breaking
    } else {
        match kind.as_deref() {
            Some("feat") => Group::Features,
            Some("fix") => Group::Fixes,
            Some("perf") => Group::Performance,
            Some("revert") => Group::Reverts,
            _ => Group::Other,
        }
    };
    let description = if description.is_empty() {
        "(no message)"
    } else {
        description
    };
    Entry {
        id: clean(commit.id),
        short_id: clean(&commit.id[..commit.id.len().min(7)]),
        group,
        kind,
        scope: scope.map(clean),
        breaking,
        subject: clean(subject),
        description: clean(description),
        breaking_notes: notes,
        pr: pr_number(description),
        reverts,
    }
}

/// Returns `note` with each of its lines passed through [`text::line`], joined by `\n`:
/// line by line, because the gate escapes line breaks too.
fn clean_lines(note: &str) -> String {
    let mut out = String::with_capacity(note.len());
    for (i, line) in note.lines().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&text::line(line));
    }
    out
}

/// Returns `123` for a description ending in `(#123)`, as squash merges on GitHub and
/// GitLab write them.
fn pr_number(description: &str) -> Option<u64> {
    let inner = description.trim_end().strip_suffix(')')?;
    let start = inner.rfind("(#")?;
    inner[start + 2..].parse().ok()
}

impl Notes {
    /// Whether nothing is listed.
    pub fn is_empty(&self) -> bool {
        self.commits.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Commits newest first: `(id, message, parents)`.
    fn notes(commits: &[(&str, &str, usize)]) -> Notes {
        let input: Vec<CommitInput<'_>> = commits
            .iter()
            .map(|(id, message, parents)| CommitInput {
                id,
                message,
                parents: *parents,
            })
            .collect();
        build(&input)
    }

    fn listed(notes: &Notes) -> Vec<(Group, &str)> {
        notes
            .commits
            .iter()
            .map(|e| (e.group, e.subject.as_str()))
            .collect()
    }

    const A: &str = "aaaaaaa0000000000000000000000000000000aa";
    const B: &str = "bbbbbbb0000000000000000000000000000000bb";
    const C: &str = "ccccccc0000000000000000000000000000000cc";
    const D: &str = "ddddddd0000000000000000000000000000000dd";
    const E: &str = "eeeeeee0000000000000000000000000000000ee";

    #[test]
    fn groups_come_in_changelog_order_newest_first() {
        let n = notes(&[
            (A, "docs: readme", 1),
            (B, "fix(db): leak", 1),
            (C, "feat: later", 1),
            (D, "Update things", 1),
            (E, "feat(api)!: drop v1", 1),
        ]);
        assert_eq!(
            listed(&n),
            [
                (Group::Breaking, "feat(api)!: drop v1"),
                (Group::Features, "feat: later"),
                (Group::Fixes, "fix(db): leak"),
                (Group::Other, "docs: readme"),
                (Group::Other, "Update things"),
            ]
        );
        assert_eq!(n.commits[0].scope.as_deref(), Some("api"));
        assert_eq!(n.commits[0].short_id, "eeeeeee");
    }

    #[test]
    fn type_is_case_insensitive_and_breaking_footer_is_upper_case_only() {
        let n = notes(&[
            (A, "FEAT: shout", 1),
            (B, "Fix(Api): mixed", 1),
            (
                C,
                "chore: deps\n\nBREAKING-CHANGE: node 20\nSigned-off-by: x <x@y>",
                1,
            ),
            (D, "docs: x\n\nbreaking change: not a footer", 1),
        ]);
        assert_eq!(
            listed(&n),
            [
                (Group::Breaking, "chore: deps"),
                (Group::Features, "FEAT: shout"),
                (Group::Fixes, "Fix(Api): mixed"),
                (Group::Other, "docs: x"),
            ]
        );
        assert_eq!(n.commits[0].breaking_notes, ["node 20"]);
        assert_eq!(n.commits[1].kind.as_deref(), Some("feat"));
    }

    #[test]
    fn a_revert_pair_in_the_range_cancels_out() {
        let body = format!("Revert \"feat: x\"\n\nThis reverts commit {C}.");
        let n = notes(&[(A, "fix: y", 1), (B, &body, 1), (C, "feat: x", 1)]);
        assert_eq!(listed(&n), [(Group::Fixes, "fix: y")]);
        assert_eq!(
            n.skipped,
            [
                Skipped {
                    id: B.into(),
                    reason: SkipReason::Reverts { of: C.into() }
                },
                Skipped {
                    id: C.into(),
                    reason: SkipReason::RevertedBy { by: B.into() }
                },
            ]
        );
        // Conventional form, abbreviated id.
        let body = format!("revert: feat: x\n\nThis reverts commit {}.", &C[..9]);
        let n = notes(&[(B, &body, 1), (C, "feat: x", 1)]);
        assert!(n.is_empty(), "{n:?}");
        // No id at all: the subject finds it.
        let n = notes(&[(B, "revert: feat: x", 1), (C, "feat: x", 1)]);
        assert!(n.is_empty(), "{n:?}");
    }

    #[test]
    fn a_conventional_revert_names_its_commits_in_a_refs_footer() {
        let body = format!(
            "revert: let us never speak of it\n\nRefs: {}, {}",
            &C[..7],
            &D[..7]
        );
        let n = notes(&[
            (A, "fix: y", 1),
            (B, &body, 1),
            (C, "feat: x", 1),
            (D, "feat: z", 1),
        ]);
        assert_eq!(listed(&n), [(Group::Fixes, "fix: y")]);
        // One of the two outside the range: the revert is listed, the other cancelled.
        let n = notes(&[(B, &body, 1), (C, "feat: x", 1)]);
        assert_eq!(
            listed(&n),
            [(Group::Reverts, "revert: let us never speak of it")]
        );
        // `Refs:` of an ordinary commit is not a revert.
        let refs = format!("fix: y\n\nRefs: {}", &C[..7]);
        let n = notes(&[(A, &refs, 1), (C, "feat: x", 1)]);
        assert_eq!(n.commits.len(), 2);
    }

    #[test]
    fn a_revert_of_a_revert_brings_the_change_back() {
        let r1 = format!("Revert \"feat: x\"\n\nThis reverts commit {C}.");
        let r2 = format!("Reapply \"feat: x\"\n\nThis reverts commit {B}.");
        let n = notes(&[(A, &r2, 1), (B, &r1, 1), (C, "feat: x", 1)]);
        assert_eq!(listed(&n), [(Group::Features, "feat: x")]);
        let r3 = format!("Revert \"Reapply \"feat: x\"\"\n\nThis reverts commit {A}.");
        let n = notes(&[(D, &r3, 1), (A, &r2, 1), (B, &r1, 1), (C, "feat: x", 1)]);
        assert!(n.is_empty(), "{n:?}");
    }

    #[test]
    fn a_revert_of_an_earlier_release_is_listed_as_a_revert() {
        let body = format!("Revert \"feat: old\"\n\nThis reverts commit {E}.");
        let n = notes(&[(A, &body, 1)]);
        assert_eq!(listed(&n), [(Group::Reverts, "Revert \"feat: old\"")]);
        assert_eq!(n.commits[0].kind.as_deref(), Some("revert"));
        assert_eq!(n.commits[0].description, "feat: old");
        assert_eq!(n.commits[0].reverts.as_deref(), Some(E));
        // A reapply of something reverted earlier is the change itself again.
        let body = format!("Reapply \"feat: old\"\n\nThis reverts commit {E}.");
        let n = notes(&[(A, &body, 1)]);
        assert_eq!(n.commits[0].group, Group::Features);
    }

    #[test]
    fn merges_are_skipped_unless_conventional() {
        let n = notes(&[
            (A, "Merge pull request #4 from me/x\n\nfeat: x", 2),
            (B, "feat: x", 1),
            (C, "feat(ui): merged on purpose", 2),
            (D, "Merge branch 'main' into x", 1),
        ]);
        assert_eq!(
            listed(&n),
            [
                (Group::Features, "feat: x"),
                (Group::Features, "feat(ui): merged on purpose"),
                (Group::Other, "Merge branch 'main' into x"),
            ]
        );
        assert_eq!(n.skipped[0].reason, SkipReason::Merge);
    }

    #[test]
    fn odd_messages_are_listed_not_dropped() {
        let n = notes(&[
            (A, "", 1),
            (B, "feat:", 1),
            (C, "feat: squash (#123)", 1),
            (D, "fixup! fix: x", 1),
        ]);
        assert_eq!(n.commits.len(), 4);
        let squash = &n.commits[0];
        assert_eq!(squash.pr, Some(123));
        assert_eq!(squash.description, "squash (#123)");
        let empty = n.commits.iter().find(|e| e.id == A).expect("listed");
        assert_eq!(empty.description, "(no message)");
        assert_eq!(empty.group, Group::Other);
    }

    #[test]
    fn text_from_commits_is_sanitised_everywhere() {
        let n = notes(&[(
            A,
            "feat(\x1b[31m): \x1b]0;pwn\x07x\n\nBREAKING CHANGE: \x1b[2Jgone",
            1,
        )]);
        for text in [n.to_text(), n.to_markdown(), format!("{n:?}")] {
            assert!(!text.contains('\x1b'), "{text}");
            assert!(!text.contains('\x07'), "{text}");
        }
    }

    #[test]
    fn markdown_cannot_open_html_from_a_subject() {
        let n = notes(&[(
            A,
            "fix: x <!-- hide the rest\n\nBREAKING CHANGE: <script>",
            1,
        )]);
        let md = n.to_markdown();
        assert!(md.contains("x \\<!-- hide"), "{md}");
        assert!(md.contains("> \\<script>"), "{md}");
    }

    #[test]
    fn a_blank_first_line_does_not_hide_the_subject() {
        let n = notes(&[(A, "\n\nfeat: late subject", 1)]);
        assert_eq!(listed(&n), [(Group::Features, "feat: late subject")]);
    }

    #[test]
    fn renders_text_and_markdown() {
        let n = notes(&[
            (
                A,
                "feat(api)!: drop v1\n\nBREAKING CHANGE: v1 is gone\nuse v2",
                1,
            ),
            (B, "fix: crash (#7)", 1),
            (C, "docs(readme): typo", 1),
        ]);
        assert_eq!(
            n.to_text(),
            "Breaking changes:\n- aaaaaaa feat(api)!: drop v1\n    BREAKING CHANGE: v1 is gone\n    use v2\n\nBug fixes:\n- bbbbbbb fix: crash (#7)\n\nOther changes:\n- ccccccc docs(readme): typo\n"
        );
        assert_eq!(
            n.to_markdown(),
            "### Breaking changes\n\n- feat(api): drop v1 (aaaaaaa)\n  > v1 is gone\n  > use v2\n\n### Bug fixes\n\n- crash (#7) (bbbbbbb)\n\n### Other changes\n\n- docs(readme): typo (ccccccc)\n"
        );
    }
}
