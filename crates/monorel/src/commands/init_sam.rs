//! `git release init --sam-template <PATH>`: Lambda services read from a SAM template the
//! directory scan does not find (one at the repository root listing every function, or
//! one not named `template.yaml`). Each `AWS::Serverless::Function` whose `CodeUri` is a
//! local directory becomes a service at that directory.
//!
//! The template and its `CodeUri` values are repository data: a path that leaves the
//! repository is refused, and names reach the terminal only through the text gate.

use std::path::{Component, Path, PathBuf};

use monorel_core::deploy::{self, sam};
use monorel_core::text;

use crate::error::{CliError, Kind};

/// A service found in a template: its directory's name, its path relative to the
/// repository root, and the function's logical id.
pub struct Found {
    /// The directory's name, which names the service.
    pub dir_name: String,
    /// The directory, relative to the repository root, joined with `/`.
    pub path: String,
    /// The function's logical id in the template.
    pub logical_id: String,
}

/// Reads the functions of the template at `template` (relative to `cwd`), returning the
/// services found and a note for each function that cannot become one.
pub fn read(
    root: &Path,
    cwd: &Path,
    template: &Path,
) -> Result<(Vec<Found>, Vec<String>), CliError> {
    let shown = text::line(&template.to_string_lossy()).into_owned();
    let absolute = lexical(&cwd.join(template));
    let root = lexical(root);
    let Ok(relative) = absolute.strip_prefix(&root) else {
        return Err(CliError::new(
            Kind::Usage,
            format!("--sam-template {shown}: the template is outside the repository"),
        ));
    };
    let metadata = std::fs::symlink_metadata(&absolute).map_err(|e| {
        CliError::new(
            Kind::Usage,
            format!("--sam-template {shown}: cannot read it: {e}"),
        )
    })?;
    if !metadata.is_file() || metadata.len() > super::init::MAX_TEMPLATE_BYTES {
        return Err(CliError::new(
            Kind::Usage,
            format!("--sam-template {shown}: not a regular file of at most 1 MiB (a symbolic link is not followed)"),
        ));
    }
    let content = std::fs::read_to_string(&absolute).map_err(|e| {
        CliError::new(
            Kind::Usage,
            format!("--sam-template {shown}: cannot read it as UTF-8 text: {e}"),
        )
    })?;
    let functions = sam::functions(&content).map_err(|why| {
        CliError::new(
            Kind::Usage,
            format!("--sam-template {shown}: {}", text::line(&why)),
        )
    })?;
    if functions.is_empty() {
        return Err(CliError::new(
            Kind::Usage,
            format!("--sam-template {shown}: it defines no AWS::Serverless::Function"),
        ));
    }
    let base = relative.parent().unwrap_or(Path::new(""));
    let mut found = Vec::new();
    let mut notes = Vec::new();
    for function in functions {
        let id = text::line(&function.logical_id).into_owned();
        let Some(uri) = function.code_uri else {
            notes.push(format!("skipped function {id} of {shown}: its code is not a local directory (an S3 location, an image or inline code)"));
            continue;
        };
        let Some(dir) = inside(&base.join(&uri)) else {
            notes.push(format!(
                "skipped function {id} of {shown}: its CodeUri `{}` leaves the repository",
                text::line(&uri)
            ));
            continue;
        };
        if !std::fs::symlink_metadata(root.join(&dir)).is_ok_and(|m| m.is_dir()) {
            notes.push(format!(
                "skipped function {id} of {shown}: its CodeUri `{}` is not a directory of the repository",
                text::line(&uri)
            ));
            continue;
        }
        let parts: Option<Vec<&str>> = dir.components().map(|c| c.as_os_str().to_str()).collect();
        let Some(path) = parts.map(|p| p.join("/")).filter(|p| !p.is_empty()) else {
            notes.push(format!("skipped function {id} of {shown}: its code is the repository root (or a path that is not UTF-8); a service needs its own directory"));
            continue;
        };
        let dir_name = path.rsplit('/').next().unwrap_or(&path).to_string();
        found.push(Found {
            dir_name,
            path,
            logical_id: function.logical_id,
        });
    }
    Ok((found, notes))
}

/// The note for a function whose logical id is not what a SAM environment's default
/// `resource` (`{service_pascal}Function`) renders for its service.
pub fn resource_note(service: &str, logical_id: &str) -> Option<String> {
    let expected = format!("{}Function", deploy::pascal(service));
    (expected != logical_id).then(|| {
        format!(
            "service {} is function {} in the template, not {expected}: give its SAM environment `resource = \"{}\"` (or a template that renders it)",
            text::line(service),
            text::line(logical_id),
            text::line(logical_id)
        )
    })
}

/// `path` without `.` and `..` components, resolved lexically (no file system access, so
/// a symbolic link is never followed out).
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// `path` (relative) resolved lexically, or `None` when it climbs out of its start.
fn inside(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::Normal(part) => out.push(part),
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_directories_stay_inside_the_repository() {
        assert_eq!(inside(Path::new("a/./b/../c")), Some(PathBuf::from("a/c")));
        assert_eq!(inside(Path::new("a/../../etc")), None);
        assert_eq!(inside(Path::new("/etc")), None);
    }

    #[test]
    fn a_matching_logical_id_needs_no_note() {
        assert!(resource_note("lambda-a", "LambdaAFunction").is_none());
        assert!(resource_note("payments", "PaymentsFn").is_some());
    }
}
