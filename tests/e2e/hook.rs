//! The pre-push hook, end to end: real pushes to a bare remote over file://, so git itself
//! runs the installed shim, which runs the binary. After each push the remote's refs are
//! read back: a refused tag must be absent, an accepted one present.

use std::path::Path;

use monorel_e2e::{config_none, remote_tags, Monorepo, Run, TestEnv};

const SERVICES: &[&str] = &["service-a", "service-b"];

/// A monorepo with the hook installed; `hook` is appended to the config as a [hook] table.
fn setup(env: &TestEnv, hook: &str) -> Monorepo {
    let mut config = config_none(SERVICES);
    if !hook.is_empty() {
        config.push_str(&format!("\n[hook]\n{hook}\n"));
    }
    let repo = env.monorepo("mono", &config, SERVICES);
    env.run(&repo.work, &["install"]).ok();
    repo
}

fn tag(env: &TestEnv, dir: &Path, name: &str) {
    env.git(dir, &["tag", "-a", "-m", &format!("release {name}"), name]);
}

fn lightweight(env: &TestEnv, dir: &Path, name: &str) {
    env.git(dir, &["tag", name]);
}

fn push(env: &TestEnv, dir: &Path, args: &[&str]) -> Run {
    let mut all = vec!["push"];
    all.extend_from_slice(args);
    env.git_output(dir, &all)
}

/// The tag names on the bare remote.
fn remote_names(env: &TestEnv, repo: &Monorepo) -> Vec<String> {
    remote_tags(env, &repo.bare)
        .iter()
        .filter_map(|l| l.split(' ').next().map(str::to_string))
        .collect()
}

fn remote_sha(env: &TestEnv, repo: &Monorepo, tag: &str) -> Option<String> {
    remote_tags(env, &repo.bare).iter().find_map(|l| {
        let (name, sha) = l.split_once(' ')?;
        (name == tag).then(|| sha.to_string())
    })
}

#[track_caller]
fn refused(run: &Run, rule: &str) {
    assert_ne!(run.code, 0, "the push should be refused:\n{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("✗ [{rule}]")),
        "expected a ✗ [{rule}] line:\n{}",
        run.stderr
    );
    assert!(run.stderr.contains("was refused"), "{}", run.stderr);
}

#[track_caller]
fn accepted(run: &Run) {
    assert_eq!(run.code, 0, "the push should pass:\n{}", run.stderr);
}

#[test]
fn accepts_an_annotated_release_on_a_commit_already_on_the_remote() {
    let env = TestEnv::new();
    let repo = setup(&env, "");
    tag(&env, &repo.work, "service-a-v1.0.0");
    let run = push(&env, &repo.work, &["origin", "service-a-v1.0.0"]);
    accepted(&run);
    assert!(
        run.stderr.contains("✓ service-a-v1.0.0 on "),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("images were not checked"),
        "kind = none must say so: {}",
        run.stderr
    );
    assert!(!run.stderr.contains('\x1b'), "NO_COLOR: {}", run.stderr);
    assert_eq!(remote_names(&env, &repo), ["service-a-v1.0.0"]);
}

#[test]
fn naming_unknown_service_is_refused_with_the_closest_name() {
    let env = TestEnv::new();
    let repo = setup(&env, "");
    tag(&env, &repo.work, "servce-a-v1.0.0");
    let run = push(&env, &repo.work, &["origin", "servce-a-v1.0.0"]);
    refused(&run, "naming");
    assert!(
        run.stderr.contains("did you mean `service-a`?"),
        "{}",
        run.stderr
    );
    assert!(remote_names(&env, &repo).is_empty());
}

#[test]
fn naming_bad_semver_is_refused() {
    let env = TestEnv::new();
    let repo = setup(&env, "");
    for bad in ["service-a-v01.0.0", "service-a-vv1.0.0", "service-a-v1.0"] {
        tag(&env, &repo.work, bad);
        let run = push(&env, &repo.work, &["origin", bad]);
        refused(&run, "naming");
        assert!(run.stderr.contains(bad), "{}", run.stderr);
    }
    assert!(remote_names(&env, &repo).is_empty());
}

#[test]
fn image_tag_build_metadata_is_refused() {
    let env = TestEnv::new();
    let repo = setup(&env, "");
    tag(&env, &repo.work, "service-a-v1.0.0+build.1");
    let run = push(&env, &repo.work, &["origin", "service-a-v1.0.0+build.1"]);
    refused(&run, "image-tag");
    assert!(run.stderr.contains("build metadata"), "{}", run.stderr);
    assert!(remote_names(&env, &repo).is_empty());
}

#[test]
fn lightweight_tag_is_refused_and_the_suggested_fix_works() {
    let env = TestEnv::new();
    let repo = setup(&env, "");
    lightweight(&env, &repo.work, "service-a-v1.0.0");
    let run = push(&env, &repo.work, &["origin", "service-a-v1.0.0"]);
    refused(&run, "annotated");
    assert!(remote_names(&env, &repo).is_empty());

    // Run the command the message suggests, then push again.
    let line = run
        .stderr
        .lines()
        .find(|l| l.contains("[annotated]"))
        .expect("annotated line");
    let command = line
        .split("recreate it with `")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
        .expect("a command in the message");
    let status = env
        .command("sh", &repo.work)
        .args(["-c", command])
        .status()
        .expect("run the suggested command");
    assert!(status.success(), "{command}");
    accepted(&push(&env, &repo.work, &["origin", "service-a-v1.0.0"]));
    assert_eq!(remote_names(&env, &repo), ["service-a-v1.0.0"]);
}

#[test]
fn tag_on_a_tree_is_refused() {
    let env = TestEnv::new();
    let repo = setup(&env, "");
    let tree = env.git(&repo.work, &["rev-parse", "HEAD^{tree}"]);
    env.git(
        &repo.work,
        &["tag", "-a", "-m", "tree", "service-a-v1.0.0", &tree],
    );
    let run = push(&env, &repo.work, &["origin", "service-a-v1.0.0"]);
    refused(&run, "commit");
    assert!(run.stderr.contains("not a commit"), "{}", run.stderr);
    assert!(remote_names(&env, &repo).is_empty());
}

#[test]
fn every_failure_of_a_tag_is_reported() {
    let env = TestEnv::new();
    let repo = setup(&env, "");
    lightweight(&env, &repo.work, "servce-b-v1.0.0+b.1");
    let run = push(&env, &repo.work, &["origin", "servce-b-v1.0.0+b.1"]);
    for rule in ["naming", "image-tag", "annotated"] {
        refused(&run, rule);
    }
    assert!(remote_names(&env, &repo).is_empty());
}

#[test]
fn newer_version_rule_and_maintenance_releases() {
    let env = TestEnv::new();
    let repo = setup(&env, "");
    tag(&env, &repo.work, "service-a-v1.1.0");
    accepted(&push(&env, &repo.work, &["origin", "service-a-v1.1.0"]));
    tag(&env, &repo.work, "service-a-v1.0.1");
    let run = push(&env, &repo.work, &["origin", "service-a-v1.0.1"]);
    refused(&run, "newer");
    assert!(run.stderr.contains("allow-maintenance"), "{}", run.stderr);
    assert_eq!(remote_names(&env, &repo), ["service-a-v1.1.0"]);
    // Another service's versions do not count.
    tag(&env, &repo.work, "service-b-v0.1.0");
    accepted(&push(&env, &repo.work, &["origin", "service-b-v0.1.0"]));
}

#[test]
fn maintenance_release_allowed_only_at_the_top_of_its_line() {
    let env = TestEnv::new();
    let repo = setup(&env, "allow-maintenance = true");
    for t in ["service-a-v1.1.2", "service-a-v2.0.0"] {
        tag(&env, &repo.work, t);
    }
    accepted(&push(&env, &repo.work, &["origin", "--tags"]));
    tag(&env, &repo.work, "service-a-v1.1.3");
    accepted(&push(&env, &repo.work, &["origin", "service-a-v1.1.3"]));
    tag(&env, &repo.work, "service-a-v1.1.1");
    let run = push(&env, &repo.work, &["origin", "service-a-v1.1.1"]);
    refused(&run, "newer");
    assert!(run.stderr.contains("1.1 line"), "{}", run.stderr);
    assert_eq!(
        remote_names(&env, &repo),
        ["service-a-v1.1.2", "service-a-v1.1.3", "service-a-v2.0.0"]
    );
}

#[test]
fn several_new_tags_in_one_push_in_any_order() {
    let env = TestEnv::new();
    let repo = setup(&env, "");
    tag(&env, &repo.work, "service-a-v1.0.0");
    accepted(&push(&env, &repo.work, &["origin", "service-a-v1.0.0"]));
    for t in ["service-a-v1.1.0", "service-a-v1.2.0", "service-b-v0.1.0"] {
        tag(&env, &repo.work, t);
    }
    // Highest first on the command line: 1.1.0 is still above 1.0.0, the highest release
    // that is not part of this push.
    let run = push(
        &env,
        &repo.work,
        &[
            "origin",
            "service-a-v1.2.0",
            "service-b-v0.1.0",
            "service-a-v1.1.0",
        ],
    );
    accepted(&run);
    assert_eq!(run.stderr.matches("✓ ").count(), 3, "{}", run.stderr);
    assert_eq!(
        remote_names(&env, &repo),
        [
            "service-a-v1.0.0",
            "service-a-v1.1.0",
            "service-a-v1.2.0",
            "service-b-v0.1.0"
        ]
    );
}

#[test]
fn one_bad_tag_refuses_the_whole_push() {
    let env = TestEnv::new();
    let repo = setup(&env, "");
    tag(&env, &repo.work, "service-a-v1.0.0");
    lightweight(&env, &repo.work, "service-b-v1.0.0");
    let run = push(&env, &repo.work, &["origin", "--tags"]);
    refused(&run, "annotated");
    assert!(run.stderr.contains("✓ service-a-v1.0.0"), "{}", run.stderr);
    assert!(run.stderr.contains("1 of 2 tags breaks"), "{}", run.stderr);
    assert!(remote_names(&env, &repo).is_empty());
}

#[test]
fn push_tags_passes_good_tags() {
    let env = TestEnv::new();
    let repo = setup(&env, "");
    tag(&env, &repo.work, "service-a-v1.0.0");
    tag(&env, &repo.work, "service-b-v1.0.0");
    accepted(&push(&env, &repo.work, &["--tags", "origin"]));
    assert_eq!(
        remote_names(&env, &repo),
        ["service-a-v1.0.0", "service-b-v1.0.0"]
    );
}

#[test]
fn follow_tags_and_mixed_branch_and_tag_pushes() {
    let env = TestEnv::new();
    let repo = setup(&env, "");
    let first = env.commit_to(&repo, "service-a", "app.txt", "feat: one");
    tag(&env, &repo.work, "service-a-v1.0.0");
    accepted(&push(
        &env,
        &repo.work,
        &["--follow-tags", "origin", "main"],
    ));
    assert_eq!(remote_names(&env, &repo), ["service-a-v1.0.0"]);
    assert_eq!(env.git(&repo.bare, &["rev-parse", "main"]), first);

    // A bad annotated tag followed along with the branch refuses the branch too.
    env.commit_to(&repo, "service-a", "app.txt", "feat: two");
    tag(&env, &repo.work, "service-a-v0.9.0");
    let run = push(&env, &repo.work, &["--follow-tags", "origin", "main"]);
    refused(&run, "newer");
    assert_eq!(env.git(&repo.bare, &["rev-parse", "main"]), first);
    env.git(&repo.work, &["tag", "-d", "service-a-v0.9.0"]);

    // Branch and tag named together.
    tag(&env, &repo.work, "service-a-v1.1.0");
    let run = push(&env, &repo.work, &["origin", "main", "service-a-v1.1.0"]);
    accepted(&run);
    assert_eq!(
        remote_names(&env, &repo),
        ["service-a-v1.0.0", "service-a-v1.1.0"]
    );
    assert_eq!(
        env.git(&repo.bare, &["rev-parse", "main"]),
        env.git(&repo.work, &["rev-parse", "HEAD"])
    );
}

#[test]
fn branch_only_push_does_not_read_the_config() {
    let env = TestEnv::new();
    let repo = setup(&env, "");
    // A broken config: a tag push fails on it, a branch push never looks.
    std::fs::write(repo.work.join("git-release.toml"), "[nonsense\n").expect("write");
    env.commit_to(&repo, "service-a", "app.txt", "feat: x");
    let run = push(&env, &repo.work, &["origin", "main"]);
    accepted(&run);
    assert!(
        run.stderr.lines().all(|l| !l.contains("✓")),
        "{}",
        run.stderr
    );
    tag(&env, &repo.work, "service-a-v1.0.0");
    let run = push(&env, &repo.work, &["origin", "service-a-v1.0.0"]);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("git-release.toml:1"), "{}", run.stderr);
    assert!(remote_names(&env, &repo).is_empty());
}

#[test]
fn deleting_and_moving_release_tags_is_refused() {
    let env = TestEnv::new();
    let repo = setup(&env, "");
    tag(&env, &repo.work, "service-a-v1.0.0");
    accepted(&push(&env, &repo.work, &["origin", "service-a-v1.0.0"]));
    let before = remote_sha(&env, &repo, "service-a-v1.0.0").expect("pushed");

    let run = push(
        &env,
        &repo.work,
        &["origin", "--delete", "service-a-v1.0.0"],
    );
    refused(&run, "no-rewrite");
    let run = push(&env, &repo.work, &["origin", ":refs/tags/service-a-v1.0.0"]);
    refused(&run, "no-rewrite");
    assert_eq!(
        remote_sha(&env, &repo, "service-a-v1.0.0"),
        Some(before.clone())
    );

    env.commit_to(&repo, "service-a", "app.txt", "fix: x");
    env.git(
        &repo.work,
        &["tag", "-a", "-f", "-m", "moved", "service-a-v1.0.0"],
    );
    let run = push(&env, &repo.work, &["--force", "origin", "service-a-v1.0.0"]);
    refused(&run, "no-rewrite");
    assert!(run.stderr.contains("never moved"), "{}", run.stderr);
    assert_eq!(remote_sha(&env, &repo, "service-a-v1.0.0"), Some(before));
}

#[test]
fn allow_rewrite_permits_moves_and_deletions() {
    let env = TestEnv::new();
    let repo = setup(&env, "allow-rewrite = true");
    tag(&env, &repo.work, "service-a-v1.0.0");
    accepted(&push(&env, &repo.work, &["origin", "service-a-v1.0.0"]));
    env.commit_to(&repo, "service-a", "app.txt", "fix: x");
    env.git(
        &repo.work,
        &["tag", "-a", "-f", "-m", "moved", "service-a-v1.0.0"],
    );
    accepted(&push(
        &env,
        &repo.work,
        &["--force", "origin", "service-a-v1.0.0"],
    ));
    assert_eq!(
        remote_sha(&env, &repo, "service-a-v1.0.0"),
        Some(env.git(&repo.work, &["rev-parse", "service-a-v1.0.0"]))
    );
    accepted(&push(
        &env,
        &repo.work,
        &["origin", "--delete", "service-a-v1.0.0"],
    ));
    assert!(remote_names(&env, &repo).is_empty());
}

#[test]
fn deleting_a_tag_that_is_no_release_is_allowed() {
    let env = TestEnv::new();
    let repo = setup(&env, "");
    lightweight(&env, &repo.work, "oops");
    accepted(&push(&env, &repo.work, &["--no-verify", "origin", "oops"]));
    accepted(&push(&env, &repo.work, &["origin", "--delete", "oops"]));
    assert!(remote_names(&env, &repo).is_empty());
}

/// A foreign hook that records its arguments and stdin and exits with the code in a file.
fn foreign_hook(env: &TestEnv, hooks: &Path) -> String {
    let log = env.path().join("foreign.log");
    let script = format!(
        "#!/bin/sh\nprintf 'args: %s\\n' \"$*\" >> '{log}'\ncat >> '{log}'\nexit \"$(cat '{code}' 2>/dev/null || echo 0)\"\n",
        log = log.display(),
        code = env.path().join("foreign.code").display()
    );
    std::fs::create_dir_all(hooks).expect("hooks dir");
    let path = hooks.join("pre-push");
    std::fs::write(&path, &script).expect("foreign hook");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    script
}

#[test]
fn chains_to_an_existing_hook_and_both_can_veto() {
    let env = TestEnv::new();
    let repo = env.monorepo("mono", &config_none(SERVICES), SERVICES);
    let hooks = repo.work.join(".git/hooks");
    let script = foreign_hook(&env, &hooks);
    let run = env.run(&repo.work, &["install"]).ok();
    assert!(
        run.stdout.contains("pre-push.git-release-chained"),
        "{}",
        run.stdout
    );
    assert_eq!(
        std::fs::read_to_string(hooks.join("pre-push.git-release-chained")).expect("kept"),
        script
    );

    // Both run; the foreign hook gets git's arguments and the same stdin.
    tag(&env, &repo.work, "service-a-v1.0.0");
    let run = push(&env, &repo.work, &["origin", "service-a-v1.0.0"]);
    accepted(&run);
    assert!(run.stderr.contains("✓ service-a-v1.0.0"), "{}", run.stderr);
    let log = std::fs::read_to_string(env.path().join("foreign.log")).expect("foreign ran");
    let sha = env.git(&repo.work, &["rev-parse", "refs/tags/service-a-v1.0.0"]);
    assert_eq!(
        log,
        format!(
            "args: origin {}\nrefs/tags/service-a-v1.0.0 {sha} refs/tags/service-a-v1.0.0 {}\n",
            repo.url,
            "0".repeat(40)
        )
    );
    assert_eq!(remote_names(&env, &repo), ["service-a-v1.0.0"]);

    // The foreign hook vetoes: nothing reaches the remote.
    std::fs::write(env.path().join("foreign.code"), "1").expect("code");
    tag(&env, &repo.work, "service-a-v1.1.0");
    let run = push(&env, &repo.work, &["origin", "service-a-v1.1.0"]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("✓ service-a-v1.1.0"), "{}", run.stderr);
    assert_eq!(remote_names(&env, &repo), ["service-a-v1.0.0"]);

    // git-release vetoes even though the foreign hook would pass.
    std::fs::write(env.path().join("foreign.code"), "0").expect("code");
    lightweight(&env, &repo.work, "service-b-v1.0.0");
    let run = push(&env, &repo.work, &["origin", "service-b-v1.0.0"]);
    refused(&run, "annotated");
    assert_eq!(remote_names(&env, &repo), ["service-a-v1.0.0"]);

    // A branch push still runs the foreign hook (e.g. its test suite).
    std::fs::remove_file(env.path().join("foreign.log")).expect("rm");
    env.commit_to(&repo, "service-a", "app.txt", "feat: x");
    accepted(&push(&env, &repo.work, &["origin", "main"]));
    let log = std::fs::read_to_string(env.path().join("foreign.log")).expect("foreign ran");
    assert!(log.contains("refs/heads/main"), "{log}");

    // Uninstall restores the foreign hook byte for byte.
    env.run(&repo.work, &["uninstall"]).ok();
    assert_eq!(
        std::fs::read_to_string(hooks.join("pre-push")).expect("restored"),
        script
    );
    assert!(!hooks.join("pre-push.git-release-chained").exists());
}

#[test]
fn install_is_idempotent_and_uninstall_removes_it() {
    let env = TestEnv::new();
    let repo = env.monorepo("mono", &config_none(SERVICES), SERVICES);
    let hook = repo.work.join(".git/hooks/pre-push");
    env.run(&repo.work, &["install"]).ok();
    let first = std::fs::read(&hook).expect("installed");
    let mtime = std::fs::metadata(&hook)
        .and_then(|m| m.modified())
        .expect("mtime");
    let run = env.run(&repo.work, &["install"]).ok();
    assert!(run.stdout.contains("already installed"), "{}", run.stdout);
    assert_eq!(std::fs::read(&hook).expect("still there"), first);
    assert_eq!(
        std::fs::metadata(&hook)
            .and_then(|m| m.modified())
            .expect("mtime"),
        mtime,
        "a second install must not rewrite the file"
    );
    assert!(
        !repo
            .work
            .join(".git/hooks/pre-push.git-release-chained")
            .exists(),
        "no chained copy of our own hook"
    );

    env.run(&repo.work, &["uninstall"]).ok();
    assert!(!hook.exists());
    let run = env.run(&repo.work, &["uninstall"]).ok();
    assert!(run.stdout.contains("nothing changed"), "{}", run.stdout);

    // Uninstall never removes a hook that is not ours.
    std::fs::write(&hook, "#!/bin/sh\nexit 0\n").expect("write");
    let run = env.run(&repo.work, &["uninstall"]).expect_code(1);
    assert!(
        run.stderr.contains("not a git-release hook"),
        "{}",
        run.stderr
    );
    assert!(hook.exists());
}

#[test]
fn core_hooks_path_is_honoured() {
    let env = TestEnv::new();
    let repo = env.monorepo("mono", &config_none(SERVICES), SERVICES);
    env.git(&repo.work, &["config", "core.hooksPath", ".githooks"]);
    let run = env.run(&repo.work, &["install"]).ok();
    assert!(run.stdout.contains(".githooks/pre-push"), "{}", run.stdout);
    assert!(repo.work.join(".githooks/pre-push").exists());
    assert!(!repo.work.join(".git/hooks/pre-push").exists());
    lightweight(&env, &repo.work, "service-a-v1.0.0");
    refused(
        &push(&env, &repo.work, &["origin", "service-a-v1.0.0"]),
        "annotated",
    );
    assert!(remote_names(&env, &repo).is_empty());
}

#[test]
fn linked_worktrees_share_the_hook() {
    let env = TestEnv::new();
    let repo = env.monorepo("mono", &config_none(SERVICES), SERVICES);
    let linked = env.path().join("linked");
    env.git(
        &repo.work,
        &[
            "worktree",
            "add",
            "-q",
            "-b",
            "side",
            linked.to_str().expect("utf-8"),
        ],
    );
    // Installed from the linked worktree, it lands in the common git dir.
    env.run(&linked, &["install"]).ok();
    assert!(repo.work.join(".git/hooks/pre-push").exists());

    lightweight(&env, &linked, "service-a-v1.0.0");
    refused(
        &push(&env, &linked, &["origin", "service-a-v1.0.0"]),
        "annotated",
    );
    env.git(&linked, &["tag", "-d", "service-a-v1.0.0"]);
    tag(&env, &linked, "service-a-v1.0.0");
    accepted(&push(&env, &linked, &["origin", "service-a-v1.0.0"]));
    // And the main worktree uses the same hook.
    lightweight(&env, &repo.work, "service-b-v1.0.0");
    refused(
        &push(&env, &repo.work, &["origin", "service-b-v1.0.0"]),
        "annotated",
    );
    assert_eq!(remote_names(&env, &repo), ["service-a-v1.0.0"]);
}

#[test]
fn missing_binary_refuses_the_push_and_says_how_to_install() {
    let env = TestEnv::new();
    let repo = setup(&env, "");
    env.hide_binary();
    tag(&env, &repo.work, "service-a-v1.0.0");
    let run = push(&env, &repo.work, &["origin", "service-a-v1.0.0"]);
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains("git-release, which is not on PATH"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("./install.sh"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("cargo install --locked --path crates/monorel"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--no-verify"), "{}", run.stderr);
    assert!(remote_names(&env, &repo).is_empty());
    // git's own opt-out still works.
    accepted(&push(
        &env,
        &repo.work,
        &["--no-verify", "origin", "service-a-v1.0.0"],
    ));
    assert_eq!(remote_names(&env, &repo), ["service-a-v1.0.0"]);
}

#[test]
fn colour_only_when_allowed() {
    let mut env = TestEnv::new();
    let repo = setup(&env, "");
    tag(&env, &repo.work, "service-a-v1.0.0");
    env.set_env("NO_COLOR", "");
    env.set_env("CLICOLOR_FORCE", "1");
    let run = push(&env, &repo.work, &["origin", "service-a-v1.0.0"]);
    accepted(&run);
    assert!(
        run.stderr.contains("\x1b["),
        "colour forced: {:?}",
        run.stderr
    );
}

#[test]
fn release_with_push_goes_through_the_hook() {
    let env = TestEnv::new();
    let repo = setup(&env, "");
    let run = env
        .run(&repo.work, &["service-a", "--bump", "minor", "--push"])
        .ok();
    assert!(
        run.stderr.contains("✓ service-a-v0.1.0 on"),
        "{}",
        run.stderr
    );
    assert_eq!(remote_names(&env, &repo), ["service-a-v0.1.0"]);
}

#[test]
fn check_runs_the_same_rules_on_named_tags() {
    let env = TestEnv::new();
    let repo = setup(&env, "");
    tag(&env, &repo.work, "service-a-v1.0.0");
    tag(&env, &repo.work, "service-a-v1.1.0");
    lightweight(&env, &repo.work, "service-b-v1.0.0");

    let run = env
        .run(
            &repo.work,
            &["check", "service-a-v1.0.0", "service-a-v1.1.0"],
        )
        .ok();
    assert!(run.stdout.contains("✓ service-a-v1.0.0"), "{}", run.stdout);
    assert!(
        run.stderr.contains("images were not checked"),
        "{}",
        run.stderr
    );

    // Alone, 1.0.0 is below 1.1.0, which is not among the named tags.
    let run = env
        .run(&repo.work, &["check", "service-a-v1.0.0"])
        .expect_code(1);
    assert!(run.stdout.contains("✗ [newer]"), "{}", run.stdout);

    let run = env
        .run(
            &repo.work,
            &[
                "check",
                "--json",
                "refs/tags/service-a-v1.1.0",
                "service-b-v1.0.0",
                "nope-v1.0.0",
            ],
        )
        .expect_code(1);
    let json = run.json();
    assert_eq!(json["ok"], false);
    assert_eq!(json["images_checked"], false);
    let tags = json["tags"].as_array().expect("tags");
    assert_eq!(tags.len(), 3);
    assert_eq!(tags[0]["tag"], "service-a-v1.1.0");
    assert_eq!(tags[0]["ok"], true);
    assert_eq!(tags[0]["service"], "service-a");
    assert_eq!(tags[0]["version"], "1.1.0");
    assert_eq!(
        tags[0]["commit"],
        env.git(&repo.work, &["rev-parse", "HEAD"]).as_str()
    );
    assert_eq!(tags[0]["digest"], serde_json::Value::Null);
    assert_eq!(tags[0]["failures"], serde_json::json!([]));
    assert_eq!(tags[1]["ok"], false);
    assert_eq!(tags[1]["failures"][0]["rule"], "annotated");
    let rules: Vec<&str> = tags[2]["failures"]
        .as_array()
        .expect("failures")
        .iter()
        .filter_map(|f| f["rule"].as_str())
        .collect();
    assert_eq!(rules, ["naming", "commit"]);
}

#[test]
fn hook_refuses_unknown_hook_names_and_garbage_input() {
    let env = TestEnv::new();
    let repo = setup(&env, "");
    let run = env.run(&repo.work, &["hook", "pre-commit"]).expect_code(2);
    assert!(run.stderr.contains("pre-commit"), "{}", run.stderr);
    let mut child = env
        .command(monorel_e2e::binary(), &repo.work)
        .args(["hook", "pre-push", "origin", &repo.url])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin
            .write_all(b"refs/tags/x not-a-sha refs/tags/x 0000\n")
            .expect("write");
    }
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pre-push input line 1"));
}

/// Rule 7 goes through the registry interface: an ECR registry that cannot be reached
/// blocks the push by default, and `on-registry-error = "warn"` lets it through.
#[test]
fn unreachable_registry_blocks_unless_configured_to_warn() {
    let mut env = TestEnv::new();
    // Credentials that resolve at once and an endpoint where nothing listens.
    env.set_env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE");
    env.set_env("AWS_SECRET_ACCESS_KEY", "secret");
    env.set_env("AWS_ENDPOINT_URL", "http://127.0.0.1:9");
    let mut config = String::from("[registry]\nkind = \"ecr\"\nregion = \"eu-west-1\"\ntimeout-seconds = 3\nconnect-timeout-seconds = 1\n");
    for s in SERVICES {
        config.push_str(&format!("\n[services.{s}]\npath = \"services/{s}\"\n"));
    }
    let repo = env.monorepo("mono", &config, SERVICES);
    env.run(&repo.work, &["install"]).ok();
    tag(&env, &repo.work, "service-a-v1.0.0");
    let run = push(&env, &repo.work, &["origin", "service-a-v1.0.0"]);
    refused(&run, "image");
    assert!(run.stderr.contains("service-a-image:"), "{}", run.stderr);
    assert!(remote_names(&env, &repo).is_empty());

    std::fs::write(
        repo.work.join("git-release.toml"),
        format!("[hook]\non-registry-error = \"warn\"\n\n{config}"),
    )
    .expect("config");
    let run = push(&env, &repo.work, &["origin", "service-a-v1.0.0"]);
    accepted(&run);
    assert!(run.stderr.contains("on-registry-error"), "{}", run.stderr);
    assert_eq!(remote_names(&env, &repo), ["service-a-v1.0.0"]);
}

/// The hook keeps a parsed copy of the config; an edit to the file must still take effect
/// on the very next push, and a broken edit must fail it rather than fall back to the copy.
#[test]
fn every_edit_of_the_config_reaches_the_next_push() {
    let env = TestEnv::new();
    let repo = setup(&env, "");
    tag(&env, &repo.work, "service-c-v1.0.0");
    refused(
        &push(&env, &repo.work, &["origin", "service-c-v1.0.0"]),
        "naming",
    );
    assert!(
        repo.work.join(".git/git-release/config-cache").is_file(),
        "the first push leaves a parsed copy"
    );

    let config = repo.work.join("git-release.toml");
    let mut text = std::fs::read_to_string(&config).expect("read config");
    text.push_str("\n[services.service-c]\npath = \"services/service-c\"\n");
    std::fs::write(&config, &text).expect("write config");
    accepted(&push(&env, &repo.work, &["origin", "service-c-v1.0.0"]));
    assert_eq!(remote_names(&env, &repo), ["service-c-v1.0.0"]);

    std::fs::write(
        &config,
        text.replace("path = \"services/service-a\"", "paht = \"x\""),
    )
    .expect("write config");
    tag(&env, &repo.work, "service-b-v1.0.0");
    let run = push(&env, &repo.work, &["origin", "service-b-v1.0.0"]);
    assert_ne!(
        run.code, 0,
        "a broken config must stop the push:\n{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("git-release.toml:") && run.stderr.contains("unknown field `paht`"),
        "{}",
        run.stderr
    );
    assert_eq!(remote_names(&env, &repo), ["service-c-v1.0.0"]);
}

/// Runs the hook binary as git would, with `input` on stdin.
fn hook_stdin(env: &TestEnv, repo: &Monorepo, input: &str) -> Run {
    Run::from(env.hook_pre_push(repo, input))
}

/// git writes the local ref as the user typed it, spaces included
/// (`<local ref> SP <local sha> SP <remote ref> SP <remote sha>`): the hook reads the last
/// three fields from the right and judges the tag, instead of refusing the line.
#[test]
fn a_local_ref_with_spaces_is_parsed_per_the_protocol() {
    let env = TestEnv::new();
    let repo = setup(&env, "");
    // Tag updates are logged, so `<tag>@{<date>}` (a ref expression with spaces) names
    // the tag object.
    env.git(&repo.work, &["config", "core.logAllRefUpdates", "always"]);
    tag(&env, &repo.work, "service-a-v1.0.0");
    let tag_object = env.git(&repo.work, &["rev-parse", "service-a-v1.0.0"]);
    let zero = "0".repeat(40);

    // Straight into the binary: a good tag passes, a bad one gets its verdict.
    let line = format!(
        "service-a-v1.0.0@{{1 second ago}} {tag_object} refs/tags/service-a-v1.0.0 {zero}\n"
    );
    let run = hook_stdin(&env, &repo, &line).ok();
    assert!(run.stderr.contains("✓ service-a-v1.0.0"), "{}", run.stderr);
    let commit = env.git(&repo.work, &["rev-parse", "HEAD"]);
    let line = format!("HEAD^{{/initial import}} {commit} refs/tags/service-a-v2.0.0 {zero}\n");
    let run = hook_stdin(&env, &repo, &line).expect_code(1);
    assert!(run.stderr.contains("✗ [annotated]"), "{}", run.stderr);

    // Through a real push, with a refspec whose source has spaces.
    let spec = "service-a-v1.0.0@{1 second ago}:refs/tags/service-a-v1.0.0";
    assert_eq!(
        env.git(
            &repo.work,
            &["rev-parse", "service-a-v1.0.0@{1 second ago}"]
        ),
        tag_object
    );
    let run = push(&env, &repo.work, &["origin", spec]);
    accepted(&run);
    assert!(run.stderr.contains("✓ service-a-v1.0.0"), "{}", run.stderr);
    assert_eq!(
        remote_sha(&env, &repo, "service-a-v1.0.0").as_deref(),
        Some(tag_object.as_str())
    );
    // And one the rules refuse: the verdict, not a protocol error.
    let run = push(
        &env,
        &repo.work,
        &[
            "origin",
            "HEAD^{/initial import}:refs/tags/service-b-v1.0.0",
        ],
    );
    refused(&run, "annotated");
    assert!(
        !run.stderr.contains("pre-push input line"),
        "{}",
        run.stderr
    );
}

/// A name git cannot store gets its own verdict (rule naming, no useless "fetch it"), and
/// the valid names beside it are still checked.
#[test]
fn check_gives_an_invalid_ref_name_its_own_verdict() {
    let env = TestEnv::new();
    let repo = setup(&env, "");
    tag(&env, &repo.work, "service-a-v1.0.0");
    tag(&env, &repo.work, "service-b-v1.0.0");
    let names = [
        "service-a-v1.0.0",
        "service-a-v1..0",
        "bad name",
        "service-b-v1.0.0",
    ];
    let mut args = vec!["check", "--json"];
    args.extend(names);
    let run = env.run(&repo.work, &args).expect_code(1);
    let json = run.json();
    let tags = json["tags"].as_array().expect("tags");
    assert_eq!(tags.len(), 4, "{json}");
    assert_eq!(tags[0]["ok"], true, "{json}");
    assert_eq!(tags[3]["ok"], true, "{json}");
    for bad in &tags[1..3] {
        assert_eq!(bad["ok"], false, "{json}");
        let rules: Vec<&str> = bad["failures"]
            .as_array()
            .expect("failures")
            .iter()
            .filter_map(|f| f["rule"].as_str())
            .collect();
        assert!(rules.contains(&"naming"), "{json}");
        assert!(!rules.contains(&"commit"), "{json}");
    }
    let run = env
        .run(
            &repo.work,
            &["check", "service-a-v1.0.0", "bad..name", "service-b-v1.0.0"],
        )
        .expect_code(1);
    assert!(run.stdout.contains("✓ service-a-v1.0.0"), "{}", run.stdout);
    assert!(run.stdout.contains("✓ service-b-v1.0.0"), "{}", run.stdout);
    assert!(
        run.stdout.contains("✗ [naming] `bad..name`"),
        "{}",
        run.stdout
    );
}
