//! Semver bumps and the ordering of releases.
//!
//! Releases are ordered by semver precedence, not by git's `v:refname` sort (which ranks
//! `2.0.0-rc.1` above `2.0.0`). Versions never carry build metadata: a release tag is also
//! an image tag, and `+` is not allowed in image tags.

use std::fmt;
use std::str::FromStr;

use semver::{Prerelease, Version};
use serde::{Deserialize, Serialize};

/// How to derive the next version from the current one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Bump {
    /// Incompatible change: `1.4.2 → 2.0.0`.
    Major,
    /// New feature: `1.4.2 → 1.5.0`.
    Minor,
    /// Fix: `1.4.2 → 1.4.3`.
    Patch,
    /// Next pre-release of the same version: `2.0.0-rc.1 → 2.0.0-rc.2`.
    Prerelease,
    /// Drop the pre-release part: `2.0.0-rc.2 → 2.0.0`.
    Release,
}

impl Bump {
    /// Every bump, in the order a prompt lists them.
    pub const ALL: [Bump; 5] = [
        Bump::Major,
        Bump::Minor,
        Bump::Patch,
        Bump::Prerelease,
        Bump::Release,
    ];

    /// Returns the lowercase name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Bump::Major => "major",
            Bump::Minor => "minor",
            Bump::Patch => "patch",
            Bump::Prerelease => "prerelease",
            Bump::Release => "release",
        }
    }
}

impl fmt::Display for Bump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Bump {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Bump::ALL
            .into_iter()
            .find(|b| b.as_str() == s)
            .ok_or_else(|| {
                format!("`{s}` is not a bump; use major, minor, patch, prerelease or release")
            })
    }
}

/// The error returned by [`next_version`] and [`parse_release_version`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    /// Not a semver version.
    #[error("`{input}` is not a semver version ({reason}); use MAJOR.MINOR.PATCH like 1.2.3 or 1.2.3-rc.1")]
    NotSemver {
        /// What was given.
        input: String,
        /// What the parser said.
        reason: String,
    },
    /// A version with build metadata.
    #[error(
        "`{0}` has build metadata (`+…`), which is not allowed in an image tag; drop the `+…` part"
    )]
    BuildMetadata(String),
    /// `--pre` with an identifier that is not alphanumeric.
    #[error(
        "`{0}` is not a pre-release identifier; use letters, digits and hyphens, like rc or beta"
    )]
    BadPreId(String),
    /// `--bump prerelease` on a version that is not a pre-release and no `--pre` given.
    #[error("{0} is not a pre-release; start one with `--bump patch --pre rc` (or minor/major)")]
    NotAPrerelease(Version),
    /// `--bump release` on a version that is already released.
    #[error("{0} is already a release; `--bump release` only drops a pre-release part, use --bump patch/minor/major")]
    AlreadyReleased(Version),
    /// `--bump prerelease`/`release` on a service that has no release yet.
    #[error("the service has no release yet, so there is nothing to `--bump {0}`; use --bump major/minor/patch, or no bump for the initial version")]
    NothingToContinue(Bump),
    /// A bump that would carry a version number past the largest one semver holds.
    #[error("{0} cannot be bumped that way: a version number would pass {max}; choose the next version by hand with --set-version", max = u64::MAX)]
    Overflow(Version),
    /// The new version does not sort above the current one.
    #[error("{next} is not greater than the current release {current}; choose a higher version")]
    NotGreater {
        /// The proposed version.
        next: Version,
        /// The current highest release.
        current: Version,
    },
}

/// Parses a release version strictly: semver, no leading `v`, no build metadata.
pub fn parse_release_version(input: &str) -> Result<Version, VersionError> {
    match plain_version(input.as_bytes()) {
        Some(version) => Ok(version),
        None => parse_with_semver(input),
    }
}

/// [`parse_release_version`] for what is not a plain `MAJOR.MINOR.PATCH`.
fn parse_with_semver(input: &str) -> Result<Version, VersionError> {
    let version = Version::parse(input).map_err(|e| VersionError::NotSemver {
        input: input.to_string(),
        reason: e.to_string(),
    })?;
    if !version.build.is_empty() {
        return Err(VersionError::BuildMetadata(input.to_string()));
    }
    Ok(version)
}

/// Parses the version part of a tag name read as bytes from the ref store, as
/// [`parse_release_version`] would: `None` where it gives an error.
pub fn release_version_of(text: &[u8]) -> Option<Version> {
    match plain_version(text) {
        Some(version) => Some(version),
        None => parse_with_semver(std::str::from_utf8(text).ok()?).ok(),
    }
}

/// Parses `MAJOR.MINOR.PATCH` with nothing else, as nearly every release is named, without
/// semver's general parser (and without a UTF-8 check first): the hook parses every
/// existing release of each pushed service (10,000 for row 4 of docs/benchmarks.md), and
/// this takes a sixth of the instructions. Anything else, leading zeros and numbers
/// beyond `u64` included, answers `None` and is left to semver, which accepts or explains.
fn plain_version(text: &[u8]) -> Option<Version> {
    let mut numbers = [0u64; 3];
    let mut part = 0;
    let mut digits = 0;
    for &byte in text {
        match byte {
            b'0'..=b'9' => {
                if digits == 1 && numbers[part] == 0 {
                    return None; // a leading zero
                }
                numbers[part] = numbers[part]
                    .checked_mul(10)?
                    .checked_add(u64::from(byte - b'0'))?;
                digits += 1;
            }
            b'.' if digits > 0 && part < 2 => {
                part += 1;
                digits = 0;
            }
            _ => return None,
        }
    }
    (part == 2 && digits > 0).then(|| Version::new(numbers[0], numbers[1], numbers[2]))
}

/// Returns the version after `current` for `bump`, optionally as pre-release `pre`.
///
/// With no current release the answer is `initial` (as `initial-<pre>.1` with `pre`).
/// Bumping a pre-release without `pre` releases it when the bump is already contained:
/// `2.0.0-rc.1` with `major` gives `2.0.0`, like cargo-release and npm.
pub fn next_version(
    current: Option<&Version>,
    bump: Bump,
    pre: Option<&str>,
    initial: &Version,
) -> Result<Version, VersionError> {
    if let Some(id) = pre {
        check_pre_id(id)?;
    }
    let Some(current) = current else {
        return match bump {
            Bump::Prerelease | Bump::Release => Err(VersionError::NothingToContinue(bump)),
            // A configured `initial-version = "1.0.0-alpha.1"` is released as written.
            _ if pre.is_none() => Ok(initial.clone()),
            _ => Ok(with_pre(base(initial), pre)),
        };
    };
    let is_pre = !current.pre.is_empty();
    let next = match (bump, pre) {
        (Bump::Release, _) => {
            if !is_pre {
                return Err(VersionError::AlreadyReleased(current.clone()));
            }
            base(current)
        }
        (Bump::Prerelease, None) => {
            if !is_pre {
                return Err(VersionError::NotAPrerelease(current.clone()));
            }
            Version {
                pre: increment_pre(current)?,
                ..base(current)
            }
        }
        (Bump::Prerelease, Some(id)) => {
            if is_pre && pre_id(&current.pre) == id {
                Version {
                    pre: increment_pre(current)?,
                    ..base(current)
                }
            } else if is_pre {
                with_pre(base(current), Some(id))
            } else {
                with_pre(bump_base(current, Bump::Patch)?, Some(id))
            }
        }
        (bump, None) if is_pre && release_contains(current, bump) => base(current),
        (bump, pre) => with_pre(bump_base(current, bump)?, pre),
    };
    if next <= *current {
        return Err(VersionError::NotGreater {
            next,
            current: current.clone(),
        });
    }
    Ok(next)
}

/// Checks that `next` is a valid release after `current`.
pub fn ensure_greater(next: &Version, current: Option<&Version>) -> Result<(), VersionError> {
    match current {
        Some(current) if next <= current => Err(VersionError::NotGreater {
            next: next.clone(),
            current: current.clone(),
        }),
        _ => Ok(()),
    }
}

fn base(v: &Version) -> Version {
    Version::new(v.major, v.minor, v.patch)
}

fn bump_base(v: &Version, bump: Bump) -> Result<Version, VersionError> {
    let overflow = || VersionError::Overflow(v.clone());
    Ok(match bump {
        Bump::Major => Version::new(v.major.checked_add(1).ok_or_else(overflow)?, 0, 0),
        Bump::Minor => Version::new(v.major, v.minor.checked_add(1).ok_or_else(overflow)?, 0),
        Bump::Patch | Bump::Prerelease | Bump::Release => Version::new(
            v.major,
            v.minor,
            v.patch.checked_add(1).ok_or_else(overflow)?,
        ),
    })
}

/// Whether releasing pre-release `v` already is the bump asked for (`2.0.0-rc.1` is on the
/// way to a major release, `1.3.0-rc.1` to a minor one).
fn release_contains(v: &Version, bump: Bump) -> bool {
    match bump {
        Bump::Major => v.minor == 0 && v.patch == 0,
        Bump::Minor => v.patch == 0,
        Bump::Patch => true,
        Bump::Prerelease | Bump::Release => false,
    }
}

fn with_pre(mut v: Version, pre: Option<&str>) -> Version {
    if let Some(id) = pre {
        v.pre = Prerelease::new(&format!("{id}.1")).expect("identifier was checked");
    }
    v
}

fn pre_id(pre: &Prerelease) -> &str {
    pre.as_str().split('.').next().unwrap_or("")
}

fn increment_pre(v: &Version) -> Result<Prerelease, VersionError> {
    let mut parts: Vec<String> = v.pre.as_str().split('.').map(str::to_string).collect();
    match parts.last_mut() {
        Some(last) if last.parse::<u64>().is_ok() => {
            let next = last
                .parse::<u64>()
                .ok()
                .and_then(|n| n.checked_add(1))
                .ok_or_else(|| VersionError::Overflow(v.clone()))?;
            *last = next.to_string();
        }
        _ => parts.push("1".into()),
    }
    Prerelease::new(&parts.join(".")).map_err(|e| VersionError::NotSemver {
        input: parts.join("."),
        reason: e.to_string(),
    })
}

fn check_pre_id(id: &str) -> Result<(), VersionError> {
    let ok = !id.is_empty()
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !id.chars().all(|c| c.is_ascii_digit())
        && Prerelease::new(id).is_ok();
    if ok {
        Ok(())
    } else {
        Err(VersionError::BadPreId(id.to_string()))
    }
}

#[cfg(test)]
mod overflow_tests {
    use super::*;

    #[test]
    fn bumps_at_the_integer_limit_are_errors() {
        let initial = Version::new(0, 1, 0);
        let max = u64::MAX;
        for (current, bump) in [
            (Version::new(max, 0, 0), Bump::Major),
            (Version::new(1, max, 0), Bump::Minor),
            (Version::new(1, 2, max), Bump::Patch),
            (
                Version::parse(&format!("1.0.0-rc.{max}")).expect("version"),
                Bump::Prerelease,
            ),
        ] {
            let err = next_version(Some(&current), bump, None, &initial).expect_err("overflow");
            assert!(matches!(err, VersionError::Overflow(_)), "{err}");
            assert!(err.to_string().contains("18446744073709551615"), "{err}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_versions_parse_as_semver_does_and_the_rest_is_left_to_it() {
        let plain = [
            "0.0.0",
            "1.2.3",
            "10.20.30",
            "99.0.0",
            "18446744073709551615.0.1",
        ];
        for input in plain {
            assert_eq!(plain_version(input.as_bytes()), Some(v(input)), "{input}");
        }
        let others = [
            "",
            "1",
            "1.2",
            "1.2.3.4",
            "1..3",
            "1.2.",
            ".1.2",
            "01.2.3",
            "1.02.3",
            "1.2.03",
            "+1.2.3",
            "1.2.+3",
            "1.2.3-rc.1",
            "1.2.3+build",
            "v1.2.3",
            " 1.2.3",
            "1.2.3 ",
            "18446744073709551616.0.0",
            "1.2.\u{0663}",
            "\u{0661}.2.3",
        ];
        for input in others {
            assert_eq!(plain_version(input.as_bytes()), None, "{input}");
            assert_eq!(
                release_version_of(input.as_bytes()),
                parse_release_version(input).ok(),
                "{input}"
            );
        }
        assert_eq!(release_version_of(b"1.2.3-\xff"), None);
        // The answer for the rest is semver's.
        assert_eq!(parse_release_version("1.2.3-rc.1"), Ok(v("1.2.3-rc.1")));
        assert!(parse_release_version("01.2.3").is_err());
        assert!(parse_release_version("18446744073709551616.0.0").is_err());
    }

    fn v(s: &str) -> Version {
        Version::parse(s).expect("test version")
    }

    fn next(current: Option<&str>, bump: Bump, pre: Option<&str>) -> Result<String, VersionError> {
        next_version(current.map(v).as_ref(), bump, pre, &v("0.1.0")).map(|v| v.to_string())
    }

    #[test]
    fn bump_table() {
        let cases: &[(Option<&str>, Bump, Option<&str>, &str)] = &[
            (None, Bump::Patch, None, "0.1.0"),
            (None, Bump::Minor, Some("rc"), "0.1.0-rc.1"),
            (Some("1.4.2"), Bump::Major, None, "2.0.0"),
            (Some("1.4.2"), Bump::Minor, None, "1.5.0"),
            (Some("1.4.2"), Bump::Patch, None, "1.4.3"),
            (Some("1.4.2"), Bump::Minor, Some("rc"), "1.5.0-rc.1"),
            (Some("1.4.2"), Bump::Prerelease, Some("rc"), "1.4.3-rc.1"),
            (Some("2.0.0-rc.1"), Bump::Prerelease, None, "2.0.0-rc.2"),
            (Some("2.0.0-rc.9"), Bump::Prerelease, None, "2.0.0-rc.10"),
            (Some("2.0.0-beta"), Bump::Prerelease, None, "2.0.0-beta.1"),
            (
                Some("2.0.0-beta.3"),
                Bump::Prerelease,
                Some("rc"),
                "2.0.0-rc.1",
            ),
            (
                Some("2.0.0-rc.2"),
                Bump::Prerelease,
                Some("rc"),
                "2.0.0-rc.3",
            ),
            (Some("2.0.0-rc.2"), Bump::Release, None, "2.0.0"),
            (Some("2.0.0-rc.1"), Bump::Major, None, "2.0.0"),
            (Some("1.3.0-rc.1"), Bump::Major, None, "2.0.0"),
            (Some("1.3.0-rc.1"), Bump::Minor, None, "1.3.0"),
            (Some("1.3.1-rc.1"), Bump::Minor, None, "1.4.0"),
            (Some("1.3.1-rc.1"), Bump::Patch, None, "1.3.1"),
        ];
        for (current, bump, pre, want) in cases {
            assert_eq!(
                next(*current, *bump, *pre).as_deref(),
                Ok(*want),
                "{current:?} {bump} {pre:?}"
            );
        }
    }

    #[test]
    fn first_release_is_the_initial_version_as_configured() {
        let initial = v("1.0.0-alpha.1");
        for bump in [Bump::Major, Bump::Minor, Bump::Patch] {
            assert_eq!(
                next_version(None, bump, None, &initial),
                Ok(v("1.0.0-alpha.1"))
            );
            assert_eq!(
                next_version(None, bump, Some("rc"), &initial),
                Ok(v("1.0.0-rc.1"))
            );
        }
    }

    #[test]
    fn bump_errors() {
        assert!(matches!(
            next(Some("1.0.0"), Bump::Release, None),
            Err(VersionError::AlreadyReleased(_))
        ));
        assert!(matches!(
            next(Some("1.0.0"), Bump::Prerelease, None),
            Err(VersionError::NotAPrerelease(_))
        ));
        assert!(matches!(
            next(None, Bump::Prerelease, None),
            Err(VersionError::NothingToContinue(_))
        ));
        assert!(matches!(
            next(Some("1.0.0"), Bump::Patch, Some("r.c")),
            Err(VersionError::BadPreId(_))
        ));
        assert!(matches!(
            next(Some("1.0.0"), Bump::Patch, Some("12")),
            Err(VersionError::BadPreId(_))
        ));
        // rc sorts below beta: continuing with a lower identifier is refused.
        assert!(matches!(
            next(Some("2.0.0-rc.1"), Bump::Prerelease, Some("beta")),
            Err(VersionError::NotGreater { .. })
        ));
    }

    #[test]
    fn strict_parsing() {
        assert!(parse_release_version("1.2.3").is_ok());
        assert!(parse_release_version("1.2.3-rc.1").is_ok());
        for bad in [
            "v1.2.3", "1.2", "01.2.3", "1.2.3-", "1.2.3-01", " 1.2.3", "1.2.3 ",
        ] {
            assert!(
                matches!(
                    parse_release_version(bad),
                    Err(VersionError::NotSemver { .. })
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            parse_release_version("1.2.3+build.1"),
            Err(VersionError::BuildMetadata(_))
        ));
    }

    #[test]
    fn semver_precedence_not_refname_order() {
        assert!(v("2.0.0-rc.1") < v("2.0.0"));
        assert!(v("1.10.0") > v("1.9.0"));
        assert!(ensure_greater(&v("1.0.0"), Some(&v("1.0.0"))).is_err());
        assert!(ensure_greater(&v("1.0.1"), Some(&v("1.0.0"))).is_ok());
    }
}
