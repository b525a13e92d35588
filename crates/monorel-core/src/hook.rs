//! The pre-push hook protocol and hook installation.
//!
//! git runs `pre-push <remote-name> <remote-url>` with one line per ref on stdin:
//! `<local-ref> <local-sha> <remote-ref> <remote-sha>`, a zero sha on the left for a
//! deletion and on the right for a ref the remote does not have. Only `refs/tags/*` lines
//! concern us; a branch-only push is answered before anything else is loaded.
//!
//! Installation writes a small POSIX sh shim (`hooks/pre-push`, embedded here so an
//! installed binary can install it) into the directory git reads hooks from. A `pre-push`
//! that is not ours is never overwritten: it is renamed to [`CHAINED_NAME`] beside ours,
//! and the shim runs it with the same arguments and stdin, so lefthook or husky set-ups
//! keep working. Uninstalling renames it back.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::check::{Local, TagUpdate};

/// The shim's text, as installed.
pub const SHIM: &str = include_str!("../../../hooks/pre-push");

/// The line that marks a `pre-push` file as ours.
pub const MARKER: &str = "# git-release pre-push hook (managed by `git release install`)";

/// The name a foreign `pre-push` hook is kept under, beside ours.
pub const CHAINED_NAME: &str = "pre-push.git-release-chained";

/// The hook file's name.
pub const HOOK_NAME: &str = "pre-push";

/// The error returned by [`parse_pre_push`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// A line that is not `<local-ref> <local-sha> <remote-ref> <remote-sha>`.
    #[error("pre-push input line {line} is not `<local-ref> <local-sha> <remote-ref> <remote-sha>`: `{text}`; git-release must be run by git as a pre-push hook")]
    Malformed {
        /// 1-based line number.
        line: usize,
        /// The line.
        text: String,
    },
}

fn parse_id(text: &str) -> Option<Option<gix::ObjectId>> {
    if !text.is_empty() && text.bytes().all(|b| b == b'0') {
        return Some(None);
    }
    gix::ObjectId::from_hex(text.as_bytes()).ok().map(Some)
}

/// Parses git's pre-push input and returns the tag updates; other refs are dropped.
pub fn parse_pre_push(input: &str) -> Result<Vec<TagUpdate>, ProtocolError> {
    let mut updates = Vec::new();
    for (index, line) in input.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let malformed = || ProtocolError::Malformed {
            line: index + 1,
            text: crate::text::line(line).into_owned(),
        };
        let fields: Vec<&str> = line.split(' ').collect();
        let [_local_ref, local_sha, remote_ref, remote_sha] = fields[..] else {
            return Err(malformed());
        };
        let Some(tag) = remote_ref.strip_prefix("refs/tags/") else {
            continue;
        };
        let local = parse_id(local_sha).ok_or_else(malformed)?;
        let remote = parse_id(remote_sha).ok_or_else(malformed)?;
        updates.push(TagUpdate {
            tag: tag.to_string(),
            local: local.map_or(Local::Delete, Local::Object),
            remote,
        });
    }
    Ok(updates)
}

/// Whether the input names a tag ref at all: the cheap test that lets a branch-only push
/// go through without parsing the configuration.
pub fn mentions_tags(input: &str) -> bool {
    input.contains(" refs/tags/")
}

/// What [`install`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Installed {
    /// The shim was written; there was no hook before.
    Fresh,
    /// The shim was written and the existing hook kept as [`CHAINED_NAME`].
    Chained,
    /// An older git-release shim was replaced (`--force`).
    Updated,
    /// The same shim was already there: nothing changed.
    Unchanged,
}

/// What [`uninstall`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Uninstalled {
    /// Our shim was removed; there was nothing to restore.
    Removed,
    /// Our shim was removed and the chained hook put back as `pre-push`.
    Restored,
    /// No git-release hook was installed: nothing changed.
    NotInstalled,
}

/// The error returned by [`install`] and [`uninstall`].
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// A git-release shim of another version is installed.
    #[error("{} is a git-release hook of another version; run `git release install --force` to replace it", .0.display())]
    OtherVersion(PathBuf),
    /// Both a foreign `pre-push` and a chained hook exist: chaining again would lose one.
    #[error("{} is not a git-release hook and {} exists already, so it cannot be kept; merge them into one script (or remove one), then run `git release install` again", .hook.display(), .chained.display())]
    ChainOccupied {
        /// The foreign hook.
        hook: PathBuf,
        /// The chained hook already there.
        chained: PathBuf,
    },
    /// `pre-push` is not ours, so uninstall leaves it alone.
    #[error("{} is not a git-release hook; it was left as it is", .0.display())]
    NotOurs(PathBuf),
    /// The file system refused.
    #[error("cannot {what} {}: {source}", .path.display())]
    Io {
        /// What we were doing.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> InstallError {
    let path = path.to_path_buf();
    move |source| InstallError::Io { what, path, source }
}

/// Whether `text` is a git-release shim (of any version).
pub fn is_ours(text: &str) -> bool {
    text.lines().any(|l| l.trim_end() == MARKER)
}

/// Reads a hook file; `None` when it does not exist (a dangling symlink counts as existing).
fn read_hook(path: &Path) -> Result<Option<String>, InstallError> {
    if std::fs::symlink_metadata(path).is_err() {
        return Ok(None);
    }
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
        // A dangling symlink or unreadable file is foreign content: keep it.
        Err(_) => Ok(Some(String::new())),
    }
}

fn exists(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

/// Writes the shim into `hooks_dir`, chaining to a foreign `pre-push` hook.
///
/// Installing twice changes nothing; a foreign hook is never overwritten.
pub fn install(hooks_dir: &Path, force: bool) -> Result<Installed, InstallError> {
    let hook = hooks_dir.join(HOOK_NAME);
    let chained = hooks_dir.join(CHAINED_NAME);
    let outcome = match read_hook(&hook)? {
        Some(text) if text == SHIM => {
            ensure_executable(&hook)?;
            return Ok(Installed::Unchanged);
        }
        Some(text) if is_ours(&text) => {
            if !force {
                return Err(InstallError::OtherVersion(hook));
            }
            Installed::Updated
        }
        Some(_) => {
            if exists(&chained) {
                return Err(InstallError::ChainOccupied { hook, chained });
            }
            std::fs::rename(&hook, &chained).map_err(io("rename", &hook))?;
            Installed::Chained
        }
        None => Installed::Fresh,
    };
    std::fs::create_dir_all(hooks_dir).map_err(io("create", hooks_dir))?;
    write_shim(&hook)?;
    Ok(outcome)
}

/// Removes our shim and puts a chained hook back where it was.
pub fn uninstall(hooks_dir: &Path) -> Result<Uninstalled, InstallError> {
    let hook = hooks_dir.join(HOOK_NAME);
    let chained = hooks_dir.join(CHAINED_NAME);
    match read_hook(&hook)? {
        Some(text) if is_ours(&text) => {
            std::fs::remove_file(&hook).map_err(io("remove", &hook))?;
        }
        Some(_) => return Err(InstallError::NotOurs(hook)),
        None if exists(&chained) => {}
        None => return Ok(Uninstalled::NotInstalled),
    }
    if exists(&chained) {
        std::fs::rename(&chained, &hook).map_err(io("restore", &chained))?;
        return Ok(Uninstalled::Restored);
    }
    Ok(Uninstalled::Removed)
}

/// Writes the shim next to `hook` then renames it over, so a concurrent push never sees a
/// half-written hook.
fn write_shim(hook: &Path) -> Result<(), InstallError> {
    let tmp = hook.with_file_name(".pre-push.git-release.tmp");
    let mut file = std::fs::File::create(&tmp).map_err(io("write", &tmp))?;
    file.write_all(SHIM.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(io("write", &tmp))?;
    drop(file);
    ensure_executable(&tmp)?;
    std::fs::rename(&tmp, hook).map_err(io("write", hook))
}

fn ensure_executable(path: &Path) -> Result<(), InstallError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(io("read", path))?;
    let mode = meta.permissions().mode();
    if mode & 0o111 != 0o111 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode | 0o755))
            .map_err(io("make executable", path))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "1111111111111111111111111111111111111111";
    const B: &str = "2222222222222222222222222222222222222222";
    const Z: &str = "0000000000000000000000000000000000000000";

    fn id(hex: &str) -> gix::ObjectId {
        gix::ObjectId::from_hex(hex.as_bytes()).expect("hex")
    }

    #[test]
    fn parses_tags_and_drops_branches() {
        let input = format!(
            "refs/heads/main {A} refs/heads/main {B}\n\
             refs/tags/a-v1.0.0 {A} refs/tags/a-v1.0.0 {Z}\n\
             (delete) {Z} refs/tags/a-v0.9.0 {B}\n\
             refs/tags/a-v1.1.0 {A} refs/tags/a-v1.1.0 {B}\n"
        );
        assert!(mentions_tags(&input));
        let updates = parse_pre_push(&input).expect("valid");
        assert_eq!(
            updates,
            vec![
                TagUpdate {
                    tag: "a-v1.0.0".into(),
                    local: Local::Object(id(A)),
                    remote: None
                },
                TagUpdate {
                    tag: "a-v0.9.0".into(),
                    local: Local::Delete,
                    remote: Some(id(B))
                },
                TagUpdate {
                    tag: "a-v1.1.0".into(),
                    local: Local::Object(id(A)),
                    remote: Some(id(B))
                },
            ]
        );
        let branches = format!("refs/heads/main {A} refs/heads/main {B}\n");
        assert!(!mentions_tags(&branches));
        assert_eq!(parse_pre_push(&branches), Ok(vec![]));
        assert_eq!(parse_pre_push(""), Ok(vec![]));
    }

    #[test]
    fn rejects_malformed_lines() {
        assert!(matches!(
            parse_pre_push("refs/tags/x 123 refs/tags/x"),
            Err(ProtocolError::Malformed { line: 1, .. })
        ));
        assert!(parse_pre_push(&format!("refs/tags/x nothex refs/tags/x {Z}")).is_err());
    }

    #[test]
    fn shim_carries_the_marker() {
        assert!(is_ours(SHIM));
        assert!(SHIM.starts_with("#!/bin/sh\n"));
    }

    #[test]
    fn install_chains_and_uninstall_restores() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let hooks = dir.path().join("hooks");
        std::fs::create_dir_all(&hooks).expect("mkdir");
        let foreign = "#!/bin/sh\necho foreign\n";
        std::fs::write(hooks.join(HOOK_NAME), foreign).expect("write");
        std::fs::set_permissions(
            hooks.join(HOOK_NAME),
            std::fs::Permissions::from_mode(0o750),
        )
        .expect("chmod");

        assert_eq!(install(&hooks, false).expect("install"), Installed::Chained);
        assert_eq!(
            std::fs::read_to_string(hooks.join(CHAINED_NAME)).expect("chained"),
            foreign
        );
        assert_eq!(install(&hooks, false).expect("again"), Installed::Unchanged);
        assert_eq!(uninstall(&hooks).expect("uninstall"), Uninstalled::Restored);
        assert_eq!(
            std::fs::read_to_string(hooks.join(HOOK_NAME)).expect("restored"),
            foreign
        );
        let mode = std::fs::metadata(hooks.join(HOOK_NAME))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o750);
        assert!(!hooks.join(CHAINED_NAME).exists());
        assert!(matches!(uninstall(&hooks), Err(InstallError::NotOurs(_))));
    }

    #[test]
    fn never_clobbers_an_occupied_chain_slot() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(HOOK_NAME), "#!/bin/sh\n").expect("write");
        std::fs::write(dir.path().join(CHAINED_NAME), "#!/bin/sh\n").expect("write");
        assert!(matches!(
            install(dir.path(), true),
            Err(InstallError::ChainOccupied { .. })
        ));
        let older = format!("{SHIM}# a line an older version had\n");
        std::fs::write(dir.path().join(HOOK_NAME), older).expect("write");
        assert!(matches!(
            install(dir.path(), false),
            Err(InstallError::OtherVersion(_))
        ));
        assert_eq!(
            install(dir.path(), true).expect("force"),
            Installed::Updated
        );
        assert_eq!(
            uninstall(dir.path()).expect("uninstall"),
            Uninstalled::Restored
        );
    }
}
