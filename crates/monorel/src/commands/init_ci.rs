//! `git release init --ci github`: ready-made CI workflows.
//!
//! The workflows live as files under `templates/` (embedded at build time) so they can be
//! read, diffed and linted as what they are; only a few values that depend on
//! `git-release.toml` are filled in: the tag pattern, how a tag maps back to its service,
//! and the environment that each release is deployed to first.

use std::path::Path;
use std::process::ExitCode;

use monorel_core::config::{Config, FILE_NAME};
use monorel_core::safe_write::{Lock, Policy};

use super::init::CiProvider;
use crate::error::{CliError, CliResult, Kind};
use crate::ui;

const BUILD: &str = include_str!("templates/build.yml");
const RELEASE: &str = include_str!("templates/release.yml");

/// The environment each release is deployed to first, when configured.
const FIRST_ENV: &str = "stg";

/// Writes the workflows of `provider` under `root`.
pub fn run(root: &Path, provider: CiProvider, force: bool) -> CliResult {
    let CiProvider::Github = provider;
    let config = Config::load(root)?;
    let files = render_github(&config)?;
    let dir = root.join(".github/workflows");
    // Every file is locked (and its path checked: no link, nothing outside the
    // repository) before any is written, so a refusal writes nothing.
    let locks = files
        .iter()
        .map(|(name, _)| Lock::acquire(root, &dir.join(name), Policy::NO_LINKS))
        .collect::<Result<Vec<_>, _>>()?;
    let existing: Vec<String> = files
        .iter()
        .zip(&locks)
        .filter(|(_, lock)| lock.exists())
        .map(|((name, _), _)| format!(".github/workflows/{name}"))
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
        println!("wrote .github/workflows/{name}");
    }
    println!("next: set the repository variables AWS_ROLE_ARN (an IAM role for GitHub OIDC), AWS_REGION and GIT_RELEASE_REPO, then commit the workflows");
    Ok(ExitCode::SUCCESS)
}

/// Returns `(file name, contents)` of the GitHub Actions workflows for `config`.
fn render_github(config: &Config) -> Result<Vec<(&'static str, String)>, CliError> {
    let template = &config.defaults.tag;
    let pattern = template.replace("{service}", "*").replace("{version}", "*");
    // The tag's service: the longest configured service whose tag prefix the tag has.
    let marker = config.tag_template().prefix("\u{0}");
    let (before, between) = marker
        .split_once('\u{0}')
        .expect("the prefix contains the marker");
    let json = |s: &str| serde_json::to_string(s).expect("a string serialises");
    let filter = format!(
        "[.[] | .service | select(. as $s | $tag | startswith({} + $s + {}))] | max_by(length) // empty",
        json(before),
        json(between)
    )
    .replace('\'', "'\\''");
    let env = if config.environments.contains_key(FIRST_ENV) || config.environments.is_empty() {
        FIRST_ENV.to_string()
    } else {
        config
            .environments
            .keys()
            .next()
            .cloned()
            .unwrap_or_else(|| FIRST_ENV.into())
    };
    if !env
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(CliError::new(
            Kind::Config,
            format!("environment `{env}` cannot name a CI job; use letters, digits, `-` and `_` in {FILE_NAME}"),
        ));
    }
    if !config.environments.contains_key(&env) {
        ui::warn(&format!(
            "{FILE_NAME} has no [environments.{env}]; add it (dir = \"infra/{env}\") before the release workflow deploys"
        ));
    }
    let release = RELEASE
        .replace("__TAG_PATTERN__", &pattern.replace('\'', "''"))
        .replace("__SERVICE_FILTER__", &filter)
        .replace("__DEPLOY_ENV__", &env);
    Ok(vec![
        ("build.yml", BUILD.to_string()),
        ("release.yml", release),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_all_filled() {
        let config = Config::parse(
            "[services.api]\npath = \"api\"\n[environments.stg]\ndir = \"infra/stg\"\n",
            "t",
        )
        .expect("valid");
        let files = render_github(&config).expect("render");
        for (name, text) in files {
            assert!(!text.contains("__"), "{name} has an unfilled placeholder");
        }
        let release = &render_github(&config).expect("render")[1].1;
        assert!(release.contains("tags: ['*-v*']"), "{release}");
        assert!(
            release.contains("startswith(\"\" + $s + \"-v\")"),
            "{release}"
        );
        assert!(release.contains("--env stg"), "{release}");
    }
}
