//! `git release doctor`: find out why releases or pushes would fail, before they do.
//!
//! Each finding is `ok`, `warn` (works, but a recommendation is not followed) or `fail`
//! (something a release or push needs is broken). The exit code is 1 when anything
//! failed. Secrets are never printed: credentials are reported as resolved or not, with
//! their expiry when temporary.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::ExitCode;

use clap::Args;
use monorel_core::config::{Config, RegistryKind};
use monorel_core::registry;
use monorel_core::repo::Repo;
use monorel_core::text;
use serde::Serialize;

use crate::error::{CliError, CliResult, Kind};
use crate::ui::{self, Style};

/// The string the installed pre-push hook contains; how `doctor` recognises it.
pub const HOOK_MARKER: &str = "git-release hook pre-push";

/// Arguments of `doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Print the findings as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
enum Status {
    Ok,
    Warn,
    Fail,
}

#[derive(Debug, Serialize)]
struct Finding {
    check: String,
    status: Status,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    hint: Option<String>,
}

#[derive(Default)]
struct Findings(Vec<Finding>);

impl Findings {
    fn push(&mut self, check: &str, status: Status, detail: String, hint: Option<String>) {
        self.0.push(Finding {
            check: check.to_string(),
            status,
            detail,
            hint,
        });
    }
}

/// Runs `doctor`.
pub fn run(dir: &Path, args: DoctorArgs) -> CliResult {
    let repo = Repo::discover(dir)?;
    let mut findings = Findings::default();

    let config = match Config::load(repo.root()) {
        Ok(mut config) => {
            config.apply_env(|name| std::env::var(name).ok());
            findings.push(
                "config",
                Status::Ok,
                format!(
                    "git-release.toml is valid ({} service(s))",
                    config.services.len()
                ),
                None,
            );
            Some(config)
        }
        Err(e) => {
            findings.push(
                "config",
                Status::Fail,
                e.to_string(),
                Some("fix git-release.toml; `git release init` writes a starter file".into()),
            );
            None
        }
    };

    check_hook(&repo, &mut findings);
    if let Some(config) = &config {
        check_service_paths(&repo, config, &mut findings);
        check_registry(config, &mut findings);
    }

    let failed = findings.0.iter().any(|f| f.status == Status::Fail);
    if args.json {
        #[derive(Serialize)]
        struct Report<'a> {
            ok: bool,
            findings: &'a [Finding],
        }
        ui::print_json(&Report {
            ok: !failed,
            findings: &findings.0,
        })?;
    } else {
        print_human(&findings.0);
    }
    if failed {
        Err(CliError::silent(Kind::Refused))
    } else {
        Ok(ExitCode::SUCCESS)
    }
}

fn check_hook(repo: &Repo, findings: &mut Findings) {
    let path = repo.hooks_dir().join("pre-push");
    match std::fs::read_to_string(&path) {
        Ok(text) if text.contains(HOOK_MARKER) => findings.push(
            "hook",
            Status::Ok,
            format!("pre-push hook installed at {}", path.display()),
            None,
        ),
        Ok(_) => findings.push(
            "hook",
            Status::Fail,
            format!("{} exists but does not run git-release", path.display()),
            Some("run `git release install` (it chains the existing hook)".into()),
        ),
        Err(_) => findings.push(
            "hook",
            Status::Fail,
            format!("no pre-push hook at {}", path.display()),
            Some("run `git release install` so pushed release tags are checked".into()),
        ),
    }
}

/// Checks that each service's `path` is a directory in HEAD's tree. Loading the config
/// does not read HEAD (the hook must stay fast), so a typo or a moved directory is found
/// here: its service would otherwise never count a commit.
fn check_service_paths(repo: &Repo, config: &Config, findings: &mut Findings) {
    if config.services.is_empty() {
        return;
    }
    if matches!(repo.head_state(), Ok(monorel_core::repo::HeadState::Unborn)) {
        findings.push(
            "service paths",
            Status::Warn,
            "not checked: the current branch has no commit yet".into(),
            Some("commit the services and git-release.toml, then run doctor again".into()),
        );
        return;
    }
    let mut missing = 0;
    for (name, service) in &config.services {
        let path = service.path.trim_end_matches('/');
        let spec = format!("HEAD:{path}");
        let kind = monorel_core::process::git(repo.root(), &["cat-file", "-t", &spec], None)
            .map(|out| String::from_utf8_lossy(&out).trim().to_string());
        let problem = match kind.as_deref() {
            Ok("tree") => continue,
            Ok(other) => format!("is a {other} at HEAD, not a directory"),
            Err(_) => "does not exist at HEAD".to_string(),
        };
        missing += 1;
        findings.push(
            &format!("service {name}"),
            Status::Fail,
            format!("path `{}` {problem}", text::line(&service.path)),
            Some(format!(
                "fix [services.{name}] path in git-release.toml, or commit the directory"
            )),
        );
    }
    if missing == 0 {
        findings.push(
            "service paths",
            Status::Ok,
            format!(
                "all {} service path(s) are directories at HEAD",
                config.services.len()
            ),
            None,
        );
    }
}

fn check_registry(config: &Config, findings: &mut Findings) {
    if config.registry.kind == RegistryKind::None {
        findings.push(
            "registry",
            Status::Warn,
            "[registry] kind = \"none\": images are never checked".into(),
            Some(
                "set [registry] kind = \"ecr\" and its region to verify images before release"
                    .into(),
            ),
        );
        return;
    }
    if config.registry.kind == RegistryKind::Oci {
        check_oci(config, findings);
        return;
    }
    let registry = registry::open(config);
    let access = ui::with_spinner("resolving AWS region and credentials", || registry.access());

    match &access.region {
        Some(region) => findings.push(
            "region",
            Status::Ok,
            format!("{region} (from {})", access.region_source),
            None,
        ),
        None => findings.push(
            "region",
            Status::Fail,
            "no AWS region: neither [registry] region nor AWS_REGION / the AWS profile sets one"
                .into(),
            Some("set [registry] region in git-release.toml".into()),
        ),
    }
    if let Some(endpoint) = &access.endpoint {
        findings.push(
            "endpoint",
            Status::Ok,
            format!("overridden: {endpoint}"),
            None,
        );
    }
    let profile = access
        .profile
        .as_deref()
        .map(|p| format!(" (profile {p})"))
        .unwrap_or_default();
    match &access.credentials_error {
        None => findings.push(
            "credentials",
            Status::Ok,
            match &access.credentials_expire {
                Some(expiry) => format!("resolved{profile}, expire at {expiry}"),
                None => format!("resolved{profile}"),
            },
            None,
        ),
        Some(failure) => {
            findings.push(
                "credentials",
                Status::Fail,
                failure.message.clone(),
                Some(failure.hint.clone()),
            );
            findings.push(
                "repositories",
                Status::Fail,
                "not checked: no credentials".into(),
                None,
            );
            return;
        }
    }

    let repositories: Vec<String> = config
        .services
        .keys()
        .map(|service| config.image_repository(service))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let answers = ui::with_spinner("describing the image repositories", || {
        registry.inspect_repositories(&repositories)
    });
    for (repository, answer) in repositories.iter().zip(answers) {
        let check = format!("repository {repository}");
        match answer {
            Ok(info) if info.immutable => findings.push(
                &check,
                Status::Ok,
                format!("reachable, tags {}", info.tag_mutability),
                None,
            ),
            Ok(info) => findings.push(
                &check,
                Status::Warn,
                format!(
                    "reachable, tags {} (release tags could be moved)",
                    info.tag_mutability
                ),
                Some(format!(
                    "make tags immutable: {}",
                    text::suggest(&[
                        "aws",
                        "ecr",
                        "put-image-tag-mutability",
                        "--repository-name",
                        repository,
                        "--image-tag-mutability",
                        "IMMUTABLE",
                    ])
                )),
            ),
            Err(failure) => {
                findings.push(&check, Status::Fail, failure.message, Some(failure.hint))
            }
        }
    }
}

/// `kind = "oci"`: where the credential comes from (never its value), the `/v2/` answer,
/// and pull and push rights on each repository.
#[cfg(feature = "oci")]
fn check_oci(config: &Config, findings: &mut Findings) {
    let oci = monorel_core::registry::oci::Oci::new(&config.registry);
    let repositories: Vec<String> = config
        .services
        .keys()
        .map(|service| config.image_repository(service))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let report = ui::with_spinner("asking the OCI registry", || oci.doctor(&repositories));
    let mut push =
        |check: &str, answer: Result<String, monorel_core::registry::RegistryFailure>| match answer
        {
            Ok(detail) => findings.push(check, Status::Ok, detail, None),
            Err(failure) => findings.push(check, Status::Fail, failure.message, Some(failure.hint)),
        };
    push("credentials", report.credentials);
    push("registry", report.api);
    for rights in report.repositories {
        push(&format!("repository {} (pull)", rights.uri), rights.pull);
        push(&format!("repository {} (push)", rights.uri), rights.push);
    }
}

/// A build without the OCI backend says so, like every other command.
#[cfg(not(feature = "oci"))]
fn check_oci(_config: &Config, findings: &mut Findings) {
    findings.push(
        "registry",
        Status::Fail,
        "this git-release was built without the OCI backend (cargo feature `oci`)".into(),
        Some("reinstall with the default features (`./install.sh`)".into()),
    );
}

fn print_human(findings: &[Finding]) {
    let style = Style::stdout();
    for finding in findings {
        let mark = match finding.status {
            Status::Ok => style.good("✓"),
            Status::Warn => style.warning("!"),
            Status::Fail => style.bad("✗"),
        };
        println!(
            "{mark} {}: {}",
            text::line(&finding.check),
            text::line(&finding.detail)
        );
        if let Some(hint) = &finding.hint {
            println!("    {} {}", style.hint("hint:"), text::line(hint));
        }
    }
    let failed = findings.iter().filter(|f| f.status == Status::Fail).count();
    let warned = findings.iter().filter(|f| f.status == Status::Warn).count();
    match (failed, warned) {
        (0, 0) => println!("all good"),
        (0, w) => println!("no problems, {w} recommendation(s)"),
        (f, _) => println!("{f} problem(s) found"),
    }
}
