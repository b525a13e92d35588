//! A throwaway repository driven by the git binary, for the unit tests that need a real
//! one (the end-to-end suite in `tests/` has its own, with remotes and hooks).

use std::path::Path;
use std::process::Command;

use crate::repo::Repo;

pub(crate) struct TestRepo {
    dir: tempfile::TempDir,
}

impl TestRepo {
    /// A repository on branch `main` with one empty commit.
    pub(crate) fn new() -> TestRepo {
        let repo = TestRepo {
            dir: tempfile::tempdir().expect("tempdir"),
        };
        repo.git(&["init", "-q", "-b", "main"]);
        repo.git(&["commit", "-q", "--allow-empty", "-m", "init"]);
        repo
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs git with fixed identities and no user or system config; returns its stdout.
    pub(crate) fn git(&self, args: &[&str]) -> String {
        let out = Command::new("git")
            .args(args)
            .current_dir(self.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_AUTHOR_NAME", "A")
            .env("GIT_AUTHOR_EMAIL", "a@example.com")
            .env("GIT_COMMITTER_NAME", "C")
            .env("GIT_COMMITTER_EMAIL", "c@example.com")
            .output()
            .expect("run git");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Creates annotated tag `name` on HEAD.
    pub(crate) fn tag(&self, name: &str) {
        self.git(&["tag", "-a", "-m", name, name]);
    }

    pub(crate) fn open(&self) -> Repo {
        Repo::discover(self.path()).expect("open")
    }
}
