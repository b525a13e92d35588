//! `install.sh` and the shell scripts: shellcheck, a real `cargo install` into a temporary
//! prefix (with the demo), and the messages when cargo or git is missing.

use std::path::{Path, PathBuf};

use monorel_e2e::{config_none, Run, TestEnv};

fn checkout() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

#[test]
fn shell_scripts_pass_shellcheck() {
    let found = std::process::Command::new("shellcheck")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "shellcheck is missing: install shellcheck (apt-get install shellcheck)"
        );
        eprintln!("skipped: shellcheck is not installed (apt-get install shellcheck)");
        return;
    }
    let root = checkout();
    let out = std::process::Command::new("shellcheck")
        .args(["--shell=sh", "install.sh", "hooks/pre-push"])
        .current_dir(&root)
        .output()
        .expect("run shellcheck");
    assert!(
        out.status.success(),
        "shellcheck:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Runs `sh install.sh args…` in `cwd` with the test environment plus what cargo needs.
fn install_sh(env: &TestEnv, cwd: &Path, args: &[&str]) -> Run {
    let root = checkout();
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let mut cmd = env.command("sh", cwd);
    cmd.arg(root.join("install.sh"))
        .args(args)
        .env("CI", "true");
    // The real toolchain and crate cache (the test HOME is empty), and the workspace's
    // target dir so the build reuses what `cargo build` already compiled.
    let cargo_home = std::env::var("CARGO_HOME").unwrap_or_else(|_| format!("{home}/.cargo"));
    let rustup_home = std::env::var("RUSTUP_HOME").unwrap_or_else(|_| format!("{home}/.rustup"));
    let target = std::env::var("CARGO_TARGET_DIR")
        .unwrap_or_else(|_| root.join("target").display().to_string());
    // cargo's own bin dir goes last: the hermetic PATH leaves it out when a git-release
    // is installed there, and the binary under test must still come first.
    let path = format!("{}:{cargo_home}/bin", env.path_var());
    cmd.env("CARGO_HOME", cargo_home)
        .env("RUSTUP_HOME", rustup_home)
        .env("CARGO_TARGET_DIR", target)
        .env("PATH", path);
    for var in ["RUSTUP_TOOLCHAIN", "CARGO_NET_OFFLINE"] {
        if let Ok(value) = std::env::var(var) {
            cmd.env(var, value);
        }
    }
    Run::from(cmd.output().expect("run install.sh"))
}

#[test]
fn install_sh_into_a_temp_prefix_installs_the_hook_and_runs_the_demo() {
    let env = TestEnv::new();
    let repo = env.monorepo(
        "mono",
        &config_none(&["service-a", "service-b"]),
        &["service-a", "service-b"],
    );
    let prefix = env.path().join("prefix");
    let prefix_arg = prefix.to_str().expect("utf-8");

    let run = install_sh(&env, &repo.work, &["--prefix", prefix_arg, "--debug"]);
    assert_eq!(run.code, 0, "install.sh failed:\n{}", run.stderr);
    let binary = prefix.join("bin/git-release");
    assert!(binary.is_file(), "{} was not installed", binary.display());
    // `git release --help` opens git-release(1): the man page sits beside the binary.
    let man = std::fs::read_to_string(prefix.join("share/man/man1/git-release.1"))
        .expect("the man page was installed");
    assert!(
        man.starts_with(".ie \\n(.g .ds Aq") || man.contains(".TH git-release"),
        "{man}"
    );
    let version = env
        .command(&binary, env.path())
        .arg("--version")
        .output()
        .expect("run the installed binary");
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("git-release "));
    assert!(
        run.stderr
            .contains(&format!("export PATH=\"{}/bin:$PATH\"", prefix.display())),
        "the exact PATH line: {}",
        run.stderr
    );
    let hook = repo.work.join(".git/hooks/pre-push");
    let installed = std::fs::read_to_string(&hook).expect("hook installed by install.sh");
    assert!(installed.contains("managed by `git release install`"));

    // Again, with the demo: idempotent, and the demo shows a release and a refusal.
    let run = install_sh(
        &env,
        &repo.work,
        &["--prefix", prefix_arg, "--debug", "--demo"],
    );
    assert_eq!(
        run.code, 0,
        "install.sh --demo failed:\nstdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    assert!(run.stdout.contains("already installed"), "{}", run.stdout);
    assert_eq!(std::fs::read_to_string(&hook).expect("hook"), installed);
    assert!(
        run.stdout
            .contains("$ git release service-a --bump minor --push"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("pushed service-a-v0.1.0 to origin"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("✗ [naming] `servce-a-v0.2.0`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout.contains("refs/tags/service-a-v0.1.0"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("refs/tags/servce-a"), "{}", run.stdout);
}

/// A directory with symlinks to just `tools` (so `cargo` or `git` can be left out).
fn only_tools(env: &TestEnv, name: &str, tools: &[&str]) -> String {
    let dir = env.path().join(name);
    std::fs::create_dir_all(&dir).expect("dir");
    for tool in tools {
        let real = std::process::Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .expect("command -v");
        let real = String::from_utf8_lossy(&real.stdout).trim().to_string();
        assert!(!real.is_empty(), "{tool} is needed by this test");
        std::os::unix::fs::symlink(real, dir.join(tool)).expect("symlink");
    }
    dir.display().to_string()
}

#[test]
fn install_sh_says_when_cargo_or_git_is_missing() {
    let env = TestEnv::new();
    let root = checkout();
    let script = root.join("install.sh");
    let run_with_path = |path: &str| {
        Run::from(
            env.command("/bin/sh", env.path())
                .arg(&script)
                .env("PATH", path)
                .output()
                .expect("run install.sh"),
        )
    };
    let no_cargo = only_tools(&env, "no-cargo", &["dirname", "git"]);
    let run = run_with_path(&no_cargo);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("error: cargo is not installed"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("https://rustup.rs"), "{}", run.stderr);

    let no_git = only_tools(&env, "no-git", &["dirname", "cargo"]);
    let run = run_with_path(&no_git);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("error: git is not installed"),
        "{}",
        run.stderr
    );

    let run = Run::from(
        env.command("/bin/sh", env.path())
            .args([script.to_str().expect("utf-8"), "--frobnicate"])
            .output()
            .expect("run install.sh"),
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("unknown option '--frobnicate'"),
        "{}",
        run.stderr
    );
}
