//! The library behind `git release`.
//!
//! Everything that decides something lives here; the `git-release` binary only parses
//! arguments, asks questions on a terminal and prints. The modules are named after the
//! domain so a newcomer finds the room by its name:
//!
//! - [`config`]: `git-release.toml`, layered defaults and validation.
//! - [`version`]: semver bumps and the ordering of releases.
//! - [`tag`]: the tag naming template, parsing tag names back into service + version,
//!   and the rules a release tag must follow (ref format, image-tag charset).
//! - [`conventional`]: conventional-commit analysis that suggests a bump.
//! - [`repo`]: the git repository (gix for reads and tag objects, the `git` binary for
//!   the network).
//! - [`history`]: which commits since each service's last release touched it, for many
//!   services from one pass over history.
//! - [`notes`]: release notes from conventional commits (tag message, Markdown, JSON).
//! - [`plan`]: a validated release plan that `--dry-run` and `--json` print and that is
//!   carried out only after every check passed.
//! - [`registry`]: where the images live (ECR, or none), behind one trait.
//! - `aws` (with an AWS backend built in): the AWS session, HTTPS client and error
//!   classes every AWS backend shares.
//! - [`check`]: the release-tag rules shared by the pre-push hook and `git release check`.
//! - [`hook`]: the pre-push protocol and hook installation.
//! - [`deploy`]: pinning environments to a release in Terraform variable files.
//! - [`safe_write`]: every file write: a lock, a temporary file renamed over the
//!   original, confined to the repository.
//! - [`text`]: the one gate for hostile text: display escaping, shell quoting of
//!   suggested commands, validated config names and registry digests.
#![deny(missing_docs)]

#[cfg(feature = "aws")]
pub mod aws;
pub mod check;
pub mod config;
pub mod conventional;
pub mod deploy;
pub mod history;
pub mod hook;
pub mod notes;
pub mod plan;
pub mod process;
pub mod registry;
pub mod repo;
pub mod safe_write;
pub mod tag;
pub mod text;
pub mod version;

#[cfg(test)]
mod test_repo;

pub use config::Config;
pub use semver;
pub use version::Bump;
