//! Conventional-commit analysis: which bump the commits since the last release call for.
//!
//! Only the header's type and the breaking-change markers matter for the bump (`feat!:`,
//! `BREAKING CHANGE:` / `BREAKING-CHANGE:` footers). Anything that is not a conventional
//! commit counts as a fix-level change: a release always gets at least a patch.
//!
//! [`parse_header`] and [`breaking_notes`] read the rest of a message the way the
//! conventional-commits 1.0 specification describes it, for the release notes
//! (`notes.rs`): type and scope case-insensitive, `BREAKING CHANGE` upper case only.

use semver::Version;
use serde::Serialize;

use crate::version::Bump;

/// The level of change one commit message declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// Anything else: fixes, chores, non-conventional messages.
    Patch,
    /// `feat`.
    Feature,
    /// `type!:` or a `BREAKING CHANGE` footer.
    Breaking,
}

/// Returns the change level that `message` (subject and body) declares.
pub fn classify(message: &str) -> Change {
    let header = message.lines().next().unwrap_or("").trim();
    let (kind, bang) = match header.split_once(':') {
        Some((head, _)) => {
            let bang = head.ends_with('!');
            let head = head.trim_end_matches('!');
            let kind = head.split_once('(').map_or(head, |(k, _)| k);
            (kind.trim().to_ascii_lowercase(), bang)
        }
        None => (String::new(), false),
    };
    let footer_breaking = message.lines().skip(1).any(|line| {
        let line = line.trim_start();
        line.starts_with("BREAKING CHANGE:") || line.starts_with("BREAKING-CHANGE:")
    });
    if bang || footer_breaking {
        Change::Breaking
    } else if kind == "feat" {
        Change::Feature
    } else {
        Change::Patch
    }
}

/// The header (first line) of a conventional commit: `type(scope)!: description`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header<'m> {
    /// The type, lower-cased (the specification makes it case-insensitive).
    pub kind: String,
    /// The scope without its parentheses; `None` when absent or empty.
    pub scope: Option<&'m str>,
    /// Whether a `!` before the colon marks the commit as breaking.
    pub bang: bool,
    /// The text after `: `, trimmed; never empty.
    pub description: &'m str,
}

/// Parses `subject` as a conventional-commit header, or returns `None` when it is not one.
///
/// The type is letters, digits, `-` and `_`, starting with a letter; the colon must be
/// followed by white space and a non-empty description (the specification's grammar). So
/// `Merge branch 'x'`, `fixup! feat: x`, `feat:x` and `feat: ` are not conventional: the
/// notes list them as they are instead of guessing.
pub fn parse_header(subject: &str) -> Option<Header<'_>> {
    let subject = subject.trim();
    let colon = subject.find(':')?;
    let (head, rest) = (&subject[..colon], &subject[colon + 1..]);
    if !rest.starts_with([' ', '\t']) {
        return None;
    }
    let description = rest.trim();
    if description.is_empty() {
        return None;
    }
    let (head, bang) = match head.strip_suffix('!') {
        Some(head) => (head, true),
        None => (head, false),
    };
    let (kind, scope) = match head.split_once('(') {
        Some((kind, scope)) => {
            let scope = scope.strip_suffix(')')?;
            if scope.contains(['(', ')']) {
                return None;
            }
            let scope = scope.trim();
            (kind, (!scope.is_empty()).then_some(scope))
        }
        None => (head, None),
    };
    let mut chars = kind.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid {
        return None;
    }
    Some(Header {
        kind: kind.to_ascii_lowercase(),
        scope,
        bang,
        description,
    })
}

/// Returns the text of each `BREAKING CHANGE:` / `BREAKING-CHANGE:` footer of `message`.
///
/// A footer's value runs on over the following lines (blank ones included) until the next
/// footer token (`Token: ` or `Token #`), as the specification says; trailing blank
/// lines are dropped. The token must be upper case: `breaking change:` in prose is not one.
pub fn breaking_notes(message: &str) -> Vec<String> {
    // Both tokens start with `BREAKING`: one search answers for the many messages without
    // a footer, instead of a look at each of their lines.
    if !message.contains("BREAKING") {
        return Vec::new();
    }
    let mut notes: Vec<String> = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in message.lines().skip(1) {
        let trimmed = line.trim_start();
        let value = trimmed
            .strip_prefix("BREAKING CHANGE:")
            .or_else(|| trimmed.strip_prefix("BREAKING-CHANGE:"));
        if let Some(value) = value {
            if let Some(done) = current.take() {
                notes.push(join_note(&done));
            }
            current = Some(vec![value.trim()]);
        } else if is_footer_token(trimmed) {
            if let Some(done) = current.take() {
                notes.push(join_note(&done));
            }
        } else if let Some(lines) = current.as_mut() {
            lines.push(line.trim_end());
        }
    }
    if let Some(done) = current {
        notes.push(join_note(&done));
    }
    notes.retain(|n| !n.is_empty());
    notes
}

fn join_note(lines: &[&str]) -> String {
    lines.join("\n").trim().to_string()
}

/// Whether `line` starts a git trailer / conventional footer (`Signed-off-by: `, `Refs #1`).
fn is_footer_token(line: &str) -> bool {
    let end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .unwrap_or(line.len());
    end > 0
        && line.as_bytes()[0].is_ascii_alphabetic()
        && (line[end..].starts_with(": ") || line[end..].starts_with(" #"))
}

/// Returns the bump suggested for the given messages after release `current`.
///
/// Below 1.0.0 a breaking change bumps the minor version (semver's "anything may change"
/// range); a pre-release continues as a pre-release.
pub fn suggest<'m>(current: Option<&Version>, messages: impl IntoIterator<Item = &'m str>) -> Bump {
    if current.is_some_and(|v| !v.pre.is_empty()) {
        return Bump::Prerelease;
    }
    let change = messages
        .into_iter()
        .map(classify)
        .max()
        .unwrap_or(Change::Patch);
    let unstable = current.is_some_and(|v| v.major == 0);
    match change {
        Change::Breaking if unstable => Bump::Minor,
        Change::Breaking => Bump::Major,
        Change::Feature => Bump::Minor,
        Change::Patch => Bump::Patch,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_headers_and_footers() {
        assert_eq!(classify("feat: add login"), Change::Feature);
        assert_eq!(classify("feat(api): add login"), Change::Feature);
        assert_eq!(classify("fix(api)!: drop v1"), Change::Breaking);
        assert_eq!(classify("feat!: drop v1"), Change::Breaking);
        assert_eq!(
            classify("chore: deps\n\nBREAKING CHANGE: node 20"),
            Change::Breaking
        );
        assert_eq!(
            classify("refactor: x\n\nBREAKING-CHANGE: y"),
            Change::Breaking
        );
        assert_eq!(classify("fix: typo"), Change::Patch);
        assert_eq!(classify("Update README"), Change::Patch);
        assert_eq!(classify("feature: not a conventional type"), Change::Patch);
    }

    #[test]
    fn headers_parse_as_the_specification_says() {
        let h = parse_header("Feat(API)!: drop v1 (#12)").expect("conventional");
        assert_eq!(h.kind, "feat");
        assert_eq!(h.scope, Some("API"));
        assert!(h.bang);
        assert_eq!(h.description, "drop v1 (#12)");
        let h = parse_header("fix(): x").expect("empty scope");
        assert_eq!(h.scope, None);
        for not in [
            "Merge branch 'main' into x",
            "fixup! feat: x",
            "feat:x",
            "feat: ",
            "feat:",
            "",
            "Update README",
            "feat(a(b)): x",
            "feat(a: x",
            "2fa: x",
            "Revert \"feat: x\"",
        ] {
            assert_eq!(parse_header(not), None, "{not:?}");
        }
    }

    #[test]
    fn breaking_footers_run_until_the_next_token() {
        let message = "feat: x\n\nbody\n\nBREAKING CHANGE: the v1 API\nis gone\n\nfor good\nRefs #12\nSigned-off-by: a <a@b>\nBREAKING-CHANGE: also y\n";
        assert_eq!(
            breaking_notes(message),
            ["the v1 API\nis gone\n\nfor good", "also y"]
        );
        assert!(breaking_notes("feat: x\n\nbreaking change: prose").is_empty());
        assert!(breaking_notes("BREAKING CHANGE: in the subject").is_empty());
    }

    #[test]
    fn a_message_without_breaking_skips_the_footer_scan_with_the_same_answer() {
        // No `BREAKING` at all: the fast path.
        assert!(breaking_notes("fix: x\n\nbody\nRefs #1\nSigned-off-by: a <a@b>").is_empty());
        // `BREAKING` in prose or in the subject only: the full scan, still no footer.
        assert!(breaking_notes("feat!: x\n\nBREAKING things is fine").is_empty());
        assert!(breaking_notes("fix: BREAKING CHANGE: y\n\nbody").is_empty());
        // An indented footer after other text is still found.
        assert_eq!(breaking_notes("fix: x\n\n  BREAKING-CHANGE: z"), ["z"]);
    }

    #[test]
    fn suggestion_rules() {
        let v = |s: &str| Version::parse(s).expect("version");
        assert_eq!(
            suggest(Some(&v("1.2.0")), ["fix: a", "feat: b"]),
            Bump::Minor
        );
        assert_eq!(
            suggest(Some(&v("1.2.0")), ["fix: a", "feat!: b"]),
            Bump::Major
        );
        assert_eq!(suggest(Some(&v("0.4.0")), ["feat!: b"]), Bump::Minor);
        assert_eq!(suggest(Some(&v("1.2.0")), ["docs: a"]), Bump::Patch);
        assert_eq!(suggest(Some(&v("1.2.0")), []), Bump::Patch);
        assert_eq!(
            suggest(Some(&v("2.0.0-rc.1")), ["feat: x"]),
            Bump::Prerelease
        );
        assert_eq!(suggest(None, ["feat: x"]), Bump::Minor);
    }
}
