//! Every file git-release writes goes through here: pins, `init`'s files, the hook, the
//! config cache.
//!
//! The shape is git's own `lockfile.c`: the new contents are written to `<file>.lock`,
//! created exclusively (`O_CREAT|O_EXCL`) in the same directory, flushed to disk, given the
//! old file's mode, then renamed over `<file>`. The one file is both the lock and the
//! temporary file, so:
//!
//! - a reader sees the old file or the new one, never half of one (rename is atomic);
//! - two processes updating the same file take turns: each takes the lock, *then* reads,
//!   changes and writes, so neither loses the other's change ([`Lock::read`] reads under
//!   the lock). A lock that stays held past the wait is reported with its path, because
//!   a crashed process leaves it behind exactly like git's `index.lock`;
//! - a failed write (a full disk, a read-only file system, a file-size limit) is an
//!   ordinary [`WriteError`]: the original is untouched and the lock file is removed,
//!   also on early returns, because [`Lock`] removes it on drop.
//!
//! Paths are confined to a root (the repository, the git directory, the hooks directory).
//! The file's directory is resolved, symbolic links included, and must stay inside the
//! root: repository contents are not trusted, and a link such as `infra/stg -> /etc` must
//! not let a deploy write outside. For the file itself the caller chooses
//! ([`Symlinks`]): pins follow a link that stays inside the repository and replace its
//! target (the link survives, which is what a team that links a shared tfvars file wants);
//! `init`, the hook and the cache refuse any link. This defends against content, not
//! against a concurrent local attacker who can already write the work tree: a directory
//! swapped for a link between the check and the write is not detected.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

/// What to do when the file to write is a symbolic link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Symlinks {
    /// Follow it when it resolves inside the root, and replace its target; refuse a link
    /// that leads outside or to nothing.
    FollowInside,
    /// Refuse any link.
    Refuse,
    /// Replace the link itself with the new file; nothing is written through it (the
    /// hook: a foreign hook that is a link is chained as the link it is).
    Replace,
}

/// How one file is written.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// What to do with a symbolic link at the file's path.
    pub symlinks: Symlinks,
    /// The mode a new file is created with, before the umask (`0o666`, or `0o777` for an
    /// executable). An existing file keeps its own mode.
    pub new_mode: u32,
    /// Whether the written file must be executable (the hook): read bits gain their
    /// execute bits, also on an existing file.
    pub executable: bool,
    /// How long to wait for a lock another process holds before giving up. Writes take
    /// milliseconds; the wait covers a concurrent run, not a crashed one.
    pub wait: Duration,
}

impl Policy {
    /// A data file in the repository (pins): links inside the repository are followed.
    pub const DATA: Policy = Policy {
        symlinks: Symlinks::FollowInside,
        new_mode: 0o666,
        executable: false,
        wait: Duration::from_secs(3),
    };

    /// A file created by `git release init` or a cache: no link is ever written through.
    pub const NO_LINKS: Policy = Policy {
        symlinks: Symlinks::Refuse,
        new_mode: 0o666,
        executable: false,
        wait: Duration::from_secs(3),
    };

    /// A hook script: executable, and a link at its name is replaced, never written
    /// through.
    pub const HOOK: Policy = Policy {
        symlinks: Symlinks::Replace,
        new_mode: 0o777,
        executable: true,
        wait: Duration::from_secs(3),
    };

    /// The same policy without waiting for a held lock (a cache that can skip a write).
    pub const fn no_wait(self) -> Policy {
        Policy {
            wait: Duration::ZERO,
            ..self
        }
    }
}

/// The error returned by [`Lock::acquire`], [`Lock::commit`], [`resolve`] and [`write()`].
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The path, or a symbolic link on the way, leads outside the root.
    #[error("{} leads outside {} through a symbolic link; git-release writes only inside it; replace the link with a regular file or directory", .path.display(), .root.display())]
    Escapes {
        /// The path asked for.
        path: PathBuf,
        /// The directory it must stay in.
        root: PathBuf,
    },
    /// The file is a symbolic link and the policy refuses links, or it leads to nothing.
    #[error("{} is a symbolic link{why}; git-release does not write through it; replace it with a regular file (or remove it) and try again", .path.display())]
    Symlink {
        /// The link.
        path: PathBuf,
        /// Extra detail (` to a file that does not exist`), or empty.
        why: &'static str,
    },
    /// The path exists but is not a regular file (a directory, a FIFO, a device).
    #[error("{} is not a regular file; move it away and try again", .path.display())]
    NotAFile {
        /// The path.
        path: PathBuf,
    },
    /// Another process holds the lock.
    #[error("cannot update {}: {} exists, so another git-release (or git) may be writing it; wait for it, or, if none is running, remove {} (left by a crashed run) and try again", .path.display(), .lock.display(), .lock.display())]
    Locked {
        /// The file.
        path: PathBuf,
        /// The lock file.
        lock: PathBuf,
    },
    /// The file system refused.
    #[error("cannot {action} {}: {source}", .path.display())]
    Io {
        /// What was being done: `read`, `write`, `create directory`, `lock`.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> WriteError {
    let path = path.to_path_buf();
    move |source| WriteError::Io {
        action,
        path,
        source,
    }
}

/// A file to write, resolved inside its root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The file that is read and replaced: the path asked for, or the target of a link
    /// that stays inside the root.
    pub file: PathBuf,
    /// Whether it exists now.
    pub exists: bool,
    /// The directories between the deepest existing one and the file, which a write
    /// creates.
    missing_dirs: bool,
}

/// Resolves `path` (inside `root`) to the file a write would replace.
///
/// `path` must be `root` joined with plain names; the existing part of its directory is
/// resolved with every symbolic link and must stay inside `root`.
pub fn resolve(root: &Path, path: &Path, symlinks: Symlinks) -> Result<Resolved, WriteError> {
    let escapes = || WriteError::Escapes {
        path: path.to_path_buf(),
        root: root.to_path_buf(),
    };
    let real_root = root.canonicalize().map_err(io("resolve", root))?;
    let relative = path.strip_prefix(root).map_err(|_| escapes())?;
    let names: Vec<&std::ffi::OsStr> = relative
        .components()
        .map(|c| match c {
            Component::Normal(name) => Ok(name),
            _ => Err(escapes()),
        })
        .collect::<Result<_, _>>()?;
    let Some((name, dirs)) = names.split_last() else {
        return Err(WriteError::NotAFile {
            path: path.to_path_buf(),
        });
    };
    // The deepest existing directory, resolved; the rest is created under it.
    let mut dir = real_root.clone();
    let mut missing_dirs = false;
    for (index, part) in dirs.iter().enumerate() {
        let next = dir.join(part);
        match std::fs::symlink_metadata(&next) {
            Ok(_) => {
                let real = next.canonicalize().map_err(|e| match e.kind() {
                    // A dangling link where a directory should be.
                    std::io::ErrorKind::NotFound => escapes(),
                    _ => WriteError::Io {
                        action: "resolve",
                        path: next.clone(),
                        source: e,
                    },
                })?;
                if !real.starts_with(&real_root) {
                    return Err(escapes());
                }
                dir = real;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                dir = dirs[index..].iter().fold(dir, |d, p| d.join(p));
                missing_dirs = true;
                break;
            }
            Err(e) => return Err(io("resolve", &next)(e)),
        }
    }
    let file = dir.join(name);
    let meta = match std::fs::symlink_metadata(&file) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Resolved {
                file,
                exists: false,
                missing_dirs,
            })
        }
        Err(e) => return Err(io("resolve", &file)(e)),
    };
    if meta.file_type().is_symlink() && symlinks == Symlinks::Replace {
        return Ok(Resolved {
            file,
            exists: true,
            missing_dirs: false,
        });
    }
    let (file, meta) = if meta.file_type().is_symlink() {
        if symlinks == Symlinks::Refuse {
            return Err(WriteError::Symlink {
                path: path.to_path_buf(),
                why: "",
            });
        }
        let target = match file.canonicalize() {
            Ok(target) => target,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // Where it points is unknown ground: it may be outside, and creating it
                // would write through the link.
                return Err(WriteError::Symlink {
                    path: path.to_path_buf(),
                    why: " to a file that does not exist",
                });
            }
            Err(e) => return Err(io("resolve", &file)(e)),
        };
        if !target.starts_with(&real_root) {
            return Err(escapes());
        }
        let meta = std::fs::metadata(&target).map_err(io("resolve", &target))?;
        (target, meta)
    } else {
        (file, meta)
    };
    if !meta.is_file() {
        return Err(WriteError::NotAFile {
            path: path.to_path_buf(),
        });
    }
    Ok(Resolved {
        file,
        exists: true,
        missing_dirs: false,
    })
}

/// The lock on one file: `<file>.lock`, which also receives the new contents.
///
/// Dropping it without [`Lock::commit`] removes the lock file and leaves the file as it
/// was.
#[derive(Debug)]
pub struct Lock {
    file: PathBuf,
    lock_path: PathBuf,
    handle: Option<File>,
    policy: Policy,
}

impl Lock {
    /// Takes the lock on `path`, inside `root`, creating missing directories.
    ///
    /// Waits up to `policy.wait` for a lock held by another process, then fails with
    /// [`WriteError::Locked`].
    pub fn acquire(root: &Path, path: &Path, policy: Policy) -> Result<Lock, WriteError> {
        let resolved = resolve(root, path, policy.symlinks)?;
        let file = resolved.file;
        let dir = file.parent().ok_or_else(|| WriteError::NotAFile {
            path: path.to_path_buf(),
        })?;
        if resolved.missing_dirs {
            std::fs::create_dir_all(dir).map_err(io("create directory", dir))?;
        }
        let mut lock_name = file.file_name().unwrap_or_default().to_os_string();
        lock_name.push(".lock");
        let lock_path = dir.join(lock_name);
        let started = Instant::now();
        let mut pause = Duration::from_millis(1);
        let handle = loop {
            let opened = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(policy.new_mode)
                .open(&lock_path);
            match opened {
                Ok(handle) => break handle,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    if started.elapsed() >= policy.wait {
                        return Err(WriteError::Locked {
                            path: path.to_path_buf(),
                            lock: lock_path,
                        });
                    }
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
                Err(e) => return Err(io("lock", &lock_path)(e)),
            }
        };
        Ok(Lock {
            file,
            lock_path,
            handle: Some(handle),
            policy,
        })
    }

    /// The file that is replaced on commit (a link's target when a link was followed).
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// Reads the file as it is now, under the lock; `None` when it does not exist.
    pub fn read(&self) -> Result<Option<Vec<u8>>, WriteError> {
        match std::fs::read(&self.file) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io("read", &self.file)(e)),
        }
    }

    /// Whether the file exists now.
    pub fn exists(&self) -> bool {
        std::fs::symlink_metadata(&self.file).is_ok()
    }

    /// Writes `bytes` as the file's new contents and releases the lock.
    ///
    /// The data reaches the disk before the rename, and the file keeps its mode. On any
    /// error the file is as it was and the lock file is gone.
    pub fn commit(mut self, bytes: &[u8]) -> Result<(), WriteError> {
        let Some(mut handle) = self.handle.take() else {
            return Err(io("write", &self.lock_path)(std::io::Error::other(
                "the lock was already released",
            )));
        };
        // Errors name the file being replaced, which is what the user knows; the lock
        // file is gone by the time they read the message.
        let shown = self.file.clone();
        handle
            .write_all(bytes)
            .and_then(|()| handle.flush())
            .map_err(io("write", &shown))?;
        // A replaced link's own mode means nothing: the new file gets the default one.
        let mode = match std::fs::symlink_metadata(&self.file) {
            Ok(meta) if meta.is_file() => Some(meta.permissions().mode() & 0o7777),
            _ => None,
        };
        let mode = match (mode, self.policy.executable) {
            (Some(mode), true) => Some(mode | ((mode & 0o444) >> 2)),
            (None, true) => {
                // Created as 0o777 minus the umask; make sure the owner can run it even
                // under an unusual umask.
                let created = handle
                    .metadata()
                    .map_err(io("write", &shown))?
                    .permissions()
                    .mode()
                    & 0o7777;
                Some(created | 0o100 | ((created & 0o444) >> 2))
            }
            (mode, false) => mode,
        };
        if let Some(mode) = mode {
            handle
                .set_permissions(std::fs::Permissions::from_mode(mode))
                .map_err(io("write", &shown))?;
        }
        handle.sync_all().map_err(io("write", &shown))?;
        drop(handle);
        std::fs::rename(&self.lock_path, &self.file).map_err(io("write", &self.file))?;
        // Renamed: nothing left to remove on drop.
        self.lock_path = PathBuf::new();
        // The rename itself reaches the disk with the directory; a failure here leaves a
        // complete file either way, so it is not reported.
        if let Some(dir) = self.file.parent() {
            if let Ok(dir) = File::open(dir) {
                let _ = dir.sync_all();
            }
        }
        Ok(())
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        self.handle = None;
        if !self.lock_path.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.lock_path);
        }
    }
}

/// Replaces `path` (inside `root`) with `bytes`, under its lock.
pub fn write(root: &Path, path: &Path, bytes: &[u8], policy: Policy) -> Result<(), WriteError> {
    Lock::acquire(root, path, policy)?.commit(bytes)
}

#[cfg(test)]
mod tests;
