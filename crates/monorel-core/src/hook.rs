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
//!
//! The shim is written through [`crate::safe_write`] (under `pre-push.lock`, renamed into
//! place, executable, never through a link). A hooks directory that `core.hooksPath` in
//! the global or system git config names is shared by every repository on the machine, so
//! installing there is refused ([`refuse_shared_hooks_dir`]): the shim would refuse tag
//! pushes in each repository that has no `git-release.toml`.

use std::path::{Path, PathBuf};

use crate::check::{Local, TagUpdate};
use crate::safe_write::{Lock, Policy, WriteError};

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
///
/// Each line is `<local ref> SP <local sha> SP <remote ref> SP <remote sha>`. The local
/// ref is what the user typed on the left of the refspec and may contain spaces
/// (`git push origin 'HEAD^{/fix the bug}:refs/tags/x'`); the last three fields cannot
/// (object ids, and a full ref name, which git forbids spaces in). So a line is split
/// from the right, at its last three spaces, and the local ref, which nothing here
/// needs, is whatever comes before.
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
        let mut fields = line.rsplitn(4, ' ');
        let (Some(remote_sha), Some(remote_ref), Some(local_sha), Some(local_ref)) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(malformed());
        };
        if local_ref.is_empty() || remote_ref.is_empty() {
            return Err(malformed());
        }
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
    /// `core.hooksPath` comes from a config every repository reads.
    #[error("core.hooksPath is set in your {scope} git config to {}, a hooks directory that every repository on this machine shares; a git-release hook there would refuse tag pushes in each repository without a git-release.toml, so nothing was installed", .dir.display())]
    SharedHooksDir {
        /// The hooks directory.
        dir: PathBuf,
        /// git's name for the config it comes from (`global`, `system`, `command`).
        scope: String,
    },
    /// Where `core.hooksPath` comes from could not be read, so installing is not safe.
    #[error("cannot tell where core.hooksPath is set: {0}; nothing was installed")]
    Scope(#[source] crate::process::GitError),
    /// The hook could not be written safely (a link, a held lock, a full disk).
    #[error(transparent)]
    Write(#[from] WriteError),
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

/// Refuses a hooks directory that `core.hooksPath` in a config outside the repository
/// (global, system, command line) names: every repository shares it.
///
/// Asks git itself (`git config --show-scope`), which knows every place a config value
/// can come from; when git cannot answer, the answer is no.
pub fn refuse_shared_hooks_dir(work_tree: &Path, hooks_dir: &Path) -> Result<(), InstallError> {
    let out = crate::process::git(
        work_tree,
        &["config", "--show-scope", "--get", "core.hooksPath"],
        None,
    );
    let out = match out {
        Ok(out) => out,
        // Exit 1 without a message: the key is not set anywhere.
        Err(crate::process::GitError::Failed { stderr, .. }) if stderr.trim().is_empty() => {
            return Ok(())
        }
        Err(e) => return Err(InstallError::Scope(e)),
    };
    let out = String::from_utf8_lossy(&out);
    let scope = out.split('\t').next().unwrap_or_default().trim();
    if matches!(scope, "local" | "worktree") {
        return Ok(());
    }
    Err(InstallError::SharedHooksDir {
        dir: hooks_dir.to_path_buf(),
        scope: scope.to_string(),
    })
}

/// Writes the shim into `hooks_dir`, chaining to a foreign `pre-push` hook.
///
/// Installing twice changes nothing; a foreign hook is never overwritten, and a link at
/// `pre-push` is never written through (a foreign one is chained as the link it is).
pub fn install(hooks_dir: &Path, force: bool) -> Result<Installed, InstallError> {
    let hook = hooks_dir.join(HOOK_NAME);
    let chained = hooks_dir.join(CHAINED_NAME);
    std::fs::create_dir_all(hooks_dir).map_err(io("create", hooks_dir))?;
    // Taken before reading, so two installs (or an install and an uninstall) take turns.
    let lock = Lock::acquire(hooks_dir, &hook, Policy::HOOK)?;
    let outcome = match read_hook(&hook)? {
        Some(text) if text == SHIM => {
            if !is_link(&hook) {
                ensure_executable(&hook)?;
            }
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
    if let Err(e) = lock.commit(SHIM.as_bytes()) {
        if outcome == Installed::Chained {
            // Put the foreign hook back: a failed install leaves things as they were.
            let _ = std::fs::rename(&chained, &hook);
        }
        return Err(e.into());
    }
    Ok(outcome)
}

/// Removes our shim and puts a chained hook back where it was.
pub fn uninstall(hooks_dir: &Path) -> Result<Uninstalled, InstallError> {
    let hook = hooks_dir.join(HOOK_NAME);
    let chained = hooks_dir.join(CHAINED_NAME);
    if read_hook(&hook)?.is_none() && !exists(&chained) {
        return Ok(Uninstalled::NotInstalled);
    }
    // Held while the hook is removed and the chained one put back, so a concurrent
    // install waits instead of chaining a half-restored state.
    let _lock = Lock::acquire(hooks_dir, &hook, Policy::HOOK)?;
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

fn is_link(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
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
    fn a_local_ref_with_spaces_is_parsed_from_the_right() {
        let input = format!(
            "HEAD^{{/fix the bug}} {A} refs/tags/a-v1.0.0 {Z}\n\
             refs/heads/my branch {A} refs/heads/main {B}\n\
             a  b   c {A} refs/tags/a-v1.1.0 {B}\n"
        );
        assert_eq!(
            parse_pre_push(&input),
            Ok(vec![
                TagUpdate {
                    tag: "a-v1.0.0".into(),
                    local: Local::Object(id(A)),
                    remote: None
                },
                TagUpdate {
                    tag: "a-v1.1.0".into(),
                    local: Local::Object(id(A)),
                    remote: Some(id(B))
                },
            ])
        );
        // Three fields, or a fourth that is empty, are still not the protocol.
        assert!(parse_pre_push(&format!(" {A} refs/tags/x {Z}")).is_err());
        assert!(parse_pre_push(&format!("{A} refs/tags/x {Z}")).is_err());
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
    fn a_linked_hook_is_never_written_through() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().expect("tempdir");
        let hooks = dir.path().join("hooks");
        std::fs::create_dir_all(&hooks).expect("mkdir");
        // A foreign hook that is a link (husky, a shared script): chained as the link.
        let script = dir.path().join("team-pre-push");
        std::fs::write(&script, "#!/bin/sh\necho team\n").expect("write");
        symlink(&script, hooks.join(HOOK_NAME)).expect("link");
        assert_eq!(install(&hooks, false).expect("install"), Installed::Chained);
        let chained = std::fs::symlink_metadata(hooks.join(CHAINED_NAME)).expect("chained");
        assert!(chained.file_type().is_symlink());
        let ours = std::fs::symlink_metadata(hooks.join(HOOK_NAME)).expect("hook");
        assert!(ours.is_file());
        assert_eq!(
            std::fs::read_to_string(&script).expect("read"),
            "#!/bin/sh\necho team\n"
        );
        assert_eq!(uninstall(&hooks).expect("uninstall"), Uninstalled::Restored);
        assert!(std::fs::symlink_metadata(hooks.join(HOOK_NAME))
            .expect("restored")
            .file_type()
            .is_symlink());

        // An older shim behind a link: --force replaces the link, not the file it names.
        let older = dir.path().join("older-shim");
        let older_text = format!("{SHIM}# an older version\n");
        std::fs::write(&older, &older_text).expect("write");
        std::fs::remove_file(hooks.join(HOOK_NAME)).expect("rm");
        symlink(&older, hooks.join(HOOK_NAME)).expect("link");
        assert_eq!(install(&hooks, true).expect("force"), Installed::Updated);
        assert_eq!(std::fs::read_to_string(&older).expect("read"), older_text);
        assert_eq!(
            std::fs::read_to_string(hooks.join(HOOK_NAME)).expect("read"),
            SHIM
        );
        assert!(!hooks.join("pre-push.lock").exists());
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
