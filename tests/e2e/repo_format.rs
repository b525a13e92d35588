//! Every repository git itself accepts: reftable refs and SHA-256 objects are refused up
//! front by every command and by the real pre-push hook (a view of the refs that came back
//! empty would let a downgrade through), and the repository is found as git finds it:
//! `GIT_DIR`, `git --git-dir`, `GIT_WORK_TREE`, gitfiles, linked worktrees, an unborn
//! branch and subdirectories.

use std::path::{Path, PathBuf};

use monorel_e2e::{config_none, remote_tags, Monorepo, Run, TestEnv};

const SERVICES: &[&str] = &["service-a", "service-b"];

/// Writes the config and service directories into `work` and commits them.
fn populate(env: &TestEnv, work: &Path) {
    std::fs::write(work.join("git-release.toml"), config_none(SERVICES)).expect("config");
    for service in SERVICES {
        let dir = work.join("services").join(service);
        std::fs::create_dir_all(&dir).expect("service dir");
        std::fs::write(
            dir.join("Dockerfile"),
            format!("FROM scratch # {service}\n"),
        )
        .expect("Dockerfile");
    }
    env.git(work, &["add", "-A"]);
    env.git(work, &["commit", "-q", "-m", "chore: initial import"]);
}

/// A repository made by `git init <init_args>` at `<env>/<name>`, populated, with an
/// annotated release `service-a-v1.0.0`.
fn repo_with(env: &TestEnv, name: &str, init_args: &[&str]) -> PathBuf {
    let work = env.path().join(name);
    std::fs::create_dir_all(&work).expect("work dir");
    let mut args = vec!["init", "-q", "-b", "main"];
    args.extend_from_slice(init_args);
    env.git(&work, &args);
    populate(env, &work);
    env.git(&work, &["tag", "-a", "-m", "release", "service-a-v1.0.0"]);
    work
}

/// Every command that reads the repository, with arguments that would otherwise work.
fn repository_commands() -> Vec<Vec<&'static str>> {
    vec![
        vec!["list"],
        vec!["list", "--json"],
        vec!["next", "service-a", "--offline"],
        vec!["status"],
        vec!["check", "service-a-v1.0.0"],
        vec![
            "release",
            "service-a",
            "--bump",
            "patch",
            "--yes",
            "--dry-run",
        ],
        vec!["service-a", "--bump", "patch", "--yes"],
        vec!["promote", "service-a-v1.0.0"],
        vec!["deploy", "service-a", "--env", "stg"],
        vec!["doctor"],
        vec!["install"],
        vec!["uninstall"],
        vec!["init", "--force"],
        vec!["hook", "pre-push", "origin", "file:///nowhere"],
    ]
}

/// Runs `git-release args…` with the pre-push line git writes for a pushed tag on stdin
/// (only the hook reads it).
fn run_with_a_pushed_tag(env: &TestEnv, work: &Path, args: &[&str]) -> Run {
    use std::io::Write;
    let tag = env.git(work, &["rev-parse", "service-a-v1.0.0"]);
    let zero = "0".repeat(tag.len());
    let line = format!("refs/tags/service-a-v1.0.0 {tag} refs/tags/service-a-v1.0.0 {zero}\n");
    let mut child = env
        .command(monorel_e2e::binary(), work)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(line.as_bytes());
    }
    Run::from(child.wait_with_output().expect("wait"))
}

#[track_caller]
fn refused_up_front(run: &Run, args: &[&str], what: &str, hint: &str) {
    assert_eq!(
        run.code, 5,
        "`{args:?}` must be refused:\nstdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    let errors = run.error_lines();
    assert!(
        errors.first().is_some_and(|e| e.contains(what)),
        "`{args:?}`: expected an error about {what}:\n{}",
        run.stderr
    );
    assert!(
        run.stderr
            .lines()
            .any(|l| l.starts_with("hint:") && l.contains(hint)),
        "`{args:?}`: expected a hint with {hint}:\n{}",
        run.stderr
    );
    assert!(run.stdout.is_empty(), "`{args:?}` printed:\n{}", run.stdout);
}

#[test]
fn a_reftable_repository_is_refused_by_every_command() {
    let env = TestEnv::new();
    let work = repo_with(&env, "rt", &["--ref-format=reftable"]);
    for args in repository_commands() {
        let run = run_with_a_pushed_tag(&env, &work, &args);
        refused_up_front(
            &run,
            &args,
            "this repository stores refs in reftable",
            "git refs migrate --ref-format=files",
        );
    }
    // Nothing was written: no tag, no hook, the config untouched.
    assert_eq!(env.git(&work, &["tag", "-l"]), "service-a-v1.0.0");
    assert_eq!(
        std::fs::read_to_string(work.join("git-release.toml")).expect("config"),
        config_none(SERVICES)
    );
}

#[test]
fn a_sha256_repository_is_refused_by_every_command() {
    let env = TestEnv::new();
    let work = repo_with(&env, "sha", &["--object-format=sha256"]);
    for args in repository_commands() {
        let run = run_with_a_pushed_tag(&env, &work, &args);
        refused_up_front(
            &run,
            &args,
            "this repository names objects with sha256",
            "SHA-1 repository",
        );
    }
}

/// The tag names on a bare remote.
fn remote_names(env: &TestEnv, bare: &Path) -> Vec<String> {
    remote_tags(env, bare)
        .iter()
        .filter_map(|l| l.split(' ').next().map(str::to_string))
        .collect()
}

#[test]
fn the_hook_blocks_a_downgrade_after_the_repository_moved_to_reftable() {
    let env = TestEnv::new();
    let repo = env.monorepo("mono", &config_none(SERVICES), SERVICES);
    env.run(&repo.work, &["install"]).ok();
    env.git(
        &repo.work,
        &["tag", "-a", "-m", "release", "service-a-v1.2.0"],
    );
    env.git(&repo.work, &["push", "-q", "origin", "service-a-v1.2.0"]);
    // git 2.47 does not migrate reflogs; the hook stays in place.
    std::fs::remove_dir_all(repo.work.join(".git/logs")).expect("drop reflogs");
    env.git(&repo.work, &["refs", "migrate", "--ref-format=reftable"]);
    env.git(
        &repo.work,
        &["tag", "-a", "-m", "downgrade", "service-a-v1.1.0"],
    );
    let run = env.git_output(&repo.work, &["push", "origin", "service-a-v1.1.0"]);
    assert_ne!(
        run.code, 0,
        "the downgrade must be blocked:\n{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("error: this repository stores refs in reftable"),
        "{}",
        run.stderr
    );
    assert_eq!(remote_names(&env, &repo.bare), ["service-a-v1.2.0"]);
}

#[test]
fn a_hook_shared_through_core_hooks_path_blocks_pushes_from_a_sha256_repository() {
    let env = TestEnv::new();
    // The hook is installed in an ordinary repository and shared by hooksPath, as teams
    // do with a global core.hooksPath.
    let shared = env.monorepo("shared", &config_none(SERVICES), SERVICES);
    env.run(&shared.work, &["install"]).ok();
    let hooks = shared.work.join(".git/hooks");
    let work = repo_with(&env, "sha", &["--object-format=sha256"]);
    let bare = env.path().join("sha.git");
    env.git(
        env.path(),
        &[
            "init",
            "-q",
            "--bare",
            "--object-format=sha256",
            bare.to_str().expect("utf-8"),
        ],
    );
    let url = format!("file://{}", bare.display());
    env.git(&work, &["remote", "add", "origin", &url]);
    env.git(
        &work,
        &["config", "core.hooksPath", hooks.to_str().expect("utf-8")],
    );
    let run = env.git_output(&work, &["push", "origin", "main", "service-a-v1.0.0"]);
    assert_ne!(run.code, 0, "the push must be blocked:\n{}", run.stderr);
    assert!(
        run.stderr
            .contains("error: this repository names objects with sha256"),
        "{}",
        run.stderr
    );
    assert!(remote_names(&env, &bare).is_empty());
}

/// A monorepo with release `service-a-v1.0.0` and one commit to service-a after it.
fn released(env: &TestEnv) -> Monorepo {
    let repo = env.monorepo("mono", &config_none(SERVICES), SERVICES);
    env.git(
        &repo.work,
        &["tag", "-a", "-m", "release", "service-a-v1.0.0"],
    );
    env.commit_to(&repo, "service-a", "main.go", "feat: more");
    repo
}

#[track_caller]
fn sees_the_release(run: Run, how: &str) {
    let run = run.expect_code(0);
    let json = run.json();
    assert_eq!(json["current"], "1.0.0", "{how}: {json}");
    assert_eq!(json["next"], "1.1.0", "{how}: {json}");
}

#[test]
fn git_dir_and_work_tree_from_the_environment_are_honoured() {
    let mut env = TestEnv::new();
    let repo = released(&env);
    let outside = env.path().join("elsewhere");
    std::fs::create_dir_all(&outside).expect("dir");
    let next = ["next", "service-a", "--offline", "--json"];

    // Absolute, from a directory outside any repository.
    env.set_env("GIT_DIR", repo.work.join(".git").to_str().expect("utf-8"));
    env.set_env("GIT_WORK_TREE", repo.work.to_str().expect("utf-8"));
    sees_the_release(env.run(&outside, &next), "absolute GIT_DIR");

    // Relative to where the command starts, as git reads them; the commit walk (run by
    // git in the work tree's root) must see the same repository.
    env.set_env("GIT_DIR", "../mono/.git");
    env.set_env("GIT_WORK_TREE", "../mono");
    sees_the_release(env.run(&outside, &next), "relative GIT_DIR");

    // GIT_DIR alone: the current directory is the work tree, as in git.
    let mut cmd = env.command(monorel_e2e::binary(), &repo.work);
    cmd.env_remove("GIT_WORK_TREE")
        .env("GIT_DIR", repo.work.join(".git"))
        .args(next);
    sees_the_release(
        Run::from(cmd.output().expect("run")),
        "GIT_DIR from the root",
    );
}

#[test]
fn git_dir_and_work_tree_options_of_git_are_honoured() {
    let env = TestEnv::new();
    let repo = released(&env);
    let outside = env.path().join("elsewhere");
    std::fs::create_dir_all(&outside).expect("dir");
    let git_dir = format!("--git-dir={}", repo.work.join(".git").display());
    let work_tree = format!("--work-tree={}", repo.work.display());
    let run = env.git_output(
        &outside,
        &[
            &git_dir,
            &work_tree,
            "release",
            "next",
            "service-a",
            "--offline",
            "--json",
        ],
    );
    sees_the_release(run, "git --git-dir --work-tree release");
    let run = env.git_output(
        env.path(),
        &[
            "-C",
            "mono/services/service-a",
            "release",
            "next",
            "service-a",
            "--offline",
            "--json",
        ],
    );
    sees_the_release(run, "git -C <subdirectory> release");
}

#[test]
fn subdirectories_gitfiles_and_linked_worktrees_find_the_same_releases() {
    let env = TestEnv::new();
    let repo = released(&env);
    let next = ["next", "service-a", "--offline", "--json"];
    let sub = repo.work.join("services/service-a");
    sees_the_release(env.run(&sub, &next), "subdirectory");
    sees_the_release(
        env.run(
            env.path(),
            &[
                "-C",
                "mono/services/service-a",
                "next",
                "service-a",
                "--offline",
                "--json",
            ],
        ),
        "-C subdirectory",
    );

    // A linked worktree shares the tags; a release made there is everyone's.
    env.git(&repo.work, &["worktree", "add", "-q", "../mono-wt"]);
    let wt = env.path().join("mono-wt");
    sees_the_release(env.run(&wt.join("services"), &next), "linked worktree");
    env.run(&wt, &["service-a", "--bump", "minor", "--yes"])
        .ok();
    assert!(
        env.git(&repo.work, &["tag", "-l"])
            .contains("service-a-v1.1.0"),
        "the worktree's release is a tag of the repository"
    );

    // A gitfile (`.git` is a file naming the git directory elsewhere).
    let gf = env.path().join("gf");
    std::fs::create_dir_all(&gf).expect("dir");
    let sep = env.path().join("separate.git");
    env.git(
        &gf,
        &[
            "init",
            "-q",
            "-b",
            "main",
            &format!("--separate-git-dir={}", sep.display()),
        ],
    );
    assert!(gf.join(".git").is_file());
    populate(&env, &gf);
    env.git(&gf, &["tag", "-a", "-m", "release", "service-a-v1.0.0"]);
    std::fs::write(gf.join("services/service-a/main.go"), "x\n").expect("write");
    env.git(&gf, &["add", "-A"]);
    env.git(&gf, &["commit", "-q", "-m", "feat: more"]);
    sees_the_release(env.run(&gf.join("services/service-a"), &next), "gitfile");
}

#[test]
fn an_unborn_branch_is_explained_not_failed_on() {
    let env = TestEnv::new();
    let work = env.path().join("fresh");
    std::fs::create_dir_all(&work).expect("dir");
    env.git(&work, &["init", "-q", "-b", "main"]);
    std::fs::write(work.join("git-release.toml"), config_none(SERVICES)).expect("config");

    let list = env.run(&work, &["list", "--json"]).ok();
    let rows = list.json();
    assert_eq!(rows.as_array().map(Vec::len), Some(2), "{rows}");
    assert!(rows[0]["latest"].is_null(), "{rows}");

    let status = env.run(&work, &["status", "--json"]).ok();
    assert!(status.json()["services"][0]["latest"].is_null());

    for args in [
        vec!["next", "service-a", "--offline"],
        vec!["service-a", "--bump", "patch", "--yes"],
    ] {
        let run = env.run(&work, &args).expect_code(1);
        assert!(
            run.stderr.contains("has no commits yet"),
            "`{args:?}`:\n{}",
            run.stderr
        );
    }
}
