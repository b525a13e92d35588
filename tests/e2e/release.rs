//! `git release <service>`, `next`, `list`, `init`: end to end through the real binary.

use monorel_e2e::{binary, config_none, remote_tags, Monorepo, Run, TestEnv};

/// Two services, `service-a` and `service-b`, registry `none`, pushed to a bare remote.
fn two_services(env: &TestEnv) -> Monorepo {
    env.monorepo(
        "mono",
        &config_none(&["service-a", "service-b"]),
        &["service-a", "service-b"],
    )
}

/// Creates annotated tag `tag` on HEAD (as a release made earlier would have).
fn tag(env: &TestEnv, repo: &Monorepo, tag: &str) {
    env.git(&repo.work, &["tag", "-a", "-m", tag, tag]);
}

/// A repository where service-a was released as `version` and has one `fix:` commit since.
fn released_at(env: &TestEnv, version: &str) -> Monorepo {
    let repo = two_services(env);
    tag(env, &repo, &format!("service-a-v{version}"));
    env.commit_to(&repo, "service-a", "app.txt", "fix: a bug");
    repo
}

/// Everything a release could write: every ref and the object counts.
fn snapshot(env: &TestEnv, repo: &Monorepo) -> (String, String) {
    (
        env.git(
            &repo.work,
            &["for-each-ref", "--format=%(refname) %(objectname)"],
        ),
        env.git(&repo.work, &["count-objects", "-v"]),
    )
}

/// Asserts the run failed with `code` and exactly one `error:` line that contains every
/// one of `needles`; returns that line.
#[track_caller]
fn one_error(run: Run, code: i32, needles: &[&str]) -> String {
    let run = run.expect_code(code);
    let lines = run.error_lines();
    assert_eq!(lines.len(), 1, "want one error line:\n{}", run.stderr);
    for needle in needles {
        assert!(
            lines[0].contains(needle),
            "error line lacks {needle:?}: {}",
            lines[0]
        );
    }
    lines[0].to_string()
}

/// Runs `git-release args` and returns the created version's tag name after checking it.
#[track_caller]
fn release(env: &TestEnv, repo: &Monorepo, args: &[&str]) -> serde_json::Value {
    let mut all = args.to_vec();
    all.extend(["--json", "--offline"]);
    env.run(&repo.work, &all).ok().json()
}

fn tag_exists(env: &TestEnv, repo: &Monorepo, tag: &str) -> bool {
    env.git_output(
        &repo.work,
        &["rev-parse", "-q", "--verify", &format!("refs/tags/{tag}")],
    )
    .success()
}

#[test]
fn first_release_then_minor_bump_and_push() {
    let env = TestEnv::new();
    let repo = two_services(&env);
    env.run(&repo.work, &["service-a", "--bump", "patch", "--push"])
        .ok();
    assert_eq!(remote_tags(&env, &repo.bare).len(), 1);
    env.commit_to(&repo, "service-a", "app.txt", "feat: add an endpoint");
    let run = env.run(&repo.work, &["next", "service-a", "--json"]).ok();
    assert_eq!(run.json()["next"], "0.2.0");
    env.run(&repo.work, &["service-a", "--bump", "minor", "--push"])
        .ok();
    let tags = remote_tags(&env, &repo.bare);
    assert_eq!(tags.len(), 2, "{tags:?}");
    assert!(tags[1].starts_with("service-a-v0.2.0 "), "{tags:?}");
}

// ---- every bump path -------------------------------------------------------------------

#[test]
fn bump_major() {
    let env = TestEnv::new();
    let repo = released_at(&env, "1.4.2");
    let out = release(&env, &repo, &["service-a", "--bump", "major"]);
    assert_eq!(out["version"], "2.0.0");
    assert!(tag_exists(&env, &repo, "service-a-v2.0.0"));
}

#[test]
fn bump_minor() {
    let env = TestEnv::new();
    let repo = released_at(&env, "1.4.2");
    let out = release(&env, &repo, &["service-a", "--bump", "minor"]);
    assert_eq!(out["version"], "1.5.0");
    assert!(tag_exists(&env, &repo, "service-a-v1.5.0"));
}

#[test]
fn bump_patch() {
    let env = TestEnv::new();
    let repo = released_at(&env, "1.4.2");
    let out = release(&env, &repo, &["service-a", "--bump", "patch"]);
    assert_eq!(out["version"], "1.4.3");
    assert_eq!(out["current"]["version"], "1.4.2");
    assert!(tag_exists(&env, &repo, "service-a-v1.4.3"));
}

#[test]
fn pre_rc_with_a_bump_starts_at_rc_1() {
    let env = TestEnv::new();
    let repo = released_at(&env, "1.4.2");
    let out = release(
        &env,
        &repo,
        &["service-a", "--bump", "minor", "--pre", "rc"],
    );
    assert_eq!(out["version"], "1.5.0-rc.1");
    assert!(tag_exists(&env, &repo, "service-a-v1.5.0-rc.1"));
}

#[test]
fn bump_prerelease_goes_rc_1_to_rc_2() {
    let env = TestEnv::new();
    let repo = released_at(&env, "2.0.0-rc.1");
    let out = release(&env, &repo, &["service-a", "--bump", "prerelease"]);
    assert_eq!(out["version"], "2.0.0-rc.2");
    assert!(tag_exists(&env, &repo, "service-a-v2.0.0-rc.2"));
}

#[test]
fn bump_prerelease_of_a_release_is_refused_with_the_fix() {
    let env = TestEnv::new();
    let repo = released_at(&env, "1.0.0");
    let before = snapshot(&env, &repo);
    let run = env.run(
        &repo.work,
        &["service-a", "--bump", "prerelease", "--offline"],
    );
    one_error(run, 1, &["1.0.0", "--pre rc"]);
    assert_eq!(snapshot(&env, &repo), before);
}

#[test]
fn bump_release_drops_the_prerelease() {
    let env = TestEnv::new();
    let repo = released_at(&env, "2.0.0-rc.2");
    let out = release(&env, &repo, &["service-a", "--bump", "release"]);
    assert_eq!(out["version"], "2.0.0");
    assert!(tag_exists(&env, &repo, "service-a-v2.0.0"));
}

#[test]
fn set_version_releases_exactly_that_version() {
    let env = TestEnv::new();
    let repo = released_at(&env, "1.4.2");
    let out = release(&env, &repo, &["service-a", "--set-version", "3.1.4"]);
    assert_eq!(out["version"], "3.1.4");
    assert_eq!(out["tag"], "service-a-v3.1.4");
    assert!(tag_exists(&env, &repo, "service-a-v3.1.4"));
}

#[test]
fn first_release_is_the_default_initial_version() {
    let env = TestEnv::new();
    let repo = two_services(&env);
    // Whatever the bump, a first release is `initial-version`.
    let out = release(&env, &repo, &["service-a", "--bump", "major"]);
    assert_eq!(out["version"], "0.1.0");
    assert!(out["current"].is_null());
    assert!(tag_exists(&env, &repo, "service-a-v0.1.0"));
}

#[test]
fn first_release_uses_the_configured_initial_version() {
    let env = TestEnv::new();
    let config = format!(
        "[defaults]\ninitial-version = \"1.0.0\"\n\n{}",
        config_none(&["service-a"])
    );
    let repo = env.monorepo("mono", &config, &["service-a"]);
    let next = env
        .run(&repo.work, &["next", "service-a", "--json", "--offline"])
        .ok()
        .json();
    assert_eq!(next["next"], "1.0.0");
    let out = release(
        &env,
        &repo,
        &["service-a", "--bump", "patch", "--pre", "rc"],
    );
    assert_eq!(out["version"], "1.0.0-rc.1");
    assert!(tag_exists(&env, &repo, "service-a-v1.0.0-rc.1"));
}

#[test]
fn a_prerelease_initial_version_is_released_as_configured() {
    let env = TestEnv::new();
    let config = format!(
        "[defaults]\ninitial-version = \"1.0.0-alpha.1\"\n\n{}",
        config_none(&["service-a"])
    );
    let repo = env.monorepo("mono", &config, &["service-a"]);
    let out = release(&env, &repo, &["service-a", "--bump", "minor"]);
    assert_eq!(out["version"], "1.0.0-alpha.1");
    env.commit_to(&repo, "service-a", "app.txt", "fix: alpha feedback");
    let out = release(&env, &repo, &["service-a", "--bump", "prerelease"]);
    assert_eq!(out["version"], "1.0.0-alpha.2");
}

#[test]
fn semver_precedence_not_refname_order() {
    let env = TestEnv::new();
    let repo = two_services(&env);
    for version in ["1.9.0", "1.10.0", "2.0.0-rc.1", "2.0.0"] {
        tag(&env, &repo, &format!("service-a-v{version}"));
    }
    // git's version sort ranks the pre-release above its release…
    let by_refname = env.git(
        &repo.work,
        &["tag", "-l", "service-a-v*", "--sort=-v:refname"],
    );
    assert_eq!(by_refname.lines().next(), Some("service-a-v2.0.0-rc.1"));
    // …semver precedence does not.
    let next = env
        .run(
            &repo.work,
            &[
                "next",
                "service-a",
                "--bump",
                "patch",
                "--json",
                "--offline",
            ],
        )
        .ok()
        .json();
    assert_eq!(next["current"], "2.0.0");
    assert_eq!(next["next"], "2.0.1");
    env.commit_to(&repo, "service-a", "app.txt", "fix: after 2.0.0");
    let out = release(&env, &repo, &["service-a", "--bump", "patch"]);
    assert_eq!(out["version"], "2.0.1");
}

#[test]
fn a_prerelease_on_top_is_the_current_version() {
    let env = TestEnv::new();
    let repo = two_services(&env);
    for version in ["1.9.0", "1.10.0", "2.0.0-rc.1"] {
        tag(&env, &repo, &format!("service-a-v{version}"));
    }
    let next = |bump: &str| {
        env.run(
            &repo.work,
            &["next", "service-a", "--bump", bump, "--json", "--offline"],
        )
        .ok()
        .json()
    };
    // 2.0.0-rc.1 > 1.10.0 > 1.9.0: a patch of the rc releases it (like cargo-release).
    assert_eq!(next("patch")["current"], "2.0.0-rc.1");
    assert_eq!(next("patch")["next"], "2.0.0");
    assert_eq!(next("prerelease")["next"], "2.0.0-rc.2");
    assert_eq!(next("minor")["next"], "2.0.0");
    // Without --bump the suggestion continues the pre-release.
    env.commit_to(&repo, "service-a", "app.txt", "fix: rc feedback");
    let suggested = env
        .run(&repo.work, &["next", "service-a", "--json", "--offline"])
        .ok()
        .json();
    assert_eq!(suggested["next"], "2.0.0-rc.2");
}

#[test]
fn tags_of_a_service_with_a_longer_name_are_not_its_releases() {
    let env = TestEnv::new();
    let repo = env.monorepo("mono", &config_none(&["api", "api-v2"]), &["api", "api-v2"]);
    tag(&env, &repo, "api-v2-v5.0.0");
    tag(&env, &repo, "api-v1.0.0");
    let next = env
        .run(
            &repo.work,
            &["next", "api", "--bump", "patch", "--json", "--offline"],
        )
        .ok()
        .json();
    assert_eq!(next["current"], "1.0.0");
    assert_eq!(next["next"], "1.0.1");
}

// ---- the tag ----------------------------------------------------------------------------

#[test]
fn the_tag_is_annotated_with_the_commits_of_the_service_only() {
    let env = TestEnv::new();
    let repo = two_services(&env);
    tag(&env, &repo, "service-a-v1.0.0");
    let a1 = env.commit_to(&repo, "service-a", "a.txt", "feat: a new endpoint");
    env.commit_to(&repo, "service-b", "b.txt", "fix: only service-b");
    let a2 = env.commit_to(&repo, "service-a", "a.txt", "fix: a crash");
    release(&env, &repo, &["service-a", "--bump", "minor"]);

    let tag = "service-a-v1.1.0";
    assert_eq!(env.git(&repo.work, &["cat-file", "-t", tag]), "tag");
    assert_eq!(
        env.git(&repo.work, &["rev-parse", &format!("{tag}^{{commit}}")]),
        a2
    );
    let body = env.git(&repo.work, &["tag", "-l", "--format=%(contents)", tag]);
    assert!(body.starts_with("service-a version 1.1.0\n"), "{body}");
    assert!(
        body.contains(&format!("{} fix: a crash", &a2[..7])),
        "{body}"
    );
    assert!(
        body.contains(&format!("{} feat: a new endpoint", &a1[..7])),
        "{body}"
    );
    assert!(!body.contains("only service-b"), "{body}");
    assert!(!body.contains("initial import"), "{body}");
}

#[test]
fn the_tagger_comes_from_git_config() {
    let env = TestEnv::new();
    let repo = two_services(&env);
    env.git(&repo.work, &["config", "user.name", "Config Person"]);
    env.git(&repo.work, &["config", "user.email", "config@example.com"]);
    let run = Run::from(
        env.command(binary(), &repo.work)
            .env_remove("GIT_COMMITTER_NAME")
            .env_remove("GIT_COMMITTER_EMAIL")
            .env_remove("GIT_AUTHOR_NAME")
            .env_remove("GIT_AUTHOR_EMAIL")
            .args(["service-a", "--bump", "patch", "--offline"])
            .output()
            .expect("run git-release"),
    )
    .ok();
    assert!(run.stdout.contains("service-a-v0.1.0"), "{}", run.stdout);
    let tagger = env.git(
        &repo.work,
        &[
            "tag",
            "-l",
            "--format=%(taggername) %(taggeremail)",
            "service-a-v0.1.0",
        ],
    );
    assert_eq!(tagger, "Config Person <config@example.com>");
}

#[test]
fn custom_message_replaces_the_first_paragraph() {
    let env = TestEnv::new();
    let repo = two_services(&env);
    release(
        &env,
        &repo,
        &[
            "service-a",
            "--bump",
            "patch",
            "-m",
            "Hotfix for the outage",
        ],
    );
    let body = env.git(
        &repo.work,
        &["tag", "-l", "--format=%(contents)", "service-a-v0.1.0"],
    );
    assert!(body.starts_with("Hotfix for the outage\n"), "{body}");
}

#[test]
fn commit_option_tags_that_commit() {
    let env = TestEnv::new();
    let repo = two_services(&env);
    let first = env.commit_to(&repo, "service-a", "a.txt", "fix: first");
    env.commit_to(&repo, "service-a", "a.txt", "fix: second");
    let out = release(
        &env,
        &repo,
        &["service-a", "--bump", "patch", "--commit", "HEAD~1"],
    );
    assert_eq!(out["commit"], first);
    assert_eq!(
        env.git(&repo.work, &["rev-parse", "service-a-v0.1.0^{commit}"]),
        first
    );
    let body = env.git(
        &repo.work,
        &["tag", "-l", "--format=%(contents)", "service-a-v0.1.0"],
    );
    assert!(!body.contains("fix: second"), "{body}");
}

// ---- dry run, JSON, push ---------------------------------------------------------------

#[test]
fn dry_run_writes_nothing() {
    let env = TestEnv::new();
    let repo = released_at(&env, "1.0.0");
    let before = snapshot(&env, &repo);
    let run = env
        .run(
            &repo.work,
            &["service-a", "--bump", "minor", "--push", "--dry-run"],
        )
        .ok();
    assert!(run.stdout.contains("service-a-v1.1.0"), "{}", run.stdout);
    assert!(run.stdout.contains("nothing was written"), "{}", run.stdout);
    let json = env
        .run(
            &repo.work,
            &["service-a", "--bump", "minor", "--dry-run", "--json"],
        )
        .ok()
        .json();
    assert_eq!(json["dry_run"], true);
    assert_eq!(json["created"], false);
    assert_eq!(snapshot(&env, &repo), before);
    assert!(remote_tags(&env, &repo.bare).is_empty());
}

#[test]
fn json_output_has_the_documented_fields() {
    let env = TestEnv::new();
    let repo = released_at(&env, "1.0.0");
    let head = env.git(&repo.work, &["rev-parse", "HEAD"]);
    let out = env
        .run(
            &repo.work,
            &["service-a", "--bump", "patch", "--json", "--push"],
        )
        .ok();
    // stdout is exactly one JSON document, git's push chatter went to stderr.
    let json = out.json();
    assert_eq!(json["service"], "service-a");
    assert_eq!(json["current"]["tag"], "service-a-v1.0.0");
    assert_eq!(json["current"]["version"], "1.0.0");
    assert_eq!(json["version"], "1.0.1");
    assert_eq!(json["tag"], "service-a-v1.0.1");
    assert_eq!(json["commit"], head.as_str());
    assert_eq!(json["commits"][0]["id"], head.as_str());
    assert_eq!(json["commits"][0]["subject"], "fix: a bug");
    assert_eq!(json["image"]["repository"], "service-a-image");
    assert_eq!(json["image"]["tag"], head.as_str());
    assert!(json["message"]
        .as_str()
        .expect("message")
        .starts_with("service-a version 1.0.1"));
    assert_eq!(json["push_to"], "origin");
    assert_eq!(json["dry_run"], false);
    assert_eq!(json["created"], true);
    assert_eq!(json["pushed"], true);
}

#[test]
fn push_puts_exactly_one_tag_on_the_remote() {
    let env = TestEnv::new();
    let repo = two_services(&env);
    // Local, unpushed tags of another service and an unrelated one.
    env.run(&repo.work, &["service-b", "--bump", "patch"]).ok();
    env.git(&repo.work, &["tag", "unrelated"]);
    env.run(&repo.work, &["service-a", "--bump", "patch", "--push"])
        .ok();
    let tags = remote_tags(&env, &repo.bare);
    assert_eq!(tags.len(), 1, "{tags:?}");
    let local = env.git(&repo.work, &["rev-parse", "refs/tags/service-a-v0.1.0"]);
    assert_eq!(tags[0], format!("service-a-v0.1.0 {local}"));
    // The remote got the annotated tag object, not a lightweight copy.
    assert_eq!(
        env.git(&repo.bare, &["cat-file", "-t", "service-a-v0.1.0"]),
        "tag"
    );
}

#[test]
fn remote_option_pushes_to_that_remote() {
    let env = TestEnv::new();
    let repo = two_services(&env);
    let other = env.path().join("other.git");
    env.git(
        env.path(),
        &["init", "-q", "--bare", other.to_str().expect("utf-8")],
    );
    let url = format!("file://{}", other.display());
    env.git(&repo.work, &["remote", "add", "other", &url]);
    env.run(
        &repo.work,
        &[
            "service-a",
            "--bump",
            "patch",
            "--push",
            "--remote",
            "other",
        ],
    )
    .ok();
    assert!(remote_tags(&env, &repo.bare).is_empty());
    assert_eq!(remote_tags(&env, &other).len(), 1);
}

// ---- next, list, init, completions, help -----------------------------------------------

#[test]
fn next_json_fields() {
    let env = TestEnv::new();
    let repo = released_at(&env, "1.2.3");
    env.commit_to(&repo, "service-a", "app.txt", "feat: more");
    let head = env.git(&repo.work, &["rev-parse", "HEAD"]);
    let json = env
        .run(&repo.work, &["next", "service-a", "--json"])
        .ok()
        .json();
    assert_eq!(json["service"], "service-a");
    assert_eq!(json["current"], "1.2.3");
    assert_eq!(json["next"], "1.3.0");
    assert_eq!(json["tag"], "service-a-v1.3.0");
    assert_eq!(json["commit"], head.as_str());
    let plain = env.run(&repo.work, &["next", "service-a"]).ok();
    assert_eq!(plain.stdout, "1.3.0\n");
    let major = env
        .run(&repo.work, &["next", "service-a", "--bump", "major"])
        .ok();
    assert_eq!(major.stdout, "2.0.0\n");
    // `next` never writes.
    assert!(!tag_exists(&env, &repo, "service-a-v1.3.0"));
}

#[test]
fn next_suggests_from_conventional_commits() {
    let env = TestEnv::new();
    let repo = released_at(&env, "1.2.3");
    let suggest = || {
        env.run(&repo.work, &["next", "service-a", "--offline"])
            .ok()
            .stdout
    };
    assert_eq!(suggest(), "1.2.4\n");
    // A breaking change in another service does not count.
    env.commit_to(&repo, "service-b", "b.txt", "feat!: break b");
    assert_eq!(suggest(), "1.2.4\n");
    env.commit_to(&repo, "service-a", "a.txt", "feat(api): add");
    assert_eq!(suggest(), "1.3.0\n");
    env.commit_to(&repo, "service-a", "a.txt", "refactor!: drop v1");
    assert_eq!(suggest(), "2.0.0\n");
}

#[test]
fn below_1_0_0_a_breaking_change_bumps_minor() {
    let env = TestEnv::new();
    let repo = released_at(&env, "0.3.1");
    env.commit_to(
        &repo,
        "service-a",
        "a.txt",
        "fix: x\n\nBREAKING CHANGE: removed the old API",
    );
    let out = env
        .run(&repo.work, &["next", "service-a", "--offline"])
        .ok();
    assert_eq!(out.stdout, "0.4.0\n");
}

#[test]
fn list_shows_every_service() {
    let env = TestEnv::new();
    let repo = released_at(&env, "1.0.0");
    env.commit_to(&repo, "service-a", "a.txt", "fix: two");
    let table = env.run(&repo.work, &["list"]).ok();
    let lines: Vec<&str> = table.stdout.lines().collect();
    assert!(lines[0].starts_with("SERVICE"), "{}", table.stdout);
    let a: Vec<&str> = lines[1].split_whitespace().collect();
    let b: Vec<&str> = lines[2].split_whitespace().collect();
    assert_eq!(a, ["service-a", "1.0.0", "2"], "{}", table.stdout);
    assert_eq!(b, ["service-b", "-", "1"], "{}", table.stdout);

    let json = env.run(&repo.work, &["list", "--json"]).ok().json();
    let rows = json.as_array().expect("array");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["service"], "service-a");
    assert_eq!(rows[0]["path"], "services/service-a");
    assert_eq!(rows[0]["latest"], "service-a-v1.0.0");
    assert_eq!(rows[0]["version"], "1.0.0");
    assert_eq!(rows[0]["commits_since"], 2);
    assert_eq!(rows[1]["service"], "service-b");
    assert!(rows[1]["latest"].is_null());
    assert_eq!(rows[1]["commits_since"], 1);
}

#[test]
fn init_detects_services_and_refuses_to_overwrite() {
    let env = TestEnv::new();
    let work = env.path().join("fresh");
    std::fs::create_dir_all(&work).expect("dir");
    env.git(&work, &["init", "-q", "-b", "main"]);
    for dir in ["services/billing", "apps/web", "libs/no-docker"] {
        std::fs::create_dir_all(work.join(dir)).expect("dir");
    }
    std::fs::write(work.join("services/billing/Dockerfile"), "FROM scratch\n").expect("write");
    std::fs::write(work.join("apps/web/Dockerfile"), "FROM scratch\n").expect("write");
    std::fs::write(work.join("libs/no-docker/README"), "x\n").expect("write");

    let run = env.run(&work, &["init"]).ok();
    assert!(run.stdout.contains("2 service(s)"), "{}", run.stdout);
    let text = std::fs::read_to_string(work.join("git-release.toml")).expect("config");
    assert!(
        text.contains("[services.billing]\npath = \"services/billing\""),
        "{text}"
    );
    assert!(
        text.contains("[services.web]\npath = \"apps/web\""),
        "{text}"
    );
    assert!(!text.contains("no-docker"), "{text}");
    assert!(
        text.lines().any(|l| l.starts_with('#')),
        "commented: {text}"
    );

    // The written file is valid, and `list` works before the first commit.
    let list = env.run(&work, &["list", "--json"]).ok().json();
    assert_eq!(list[0]["service"], "billing", "{list}");
    assert_eq!(list[0]["commits_since"], 0, "{list}");
    assert_eq!(list[1]["service"], "web", "{list}");

    std::fs::write(work.join("git-release.toml"), "# mine\n").expect("write");
    one_error(env.run(&work, &["init"]), 1, &["already exists", "--force"]);
    assert_eq!(
        std::fs::read_to_string(work.join("git-release.toml")).expect("config"),
        "# mine\n"
    );
    env.run(&work, &["init", "--force"]).ok();
    let text = std::fs::read_to_string(work.join("git-release.toml")).expect("config");
    assert!(text.contains("[services.billing]"), "{text}");
}

#[test]
fn completions_and_help() {
    let env = TestEnv::new();
    let run = env.run(env.path(), &["completions", "bash"]).ok();
    assert!(run.stdout.contains("git-release"), "{}", run.stdout);
    assert!(run.stdout.len() > 1000);
    for shell in ["zsh", "fish"] {
        let run = env.run(env.path(), &["completions", shell]).ok();
        assert!(!run.stdout.is_empty(), "{shell}");
    }
    let man = env.run(env.path(), &["man"]).ok();
    assert!(man.stdout.contains(".TH"), "{}", man.stdout);
    let help = env.run(env.path(), &["--help"]).ok();
    for needle in [
        "Usage: git release",
        "--bump",
        "--set-version",
        "--dry-run",
        "next",
        "list",
        "Examples:",
        "Exit codes:",
    ] {
        assert!(
            help.stdout.contains(needle),
            "help lacks {needle}:\n{}",
            help.stdout
        );
    }
    assert!(
        help.stdout.lines().all(|l| l.chars().count() <= 100),
        "{}",
        help.stdout
    );
    let next_help = env.run(env.path(), &["next", "--help"]).ok();
    assert!(next_help.stdout.contains("--json"), "{}", next_help.stdout);
    // Through git's subcommand discovery: the binary is on PATH as git-release. (`git
    // release --help` is git's own `git help release`, which opens the man page.)
    let via_git = env.git_output(env.path(), &["release", "-h"]);
    assert!(via_git.success(), "{}", via_git.stderr);
    assert!(via_git.stdout.contains("Usage: git release"));
}

// ---- the remote -------------------------------------------------------------------------

#[test]
fn remote_ahead_is_refused_until_fetched() {
    let env = TestEnv::new();
    let repo = two_services(&env);
    let clone = env.path().join("clone");
    env.git(
        env.path(),
        &["clone", "-q", &repo.url, clone.to_str().expect("utf-8")],
    );
    env.run(&clone, &["service-a", "--bump", "patch", "--push"])
        .ok();
    assert_eq!(remote_tags(&env, &repo.bare).len(), 1);

    let before = snapshot(&env, &repo);
    let run = env.run(&repo.work, &["service-a", "--bump", "patch"]);
    one_error(run, 1, &["service-a-v0.1.0", "git fetch --tags origin"]);
    assert_eq!(snapshot(&env, &repo), before);
    let next = env.run(&repo.work, &["next", "service-a"]);
    one_error(next, 1, &["git fetch --tags origin"]);

    env.git(&repo.work, &["fetch", "-q", "--tags", "origin"]);
    // HEAD is what the clone released: a release needs a change to release.
    env.commit_to(&repo, "service-a", "app.txt", "fix: after the fetch");
    let out = env
        .run(&repo.work, &["service-a", "--bump", "patch", "--json"])
        .ok()
        .json();
    assert_eq!(out["version"], "0.1.1");
}

#[test]
fn offline_skips_the_remote_check() {
    let env = TestEnv::new();
    let repo = two_services(&env);
    let clone = env.path().join("clone");
    env.git(
        env.path(),
        &["clone", "-q", &repo.url, clone.to_str().expect("utf-8")],
    );
    env.run(&clone, &["service-a", "--bump", "minor", "--push"])
        .ok();
    let run = env
        .run(&repo.work, &["service-a", "--bump", "patch", "--offline"])
        .ok();
    assert!(!run.stderr.contains("fetch"), "{}", run.stderr);
    assert!(tag_exists(&env, &repo, "service-a-v0.1.0"));
}

#[test]
fn unreachable_remote_warns_and_continues() {
    let env = TestEnv::new();
    let repo = two_services(&env);
    let gone = format!("file://{}", env.path().join("gone.git").display());
    env.git(&repo.work, &["remote", "set-url", "origin", &gone]);
    let run = env.run(&repo.work, &["service-a", "--bump", "patch"]).ok();
    assert!(
        run.stderr
            .lines()
            .any(|l| l.starts_with("warning:") && l.contains("origin") && l.contains("--offline")),
        "{}",
        run.stderr
    );
    assert!(run.error_lines().is_empty(), "{}", run.stderr);
    assert!(tag_exists(&env, &repo, "service-a-v0.1.0"));
}

// ---- bad input: one error line, the exit code, nothing written --------------------------

#[test]
fn unknown_service_suggests_the_closest_name() {
    let env = TestEnv::new();
    let repo = two_services(&env);
    let before = snapshot(&env, &repo);
    let run = env.run(&repo.work, &["servce-a", "--bump", "patch"]);
    one_error(
        run,
        1,
        &["`servce-a`", "did you mean `service-a`", "[services]"],
    );
    let next = env.run(&repo.work, &["next", "service-x"]);
    one_error(next, 1, &["`service-x`"]);
    assert_eq!(snapshot(&env, &repo), before);
}

fn with_config(repo: &Monorepo, config: &str) {
    std::fs::write(repo.work.join("git-release.toml"), config).expect("config");
}

#[test]
fn config_with_an_unknown_key_names_line_and_key() {
    let env = TestEnv::new();
    let repo = two_services(&env);
    with_config(
        &repo,
        "[registry]\nkind = \"none\"\n\n[services.service-a]\npath = \"services/service-a\"\nimage = \"x\"\n",
    );
    let before = snapshot(&env, &repo);
    let run = env.run(
        &repo.work,
        &["service-a", "--bump", "patch", "--allow-dirty"],
    );
    one_error(run, 3, &["git-release.toml:6:", "image"]);
    assert_eq!(snapshot(&env, &repo), before);
}

#[test]
fn config_with_bad_toml_names_the_line() {
    let env = TestEnv::new();
    let repo = two_services(&env);
    with_config(
        &repo,
        "[registry]\nkind = \"none\"\n\n[services.service-a]\npath = services/service-a\n",
    );
    let before = snapshot(&env, &repo);
    let run = env.run(
        &repo.work,
        &["service-a", "--bump", "patch", "--allow-dirty"],
    );
    one_error(run, 3, &["git-release.toml:5:"]);
    assert_eq!(snapshot(&env, &repo), before);
}

#[test]
fn config_with_a_reserved_service_name_is_refused() {
    let env = TestEnv::new();
    let repo = two_services(&env);
    with_config(
        &repo,
        "[registry]\nkind = \"none\"\n\n[services.list]\npath = \"services/service-a\"\n",
    );
    let before = snapshot(&env, &repo);
    let run = env.run(&repo.work, &["list"]);
    one_error(run, 3, &["git-release.toml", "services.list", "rename"]);
    assert_eq!(snapshot(&env, &repo), before);
}

#[test]
fn set_version_must_be_semver() {
    let env = TestEnv::new();
    let repo = released_at(&env, "1.0.0");
    let before = snapshot(&env, &repo);
    let run = env.run(
        &repo.work,
        &["service-a", "--set-version", "v1.2", "--offline"],
    );
    one_error(run, 1, &["`v1.2`", "1.2.3"]);
    let run = env.run(
        &repo.work,
        &["service-a", "--set-version", "1.2.3+build", "--offline"],
    );
    one_error(run, 1, &["`1.2.3+build`", "drop the `+…` part"]);
    assert_eq!(snapshot(&env, &repo), before);
}

#[test]
fn a_version_not_above_the_current_one_is_refused() {
    let env = TestEnv::new();
    let repo = released_at(&env, "1.4.0");
    let before = snapshot(&env, &repo);
    for lower in ["1.3.9", "1.4.0-rc.1"] {
        let run = env.run(
            &repo.work,
            &["service-a", "--set-version", lower, "--offline"],
        );
        one_error(run, 1, &[lower, "1.4.0", "higher version"]);
    }
    assert_eq!(snapshot(&env, &repo), before);
}

#[test]
fn an_existing_tag_is_refused() {
    let env = TestEnv::new();
    let repo = released_at(&env, "1.4.0");
    let before = snapshot(&env, &repo);
    let run = env.run(
        &repo.work,
        &["service-a", "--set-version", "1.4.0", "--offline"],
    );
    one_error(run, 1, &["1.4.0", "higher version"]);
    assert_eq!(snapshot(&env, &repo), before);
    // The tag exists on the remote only (someone pushed it; we have not fetched).
    let clone = env.path().join("clone");
    env.git(
        env.path(),
        &["clone", "-q", &repo.url, clone.to_str().expect("utf-8")],
    );
    env.git(&clone, &["tag", "-a", "-m", "x", "service-b-v0.1.0"]);
    env.git(&clone, &["push", "-q", "origin", "service-b-v0.1.0"]);
    let run = env.run(&repo.work, &["service-b", "--set-version", "0.1.0"]);
    one_error(run, 1, &["service-b-v0.1.0", "git fetch --tags origin"]);
    assert_eq!(snapshot(&env, &repo), before);
}

#[test]
fn a_commit_that_does_not_resolve_is_refused() {
    let env = TestEnv::new();
    let repo = two_services(&env);
    let before = snapshot(&env, &repo);
    let run = env.run(
        &repo.work,
        &[
            "service-a",
            "--bump",
            "patch",
            "--commit",
            "no-such-rev",
            "--offline",
        ],
    );
    one_error(run, 1, &["`no-such-rev`"]);
    let tree = env.git(&repo.work, &["rev-parse", "HEAD^{tree}"]);
    let run = env.run(
        &repo.work,
        &[
            "service-a",
            "--bump",
            "patch",
            "--commit",
            &tree,
            "--offline",
        ],
    );
    one_error(run, 1, &["tree", "not a commit"]);
    let run = env.run(
        &repo.work,
        &[
            "service-a",
            "--bump",
            "patch",
            "--commit",
            "--help",
            "--offline",
        ],
    );
    assert_ne!(run.code, 0);
    assert_eq!(snapshot(&env, &repo), before);
}

#[test]
fn a_dirty_service_directory_is_refused_unless_allowed() {
    let env = TestEnv::new();
    let repo = two_services(&env);
    std::fs::write(
        repo.work.join("services/service-a/Dockerfile"),
        "FROM busybox\n",
    )
    .expect("write");
    let before = snapshot(&env, &repo);
    let run = env.run(&repo.work, &["service-a", "--bump", "patch", "--offline"]);
    one_error(
        run,
        1,
        &[
            "services/service-a",
            "Dockerfile",
            "commit or stash",
            "--allow-dirty",
        ],
    );
    assert_eq!(snapshot(&env, &repo), before);
    // Naming HEAD's commit another way does not get around the check.
    let run = env.run(
        &repo.work,
        &[
            "service-a",
            "--bump",
            "patch",
            "--offline",
            "--commit",
            "main",
        ],
    );
    one_error(run, 1, &["services/service-a", "--allow-dirty"]);
    assert_eq!(snapshot(&env, &repo), before);
    // Another service's changes do not matter.
    env.run(&repo.work, &["service-b", "--bump", "patch", "--offline"])
        .ok();
    env.run(
        &repo.work,
        &["service-a", "--bump", "patch", "--offline", "--allow-dirty"],
    )
    .ok();
    assert!(tag_exists(&env, &repo, "service-a-v0.1.0"));
}

#[test]
fn detached_head_needs_commit() {
    let env = TestEnv::new();
    let repo = two_services(&env);
    env.git(&repo.work, &["checkout", "-q", "--detach", "HEAD"]);
    let before = snapshot(&env, &repo);
    let run = env.run(&repo.work, &["service-a", "--bump", "patch", "--offline"]);
    one_error(run, 1, &["detached", "--commit"]);
    assert_eq!(snapshot(&env, &repo), before);
    env.run(
        &repo.work,
        &[
            "service-a",
            "--bump",
            "patch",
            "--offline",
            "--commit",
            "HEAD",
        ],
    )
    .ok();
    assert!(tag_exists(&env, &repo, "service-a-v0.1.0"));
}

#[test]
fn a_repository_without_git_identity_is_refused() {
    let env = TestEnv::new();
    let repo = two_services(&env);
    let before = snapshot(&env, &repo);
    let run = Run::from(
        env.command(binary(), &repo.work)
            .env_remove("GIT_COMMITTER_NAME")
            .env_remove("GIT_COMMITTER_EMAIL")
            .env_remove("GIT_AUTHOR_NAME")
            .env_remove("GIT_AUTHOR_EMAIL")
            .env_remove("EMAIL")
            .args(["service-a", "--bump", "patch", "--offline"])
            .output()
            .expect("run git-release"),
    );
    one_error(run, 1, &["git config user.name", "user.email"]);
    assert_eq!(snapshot(&env, &repo), before);
}

#[test]
fn no_terminal_and_no_bump_names_bump() {
    let env = TestEnv::new();
    let repo = two_services(&env);
    env.commit_to(&repo, "service-a", "a.txt", "feat: x");
    let before = snapshot(&env, &repo);
    let run = env.run(&repo.work, &["service-a", "--offline"]);
    one_error(run, 2, &["--bump", "--bump minor"]);
    assert_eq!(snapshot(&env, &repo), before);
}

#[test]
fn bad_pre_identifier_is_refused() {
    let env = TestEnv::new();
    let repo = two_services(&env);
    let before = snapshot(&env, &repo);
    let run = env.run(
        &repo.work,
        &["service-a", "--bump", "patch", "--pre", "r.c", "--offline"],
    );
    one_error(run, 1, &["`r.c`", "rc or beta"]);
    assert_eq!(snapshot(&env, &repo), before);
}

// ---- terminal safety --------------------------------------------------------------------

#[test]
fn escape_sequences_in_subjects_are_not_printed_raw() {
    let env = TestEnv::new();
    let repo = two_services(&env);
    env.commit_to(
        &repo,
        "service-a",
        "a.txt",
        "fix: \x1b[2J\x1b[31mred\x1b[0m",
    );
    let run = env
        .run(
            &repo.work,
            &["service-a", "--bump", "patch", "--dry-run", "--offline"],
        )
        .ok();
    assert!(
        run.stdout.contains("red"),
        "the commits are listed:\n{}",
        run.stdout
    );
    assert!(!run.stdout.contains('\x1b'), "{:?}", run.stdout);
    assert!(!run.stderr.contains('\x1b'), "{:?}", run.stderr);
}

// ---- more of the contract ---------------------------------------------------------------

#[test]
fn older_remote_releases_missing_locally_are_warned_about() {
    let env = TestEnv::new();
    let repo = two_services(&env);
    let clone = env.path().join("clone");
    env.git(
        env.path(),
        &["clone", "-q", &repo.url, clone.to_str().expect("utf-8")],
    );
    env.run(&clone, &["service-a", "--bump", "patch", "--push"])
        .ok();
    // Locally, a higher release exists already (made before the fetch).
    tag(&env, &repo, "service-a-v0.2.0");
    env.commit_to(&repo, "service-a", "a.txt", "fix: more");
    let run = env.run(&repo.work, &["service-a", "--bump", "patch"]).ok();
    assert!(
        run.stderr.lines().any(|l| l.starts_with("warning:")
            && l.contains("service-a-v0.1.0")
            && l.contains("git fetch --tags origin")),
        "{}",
        run.stderr
    );
    assert!(tag_exists(&env, &repo, "service-a-v0.2.1"));
}

#[test]
fn push_to_an_unreachable_remote_writes_nothing() {
    let env = TestEnv::new();
    let repo = two_services(&env);
    let before = snapshot(&env, &repo);
    let run = env.run(
        &repo.work,
        &["service-a", "--bump", "patch", "--push", "--remote", "nope"],
    );
    one_error(run, 4, &["`nope`", "nothing was created", "--remote"]);
    assert_eq!(snapshot(&env, &repo), before);
    assert!(remote_tags(&env, &repo.bare).is_empty());
}

#[test]
fn a_hanging_remote_is_bounded_by_the_timeout() {
    let mut env = TestEnv::new();
    let config = format!(
        "[defaults]\nremote-timeout-seconds = 1\n\n{}",
        config_none(&["service-a"])
    );
    let repo = env.monorepo("mono", &config, &["service-a"]);
    env.git(
        &repo.work,
        &[
            "remote",
            "set-url",
            "origin",
            "ssh://git.example.invalid/mono.git",
        ],
    );
    // An ssh that never answers.
    env.set_env("GIT_SSH_COMMAND", "sleep 30;:");
    let run = env.run(&repo.work, &["service-a", "--bump", "patch"]).ok();
    assert!(
        run.stderr
            .lines()
            .any(|l| l.starts_with("warning:") && l.contains("origin")),
        "{}",
        run.stderr
    );
    assert!(tag_exists(&env, &repo, "service-a-v0.1.0"));
}

#[test]
fn custom_tag_template_and_default_remote() {
    let env = TestEnv::new();
    let config = format!(
        "[defaults]\ntag = \"{{service}}_{{version}}\"\nremote = \"upstream\"\n\n{}",
        config_none(&["service-a"])
    );
    let repo = env.monorepo("mono", &config, &["service-a"]);
    env.git(&repo.work, &["remote", "rename", "origin", "upstream"]);
    let out = env
        .run(
            &repo.work,
            &["service-a", "--bump", "patch", "--push", "--json"],
        )
        .ok()
        .json();
    assert_eq!(out["tag"], "service-a_0.1.0");
    assert_eq!(out["push_to"], "upstream");
    assert_eq!(remote_tags(&env, &repo.bare).len(), 1);
    env.commit_to(&repo, "service-a", "a.txt", "feat: x");
    let next = env
        .run(&repo.work, &["next", "service-a", "--json"])
        .ok()
        .json();
    assert_eq!(next["current"], "0.1.0");
    assert_eq!(next["tag"], "service-a_0.2.0");
}

#[test]
fn directory_option_runs_elsewhere() {
    let env = TestEnv::new();
    let repo = two_services(&env);
    let work = repo.work.to_str().expect("utf-8");
    let out = env
        .run(env.path(), &["next", "service-a", "-C", work, "--offline"])
        .ok();
    assert_eq!(out.stdout, "0.1.0\n");
    env.run(
        env.path(),
        &[
            "-C",
            work,
            "service-a",
            "--bump",
            "patch",
            "--dry-run",
            "--offline",
        ],
    )
    .ok();
    // git's own -C works for every subcommand.
    let via_git = env.git(env.path(), &["-C", work, "release", "list", "--json"]);
    assert!(via_git.contains("service-a"), "{via_git}");
    // From a subdirectory, the repository root is found.
    let sub = repo.work.join("services/service-b");
    env.run(&sub, &["service-a", "--bump", "patch", "--offline"])
        .ok();
    assert!(tag_exists(&env, &repo, "service-a-v0.1.0"));
}

#[test]
fn directory_option_before_a_subcommand() {
    let env = TestEnv::new();
    let repo = two_services(&env);
    let work = repo.work.to_str().expect("utf-8");
    let out = env
        .run(env.path(), &["-C", work, "next", "service-a", "--offline"])
        .ok();
    assert_eq!(out.stdout, "0.1.0\n");
}

#[test]
fn usage_errors_exit_2() {
    let env = TestEnv::new();
    let repo = two_services(&env);
    let before = snapshot(&env, &repo);
    let none = env.run(&repo.work, &[]);
    one_error(none, 2, &["service"]);
    let bad_bump = env
        .run(&repo.work, &["service-a", "--bump", "huge"])
        .expect_code(2);
    assert!(bad_bump.stderr.contains("huge"), "{}", bad_bump.stderr);
    let both = env
        .run(
            &repo.work,
            &["service-a", "--bump", "patch", "--set-version", "1.0.0"],
        )
        .expect_code(2);
    assert!(both.stderr.contains("--set-version"), "{}", both.stderr);
    assert_eq!(snapshot(&env, &repo), before);
}

#[test]
fn an_operation_in_progress_is_refused() {
    let env = TestEnv::new();
    let repo = two_services(&env);
    env.git(&repo.work, &["checkout", "-q", "-b", "other"]);
    env.commit_to(&repo, "service-a", "x.txt", "fix: on other");
    env.git(&repo.work, &["checkout", "-q", "main"]);
    env.commit_to(&repo, "service-a", "x.txt", "fix: on main");
    let merge = env.git_output(&repo.work, &["merge", "-q", "other"]);
    assert!(!merge.success(), "the merge must conflict");
    let before = snapshot(&env, &repo);
    let run = env.run(&repo.work, &["service-a", "--bump", "patch", "--offline"]);
    one_error(run, 1, &["merge", "in progress"]);
    assert_eq!(snapshot(&env, &repo), before);
}

#[test]
fn outside_a_repository_is_a_usage_error() {
    let env = TestEnv::new();
    let run = env.run(env.path(), &["list"]);
    one_error(run, 2, &["not inside a git repository"]);
}

#[test]
fn a_missing_config_names_init() {
    let env = TestEnv::new();
    let repo = two_services(&env);
    std::fs::remove_file(repo.work.join("git-release.toml")).expect("rm");
    let run = env.run(&repo.work, &["service-a", "--bump", "patch", "--offline"]);
    one_error(run, 3, &["git-release.toml", "git release init"]);
}

#[test]
fn init_keeps_services_with_the_same_directory_name_apart() {
    let env = TestEnv::new();
    let work = env.path().join("fresh");
    for dir in ["services/api", "legacy/api", "tools/list"] {
        std::fs::create_dir_all(work.join(dir)).expect("dir");
        std::fs::write(work.join(dir).join("Dockerfile"), "FROM scratch\n").expect("write");
    }
    env.git(&work, &["init", "-q", "-b", "main"]);
    let run = env.run(&work, &["init"]).ok();
    let text = std::fs::read_to_string(work.join("git-release.toml")).expect("config");
    assert!(
        text.contains("[services.api]\npath = \"legacy/api\""),
        "{text}"
    );
    assert!(
        text.contains("[services.services-api]\npath = \"services/api\""),
        "{text}"
    );
    // `list` is a subcommand: not a service, and the user is told.
    assert!(!text.contains("tools/list"), "{text}");
    assert!(
        run.stderr
            .lines()
            .any(|l| l.starts_with("warning: skipped tools/list")),
        "{}",
        run.stderr
    );
}

// ---- nothing to release -----------------------------------------------------------------

/// A release of a commit that is released already, or of a service that no commit touched
/// since its last release, is refused with the reason and writes nothing.
#[test]
fn a_release_with_nothing_to_release_is_refused() {
    let env = TestEnv::new();
    let repo = two_services(&env);
    tag(&env, &repo, "service-a-v1.0.0");
    let before = snapshot(&env, &repo);
    // HEAD carries service-a-v1.0.0.
    let run = env.run(&repo.work, &["service-a", "--bump", "patch", "--offline"]);
    one_error(
        run,
        1,
        &[
            "nothing to release",
            "no changes since service-a-v1.0.0",
            "is already released as service-a-v1.0.0",
            "--allow-empty",
        ],
    );
    assert_eq!(snapshot(&env, &repo), before);

    // A commit to another service moves HEAD, but nothing touched service-a.
    env.commit_to(&repo, "service-b", "b.txt", "feat: only b");
    let before = snapshot(&env, &repo);
    for args in [
        &["service-a", "--bump", "patch", "--offline"][..],
        &[
            "service-a",
            "--set-version",
            "2.0.0",
            "--offline",
            "--dry-run",
        ][..],
    ] {
        let run = env.run(&repo.work, args);
        one_error(
            run,
            1,
            &[
                "nothing to release",
                "no changes since service-a-v1.0.0",
                "no commit has touched `services/service-a`",
            ],
        );
    }
    assert_eq!(snapshot(&env, &repo), before);
    // service-b has changes: it is not affected.
    release(&env, &repo, &["service-b", "--bump", "patch"]);

    // --allow-empty says it is meant.
    let out = release(
        &env,
        &repo,
        &["service-a", "--bump", "patch", "--allow-empty"],
    );
    assert_eq!(out["version"], "1.0.1");
    assert!(tag_exists(&env, &repo, "service-a-v1.0.1"));
}

/// A commit that carries a release already is refused with that release's tag, even when
/// it is not below the latest release (a maintenance release, released again).
#[test]
fn an_already_released_commit_is_refused_with_its_tag() {
    let env = TestEnv::new();
    let repo = two_services(&env);
    tag(&env, &repo, "service-a-v1.0.0");
    env.git(&repo.work, &["checkout", "-q", "-b", "line-1.0"]);
    let fix = env.commit_to(&repo, "service-a", "a.txt", "fix: on the 1.0 line");
    tag(&env, &repo, "service-a-v1.0.1");
    env.git(&repo.work, &["checkout", "-q", "main"]);
    env.commit_to(&repo, "service-a", "a.txt", "feat: more");
    release(&env, &repo, &["service-a", "--bump", "major"]);
    let run = env.run(
        &repo.work,
        &[
            "service-a",
            "--set-version",
            "3.0.0",
            "--commit",
            &fix,
            "--offline",
        ],
    );
    one_error(
        run,
        1,
        &["already released as service-a-v1.0.1", "--allow-empty"],
    );
    assert!(!tag_exists(&env, &repo, "service-a-v3.0.0"));
}

/// Finalising a pre-release ships exactly the code that was tested as the pre-release:
/// allowed on the same commit; another pre-release of unchanged code is not.
#[test]
fn finalising_a_prerelease_on_the_same_commit_is_allowed() {
    let env = TestEnv::new();
    let repo = two_services(&env);
    tag(&env, &repo, "service-a-v1.0.0-rc.2");
    let run = env.run(
        &repo.work,
        &["service-a", "--bump", "prerelease", "--offline"],
    );
    one_error(run, 1, &["no changes since service-a-v1.0.0-rc.2"]);
    let out = release(&env, &repo, &["service-a", "--bump", "release"]);
    assert_eq!(out["version"], "1.0.0");
    assert!(tag_exists(&env, &repo, "service-a-v1.0.0"));
    // Once final, the same commit is released: a patch of it is refused.
    let run = env.run(&repo.work, &["service-a", "--bump", "patch", "--offline"]);
    one_error(run, 1, &["no changes since service-a-v1.0.0:"]);
}

/// Without --bump, `next` does not suggest a patch of unchanged code: it says why there is
/// nothing to release; `next --json` reports how many commits it counted.
#[test]
fn next_says_no_changes_and_counts_commits() {
    let env = TestEnv::new();
    let repo = two_services(&env);
    tag(&env, &repo, "service-a-v1.0.0");
    env.commit_to(&repo, "service-b", "b.txt", "fix: only b");

    let run = env
        .run(&repo.work, &["next", "service-a", "--offline"])
        .expect_code(1);
    assert!(
        run.stderr.contains("no changes since service-a-v1.0.0"),
        "{}",
        run.stderr
    );
    assert!(!run.stdout.contains("1.0.1"), "{}", run.stdout);
    let json = env
        .run(&repo.work, &["next", "service-a", "--offline", "--json"])
        .expect_code(1)
        .json();
    assert_eq!(json["commits"], 0);
    assert_eq!(json["next"], serde_json::Value::Null);
    assert_eq!(json["current"], "1.0.0");
    assert!(
        json["nothing_to_release"]
            .as_str()
            .is_some_and(|r| r.contains("no changes since service-a-v1.0.0")),
        "{json}"
    );
    // An explicit bump still answers (what --allow-empty would release); it counts nothing.
    let json = env
        .run(
            &repo.work,
            &[
                "next",
                "service-a",
                "--offline",
                "--json",
                "--bump",
                "patch",
            ],
        )
        .ok()
        .json();
    assert_eq!(json["next"], "1.0.1");
    assert_eq!(json["commits"], serde_json::Value::Null);

    env.commit_to(&repo, "service-a", "a.txt", "fix: one");
    env.commit_to(&repo, "service-b", "b.txt", "fix: not a");
    env.commit_to(&repo, "service-a", "a.txt", "feat: two");
    let json = env
        .run(&repo.work, &["next", "service-a", "--offline", "--json"])
        .ok()
        .json();
    assert_eq!(json["commits"], 2);
    assert_eq!(json["next"], "1.1.0");
    assert_eq!(json["nothing_to_release"], serde_json::Value::Null);
}

/// Without a terminal and without --bump, the error names the reason instead of a
/// suggestion when there is nothing to release.
#[test]
fn no_bump_and_nothing_to_release_suggests_nothing() {
    let env = TestEnv::new();
    let repo = two_services(&env);
    tag(&env, &repo, "service-a-v1.0.0");
    let run = env.run(&repo.work, &["service-a", "--offline"]);
    let line = one_error(run, 2, &["--bump", "no changes since service-a-v1.0.0"]);
    assert!(!line.contains("suggest --bump patch"), "{line}");
}

// ---- a lost race ------------------------------------------------------------------------

/// Two people release the same version at once: both pass the remote check (`--offline`
/// stands for the moment between it and the push), the first push wins. The second is
/// told exactly that, its local tag is removed, and the hint is one that works.
#[test]
fn the_loser_of_a_release_race_is_told_and_its_tag_removed() {
    for hook in [false, true] {
        let env = TestEnv::new();
        let repo = two_services(&env);
        let other = env.path().join("other");
        env.git(
            env.path(),
            &["clone", "-q", &repo.url, other.to_str().expect("utf-8")],
        );
        if hook {
            // The hook sees a tag that the remote has on another object: rule no-rewrite.
            env.run(&other, &["install"]).ok();
        }
        env.commit_to(&repo, "service-a", "a.txt", "feat: mine");
        env.run(&repo.work, &["service-a", "--bump", "minor", "--push"])
            .ok();
        let winner = remote_tags(&env, &repo.bare);
        assert_eq!(winner.len(), 1, "{winner:?}");

        std::fs::write(other.join("services/service-a/b.txt"), "theirs\n").expect("write");
        env.git(&other, &["add", "-A"]);
        env.git(&other, &["commit", "-q", "-m", "feat: theirs"]);
        let run = env
            .run(
                &other,
                &["service-a", "--bump", "minor", "--push", "--offline"],
            )
            .expect_code(1);
        // git's own `error: failed to push` comes first; ours is the last error line.
        let ours = run.error_lines().last().copied().unwrap_or_default();
        for needle in [
            "remote `origin` already has service-a-v0.1.0 on another object",
            "someone else released this version first",
            "your local tag service-a-v0.1.0 was removed",
        ] {
            assert!(
                ours.contains(needle),
                "hook {hook}: {needle:?}:\n{}",
                run.stderr
            );
        }
        assert!(
            run.stderr.contains("hint: run `git fetch --tags origin`"),
            "hook {hook}: {}",
            run.stderr
        );
        for never in ["push it with", "allow-rewrite = true in git-release.toml"] {
            assert!(
                !run.stderr.contains(never),
                "hook {hook}: a hint that cannot work ({never}):\n{}",
                run.stderr
            );
        }
        assert_eq!(env.git(&other, &["tag", "-l"]), "", "hook {hook}");
        assert_eq!(remote_tags(&env, &repo.bare), winner, "hook {hook}");

        // The hint works: fetch, release again, get the next version.
        env.git(&other, &["fetch", "-q", "--tags", "origin"]);
        env.run(&other, &["service-a", "--bump", "minor", "--push"])
            .ok();
        assert_eq!(remote_tags(&env, &repo.bare).len(), 2, "hook {hook}");
    }
}
