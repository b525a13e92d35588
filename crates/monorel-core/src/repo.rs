//! The git repository: gix for reading refs and objects and for writing tag objects, the
//! `git` binary for what gix lacks (push, ls-remote over https/ssh, status). Which commits
//! touched which service is [`crate::history`]'s.
//!
//! Listing a service's releases uses a prefix scan of the ref store
//! (`refs/tags/service-a-v…`), which binary-searches `packed-refs` instead of reading all
//! tags: this keeps `git release next` fast in monorepos with 100,000 tags.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::time::Duration;

use semver::Version;
use serde::Serialize;

use crate::process::{git, GitError};
use crate::tag::TagTemplate;
use crate::version::release_version_of;

mod format;
mod loose;
mod packed;

use loose::{LooseReader, ObjectHead};

/// An opened repository with a work tree.
pub struct Repo {
    inner: gix::Repository,
    root: PathBuf,
    /// Reads pushed tags (loose objects) faster than gix; see [`loose`].
    loose: RefCell<LooseReader>,
}

/// One release of a service: a tag whose name renders from the template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Release {
    /// The tag name, without `refs/tags/`.
    pub tag: String,
    /// The version it names.
    pub version: Version,
}

/// A commit in a release's change list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommitSummary {
    /// Full hex id.
    pub id: String,
    /// First line of the message.
    pub subject: String,
    /// The whole message, for conventional-commit footers.
    #[serde(skip)]
    pub message: String,
    /// How many parents it has (2 or more: a merge), for the release notes.
    #[serde(skip)]
    pub parents: usize,
}

impl CommitSummary {
    /// Returns the 7-character abbreviation of the id.
    pub fn short_id(&self) -> &str {
        &self.id[..self.id.len().min(7)]
    }
}

/// What a tag ref points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagTarget {
    /// The object the ref names directly (the tag object for annotated tags).
    pub ref_target: gix::ObjectId,
    /// Whether the ref names a tag object (annotated) rather than the commit itself.
    pub annotated: bool,
    /// The object after peeling all tag objects.
    pub peeled: gix::ObjectId,
    /// The peeled object's kind.
    pub peeled_kind: gix::object::Kind,
}

/// Where HEAD is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadState {
    /// On a branch.
    Branch(String),
    /// Detached at a commit.
    Detached,
    /// The branch has no commit yet.
    Unborn,
}

/// The error returned by [`Repo`] operations.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    /// Not inside a git repository.
    #[error("{} is not inside a git repository; run git-release from your monorepo's checkout", .path.display())]
    NotARepository {
        /// Where we looked.
        path: PathBuf,
        /// Why gix could not open it.
        #[source]
        source: gix::Error,
    },
    /// A bare repository has no config file or work tree.
    #[error("{} is a bare repository; run git-release in a checkout with a work tree", .0.display())]
    Bare(PathBuf),
    /// A revision that does not resolve.
    #[error(
        "`{rev}` does not name a commit in this repository; check the spelling or run `git fetch`"
    )]
    UnknownRevision {
        /// The revision.
        rev: String,
    },
    /// A revision that resolves to something else than a commit.
    #[error("`{rev}` is a {kind}, not a commit; releases tag commits")]
    NotACommit {
        /// The revision.
        rev: String,
        /// What it is.
        kind: String,
    },
    /// The tag exists already.
    #[error("tag `{0}` already exists; release tags are never moved, choose the next version")]
    TagExists(String),
    /// No `user.name`/`user.email`.
    #[error("git does not know who you are, so it cannot sign the tag as tagger; run `git config user.name \"Your Name\"` and `git config user.email you@example.com`")]
    NoIdentity,
    /// A tag of a tag of a tag…, deeper than anyone peels.
    #[error("tag object {id} starts a chain of more than {limit} tags; tag the commit itself")]
    TagChainTooDeep {
        /// The first tag object.
        id: gix::ObjectId,
        /// How deep a chain is followed.
        limit: usize,
    },
    /// A tag object that does not start with its `object` and `type` lines.
    #[error("tag object {id} is damaged: it does not start with `object` and `type` lines; run `git fsck` and recreate the tag")]
    BadTagObject {
        /// The tag object.
        id: gix::ObjectId,
    },
    /// An object that is in the repository but cannot be read.
    #[error("object {id} is corrupt: it is in the repository but cannot be read; run `git fsck` to see the damage, then restore the object from another clone")]
    CorruptObject {
        /// The object.
        id: gix::ObjectId,
    },
    /// Refs kept in a storage format git-release cannot read (reftable).
    #[error("this repository stores refs in {format} (extensions.refStorage), which git-release cannot read; it refuses to run rather than see no releases and let any version through")]
    UnsupportedRefStorage {
        /// The configured format, as written.
        format: String,
    },
    /// Objects named with a hash git-release cannot read (SHA-256).
    #[error("this repository names objects with {format} (extensions.objectFormat), which git-release cannot read; it refuses to run rather than misread tags")]
    UnsupportedObjectFormat {
        /// The configured format, as written.
        format: String,
    },
    /// A repository extension git-release does not know, in a version-1 repository.
    #[error("this repository uses the git extension `extensions.{name}`, which git-release does not understand; it refuses to run rather than misread the repository")]
    UnsupportedExtension {
        /// The extension's name.
        name: String,
    },
    /// A `core.repositoryFormatVersion` other than 0 or 1.
    #[error("this repository has format version `{version}` (core.repositoryFormatVersion), which git-release does not understand")]
    UnsupportedFormatVersion {
        /// The version, as written.
        version: String,
    },
    /// A commit was needed but the current branch has none yet.
    #[error("the current branch has no commits yet; commit the service first")]
    Unborn,
    /// Reading or writing through gix failed.
    #[error("{what}: {source}")]
    Git {
        /// What we were doing.
        what: String,
        /// The cause.
        #[source]
        source: gix::Error,
    },
    /// Running the git binary failed.
    #[error(transparent)]
    Command(#[from] GitError),
}

impl RepoError {
    /// Returns what the user can do about the error, when there is more to say than the
    /// message does.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            RepoError::UnsupportedRefStorage { .. } => Some(
                "convert the refs with `git refs migrate --ref-format=files` (git 2.46 or later), or release from a clone made with `git clone --ref-format=files`",
            ),
            RepoError::UnsupportedObjectFormat { .. } => Some(
                "release from a SHA-1 repository; git cannot convert an existing repository between object formats",
            ),
            RepoError::UnsupportedExtension { .. } | RepoError::UnsupportedFormatVersion { .. } => {
                Some("run `git config --local --list` to see the repository's format; use plain git for this repository")
            }
            _ => None,
        }
    }
}

fn gix_err(what: impl Into<String>) -> impl FnOnce(gix::Error) -> RepoError {
    let what = what.into();
    move |source| RepoError::Git { what, source }
}

impl Repo {
    /// Opens the repository containing `dir`, as git would find it: `GIT_DIR` and
    /// `GIT_WORK_TREE` when set, else the nearest `.git` directory or gitfile above `dir`
    /// (linked worktrees included).
    ///
    /// A repository whose format git-release cannot fully read (reftable refs, SHA-256
    /// objects, unknown extensions) is refused here, before any command or the hook reads
    /// a part of it and takes the rest to be empty.
    pub fn discover(dir: &Path) -> Result<Repo, RepoError> {
        let inner = match gix::discover_with_environment_overrides(dir) {
            Ok(inner) => inner,
            Err(source) => {
                // gix refuses some formats itself (SHA-256 without its feature): say so
                // rather than "not a repository".
                format::check_near(dir)?;
                return Err(RepoError::NotARepository {
                    path: dir.to_path_buf(),
                    source,
                });
            }
        };
        format::check(inner.common_dir())?;
        let root = inner
            .workdir()
            .map(Path::to_path_buf)
            .ok_or_else(|| RepoError::Bare(inner.git_dir().to_path_buf()))?;
        let loose = RefCell::new(LooseReader::new(
            inner.objects.store_ref().path().to_path_buf(),
        ));
        Ok(Repo { inner, root, loose })
    }

    /// Returns the work tree's root, where `git-release.toml` lives.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Returns this work tree's git directory (`.git`, or `.git/worktrees/<name>`).
    pub fn git_dir(&self) -> &Path {
        self.inner.git_dir()
    }

    /// Returns the directory git reads hooks from: `core.hooksPath` (relative to the work
    /// tree) if set, else the common git dir's `hooks/`, shared by linked worktrees.
    pub fn hooks_dir(&self) -> PathBuf {
        let configured = self
            .inner
            .config_snapshot()
            .trusted_path("core.hooksPath")
            .ok()
            .flatten();
        match configured {
            Some(path) if path.is_absolute() => path,
            Some(path) => self.root.join(path),
            None => self.inner.common_dir().join("hooks"),
        }
    }

    /// Returns every release of `service`, sorted by version: the annotated tags of commits
    /// whose names render from the template with a valid version.
    ///
    /// A lightweight tag or a tag of a tree or blob with a release's name breaks the
    /// release rules (the hook refuses to push one) and is no release: counting it would
    /// let `next` propose a version after a tag nobody released, or `deploy` pin it.
    pub fn releases(
        &self,
        template: &TagTemplate,
        service: &str,
    ) -> Result<Vec<Release>, RepoError> {
        let mut releases = self.release_names(template, service)?;
        let mut kept = Vec::with_capacity(releases.len());
        for release in releases.drain(..) {
            if self.is_release_tag(&release.tag)? {
                kept.push(release);
            }
        }
        Ok(kept)
    }

    /// Returns whether tag `name` is shaped as a release must be: an annotated tag whose
    /// chain of tag objects ends at a commit.
    pub fn is_release_tag(&self, name: &str) -> Result<bool, RepoError> {
        Ok(self
            .tag_target(name)?
            .is_some_and(|t| t.annotated && t.peeled_kind == gix::object::Kind::Commit))
    }

    /// Returns the tags of `service` whose names are releases', sorted by version, without
    /// looking at what they point at.
    fn release_names(
        &self,
        template: &TagTemplate,
        service: &str,
    ) -> Result<Vec<Release>, RepoError> {
        let prefix = template.prefix(service);
        let mut releases = Vec::new();
        self.scan_releases(template, service, |text, version| {
            releases.push(Release {
                // Never lossy: a version that parsed is valid UTF-8.
                tag: format!(
                    "{prefix}{}{}",
                    String::from_utf8_lossy(text),
                    template.suffix()
                ),
                version,
            });
        })?;
        releases.sort_by(|a, b| a.version.cmp(&b.version));
        Ok(releases)
    }

    /// Calls `visit(version_text, version)` for every release of `service`, in no
    /// particular order.
    pub fn scan_releases(
        &self,
        template: &TagTemplate,
        service: &str,
        visit: impl FnMut(&[u8], Version),
    ) -> Result<(), RepoError> {
        self.tag_names()?.scan_releases(template, service, visit)
    }

    /// Reads the names of the repository's tags once, for scanning many services.
    ///
    /// Loose tags are listed from `refs/tags` by name only (release tags never contain
    /// `/`); packed tags stay in gix's packed-refs buffer and are found by binary search.
    /// The hook checks up to hundreds of services per push, and listing the directory and
    /// re-checking packed-refs for each of them cost more than the scan itself.
    pub fn tag_names(&self) -> Result<TagNames, RepoError> {
        let dir = self.inner.common_dir().join("refs/tags");
        let mut loose: Vec<String> = match std::fs::read_dir(&dir) {
            Ok(entries) => entries
                .filter_map(Result::ok)
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|name| !name.ends_with(".lock"))
                .map(|name| format!("refs/tags/{name}"))
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => {
                return Err(RepoError::Git {
                    what: format!("cannot list {}", dir.display()),
                    source: gix::Error::from_error(e),
                })
            }
        };
        loose.sort_unstable();
        let packed = self
            .inner
            .refs
            .cached_packed_buffer()
            .map_err(gix_err("cannot read packed-refs"))?;
        Ok(TagNames {
            loose,
            packed,
            hex_len: self.inner.object_hash().len_in_hex(),
        })
    }

    /// Returns the highest release of `service` by semver precedence (see [`Repo::releases`]
    /// for what counts); only the tags above it are looked at beyond their names.
    pub fn latest_release(
        &self,
        template: &TagTemplate,
        service: &str,
    ) -> Result<Option<Release>, RepoError> {
        let mut names = self.release_names(template, service)?;
        while let Some(release) = names.pop() {
            if self.is_release_tag(&release.tag)? {
                return Ok(Some(release));
            }
        }
        Ok(None)
    }

    /// Resolves `rev` to a commit id.
    pub fn resolve_commit(&self, rev: &str) -> Result<gix::ObjectId, RepoError> {
        let unknown = || RepoError::UnknownRevision {
            rev: rev.to_string(),
        };
        if rev.starts_with('-') {
            return Err(unknown());
        }
        let id = match self.inner.rev_parse_single(rev) {
            Ok(id) => id.detach(),
            Err(_) if rev == "HEAD" && self.head_state()? == HeadState::Unborn => {
                return Err(RepoError::Unborn)
            }
            Err(_) => return Err(unknown()),
        };
        // A damaged object is reported as such; anything else keeps meaning "no commit".
        let corrupt_or = |e: RepoError| match e {
            e @ RepoError::CorruptObject { .. } => e,
            _ => unknown(),
        };
        let object = self
            .inner
            .find_object(id)
            .map_err(|source| corrupt_or(self.unreadable(id, source)))?;
        let peeled = object.peel_tags_to_end().map_err(|_| {
            self.unreadable_in_chain(id)
                .map_or_else(unknown, corrupt_or)
        })?;
        if peeled.kind != gix::object::Kind::Commit {
            return Err(RepoError::NotACommit {
                rev: rev.to_string(),
                kind: peeled.kind.to_string(),
            });
        }
        Ok(peeled.id)
    }

    /// Returns what tag `name` points at, or `None` if there is no such tag.
    pub fn tag_target(&self, name: &str) -> Result<Option<TagTarget>, RepoError> {
        let full = format!("refs/tags/{name}");
        let Some(reference) = self
            .inner
            .try_find_reference(full.as_str())
            .map_err(gix_err(format!("cannot read tag {name}")))?
        else {
            return Ok(None);
        };
        let ref_target = reference
            .target()
            .try_id()
            .map(ToOwned::to_owned)
            .ok_or_else(|| RepoError::Git {
                what: format!("tag {name} is a symbolic reference"),
                source: gix::Error::from_error(std::io::Error::other("symbolic tag")),
            })?;
        self.object_target(ref_target).map(Some)
    }

    /// Describes object `id` as a tag would point at it (annotated or not, peeled kind).
    ///
    /// Only tag objects are decoded. The object a chain of tags ends at is looked up by
    /// its header: the hook learns that a tag names a commit without inflating the commit
    /// from its pack, which was a third of the object reading for a push of 100 tags
    /// (docs/benchmarks.md).
    pub fn object_target(&self, id: gix::ObjectId) -> Result<TagTarget, RepoError> {
        const MAX_TAG_CHAIN: usize = 16;
        let mut next = id;
        for _ in 0..MAX_TAG_CHAIN {
            let (target, kind) = match self.read_head(next)? {
                ObjectHead::Tag { target, kind } => (target, kind),
                // `id` itself (a lightweight tag), or what a tag's `type` line called a tag.
                ObjectHead::Other(kind) => {
                    return Ok(TagTarget {
                        ref_target: id,
                        annotated: next != id,
                        peeled: next,
                        peeled_kind: kind,
                    })
                }
            };
            if kind != gix::object::Kind::Tag {
                // The `type` line is not taken on trust: the object must be here.
                let kind = self
                    .inner
                    .find_header(target)
                    .map_err(|source| self.unreadable(target, source))?
                    .kind();
                if kind != gix::object::Kind::Tag {
                    return Ok(TagTarget {
                        ref_target: id,
                        annotated: true,
                        peeled: target,
                        peeled_kind: kind,
                    });
                }
            }
            next = target;
        }
        Err(RepoError::TagChainTooDeep {
            id,
            limit: MAX_TAG_CHAIN,
        })
    }

    /// Says why object `id` could not be read: it is missing, or it is there and damaged
    /// (then `git fetch` cannot help, and saying "missing" would send people the wrong way).
    fn unreadable(&self, id: gix::ObjectId, source: gix::Error) -> RepoError {
        if self.inner.has_object(id) {
            RepoError::CorruptObject { id }
        } else {
            RepoError::Git {
                what: format!("object {id} is not in this repository (run `git fetch`)"),
                source,
            }
        }
    }

    /// Finds the first object of the chain of tags starting at `id` that cannot be read.
    fn unreadable_in_chain(&self, id: gix::ObjectId) -> Option<RepoError> {
        self.object_target(id).err()
    }

    /// Reads what object `id` is and, for a tag object, what it names.
    fn read_head(&self, id: gix::ObjectId) -> Result<ObjectHead, RepoError> {
        if let Some(head) = self.loose.borrow_mut().read(&id) {
            return Ok(head);
        }
        let object = self
            .inner
            .find_object(id)
            .map_err(|source| self.unreadable(id, source))?;
        if object.kind != gix::object::Kind::Tag {
            return Ok(ObjectHead::Other(object.kind));
        }
        let (target, kind) =
            loose::tag_head(&object.data, id.kind()).ok_or(RepoError::BadTagObject { id })?;
        Ok(ObjectHead::Tag { target, kind })
    }

    /// Returns the date (`YYYY-MM-DD`, in the signer's time zone) of tag `name`: its
    /// tagger's for an annotated tag, else its commit's committer's; `None` if no such tag.
    pub fn tag_date(&self, name: &str) -> Result<Option<String>, RepoError> {
        let full = format!("refs/tags/{name}");
        // Ref names cannot contain glob characters, so the pattern matches literally; a
        // pattern also matches `refs/tags/<name>/…`, hence the exact comparison.
        let out = git(
            &self.root,
            &[
                "for-each-ref",
                "--format=%(refname)%00%(creatordate:short)",
                &full,
            ],
            None,
        )?;
        Ok(String::from_utf8_lossy(&out).lines().find_map(|line| {
            let (refname, date) = line.split_once('\0')?;
            (refname == full).then(|| date.to_string())
        }))
    }

    /// Creates annotated tag `name` on `commit`; refuses if the tag exists.
    pub fn create_annotated_tag(
        &self,
        name: &str,
        commit: gix::ObjectId,
        message: &str,
    ) -> Result<gix::ObjectId, RepoError> {
        // gix writes the tag object before it checks the ref, leaving a dangling object
        // on conflict (FACTS.md): check first.
        if self.tag_target(name)?.is_some() {
            return Err(RepoError::TagExists(name.to_string()));
        }
        let tagger = self.tagger()?;
        let mut message = message.trim_end().to_string();
        message.push('\n');
        let reference = self
            .inner
            .tag(
                name,
                commit,
                gix::object::Kind::Commit,
                Some(tagger.to_ref(&mut gix::date::parse::TimeBuf::default())),
                message,
                gix::refs::transaction::PreviousValue::MustNotExist,
            )
            .map_err(gix_err(format!("cannot create tag {name}")))?;
        Ok(reference.id().detach())
    }

    /// Returns the tagger identity, or [`RepoError::NoIdentity`].
    pub fn tagger(&self) -> Result<gix::actor::Signature, RepoError> {
        match self.inner.committer() {
            None => Err(RepoError::NoIdentity),
            Some(Err(e)) => Err(RepoError::Git {
                what: "cannot read the committer date".into(),
                source: e,
            }),
            Some(Ok(sig)) => sig
                .to_owned()
                .map_err(gix_err("cannot read the committer identity")),
        }
    }

    /// Returns where HEAD is.
    pub fn head_state(&self) -> Result<HeadState, RepoError> {
        let head = self.inner.head().map_err(gix_err("cannot read HEAD"))?;
        Ok(match head.kind {
            gix::head::Kind::Symbolic(r) => HeadState::Branch(r.name.shorten().to_string()),
            gix::head::Kind::Unborn(_) => HeadState::Unborn,
            gix::head::Kind::Detached { .. } => HeadState::Detached,
        })
    }

    /// Returns the operation in progress (rebase, merge, …), if any.
    pub fn operation_in_progress(&self) -> Option<String> {
        self.inner.state().map(|s| format!("{s:?}").to_lowercase())
    }

    /// Returns the committer time of commit `id` (seconds since the epoch).
    pub fn commit_time(&self, id: gix::ObjectId) -> Result<i64, RepoError> {
        let commit = self
            .inner
            .find_commit(id)
            .map_err(|e| self.unreadable(id, e))?;
        let time = commit
            .time()
            .map_err(gix_err(format!("cannot read the date of commit {id}")))?;
        Ok(time.seconds)
    }

    /// Returns the paths under `path` with uncommitted changes (tracked files only).
    pub fn dirty_paths(&self, path: &str) -> Result<Vec<String>, RepoError> {
        let pathspec = format!(":(literal){}", path.trim_matches('/'));
        let out = git(
            &self.root,
            &[
                "status",
                "--porcelain",
                "-z",
                "--untracked-files=no",
                "--",
                &pathspec,
            ],
            None,
        )?;
        Ok(out
            .split(|b| *b == 0)
            .filter(|entry| entry.len() > 3)
            .map(|entry| String::from_utf8_lossy(&entry[3..]).to_string())
            .collect())
    }

    /// Returns `(tag, object id)` for the remote's tags whose names start with `prefix`.
    pub fn remote_tags(
        &self,
        remote: &str,
        prefix: &str,
        timeout: Duration,
    ) -> Result<Vec<(String, String)>, RepoError> {
        let pattern = format!("refs/tags/{prefix}*");
        let out = git(
            &self.root,
            &["ls-remote", "--tags", "--refs", "--", remote, &pattern],
            Some(timeout),
        )?;
        Ok(String::from_utf8_lossy(&out)
            .lines()
            .filter_map(|line| {
                let (sha, name) = line.split_once('\t')?;
                Some((
                    name.strip_prefix("refs/tags/")?.to_string(),
                    sha.to_string(),
                ))
            })
            .collect())
    }

    /// Deletes tag `name` only if it still names `expected` (`git update-ref -d` with
    /// the old value, so a tag changed meanwhile is left alone).
    pub fn delete_tag_if(&self, name: &str, expected: gix::ObjectId) -> Result<(), RepoError> {
        let full = format!("refs/tags/{name}");
        git(
            &self.root,
            &["update-ref", "-d", &full, &expected.to_string()],
            None,
        )?;
        Ok(())
    }

    /// Pushes exactly one tag: `git push <remote> refs/tags/<tag>`.
    ///
    /// git's own output (and the remote's hook output) goes to our stderr so that
    /// `--json` keeps stdout clean.
    pub fn push_tag(&self, remote: &str, tag: &str) -> Result<(), RepoError> {
        let refspec = format!("refs/tags/{tag}:refs/tags/{tag}");
        let status = std::process::Command::new("git")
            .args(["push", "--", remote, &refspec])
            .current_dir(&self.root)
            .stdin(std::process::Stdio::null())
            .stdout(std::io::stderr())
            .status()
            .map_err(|source| GitError::Spawn {
                args: format!("push {remote} {refspec}"),
                source,
            })?;
        if !status.success() {
            return Err(GitError::Failed {
                args: format!("push {remote} {refspec}"),
                stderr: "see git's output above".into(),
            }
            .into());
        }
        Ok(())
    }
}

/// The names of a repository's tags, read once by [`Repo::tag_names`].
pub struct TagNames {
    /// Loose `refs/tags/*` names, sorted.
    loose: Vec<String>,
    /// packed-refs, when there is one.
    packed: Option<gix::refs::file::packed::SharedBufferSnapshot>,
    hex_len: usize,
}

impl TagNames {
    /// Returns what packed tag `name` peels to, from packed-refs' `^` line, without
    /// reading the tag object; `None` when the tag is loose, absent, or has no such line.
    pub fn packed_peeled(&self, name: &str) -> Option<gix::ObjectId> {
        let full = format!("refs/tags/{name}");
        if self.loose.binary_search(&full).is_ok() {
            return None;
        }
        let packed = self.packed.as_ref()?;
        let reference = packed.try_find(full.as_str()).ok()??;
        gix::ObjectId::from_hex(reference.object?).ok()
    }
    /// Calls `visit(version_text, version)` for every release of `service`, in no
    /// particular order. `version_text` is the tag name between the service's prefix and
    /// the template's suffix (valid UTF-8, as it parsed): the hook compares it with the
    /// pushed tags' without building or checking ten thousand tag names.
    pub fn scan_releases(
        &self,
        template: &TagTemplate,
        service: &str,
        mut visit: impl FnMut(&[u8], Version),
    ) -> Result<(), RepoError> {
        let prefix = format!("refs/tags/{}", template.prefix(service));
        let suffix = template.suffix().as_bytes();
        let mut consider = |name: &[u8]| {
            // The prefix also matches other services (`api-v2-v…` under `api-v`); their
            // tags fail the version parse.
            let Some(text) = name
                .strip_prefix(prefix.as_bytes())
                .and_then(|v| v.strip_suffix(suffix))
            else {
                return;
            };
            if let Some(version) = release_version_of(text) {
                visit(text, version);
            }
        };
        let first_loose = self
            .loose
            .partition_point(|name| name.as_str() < prefix.as_str());
        let loose = &self.loose[first_loose..];
        let loose = &loose[..loose.partition_point(|name| name.starts_with(prefix.as_str()))];
        for name in loose {
            consider(name.as_bytes());
        }
        let Some(packed) = &self.packed else {
            return Ok(());
        };
        let records: &[u8] = (**packed).as_ref();
        let start = packed::first_at_or_after(records, self.hex_len, prefix.as_bytes());
        for name in packed::names_with_prefix(&records[start..], self.hex_len, prefix.as_bytes()) {
            // A loose ref shadows its packed twin.
            if loose.binary_search_by(|l| l.as_bytes().cmp(name)).is_err() {
                consider(name);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::test_repo::TestRepo;

    /// Every way a tag can point, read from loose objects (the reader in `loose`) and
    /// again after `git repack` (gix), must give the same answers.
    #[test]
    fn tags_read_the_same_loose_and_packed() {
        let t = TestRepo::new();
        t.tag("a-v1.0.0");
        t.git(&["tag", "-a", "-m", "again", "b-v1.0.0", "a-v1.0.0"]);
        t.git(&["tag", "-a", "-m", "tree", "c-v1.0.0", "HEAD^{tree}"]);
        t.git(&["tag", "d-v1.0.0"]);
        let names = ["a-v1.0.0", "b-v1.0.0", "c-v1.0.0", "d-v1.0.0"];
        let read = |repo: &super::Repo| -> Vec<super::TagTarget> {
            names
                .iter()
                .map(|n| repo.tag_target(n).expect("read").expect("exists"))
                .collect()
        };
        let loose = read(&t.open());
        t.git(&["repack", "-adq"]);
        t.git(&["prune-packed"]);
        assert_eq!(read(&t.open()), loose);
        let kinds: Vec<_> = loose.iter().map(|l| (l.annotated, l.peeled_kind)).collect();
        use gix::object::Kind::{Commit, Tree};
        assert_eq!(
            kinds,
            [
                (true, Commit),
                (true, Commit),
                (true, Tree),
                (false, Commit)
            ]
        );
    }

    #[test]
    fn a_tag_object_without_its_object_line_is_reported_as_damaged() {
        let t = TestRepo::new();
        let path = t.path().join("body");
        std::fs::write(&path, "type commit\ntag x\n\nno object line\n").expect("write");
        let id = t.git(&[
            "hash-object",
            "-t",
            "tag",
            "--literally",
            "-w",
            path.to_str().expect("utf-8 path"),
        ]);
        // git refuses to point a ref at it, so the ref is written by hand.
        std::fs::write(t.path().join(".git/refs/tags/x-v1.0.0"), format!("{id}\n"))
            .expect("write ref");
        let err = t.open().tag_target("x-v1.0.0").expect_err("damaged");
        assert!(
            matches!(err, super::RepoError::BadTagObject { .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains(&id), "{err}");
    }

    #[test]
    fn releases_come_from_packed_and_loose_tags() {
        let t = TestRepo::new();
        for tag in [
            "api-v1.0.0",
            "api-v1.10.0",
            "api-v2-v9.0.0",
            "api-vnot-semver",
            "apx-v3.0.0",
        ] {
            t.git(&["tag", "-a", "-m", tag, tag]);
        }
        t.git(&["tag", "api-v1.2.0"]); // lightweight: named like one, but no release
        t.git(&["pack-refs", "--all"]);
        t.git(&["tag", "-a", "-m", "loose", "api-v1.9.0"]);
        let repo = t.open();
        let template = crate::tag::TagTemplate::parse("{service}-v{version}").expect("template");
        let tags: Vec<String> = repo
            .releases(&template, "api")
            .expect("releases")
            .into_iter()
            .map(|r| r.tag)
            .collect();
        assert_eq!(tags, ["api-v1.0.0", "api-v1.9.0", "api-v1.10.0"]);
        // The hook's scan reads names only (docs/hook.md, rule `newer`).
        let mut names = Vec::new();
        repo.scan_releases(&template, "api", |text, _| {
            names.push(String::from_utf8_lossy(text).into_owned())
        })
        .expect("scan");
        names.sort();
        assert_eq!(names, ["1.0.0", "1.10.0", "1.2.0", "1.9.0"]);
    }
}
