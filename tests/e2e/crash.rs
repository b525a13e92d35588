//! Nothing panics: every subcommand with its stdout closed by the reader, closed outright,
//! and on a full disk (`/dev/full`). A panic shows as exit 101 and "panicked" on stderr;
//! neither may appear. A reader that went away is no failure (the command's own outcome
//! stands); a full disk is an ordinary error: exit 5 and one `error:` line.

use std::path::Path;
use std::process::{Command, Stdio};

use monorel_e2e::{binary, config_none, released_with_stg, Monorepo, Run, TestEnv};

const SERVICES: &[&str] = &["service-a", "service-b"];

/// A monorepo with a release of service-a, a commit after it, and a `stg` environment.
fn setup(env: &TestEnv) -> Monorepo {
    released_with_stg(env, SERVICES, "feat: more")
}

/// One invocation per subcommand (and clap's own output), each of which prints to stdout
/// when it succeeds. Kept equal to the subcommand list by `every_subcommand_is_covered`.
fn invocations(repo: &Monorepo) -> Vec<(&'static str, Vec<String>)> {
    let url = repo.url.clone();
    let all: Vec<(&'static str, Vec<&str>)> = vec![
        ("check", vec!["check", "service-a-v1.0.0"]),
        ("completions", vec!["completions", "bash"]),
        ("deploy", vec!["deploy", "service-a", "--env", "stg"]),
        ("doctor", vec!["doctor"]),
        ("help", vec!["help"]),
        ("hook", vec!["hook", "pre-push", "origin", &url]),
        ("init", vec!["init", "--force"]),
        ("install", vec!["install"]),
        ("list", vec!["list"]),
        ("man", vec!["man"]),
        ("next", vec!["next", "service-a", "--offline"]),
        ("notes", vec!["notes", "service-a"]),
        (
            "notes --json",
            vec!["notes", "service-a", "--format", "json"],
        ),
        ("promote", vec!["promote", "service-a-v1.0.0"]),
        (
            "release",
            vec![
                "release",
                "service-a",
                "--bump",
                "minor",
                "--yes",
                "--dry-run",
            ],
        ),
        ("status", vec!["status"]),
        ("uninstall", vec!["uninstall"]),
        ("--help", vec!["--help"]),
        ("--version", vec!["--version"]),
        ("list --json", vec!["list", "--json"]),
        (
            "next --json",
            vec!["next", "service-a", "--offline", "--json"],
        ),
    ];
    all.into_iter()
        .map(|(name, args)| (name, args.into_iter().map(String::from).collect()))
        .collect()
}

/// How stdout is set up for one run.
#[derive(Debug, Clone, Copy)]
enum Stdout {
    /// Captured: the baseline.
    Captured,
    /// A pipe whose reader is gone before the command starts (`| true`, `| head -1`).
    ReaderGone,
    /// No stdout at all (`>&-`).
    Closed,
    /// `/dev/full`: every write fails with ENOSPC.
    Full,
}

fn run(env: &TestEnv, dir: &Path, args: &[String], stdout: Stdout) -> Run {
    let mut cmd = match stdout {
        Stdout::Closed => {
            let mut cmd = env.command("sh", dir);
            cmd.arg("-c")
                .arg(r#"exec "$0" "$@" >&-"#)
                .arg(binary())
                .args(args);
            cmd
        }
        _ => {
            let mut cmd = env.command(binary(), dir);
            cmd.args(args);
            cmd
        }
    };
    match stdout {
        Stdout::Captured | Stdout::Closed => {
            cmd.stdout(Stdio::piped());
        }
        Stdout::ReaderGone => {
            // The write end of a pipe whose only reader has already exited: the command's
            // first write fails with EPIPE, every time, with no race.
            let mut reader = Command::new("true")
                .stdin(Stdio::piped())
                .spawn()
                .expect("spawn true");
            let write_end = reader.stdin.take().expect("pipe");
            reader.wait().expect("wait for true");
            cmd.stdout(Stdio::from(write_end));
        }
        Stdout::Full => {
            let full = std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/full")
                .expect("open /dev/full");
            cmd.stdout(Stdio::from(full));
        }
    }
    Run::from(cmd.output().expect("run git-release"))
}

#[track_caller]
fn no_panic(name: &str, mode: Stdout, run: &Run) {
    assert_ne!(
        run.code, 101,
        "`{name}` with stdout {mode:?} exited 101:\n{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("panicked"),
        "`{name}` with stdout {mode:?} panicked:\n{}",
        run.stderr
    );
}

#[test]
fn every_subcommand_is_covered() {
    let env = TestEnv::new();
    let repo = setup(&env);
    let covered: Vec<&str> = invocations(&repo).into_iter().map(|(n, _)| n).collect();
    for name in monorel_core::config::RESERVED_NAMES {
        assert!(covered.contains(name), "no crash test runs `{name}`");
    }
}

#[test]
fn no_subcommand_panics_when_stdout_fails() {
    let names: Vec<&str> = invocations(&setup(&TestEnv::new()))
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    for name in names {
        let fresh = || {
            let env = TestEnv::new();
            let repo = setup(&env);
            let (_, args) = invocations(&repo)
                .into_iter()
                .find(|(n, _)| *n == name)
                .expect("same invocations");
            (env, repo, args)
        };
        let (env, repo, args) = fresh();
        let baseline = run(&env, &repo.work, &args, Stdout::Captured);
        no_panic(name, Stdout::Captured, &baseline);
        // The hook talks on stderr only (git shows it to the user); promote needs a
        // registry (its own test below); all others print.
        assert!(
            matches!(name, "hook" | "promote") || !baseline.stdout.is_empty(),
            "`{name}` printed nothing, so it tests nothing:\n{}",
            baseline.stderr
        );
        // Commands that change the repository get a fresh one for every run.
        let changes_files = matches!(name, "init" | "install" | "uninstall" | "deploy");
        for mode in [Stdout::ReaderGone, Stdout::Closed, Stdout::Full] {
            let fresh_one;
            let (env, repo) = if changes_files {
                fresh_one = fresh();
                (&fresh_one.0, &fresh_one.1)
            } else {
                (&env, &repo)
            };
            let out = run(env, &repo.work, &args, mode);
            no_panic(name, mode, &out);
            match mode {
                Stdout::Full if baseline.code == 0 && !baseline.stdout.is_empty() => {
                    assert_eq!(out.code, 5, "`{name}` on /dev/full:\n{}", out.stderr);
                    let errors = out.error_lines();
                    assert_eq!(errors.len(), 1, "`{name}`:\n{}", out.stderr);
                    assert!(
                        errors[0].contains("cannot write to standard output")
                            && errors[0].contains("No space left on device"),
                        "`{name}`:\n{}",
                        out.stderr
                    );
                }
                // A reader that went away (or a failure that happens anyway) must not
                // change how the command ends.
                _ => assert_eq!(
                    out.code, baseline.code,
                    "`{name}` with stdout {mode:?} must end as it does with a reader:\n{}",
                    out.stderr
                ),
            }
        }
    }
}

#[test]
fn promote_does_not_panic_when_stdout_fails() {
    let moto = monorel_e2e::moto::Moto::start();
    let mut env = TestEnv::new();
    for (k, v) in moto.env() {
        env.set_env(k, &v);
    }
    let mut config = String::from("[registry]\nregion = \"us-east-1\"\n");
    for s in SERVICES {
        config.push_str(&format!("\n[services.{s}]\npath = \"services/{s}\"\n"));
    }
    let repo = env.monorepo("mono", &config, SERVICES);
    let sha = env.git(&repo.work, &["rev-parse", "HEAD"]);
    moto.create_repositories(&["service-a-image"], false);
    moto.put_image(
        "service-a-image",
        &sha,
        &monorel_e2e::moto::docker_manifest("crash"),
    );
    env.git(
        &repo.work,
        &["tag", "-a", "-m", "release", "service-a-v1.0.0"],
    );
    for args in [
        vec!["promote".to_string(), "service-a-v1.0.0".to_string()],
        vec![
            "promote".to_string(),
            "service-a-v1.0.0".to_string(),
            "--json".to_string(),
        ],
    ] {
        let baseline = run(&env, &repo.work, &args, Stdout::Captured).expect_code(0);
        assert!(!baseline.stdout.is_empty(), "{}", baseline.stderr);
        for mode in [Stdout::ReaderGone, Stdout::Closed] {
            let out = run(&env, &repo.work, &args, mode);
            no_panic("promote", mode, &out);
            assert_eq!(out.code, 0, "{mode:?}:\n{}", out.stderr);
        }
        let out = run(&env, &repo.work, &args, Stdout::Full);
        no_panic("promote", Stdout::Full, &out);
        assert_eq!(out.code, 5, "/dev/full:\n{}", out.stderr);
        assert_eq!(out.error_lines().len(), 1, "{}", out.stderr);
    }
}

#[test]
fn stderr_closed_by_its_reader_does_not_panic_either() {
    let env = TestEnv::new();
    let repo = setup(&env);
    // An unknown service: the error goes to stderr, whose reader is gone.
    let mut reader = Command::new("true")
        .stdin(Stdio::piped())
        .spawn()
        .expect("spawn true");
    let write_end = reader.stdin.take().expect("pipe");
    reader.wait().expect("wait for true");
    let out = env
        .command(binary(), &repo.work)
        .args(["next", "no-such-service", "--offline"])
        .stdout(Stdio::piped())
        .stderr(Stdio::from(write_end))
        .output()
        .expect("run");
    assert_ne!(out.status.code(), Some(101));
    assert_eq!(out.status.code(), Some(1), "an unknown service is refused");
}

#[test]
fn absurd_numbers_in_the_config_are_refused_at_load_with_their_range() {
    for (table, line, key, range) in [
        (
            "defaults",
            "remote-timeout-seconds = 9223372036854775807",
            "defaults.remote-timeout-seconds",
            "use 1 to 3600 seconds",
        ),
        (
            "defaults",
            "remote-timeout-seconds = 0",
            "defaults.remote-timeout-seconds",
            "use 1 to 3600 seconds",
        ),
        (
            "registry",
            "timeout-seconds = 0",
            "registry.timeout-seconds",
            "use 1 to 3600 seconds",
        ),
        (
            "registry",
            "connect-timeout-seconds = 86400",
            "registry.connect-timeout-seconds",
            "use 1 to 600 seconds",
        ),
    ] {
        let env = TestEnv::new();
        let config = match table {
            "registry" => {
                config_none(SERVICES).replacen("[registry]\n", &format!("[registry]\n{line}\n"), 1)
            }
            _ => format!("[{table}]\n{line}\n\n{}", config_none(SERVICES)),
        };
        let repo = env.monorepo("mono", &config, SERVICES);
        let run = env.run(&repo.work, &["next", "service-a"]);
        no_panic(key, Stdout::Captured, &run);
        assert_eq!(run.code, 3, "{line}:\n{}", run.stderr);
        assert!(
            run.stderr.contains(key) && run.stderr.contains(range),
            "{line}:\n{}",
            run.stderr
        );
    }
}

#[test]
fn a_bump_past_the_integer_limit_is_an_error() {
    let env = TestEnv::new();
    let repo = env.monorepo("mono", &config_none(SERVICES), SERVICES);
    let max = u64::MAX;
    for (tag, bump) in [
        (format!("service-a-v{max}.0.0"), "major"),
        (format!("service-b-v1.{max}.0"), "minor"),
    ] {
        env.git(&repo.work, &["tag", "-a", "-m", "at the limit", &tag]);
        let service = &tag[..9];
        let run = env.run(&repo.work, &["next", service, "--offline", "--bump", bump]);
        no_panic(&tag, Stdout::Captured, &run);
        assert_eq!(run.code, 1, "{tag}:\n{}", run.stderr);
        assert!(
            run.stderr.contains("cannot be bumped") && run.stderr.contains(&max.to_string()),
            "{tag}:\n{}",
            run.stderr
        );
    }
}

/// Kills the recorded processes when dropped, so a failing test leaves nothing behind.
struct Reaper(Vec<u32>);

impl Drop for Reaper {
    fn drop(&mut self) {
        for pid in &self.0 {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
    }
}

/// Whether `pid` still runs (a zombie waiting for its parent does not).
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name in parentheses.
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z') && !rest.starts_with('X')),
        Err(_) => false,
    }
}

#[test]
fn a_remote_that_times_out_leaves_no_process_behind() {
    let mut env = TestEnv::new();
    let config = format!(
        "[defaults]\nremote-timeout-seconds = 1\n\n{}",
        config_none(SERVICES)
    );
    let repo = env.monorepo("mono", &config, SERVICES);
    env.git(
        &repo.work,
        &[
            "remote",
            "set-url",
            "origin",
            "ssh://git@example.invalid/mono.git",
        ],
    );
    // An ssh that never answers and started a child of its own: git's transport helper.
    let pids = env.path().join("pids");
    let ssh = env.path().join("fake-ssh");
    std::fs::write(
        &ssh,
        format!(
            "#!/bin/sh\nsleep 1000 &\necho $! >> '{0}'\necho $$ >> '{0}'\nwait\n",
            pids.display()
        ),
    )
    .expect("write fake ssh");
    std::fs::set_permissions(&ssh, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    env.set_env("GIT_SSH_COMMAND", ssh.to_str().expect("utf-8"));

    let started = std::time::Instant::now();
    let run = env.run(&repo.work, &["next", "service-a", "--json"]);
    no_panic("next", Stdout::Captured, &run);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "the timeout of 1 s was not kept: {:?}",
        started.elapsed()
    );
    let recorded: Vec<u32> = std::fs::read_to_string(&pids)
        .expect("the fake ssh ran")
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    assert_eq!(recorded.len(), 2, "sleep and the fake ssh");
    let _reaper = Reaper(recorded.clone());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    while recorded.iter().any(|pid| alive(*pid)) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let left: Vec<u32> = recorded.into_iter().filter(|pid| alive(*pid)).collect();
    assert!(
        left.is_empty(),
        "processes started for the remote outlived the timeout: {left:?}\n{}",
        run.stderr
    );
}
