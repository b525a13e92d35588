//! `git release init --ci github|gitlab`: ready-made CI workflows.
//!
//! The workflows live as files under `templates/` (embedded at build time) so they can be
//! read, diffed and linted as what they are; only a few values that depend on
//! `git-release.toml` are filled in: the tag pattern, how a tag maps back to its service,
//! and the environment that each release is deployed to first.
//!
//! GitLab has one pipeline file per project, which is the user's: when `.gitlab-ci.yml`
//! exists (and was not written by us), the jobs go to `.gitlab/git-release.yml` and the
//! user is told the `include:` line to add. A user's pipeline is never overwritten.

use std::path::Path;
use std::process::ExitCode;

use monorel_core::config::{Config, FILE_NAME};
use monorel_core::safe_write::{Lock, Policy};

use super::init::CiProvider;
use crate::error::{CliError, CliResult, Kind};
use crate::ui;

const BUILD: &str = include_str!("templates/build.yml");
const RELEASE: &str = include_str!("templates/release.yml");
const GITLAB: &str = include_str!("templates/gitlab.yml");

/// The first line of every file `init --ci` writes: only such a file is overwritten.
const GITLAB_MARKER: &str = "# Written by `git release init --ci gitlab`";
/// Where the GitLab jobs go when the project already has a pipeline.
const GITLAB_INCLUDE: &str = ".gitlab/git-release.yml";

/// The environment each release is deployed to first, when configured.
const FIRST_ENV: &str = "stg";

/// Writes the workflows of `provider` under `root`.
pub fn run(root: &Path, provider: CiProvider, force: bool) -> CliResult {
    let config = Config::load(root)?;
    let (files, next) = match provider {
        CiProvider::Github => {
            let files = render_github(&config)?
                .into_iter()
                .map(|(name, text)| (format!(".github/workflows/{name}"), text))
                .collect();
            (files, "next: set the repository variables AWS_ROLE_ARN (an IAM role for GitHub OIDC), AWS_REGION and GIT_RELEASE_REPO, then commit the workflows".to_string())
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
        ("build.yml", build_workflow(config)),
        ("release.yml", release),
    ])
}

/// The build workflow: ECR by default; GHCR when `[registry]` is `kind = "oci"` on
/// `ghcr.io`, logged in with the job's `GITHUB_TOKEN` (`packages: write`), no other secret.
fn build_workflow(config: &Config) -> String {
    let ghcr = config.registry.kind == monorel_core::config::RegistryKind::Oci
        && config.registry.host.as_deref() == Some("ghcr.io");
    if !ghcr {
        return BUILD.to_string();
    }
    let zips = config
        .services
        .keys()
        .any(|name| config.store_of(name).1.kind == monorel_core::config::RegistryKind::S3);
    let credentials = if zips {
        "# Credentials: the job's own GITHUB_TOKEN with `packages: write` for the images; for the\n# zips, the repository variables AWS_ROLE_ARN (an IAM role trusted for this repository\n# through GitHub's OIDC provider, allowed s3:PutObject into the buckets) and AWS_REGION."
    } else {
        "# Credentials: the job's own GITHUB_TOKEN with `packages: write`; no other secret."
    };
    let mut build = BUILD
        .replace(
            "# with the commit (`[registry] image-tag`, the full sha by default).",
            "# to GHCR as ghcr.io/<[registry] repository>:<commit> (`[registry] image-tag`).",
        )
        .replace("and pushes it to ECR tagged", "and pushes it")
        .replace(
            "# Repository variables: AWS_ROLE_ARN (an IAM role trusted for this repository through\n# GitHub's OIDC provider, allowed to push to ECR and s3:PutObject into the buckets) and\n# AWS_REGION. No static keys.",
            credentials,
        )
        .replace(
            "registry.get(\"repository\", \"{service}-image\")",
            "registry.get(\"repository\", \"{service}\")",
        )
        // The image job only: the zip job below keeps its OIDC token for S3.
        .replacen("      id-token: write\n", "      packages: write\n", 1)
        .replace(
            "      - uses: aws-actions/configure-aws-credentials@v6\n        with:\n          role-to-assume: ${{ vars.AWS_ROLE_ARN }}\n          aws-region: ${{ vars.AWS_REGION }}\n      - id: ecr\n        uses: aws-actions/amazon-ecr-login@v2\n",
            "      - name: Log in to ghcr.io with the job's token\n        env:\n          GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}\n          ACTOR: ${{ github.actor }}\n        run: printf '%s' \"$GITHUB_TOKEN\" | docker login ghcr.io --username \"$ACTOR\" --password-stdin\n",
        )
        .replace(
            "          REGISTRY: ${{ steps.ecr.outputs.registry }}\n",
            "          REGISTRY: ghcr.io\n",
        );
    // Without S3 services the zip job (the last one) would only ask for AWS access that
    // nothing uses.
    if !zips {
        if let Some(at) = build.find("\n  zip:\n") {
            build.truncate(at);
        }
    }
    build
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

    #[test]
    fn ghcr_build_logs_in_with_the_github_token() {
        let config = Config::parse(
            "[registry]\nkind = \"oci\"\nhost = \"ghcr.io\"\nrepository = \"acme/{service}\"\n",
            "f",
        )
        .expect("valid");
        let build = build_workflow(&config);
        assert!(build.contains("packages: write"), "{build}");
        assert!(
            build.contains("GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}"),
            "{build}"
        );
        assert!(build.contains("REGISTRY: ghcr.io"), "{build}");
        assert!(
            !build.contains("AWS_ROLE_ARN") && !build.contains("id-token"),
            "{build}"
        );
        let ecr = build_workflow(&Config::parse("", "f").expect("valid"));
        assert_eq!(ecr, BUILD);
    }

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
