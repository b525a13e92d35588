//! The GitHub Actions workflows of `git release init --ci github`.
//!
//! A repository can keep its artifacts in several kinds of store at once (ECR and S3,
//! reached through AWS's OIDC role; GHCR, reached with the job's own `GITHUB_TOKEN`;
//! another OCI registry, reached with two repository secrets). The workflows are cut to
//! the kinds its services use: the build gets one job per kind, each with only the
//! permissions and the login its registry needs, and the release jobs log in only to
//! the store of the tag's service. A token a job does not need is a token that cannot
//! leak from it, so `id-token: write` appears only with AWS and `packages: write` only
//! with GHCR.

use std::collections::BTreeSet;

use monorel_core::config::{Config, EnvironmentKind, RegistryConfig, RegistryKind, FILE_NAME};

use crate::error::{CliError, Kind};
use crate::ui;

const BUILD: &str = include_str!("templates/build.yml");
const BUILD_ECR: &str = include_str!("templates/build-ecr.yml");
const BUILD_GHCR: &str = include_str!("templates/build-ghcr.yml");
const BUILD_OCI: &str = include_str!("templates/build-oci.yml");
const BUILD_ZIP: &str = include_str!("templates/build-zip.yml");
const RELEASE: &str = include_str!("templates/release.yml");
const LOGIN_AWS: &str = include_str!("templates/login-aws.yml");
const LOGIN_GHCR: &str = include_str!("templates/login-ghcr.yml");
const LOGIN_OCI: &str = include_str!("templates/login-oci.yml");

/// The environment each release is deployed to first, when configured.
const FIRST_ENV: &str = "stg";

/// The kinds of store a repository's services use, as CI must reach them.
#[derive(Debug, Default, PartialEq, Eq)]
struct Stores {
    /// ECR images (and `kind = "none"`, which the build pushes to ECR like the default).
    ecr: bool,
    /// S3 objects (Lambda zips).
    s3: bool,
    /// Images on ghcr.io.
    ghcr: bool,
    /// The hosts of other OCI registries.
    oci: BTreeSet<String>,
}

impl Stores {
    /// Returns the kinds of store `config`'s services use; with no service yet, those
    /// of every configured store.
    fn of(config: &Config) -> Self {
        let mut stores = Stores::default();
        if config.services.is_empty() {
            stores.add(&config.registry);
            config.registries.values().for_each(|s| stores.add(s));
        }
        for name in config.services.keys() {
            stores.add(config.store_of(name).1);
        }
        stores
    }

    fn add(&mut self, store: &RegistryConfig) {
        match (store.kind, store.host.as_deref()) {
            (RegistryKind::S3, _) => self.s3 = true,
            (RegistryKind::Oci, Some("ghcr.io")) => self.ghcr = true,
            (RegistryKind::Oci, host) => {
                self.oci.insert(host.unwrap_or_default().to_string());
            }
            (RegistryKind::Ecr | RegistryKind::None, _) => self.ecr = true,
        }
    }

    /// Whether some store is reached through AWS (ECR or S3).
    fn aws(&self) -> bool {
        self.ecr || self.s3
    }

    /// The comment that says which credentials the workflows use.
    fn credentials(&self) -> String {
        let mut lines = Vec::new();
        if self.aws() {
            let what = match (self.ecr, self.s3) {
                (true, true) => "the build pushes to ECR and s3:PutObject into the buckets",
                (true, false) => "the build pushes to ECR",
                _ => "the build needs s3:PutObject into the buckets",
            };
            lines.push(format!("# AWS (ECR, S3): the repository variables AWS_ROLE_ARN and AWS_REGION, an IAM role\n# trusted for this repository through GitHub's OIDC provider ({what};\n# docs/ci.md lists what release needs). No static keys: only the jobs that use AWS\n# get `id-token: write`."));
        }
        if self.ghcr {
            lines.push("# GHCR (ghcr.io/<repository>:<commit>): the job's own GITHUB_TOKEN with\n# `packages: write`; no other secret.".to_string());
        }
        if !self.oci.is_empty() {
            let hosts: Vec<&str> = self.oci.iter().map(String::as_str).collect();
            lines.push(format!("# {}: the repository secrets REGISTRY_USERNAME and REGISTRY_PASSWORD\n# (an account and a token allowed to push and tag images).", hosts.join(", ")));
        }
        lines.join("\n")
    }

    /// What the user sets up next, for the message after the files are written; `live`
    /// when the deploy job reaches AWS whatever the stores are.
    fn next_steps(&self, live: bool) -> String {
        let mut todo = Vec::new();
        if self.aws() || live {
            todo.push("the repository variables AWS_ROLE_ARN (an IAM role for GitHub OIDC) and AWS_REGION");
        }
        if !self.oci.is_empty() {
            todo.push("the repository secrets REGISTRY_USERNAME and REGISTRY_PASSWORD");
        }
        todo.push("the repository variable GIT_RELEASE_REPO");
        format!("next: set {}, then commit the workflows", todo.join(", "))
    }
}

/// The workflows to write, as `(file name, contents)`, and what the user does next.
pub(super) type Rendered = (Vec<(&'static str, String)>, String);

/// Returns the GitHub Actions workflows for `config`, and what to do next.
pub(super) fn render(config: &Config) -> Result<Rendered, CliError> {
    let stores = Stores::of(config);
    let env = deploy_env(config)?;
    // A live environment is changed through AWS whatever holds the service's images.
    let live = config
        .environments
        .get(&env)
        .is_some_and(|e| matches!(e.kind, EnvironmentKind::Ecs | EnvironmentKind::Lambda));
    let files = vec![
        ("build.yml", build_workflow(&stores)),
        ("release.yml", release_workflow(config, &stores, &env, live)),
    ];
    Ok((files, stores.next_steps(live)))
}

/// The environment the release workflow deploys to: `stg`, else the first configured.
fn deploy_env(config: &Config) -> Result<String, CliError> {
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
    Ok(env)
}

/// The build workflow: the `changes` job, then one job per kind of store in use.
fn build_workflow(stores: &Stores) -> String {
    let mut jobs = Vec::new();
    let mut text = String::new();
    for (used, kind, job) in [
        (stores.ecr, "ecr", BUILD_ECR),
        (stores.ghcr, "ghcr", BUILD_GHCR),
        (!stores.oci.is_empty(), "oci", BUILD_OCI),
        (stores.s3, "s3", BUILD_ZIP),
    ] {
        if used {
            jobs.push(format!("\"{kind}\""));
            text.push_str(job);
        }
    }
    let mut build = BUILD
        .replace("__CREDENTIALS__", &stores.credentials())
        .replace("__JOBS__", &format!("{{{}}}", jobs.join(", ")));
    build.push_str(&text);
    build
}

/// The release workflow: check and promote, publish the notes, deploy the first
/// environment.
fn release_workflow(config: &Config, stores: &Stores, env: &str, live: bool) -> String {
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
    let mut logins = Vec::new();
    if stores.aws() {
        logins.push("\"aws\"");
    }
    if stores.ghcr {
        logins.push("\"ghcr\"");
    }
    if !stores.oci.is_empty() {
        logins.push("\"oci\"");
    }
    let promote = permissions(&[
        ("contents", "read"),
        ("id-token", if stores.aws() { "write" } else { "" }),
        ("packages", if stores.ghcr { "write" } else { "" }),
    ]);
    // Deploy only reads the registry (the release's digest).
    let deploy = permissions(&[
        ("contents", "write"),
        ("id-token", if stores.aws() || live { "write" } else { "" }),
        ("packages", if stores.ghcr { "read" } else { "" }),
    ]);
    let mut credentials = stores.credentials();
    if live && !stores.aws() {
        credentials.push_str(&format!("\n# {env} is deployed through AWS: the repository variables AWS_ROLE_ARN (an IAM\n# role trusted through GitHub's OIDC provider, allowed to deploy) and AWS_REGION."));
    }
    credentials.push_str(
        "\n# GIT_RELEASE_REPO (a repository variable): the git URL git-release is installed from.",
    );
    RELEASE
        .replace("__CREDENTIALS__", &credentials)
        .replace("__TAG_PATTERN__", &pattern.replace('\'', "''"))
        .replace("__SERVICE_FILTER__", &filter)
        .replace("__LOGINS__", &format!("{{{}}}", logins.join(", ")))
        .replace("__PROMOTE_PERMISSIONS__", &promote)
        .replace("__DEPLOY_PERMISSIONS__", &deploy)
        .replace(
            "__PROMOTE_LOGINS__\n",
            &login_steps(stores, "steps.service.outputs", false),
        )
        .replace(
            "__DEPLOY_LOGINS__\n",
            &login_steps(stores, "needs.promote.outputs", live),
        )
        .replace("__DEPLOY_ENV__", env)
}

/// The `permissions:` entries of a job; an empty level leaves the permission out.
fn permissions(entries: &[(&str, &str)]) -> String {
    entries
        .iter()
        .filter(|(_, level)| !level.is_empty())
        .map(|(name, level)| format!("      {name}: {level}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The login steps of a release job, each run only when the tag's service's store (the
/// `store` output of `outputs`) needs it; `always_aws` logs in to AWS in any case.
fn login_steps(stores: &Stores, outputs: &str, always_aws: bool) -> String {
    let store = format!("{outputs}.store");
    let mut steps = String::new();
    if always_aws {
        steps.push_str(&LOGIN_AWS.replace("        if: __WHEN_AWS__\n", ""));
    } else if stores.aws() {
        steps.push_str(&LOGIN_AWS.replace("__WHEN_AWS__", &format!("{store} == 'aws'")));
    }
    if stores.ghcr {
        steps.push_str(&LOGIN_GHCR.replace("__STORE__", &store));
    }
    if !stores.oci.is_empty() {
        steps.push_str(
            &LOGIN_OCI
                .replace("__STORE__", &store)
                .replace("__HOST__", &format!("${{{{ {outputs}.host }}}}")),
        );
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Config {
        Config::parse(text, "t").expect("valid")
    }

    #[test]
    fn stores_are_those_the_services_use() {
        let config = parse(
            "[registries.ghcr]\nkind = \"oci\"\nhost = \"ghcr.io\"\nrepository = \"acme/{service}\"\n\n[registries.hub]\nkind = \"oci\"\nhost = \"docker.io\"\n\n[services.api]\npath = \"api\"\n\n[services.web]\npath = \"web\"\nregistry = \"ghcr\"\n",
        );
        let stores = Stores::of(&config);
        assert_eq!(
            stores,
            Stores {
                ecr: true,
                ghcr: true,
                ..Stores::default()
            }
        );
        assert!(!stores.next_steps(false).contains("REGISTRY_USERNAME"));
    }

    #[test]
    fn ghcr_only_build_logs_in_with_the_github_token() {
        let config = parse(
            "[registry]\nkind = \"oci\"\nhost = \"ghcr.io\"\nrepository = \"acme/{service}\"\n",
        );
        let build = build_workflow(&Stores::of(&config));
        assert!(build.contains("packages: write"), "{build}");
        assert!(build.contains("JOBS = {\"ghcr\"}"), "{build}");
        assert!(
            !build.contains("AWS_ROLE_ARN") && !build.contains("id-token"),
            "{build}"
        );
    }

    #[test]
    fn placeholders_are_all_filled() {
        for text in [
            "[services.api]\npath = \"api\"\n[environments.stg]\ndir = \"infra/stg\"\n",
            "[registry]\nkind = \"oci\"\nhost = \"harbor.example.com:8443\"\n[registries.z]\nkind = \"s3\"\nbucket = \"zips\"\n[services.api]\npath = \"api\"\n[services.z]\npath = \"z\"\nregistry = \"z\"\n[environments.stg]\nkind = \"lambda\"\n",
        ] {
            let (files, _) = render(&parse(text)).expect("render");
            for (name, text) in &files {
                assert!(!text.contains("__"), "{name} has an unfilled placeholder");
            }
            let release = &files[1].1;
            assert!(release.contains("tags: ['*-v*']"), "{release}");
            assert!(
                release.contains("startswith(\"\" + $s + \"-v\")"),
                "{release}"
            );
            assert!(release.contains("--env stg"), "{release}");
        }
    }
}
