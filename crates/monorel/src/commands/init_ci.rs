//! `git release init --ci github|gitlab`: ready-made CI workflows.
//!
//! The workflows live as files under `templates/` (embedded at build time) so they can be
//! read, diffed and linted as what they are; only a few values that depend on
//! `git-release.toml` are filled in: the tag pattern, how a tag maps back to its service,
//! and the environment that each release is deployed to first (GitHub: `init_github`).
//!
//! GitLab has one pipeline file per project, which is the user's: when `.gitlab-ci.yml`
//! exists (and was not written by us), the jobs go to `.gitlab/git-release.yml` and the
//! user is told the `include:` line to add. A user's pipeline is never overwritten.

use std::path::Path;
use std::process::ExitCode;

use monorel_core::config::Config;
use monorel_core::safe_write::{Lock, Policy};

use super::init::CiProvider;
use crate::error::{CliError, CliResult, Kind};

const GITLAB: &str = include_str!("templates/gitlab.yml");

/// The first line of every file `init --ci` writes: only such a file is overwritten.
const GITLAB_MARKER: &str = "# Written by `git release init --ci gitlab`";
/// Where the GitLab jobs go when the project already has a pipeline.
const GITLAB_INCLUDE: &str = ".gitlab/git-release.yml";

/// Writes the workflows of `provider` under `root`.
pub fn run(root: &Path, provider: CiProvider, force: bool) -> CliResult {
    let config = Config::load(root)?;
    let (files, next) = match provider {
        CiProvider::Github => {
            let (files, next) = super::init_github::render(&config)?;
            let files = files
                .into_iter()
                .map(|(name, text)| (format!(".github/workflows/{name}"), text))
                .collect();
            (files, next)
        }
        CiProvider::Gitlab => gitlab_files(root, &config),
    };
    // Every file is locked (and its path checked: no link, nothing outside the
    // repository) before any is written, so a refusal writes nothing.
    let locks = files
        .iter()
        .map(|(name, _)| Lock::acquire(root, &root.join(name), Policy::NO_LINKS))
        .collect::<Result<Vec<_>, _>>()?;
    let existing: Vec<&str> = files
        .iter()
        .zip(&locks)
        .filter(|(_, lock)| lock.exists())
        .map(|((name, _), _)| name.as_str())
        .collect();
    if !existing.is_empty() && !force {
        return Err(CliError::new(
            Kind::Refused,
            format!(
                "{} already exist(s); nothing was written; pass --force to overwrite",
                existing.join(", ")
            ),
        ));
    }
    for ((name, text), lock) in files.iter().zip(locks) {
        lock.commit(text.as_bytes())?;
        println!("wrote {name}");
    }
    println!("{next}");
    Ok(ExitCode::SUCCESS)
}

/// Returns the GitLab file to write (`.gitlab-ci.yml`, or the include file when the
/// project has a pipeline of its own) and what to do next. Our own `.gitlab-ci.yml` is
/// rewritten (with `--force`); anyone else's is never touched.
fn gitlab_files(root: &Path, config: &Config) -> (Vec<(String, String)>, String) {
    let text = render_gitlab(config);
    let main = root.join(".gitlab-ci.yml");
    let ours = std::fs::read_to_string(&main)
        .map(|t| t.starts_with(GITLAB_MARKER))
        .unwrap_or(false);
    let variables = "set the CI/CD variables GIT_RELEASE_REPO, and AWS_ROLE_ARN and AWS_REGION for ECR (an IAM role trusting GitLab's OIDC provider; without them images go to the project's container registry)";
    if !main.exists() || ours {
        let next = format!("next: {variables}, then commit .gitlab-ci.yml");
        return (vec![(".gitlab-ci.yml".to_string(), text)], next);
    }
    let next = format!(
        ".gitlab-ci.yml exists and was left alone; add this to it:\n\ninclude:\n  - local: {GITLAB_INCLUDE}\n\nnext: {variables}, then commit both files"
    );
    (vec![(GITLAB_INCLUDE.to_string(), text)], next)
}

/// Returns the GitLab CI pipeline for `config`.
fn render_gitlab(config: &Config) -> String {
    GITLAB.replace("__TAG_REGEX__", &tag_regex(&config.defaults.tag))
}

/// Returns a GitLab (RE2) regular expression, between slashes and ready to sit inside a
/// single-quoted YAML scalar, matching the tags `template` renders.
fn tag_regex(template: &str) -> String {
    let mut regex = String::from("/^");
    let mut rest = template;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("{service}") {
            regex.push_str("[a-z0-9][a-z0-9._-]*");
            rest = after;
        } else if let Some(after) = rest.strip_prefix("{version}") {
            regex.push_str("[0-9]+\\.[0-9]+\\.[0-9]+([-+][0-9A-Za-z.+-]*)?");
            rest = after;
        } else {
            let c = rest.chars().next().expect("not empty");
            if c.is_ascii_alphanumeric() || c == '_' {
                regex.push(c);
            } else if c == '\'' {
                regex.push_str("''");
            } else if c.is_ascii() {
                regex.push('\\');
                regex.push(c);
            } else {
                regex.push(c);
            }
            rest = &rest[c.len_utf8()..];
        }
    }
    regex.push_str("$/");
    regex
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gitlab_tag_regex_escapes_the_template() {
        assert_eq!(
            tag_regex("{service}-v{version}"),
            "/^[a-z0-9][a-z0-9._-]*\\-v[0-9]+\\.[0-9]+\\.[0-9]+([-+][0-9A-Za-z.+-]*)?$/"
        );
        assert_eq!(
            tag_regex("rel/{service}@{version}"),
            "/^rel\\/[a-z0-9][a-z0-9._-]*\\@[0-9]+\\.[0-9]+\\.[0-9]+([-+][0-9A-Za-z.+-]*)?$/"
        );
        let config = Config::parse("[services.api]\npath = \"api\"\n", "t").expect("valid");
        assert!(!render_gitlab(&config).contains("__"));
    }
}
