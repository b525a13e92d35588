//! `git release init`: write a commented starter `git-release.toml`, with the services
//! found as directories that contain a `Dockerfile` (image services, ECR) or a SAM
//! template with an `AWS::Serverless::Function` (Lambda services, zips in an S3 store).
//!
//! Directory names are repository data: they reach the file only as TOML keys and
//! strings quoted by [`toml_key`] and [`toml_string`], and the file is written through
//! `safe_write` (locked, renamed into place, never through a symbolic link).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use monorel_core::config::{Config, FILE_NAME};
use monorel_core::repo::Repo;
use monorel_core::safe_write::{Lock, Policy};
use monorel_core::text;

use crate::error::{CliError, CliResult, Kind};

/// Arguments of `init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Overwrite an existing git-release.toml
    #[arg(long)]
    pub force: bool,
    /// Also write CI workflows for this provider
    #[arg(long, value_enum)]
    pub ci: Option<CiProvider>,
    /// Also read Lambda services from this SAM template (repeatable): each
    /// AWS::Serverless::Function whose CodeUri is a local directory becomes a service
    /// there. For a template the scan does not find (at the repository root, or not
    /// named template.yaml)
    #[arg(long = "sam-template", value_name = "PATH")]
    pub sam_templates: Vec<PathBuf>,
}

/// CI providers `init --ci` can write workflows for.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CiProvider {
    /// GitHub Actions
    Github,
    /// GitLab CI/CD (`.gitlab-ci.yml`, or an include file next to an existing one)
    Gitlab,
}

/// Runs `init`.
pub fn run(dir: &Path, args: InitArgs) -> CliResult {
    let repo = Repo::discover(dir)?;
    let root = repo.root().to_path_buf();
    let path = root.join(FILE_NAME);
    if let Some(provider) = args.ci {
        return super::init_ci::run(&root, provider, args.force);
    }
    // Locked before looking, so the answer to "does it exist" holds until the write.
    let lock = Lock::acquire(&root, &path, Policy::NO_LINKS)?;
    if lock.exists() && !args.force {
        return Err(CliError::new(
            Kind::Refused,
            format!(
                "{} already exists; pass --force to overwrite it",
                path.display()
            ),
        ));
    }
    let mut extra = Vec::new();
    let mut notes = Vec::new();
    let mut logical_ids = std::collections::BTreeMap::new();
    for template in &args.sam_templates {
        let (functions, skipped) = super::init_sam::read(&root, dir, template)?;
        notes.extend(skipped);
        for f in functions {
            logical_ids.insert(f.path.clone(), f.logical_id);
            extra.push((f.dir_name, f.path, Found::Lambda));
        }
    }
    let (found, mut skipped) = find_services(&root, extra);
    skipped.extend(notes);
    for (name, path, _) in &found {
        if let Some(note) = logical_ids
            .get(path)
            .and_then(|id| super::init_sam::resource_note(name, id))
        {
            skipped.push(note);
        }
    }
    let lambdas: Vec<String> = found
        .iter()
        .filter(|(_, _, kind)| *kind == Found::Lambda)
        .map(|(name, _, _)| name.clone())
        .collect();
    let services: Vec<(String, String)> = found
        .into_iter()
        .map(|(name, path, _)| (name, path))
        .collect();
    let text = starter_config(&services, &lambdas);
    let parsed = Config::parse(&text, FILE_NAME)
        .map_err(|e| CliError::new(Kind::Internal, format!("the starter file is invalid: {e}")))?;
    // The file must say what was found: a name or path that TOML read differently would
    // be another configuration than the one announced below.
    let faithful = parsed.services.len() == services.len()
        && services.iter().all(|(name, dir)| {
            parsed.services.get(name).is_some_and(|service| {
                &service.path == dir
                    && service.registry.as_deref() == lambdas.contains(name).then_some(LAMBDA_STORE)
            })
        });
    if !faithful {
        return Err(CliError::new(
            Kind::Internal,
            "the starter file does not read back as the services found; nothing was written",
        ));
    }
    lock.commit(text.as_bytes())?;
    println!("wrote {FILE_NAME} with {} service(s)", services.len());
    for (name, dir) in &services {
        let lambda = if lambdas.contains(name) {
            ", Lambda zip in S3"
        } else {
            ""
        };
        println!("  {} ({}{lambda})", text::line(name), text::line(dir));
    }
    for note in &skipped {
        crate::ui::warn(note);
    }
    if !lambdas.is_empty() {
        println!("set the bucket of [registries.{LAMBDA_STORE}] (and its region): CI uploads each Lambda service's zip there");
    }
    println!("next: review it, commit it, and run `git release install` to add the pre-push hook");
    Ok(ExitCode::SUCCESS)
}

/// The named store `init` writes for Lambda services.
const LAMBDA_STORE: &str = "lambda";

/// The file names SAM looks for by default.
const SAM_TEMPLATES: &[&str] = &["template.yaml", "template.yml"];

/// A SAM template larger than this is not read (a template is limited to 1 MB anyway).
pub(super) const MAX_TEMPLATE_BYTES: u64 = 1 << 20;

/// What made a directory a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Found {
    /// A `Dockerfile`: an image (this wins: a SAM function built from a Dockerfile ships
    /// an image too).
    Image,
    /// A SAM template with an `AWS::Serverless::Function` and no `Dockerfile`.
    Lambda,
}

/// Whether `path` is a SAM template that defines a function.
fn is_sam_template(path: &Path) -> bool {
    use std::io::Read;
    let Ok(file) = std::fs::File::open(path) else {
        return false;
    };
    let mut text = String::new();
    file.take(MAX_TEMPLATE_BYTES)
        .read_to_string(&mut text)
        .is_ok()
        && text.contains("AWS::Serverless::Function")
}

/// Returns `(service name, path, what was found)` for each directory with a `Dockerfile`
/// or a SAM template with a function, and for each of `extra` (read from templates named
/// on the command line), sorted by path, and a note for each such directory that could
/// not become a service.
fn find_services(
    root: &Path,
    extra: Vec<(String, String, Found)>,
) -> (Vec<(String, String, Found)>, Vec<String>) {
    let mut found = extra;
    let mut stack: Vec<(PathBuf, usize)> = vec![(root.to_path_buf(), 0)];
    while let Some((dir, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().to_string();
            if path.is_dir() {
                let skip = name.starts_with('.')
                    || matches!(name.as_str(), "node_modules" | "target" | "vendor");
                if !skip && depth < 4 {
                    stack.push((path, depth + 1));
                }
            } else if dir != root
                && (name == "Dockerfile"
                    || (SAM_TEMPLATES.contains(&name.as_str()) && is_sam_template(&path)))
            {
                let kind = if name == "Dockerfile" {
                    Found::Image
                } else {
                    Found::Lambda
                };
                let relative = dir.strip_prefix(root).unwrap_or(&dir);
                // Joined with `/` by components: a `\` is part of a name on Unix.
                let parts: Option<Vec<&str>> = relative
                    .components()
                    .map(|c| c.as_os_str().to_str())
                    .collect();
                let Some(rel) = parts.map(|p| p.join("/")) else {
                    // Not UTF-8: a TOML file cannot name it.
                    continue;
                };
                found.push((
                    dir.file_name()
                        .map(|n| n.to_string_lossy().to_string())
                        .unwrap_or_default(),
                    rel,
                    kind,
                ));
            }
        }
    }
    // By path, image first: a directory with both files is one image service.
    found.sort_by(|a, b| (&a.1, a.2).cmp(&(&b.1, b.2)));
    found.dedup_by(|later, first| later.1 == first.1);
    // Two directories with the same name (`services/api`, `legacy/api`) must not become
    // one service silently: the later one is named after its parent too.
    let mut seen = std::collections::BTreeSet::new();
    let mut services = Vec::new();
    let mut skipped = Vec::new();
    for (dir_name, rel, kind) in found {
        // The loader refuses such a path (a backslash, control characters), so writing it
        // would make a file that does not load.
        if let Err(why) = text::check_relative_path(&rel) {
            skipped.push(format!(
                "skipped {}: {why}; rename the directory or add it by hand",
                text::line(&rel)
            ));
            continue;
        }
        let Some(name) = service_name(dir_name.clone()) else {
            skipped.push(format!(
                "skipped {}: `{}` cannot name a service (a subcommand name, or no letters or digits); add it by hand under another name",
                text::line(&rel),
                text::line(&dir_name)
            ));
            continue;
        };
        let parent = Path::new(&rel)
            .parent()
            .and_then(|p| p.file_name())
            .map(|p| p.to_string_lossy().to_string());
        let qualified = parent.and_then(|p| service_name(format!("{p}-{dir_name}")));
        match qualified {
            _ if seen.insert(name.clone()) => services.push((name, rel, kind)),
            Some(q) if seen.insert(q.clone()) => services.push((q, rel, kind)),
            _ => skipped.push(format!(
                "skipped {}: service `{name}` is already taken; add it by hand under another name",
                text::line(&rel)
            )),
        }
    }
    (services, skipped)
}

fn service_name(dir_name: String) -> Option<String> {
    let name: String = dir_name
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let name = name
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_string();
    let reserved = monorel_core::config::RESERVED_NAMES.contains(&name.as_str());
    (!name.is_empty() && !reserved && monorel_core::tag::check_service_name(&name).is_ok())
        .then_some(name)
}

/// Returns the starter file for `services`; those named in `lambdas` get the S3 store.
fn starter_config(services: &[(String, String)], lambdas: &[String]) -> String {
    let mut text = String::from(
        r#"# git-release configuration: https://example.invalid/git-release/docs/reference.md
# Keys are a contract; unknown keys are errors.

[defaults]
tag = "{service}-v{version}"   # the only placeholders are {service} and {version}
initial-version = "0.1.0"      # version of a service's first release
remote = "origin"

[registry]
kind = "ecr"                   # "ecr", or "none" to skip image checks (said on every run)
repository = "{service}-image" # image repository of each service
image-tag = "{sha}"            # tag CI gives each build: {sha} (40 hex) or {short_sha} (7 hex)
# region = "eu-west-1"         # set it: nothing then waits on instance metadata
# registry-id = "123456789012" # the account that owns the repositories, if not yours

[hook]
allow-maintenance = false      # allow X.Y.Z below the latest when it tops its own X.Y line
allow-rewrite = false          # allow moving or deleting release tags on the remote
on-registry-error = "block"    # or "warn" to let pushes through when the registry is down
"#,
    );
    if !lambdas.is_empty() {
        text.push_str(&format!(
            r#"
# The Lambda services (a SAM template with an AWS::Serverless::Function) ship zips:
# CI uploads each commit's zip to this bucket, `promote` copies it to the release key.
[registries.{LAMBDA_STORE}]
kind = "s3"
bucket = "change-me-lambda-zips"   # set it: the bucket CI uploads to
# region = "eu-west-1"
key = "{{service}}-{{commit}}"         # the object CI uploads for each commit
release-key = "{{tag}}"              # the object each release is promoted to
"#
        ));
    }
    if services.is_empty() {
        text.push_str("\n# No directory with a Dockerfile or a SAM template was found; add services like this:\n# [services.service-a]\n# path = \"services/service-a\"\n");
    }
    for (name, path) in services {
        text.push_str(&format!(
            "\n[services.{}]\npath = {}\n",
            toml_key(name),
            toml_string(path)
        ));
        if lambdas.contains(name) {
            text.push_str(&format!("registry = \"{LAMBDA_STORE}\"\n"));
        }
    }
    text
}

/// Returns `key` as a TOML key: bare when TOML allows it, else a quoted string, so that a
/// dot in a service name does not open a nested table.
fn toml_key(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if bare {
        key.to_string()
    } else {
        toml_string(key)
    }
}

/// Returns `text` as a TOML basic string: quotes, backslashes and control characters
/// escaped, so no directory name can end the string and add a line of its own.
fn toml_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_paths_round_trip_through_the_config_loader() {
        let services: Vec<(String, String)> = [
            ("a.b", "services/a.b"),
            ("plain", "apps/we\"ird'dir"),
            ("brackets", "apps/x]=\"[hook]"),
        ]
        .iter()
        .map(|(n, p)| (n.to_string(), p.to_string()))
        .collect();
        let text = starter_config(&services, &[]);
        let config = Config::parse(&text, FILE_NAME).unwrap_or_else(|e| panic!("{text}\n{e}"));
        assert_eq!(config.services.len(), services.len(), "{text}");
        for (name, path) in &services {
            assert_eq!(&config.services[name].path, path, "{text}");
        }
        assert!(!config.hook.allow_rewrite, "{text}");
        // Paths the loader refuses (`find_services` skips them) still cannot inject keys:
        // the file fails on the path itself, not on a smuggled `[hook]` table.
        for (name, path) in [
            ("ctl", "x/new\nline = 1\n[hook]\nallow-rewrite = true\n#"),
            ("esc", "x/\u{7f}\u{1b}[31m\u{85}\t\r"),
            ("back", "apps/we\\dir"),
        ] {
            let text = starter_config(&[(name.to_string(), path.to_string())], &[]);
            let hooks = text.lines().filter(|l| l.trim() == "[hook]").count();
            assert_eq!(hooks, 1, "only the starter's own [hook] table:\n{text}");
            let error = Config::parse(&text, FILE_NAME)
                .expect_err("a path the loader refuses")
                .to_string();
            assert!(error.contains(&format!("services.{name}.path")), "{error}");
        }
        assert_eq!(toml_key("service-a"), "service-a");
        assert_eq!(toml_key("a.b"), "\"a.b\"");
        assert_eq!(toml_key("q\"\\"), "\"q\\\"\\\\\"");
    }
}
