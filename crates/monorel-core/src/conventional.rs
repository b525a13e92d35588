//! Conventional-commit analysis: which bump the commits since the last release call for.
//!
//! Only the header's type and the breaking-change markers matter here (`feat!:`,
//! `BREAKING CHANGE:` / `BREAKING-CHANGE:` footers). Anything that is not a conventional
//! commit counts as a fix-level change: a release always gets at least a patch.

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
