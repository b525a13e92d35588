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
use monorel_core::config::{Config, RegistryConfig, RegistryKind};
use monorel_core::registry::{self, CopyVerdict, ReleaseProbe};
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
    // Every store some service uses (and `[registry]`, the default), asked concurrently:
    // each resolves its own credentials and describes its own repositories or buckets.
    let mut stores: Vec<(Option<&str>, &RegistryConfig)> = Vec::new();
    let default_used = config.services.is_empty()
        || config
            .services
            .keys()
            .any(|service| config.store_of(service).0.is_none());
    if default_used {
        stores.push((None, &config.registry));
    }
    for (name, store) in &config.registries {
        stores.push((Some(name.as_str()), store));
    }
    let results: Vec<Findings> = ui::with_spinner(
        "resolving AWS region and credentials, describing repositories and buckets",
        || {
            std::thread::scope(|scope| {
                let handles: Vec<_> = stores
                    .iter()
                    .map(|&(name, store)| {
                        scope.spawn(move || {
                            let mut found = Findings::default();
                            check_store(config, name, store, &mut found);
                            found
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|handle| {
                        handle.join().unwrap_or_else(|_| {
                            let mut failed = Findings::default();
                            failed.push(
                                "registry",
                                Status::Fail,
                                "the store check stopped unexpectedly".into(),
                                None,
                            );
                            failed
                        })
                    })
                    .collect()
            })
        },
    );
    for found in results {
        findings.0.extend(found.0);
    }
}

/// The findings about one store: `[registry]` (`name` is `None`) keeps the check names it
/// always had; a named store's are prefixed with `registries.<name>: `.
fn check_store(
    config: &Config,
    name: Option<&str>,
    store: &RegistryConfig,
    findings: &mut Findings,
) {
    let (prefix, section) = match name {
        Some(name) => (
            format!("registries.{}: ", text::line(name)),
            format!("[registries.{}]", text::line(name)),
        ),
        None => (String::new(), "[registry]".to_string()),
    };
    let check = |what: &str| format!("{prefix}{what}");
    if store.kind == RegistryKind::None {
        findings.push(
            &check("registry"),
            Status::Warn,
            format!("{section} kind = \"none\": artifacts are never checked"),
            Some(format!(
                "set {section} kind = \"ecr\" (or \"s3\") and its region to verify artifacts before release"
            )),
        );
        return;
    }
    if store.kind == RegistryKind::Oci {
        check_oci(config, name, store, findings);
        return;
    }
    let registry = registry::open_store(store, name);
    let access = registry.access();

    match &access.region {
        Some(region) => findings.push(
            &check("region"),
            Status::Ok,
            format!("{region} (from {})", access.region_source),
            None,
        ),
        None => findings.push(
            &check("region"),
            Status::Fail,
            format!(
                "no AWS region: neither {section} region nor AWS_REGION / the AWS profile sets one"
            ),
            Some(format!("set {section} region in git-release.toml")),
        ),
    }
    if let Some(endpoint) = &access.endpoint {
        findings.push(
            &check("endpoint"),
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
    let images = store.kind.holds_images();
    let locations_check = if images { "repositories" } else { "buckets" };
    match &access.credentials_error {
        None => findings.push(
            &check("credentials"),
            Status::Ok,
            match &access.credentials_expire {
                Some(expiry) => format!("resolved{profile}, expire at {expiry}"),
                None => format!("resolved{profile}"),
            },
            None,
        ),
        Some(failure) => {
            findings.push(
                &check("credentials"),
                Status::Fail,
                failure.message.clone(),
                Some(failure.hint.clone()),
            );
            findings.push(
                &check(locations_check),
                Status::Fail,
                "not checked: no credentials".into(),
                None,
            );
            return;
        }
    }

    let locations: Vec<String> = if images {
        config
            .services
            .keys()
            .filter(|service| config.store_of(service).0 == name)
            .map(|service| config.image_repository(service))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    } else {
        store.bucket.iter().cloned().collect()
    };
    // The copy probe pretends to promote a release of one service of the store (the
    // first by name): a policy that limits writes per service is proven for that one.
    let probe = config
        .services
        .keys()
        .find(|service| config.store_of(service).0 == name)
        .map(|service| ReleaseProbe::new(config, service));
    let answers = registry.inspect_with_probe(&locations, probe.as_ref());
    for (location, answer) in locations.iter().zip(answers) {
        let copy = answer.as_ref().ok().and_then(|info| info.copy.clone());
        let what = if images {
            check(&format!("repository {location}"))
        } else {
            check(&format!("bucket {location}"))
        };
        match answer {
            Ok(info) if !images => {
                let notes = if info.notes.is_empty() {
                    String::new()
                } else {
                    format!("; {}", info.notes.join("; "))
                };
                if info.immutable {
                    findings.push(
                        &what,
                        Status::Ok,
                        format!("reachable, versioning {}{notes}", info.tag_mutability),
                        None,
                    )
                } else {
                    findings.push(
                        &what,
                        Status::Warn,
                        format!(
                            "reachable, versioning {} (a replaced release object would be lost, and promote --force is refused){notes}",
                            info.tag_mutability
                        ),
                        Some(format!(
                            "turn versioning on: {}",
                            text::suggest(&[
                                "aws",
                                "s3api",
                                "put-bucket-versioning",
                                "--bucket",
                                location,
                                "--versioning-configuration",
                                "Status=Enabled",
                            ])
                        )),
                    )
                }
            }
            Ok(info) if info.immutable => findings.push(
                &what,
                Status::Ok,
                format!("reachable, tags {}", info.tag_mutability),
                None,
            ),
            Ok(info) => findings.push(
                &what,
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
                        location,
                        "--image-tag-mutability",
                        "IMMUTABLE",
                    ])
                )),
            ),
            Err(failure) => findings.push(&what, Status::Fail, failure.message, Some(failure.hint)),
        }
        // Whether promote may copy into the bucket: only a proven yes is ok, and a probe
        // the store wrote (it ignored the precondition) must be cleaned up.
        if let Some(copy) = copy {
            let status = match copy.verdict {
                CopyVerdict::CanCopy => Status::Ok,
                CopyVerdict::Unproven => Status::Warn,
                CopyVerdict::CannotCopy | CopyVerdict::Failed | CopyVerdict::ProbeWritten => {
                    Status::Fail
                }
            };
            findings.push(
                &check(&format!("bucket {location} (copy)")),
                status,
                copy.detail,
                copy.hint,
            );
        }
    }
}

/// `kind = "oci"`: where the credential comes from (never its value), the `/v2/` answer,
/// and pull and push rights on each repository.
/// Its check names carry the same `registries.<name>: ` prefix as [`check_store`]'s.
#[cfg(feature = "oci")]
fn check_oci(config: &Config, name: Option<&str>, store: &RegistryConfig, findings: &mut Findings) {
    let prefix = name
        .map(|name| format!("registries.{}: ", text::line(name)))
        .unwrap_or_default();
    let oci = monorel_core::registry::oci::Oci::new(store, name);
    let repositories: Vec<String> = config
        .services
        .keys()
        .filter(|service| config.store_of(service).0 == name)
        .map(|service| config.image_repository(service))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    // The caller shows the spinner (stores are asked concurrently).
    let report = oci.doctor(&repositories);
    let mut push =
        |check: &str, answer: Result<String, monorel_core::registry::RegistryFailure>| {
            let check = format!("{prefix}{check}");
            match answer {
                Ok(detail) => findings.push(&check, Status::Ok, detail, None),
                Err(failure) => {
                    findings.push(&check, Status::Fail, failure.message, Some(failure.hint))
                }
            }
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
fn check_oci(
    _config: &Config,
    name: Option<&str>,
    _store: &RegistryConfig,
    findings: &mut Findings,
) {
    let prefix = name
        .map(|name| format!("registries.{}: ", text::line(name)))
        .unwrap_or_default();
    findings.push(
        &format!("{prefix}registry"),
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
