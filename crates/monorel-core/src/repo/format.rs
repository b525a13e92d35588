//! Which repository formats git-release can read, decided before anything is read.
//!
//! git ≥ 2.45 can keep refs in `reftable` and name objects with SHA-256. gix 0.90 reads
//! neither: in a reftable repository `refs/tags` and `packed-refs` are simply absent, so a
//! reader that does not know the format sees *no tags at all*, and a safety gate that sees
//! no releases lets a downgrade through (FACTS.md, "git repository formats"). Like git
//! itself, git-release therefore refuses a repository whose format it does not fully
//! understand instead of reading a part of it: `core.repositoryFormatVersion` above 1,
//! `extensions.refStorage` other than `files`, `extensions.objectFormat` other than
//! `sha1`, and, in a version-1 repository, any extension it does not know (git's rule for
//! version 1; version 0 ignores unknown extensions, and so does git).
//!
//! The repository's own `config` file is read again here rather than gix's merged view:
//! git takes the format from that file only, and gix may refuse to open a repository of a
//! format it lacks, in which case [`check_near`] still finds the file and says why.

use std::path::{Path, PathBuf};

use gix::bstr::ByteSlice;

use super::RepoError;

/// Extensions git-release honours: they change nothing it reads, or gix handles them.
///
/// `noop`/`noop-v1` do nothing; `preciousObjects` only forbids pruning (we never prune);
/// `partialClone` may leave objects out, which reads report as missing; `worktreeConfig`
/// and `relativeWorktrees` are read by gix when it opens the repository. `objectFormat`
/// and `refStorage` are checked by value.
const KNOWN: &[&str] = &[
    "noop",
    "noop-v1",
    "preciousobjects",
    "partialclone",
    "worktreeconfig",
    "relativeworktrees",
    "objectformat",
    "refstorage",
];

/// Refuses the repository whose shared git directory is `common_dir` unless git-release
/// can read every part of it.
pub(super) fn check(common_dir: &Path) -> Result<(), RepoError> {
    let path = common_dir.join("config");
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        // git itself treats a missing config as an empty one (version 0, no extensions).
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(RepoError::Git {
                what: format!("cannot read {}", path.display()),
                source: gix::Error::from_error(e),
            })
        }
    };
    let file = gix::config::File::from_bytes_no_includes(
        &bytes,
        gix::config::file::Metadata::from(gix::config::Source::Local),
        Default::default(),
    )
    .map_err(|source| RepoError::Git {
        what: format!(
            "cannot parse {}; run `git config --list --local` to see what git makes of it",
            path.display()
        ),
        source,
    })?;
    check_config(&file)
}

/// [`check`] on an already parsed repository config.
fn check_config(file: &gix::config::File) -> Result<(), RepoError> {
    let version = match file.integer("core.repositoryFormatVersion") {
        Ok(Some(version)) => version,
        Ok(None) => 0,
        Err(_) => i64::MAX,
    };
    if !(0..=1).contains(&version) {
        let shown = file
            .string("core.repositoryFormatVersion")
            .map(|v| v.to_str_lossy().into_owned())
            .unwrap_or_default();
        return Err(RepoError::UnsupportedFormatVersion { version: shown });
    }
    for section in file.sections_by_name("extensions").into_iter().flatten() {
        for name in section.value_names() {
            let lower = name.to_ascii_lowercase();
            let value = section
                .value(&name)
                .map(|v| v.to_str_lossy().to_ascii_lowercase())
                .unwrap_or_default();
            match lower.as_str() {
                "refstorage" if value != "files" => {
                    return Err(RepoError::UnsupportedRefStorage { format: value })
                }
                "objectformat" if value != "sha1" => {
                    return Err(RepoError::UnsupportedObjectFormat { format: value })
                }
                "compatobjectformat" => {
                    // Tags written without updating the compatibility map break it.
                    return Err(RepoError::UnsupportedExtension { name });
                }
                _ if version >= 1
                    && (section.header().subsection_name().is_some()
                        || !KNOWN.contains(&lower.as_str())) =>
                {
                    return Err(RepoError::UnsupportedExtension { name });
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// Explains why gix could not open the repository around `dir` when its format is the
/// reason; `Ok` when the format is not to blame (or no repository is found).
pub(super) fn check_near(dir: &Path) -> Result<(), RepoError> {
    let git_dir = match std::env::var_os("GIT_DIR") {
        Some(git_dir) => dir.join(git_dir),
        None => match gix::discover::upwards(dir) {
            Ok((path, _trust)) => path.into_repository_and_work_tree_directories().0,
            Err(_) => return Ok(()),
        },
    };
    check(&common_dir(&git_dir))
}

/// Returns the shared git directory of `git_dir` (different for linked worktrees).
fn common_dir(git_dir: &Path) -> PathBuf {
    match std::fs::read_to_string(git_dir.join("commondir")) {
        Ok(text) => git_dir.join(text.trim_end_matches(['\n', '\r'])),
        Err(_) => git_dir.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::check_config;
    use crate::repo::RepoError;

    fn check(text: &str) -> Result<(), RepoError> {
        let file = gix::config::File::try_from(text).expect("config parses");
        check_config(&file)
    }

    #[test]
    fn plain_repositories_pass() {
        check("[core]\n\trepositoryformatversion = 0\n").expect("v0");
        check("[core]\n\trepositoryformatversion = 1\n[extensions]\n\tobjectFormat = sha1\n\trefStorage = files\n\tworktreeConfig = true\n")
            .expect("v1 with defaults spelled out");
        // Version 0 ignores extensions it does not know, like git.
        check("[extensions]\n\tsomethingNew = yes\n").expect("v0 unknown");
    }

    #[test]
    fn formats_that_cannot_be_read_are_refused() {
        let refused = |text: &str| check(text).expect_err(text);
        assert!(matches!(
            refused(
                "[core]\n\trepositoryformatversion = 1\n[extensions]\n\trefStorage = reftable\n"
            ),
            RepoError::UnsupportedRefStorage { .. }
        ));
        // Version 0 does not make the refs readable: still refused.
        assert!(matches!(
            refused("[extensions]\n\trefstorage = reftable\n"),
            RepoError::UnsupportedRefStorage { .. }
        ));
        assert!(matches!(
            refused(
                "[core]\n\trepositoryformatversion = 1\n[extensions]\n\tobjectformat = sha256\n"
            ),
            RepoError::UnsupportedObjectFormat { .. }
        ));
        assert!(matches!(
            refused("[core]\n\trepositoryformatversion = 1\n[extensions]\n\tsomethingNew = yes\n"),
            RepoError::UnsupportedExtension { .. }
        ));
        assert!(matches!(
            refused("[core]\n\trepositoryformatversion = 2\n"),
            RepoError::UnsupportedFormatVersion { .. }
        ));
        assert!(matches!(
            refused("[core]\n\trepositoryformatversion = banana\n"),
            RepoError::UnsupportedFormatVersion { .. }
        ));
    }
}
