//! Release notes (the tag message, `git release notes`) and the GitLab pipeline of
//! `init --ci gitlab`, through the real binary in real repositories.

use std::path::{Path, PathBuf};

use monorel_e2e::{config_none, Monorepo, TestEnv};
use yaml_rust2::{Yaml, YamlLoader};

/// Commits under `service` at a fixed second `t` of 2026-01-02, so that `git log`'s
/// order (by date) is the order the test wrote.
fn commit_at(env: &mut TestEnv, repo: &Monorepo, service: &str, file: &str, msg: &str, t: u32) {
    set_time(env, t);
    env.commit_to(repo, service, file, msg);
}

fn set_time(env: &mut TestEnv, t: u32) {
    let date = format!("2026-01-02T00:00:{t:02}Z");
    env.set_env("GIT_AUTHOR_DATE", &date);
    env.set_env("GIT_COMMITTER_DATE", &date);
}

fn head(env: &TestEnv, repo: &Monorepo) -> String {
    env.git(&repo.work, &["rev-parse", "HEAD"])
}

/// The ids of the commits of [`history`], by role.
struct History {
    repo: Monorepo,
    login: String,
    crash: String,
    runtime: String,
    temporary: String,
    revert: String,
    dark: String,
    pool: String,
    merge: String,
    readme: String,
    ansi: String,
}

/// service-a released as 1.0.0, then: features, fixes (one squash-merged with a PR
/// number), a breaking footer, a revert pair made by `git revert`, a merged branch (both
/// sides touch the service, so `git log -- path` lists the merge), a non-conventional
/// commit, a subject with ANSI escapes, and a commit of service-b only.
fn history(env: &mut TestEnv) -> History {
    let repo = env.monorepo(
        "mono",
        &config_none(&["service-a", "service-b"]),
        &["service-a", "service-b"],
    );
    env.git(
        &repo.work,
        &["tag", "-a", "-m", "service-a-v1.0.0", "service-a-v1.0.0"],
    );
    let c = |env: &mut TestEnv, file: &str, msg: &str, t: u32| {
        commit_at(env, &repo, "service-a", file, msg, t);
        head(env, &repo)
    };
    let login = c(env, "api.txt", "feat(api): add login", 1);
    let crash = c(env, "main.txt", "fix: crash on start (#12)", 2);
    let runtime = c(
        env,
        "runtime.txt",
        "chore(deps): bump runtime\n\nBREAKING CHANGE: needs node 20",
        3,
    );
    let temporary = c(env, "flag.txt", "feat: temporary flag", 4);
    set_time(env, 5);
    env.git(&repo.work, &["revert", "--no-edit", &temporary]);
    let revert = head(env, &repo);
    env.git(&repo.work, &["checkout", "-q", "-b", "topic"]);
    let dark = c(env, "ui.txt", "feat(ui): dark mode", 6);
    env.git(&repo.work, &["checkout", "-q", "main"]);
    let pool = c(env, "db.txt", "fix(db): pool size", 7);
    set_time(env, 8);
    env.git(
        &repo.work,
        &[
            "merge",
            "-q",
            "--no-ff",
            "-m",
            "Merge branch 'topic'",
            "topic",
        ],
    );
    let merge = head(env, &repo);
    let readme = c(env, "README", "Update the README wording", 9);
    let ansi = c(env, "alert.txt", "fix: \x1b[31mred\x1b[0m alert", 10);
    commit_at(env, &repo, "service-b", "b.txt", "feat: b only", 11);
    History {
        repo,
        login,
        crash,
        runtime,
        temporary,
        revert,
        dark,
        pool,
        merge,
        readme,
        ansi,
    }
}

fn short(id: &str) -> &str {
    &id[..7]
}

#[test]
fn the_tag_message_lists_the_notes_grouped_and_sanitised() {
    let mut env = TestEnv::new();
    let h = history(&mut env);
    env.run(&h.repo.work, &["service-a", "--bump", "minor", "--offline"])
        .ok();
    let message = env.git(
        &h.repo.work,
        &["tag", "-l", "--format=%(contents)", "service-a-v1.1.0"],
    );
    let expected = format!(
        "service-a version 1.1.0

Changes since service-a-v1.0.0:

Breaking changes:
- {runtime} chore(deps): bump runtime
    BREAKING CHANGE: needs node 20

Features:
- {dark} feat(ui): dark mode
- {login} feat(api): add login

Bug fixes:
- {ansi} fix: \\x1b[31mred\\x1b[0m alert
- {pool} fix(db): pool size
- {crash} fix: crash on start (#12)

Other changes:
- {readme} Update the README wording",
        runtime = short(&h.runtime),
        dark = short(&h.dark),
        login = short(&h.login),
        ansi = short(&h.ansi),
        pool = short(&h.pool),
        crash = short(&h.crash),
        readme = short(&h.readme),
    );
    assert_eq!(message, expected);
    assert!(!message.contains('\x1b'));
}

#[test]
fn notes_of_a_release_in_markdown_and_json() {
    let mut env = TestEnv::new();
    let h = history(&mut env);
    set_time(&mut env, 20);
    env.git(
        &h.repo.work,
        &["tag", "-a", "-m", "service-a-v1.1.0", "service-a-v1.1.0"],
    );

    let md = env
        .run(&h.repo.work, &["notes", "service-a-v1.1.0"])
        .ok()
        .stdout;
    let expected = format!(
        "### Breaking changes

- chore(deps): bump runtime ({runtime})
  > needs node 20

### Features

- **ui:** dark mode ({dark})
- **api:** add login ({login})

### Bug fixes

- \\x1b[31mred\\x1b[0m alert ({ansi})
- **db:** pool size ({pool})
- crash on start (#12) ({crash})

### Other changes

- Update the README wording ({readme})
",
        runtime = short(&h.runtime),
        dark = short(&h.dark),
        login = short(&h.login),
        ansi = short(&h.ansi),
        pool = short(&h.pool),
        crash = short(&h.crash),
        readme = short(&h.readme),
    );
    assert_eq!(md, expected);
    assert!(!md.contains('\x1b'));

    let run = env
        .run(
            &h.repo.work,
            &["notes", "service-a-v1.1.0", "--format", "json"],
        )
        .ok();
    assert!(!run.stdout.contains('\x1b') && !run.stdout.contains("\\u001b"));
    let json = run.json();
    assert_eq!(json["service"], "service-a");
    assert_eq!(json["version"], "1.1.0");
    assert_eq!(json["tag"], "service-a-v1.1.0");
    assert_eq!(json["previous"], "service-a-v1.0.0");
    assert_eq!(json["date"], "2026-01-02");
    let commits = json["commits"].as_array().expect("commits");
    let row = |id: &str| {
        commits
            .iter()
            .find(|c| c["id"] == id)
            .unwrap_or_else(|| panic!("{id} not listed in {json}"))
    };
    let runtime = row(&h.runtime);
    assert_eq!(runtime["type"], "chore");
    assert_eq!(runtime["scope"], "deps");
    assert_eq!(runtime["breaking"], true);
    assert_eq!(runtime["group"], "breaking");
    assert_eq!(runtime["subject"], "chore(deps): bump runtime");
    assert_eq!(runtime["breaking_notes"][0], "needs node 20");
    let login = row(&h.login);
    assert_eq!(login["type"], "feat");
    assert_eq!(login["scope"], "api");
    assert_eq!(login["breaking"], false);
    assert_eq!(row(&h.crash)["pr"], 12);
    let readme = row(&h.readme);
    assert_eq!(readme["type"], serde_json::Value::Null);
    assert_eq!(readme["group"], "other");
    let listed: Vec<&str> = commits
        .iter()
        .map(|c| c["id"].as_str().expect("id"))
        .collect();
    assert_eq!(listed.len(), 7, "{listed:?}");
    for gone in [&h.temporary, &h.revert, &h.merge] {
        assert!(!listed.contains(&gone.as_str()), "{gone} listed");
    }
    let skipped = json["skipped"].as_array().expect("skipped");
    let reason = |id: &str| {
        skipped
            .iter()
            .find(|s| s["id"] == id)
            .map(|s| s["reason"].clone())
    };
    assert_eq!(reason(&h.merge), Some("merge".into()));
    assert_eq!(reason(&h.revert), Some("reverts".into()));
    assert_eq!(reason(&h.temporary), Some("reverted-by".into()));

    // --from: the same range, named explicitly; a later start lists less.
    let from = env
        .run(
            &h.repo.work,
            &["notes", "service-a-v1.1.0", "--from", &h.merge],
        )
        .ok()
        .stdout;
    assert!(from.contains("alert") && from.contains("README"), "{from}");
    assert!(!from.contains("login"), "{from}");
}

#[test]
fn notes_of_a_service_are_its_unreleased_commits() {
    let mut env = TestEnv::new();
    let h = history(&mut env);
    let json = env
        .run(&h.repo.work, &["notes", "service-b", "--format", "json"])
        .ok()
        .json();
    assert_eq!(json["version"], serde_json::Value::Null);
    assert_eq!(json["previous"], serde_json::Value::Null);
    let subjects: Vec<&str> = json["commits"]
        .as_array()
        .expect("commits")
        .iter()
        .map(|c| c["subject"].as_str().expect("subject"))
        .collect();
    assert_eq!(subjects, ["feat: b only", "chore: initial import"]);

    let run = env.run(&h.repo.work, &["notes", "nope"]).expect_code(1);
    assert!(
        run.stderr
            .contains("neither a configured service nor a tag"),
        "{}",
        run.stderr
    );
}

#[test]
fn release_notes_can_be_turned_off_and_m_sets_the_first_paragraph() {
    let env = TestEnv::new();
    let config = format!(
        "{}\n[release]\nnotes = false\n",
        config_none(&["service-a"])
    );
    let repo = env.monorepo("off", &config, &["service-a"]);
    env.commit_to(&repo, "service-a", "a.txt", "feat: something");
    env.run(&repo.work, &["service-a", "--bump", "minor", "--offline"])
        .ok();
    let message = env.git(
        &repo.work,
        &["tag", "-l", "--format=%(contents)", "service-a-v0.1.0"],
    );
    assert_eq!(message, "service-a version 0.1.0");

    let repo = env.monorepo("on", &config_none(&["service-a"]), &["service-a"]);
    env.commit_to(&repo, "service-a", "a.txt", "feat: something");
    env.run(
        &repo.work,
        &["service-a", "--bump", "minor", "--offline", "-m", "Hotfix"],
    )
    .ok();
    let message = env.git(
        &repo.work,
        &["tag", "-l", "--format=%(contents)", "service-a-v0.1.0"],
    );
    assert!(
        message.starts_with("Hotfix\n\nChanges since the start:\n\nFeatures:\n- "),
        "{message}"
    );

    // A typo in the new table is an error, not a silent default.
    let repo = env.monorepo(
        "typo",
        &format!("{}\n[release]\nnote = false\n", config_none(&["service-a"])),
        &["service-a"],
    );
    let run = env.run(&repo.work, &["list"]).expect_code(3);
    assert!(run.stderr.contains("note"), "{}", run.stderr);
}

// ---- GitLab CI ----------------------------------------------------------------------------

/// Returns check-jsonschema, or `None` to skip outside CI; fails in CI.
fn check_jsonschema() -> Option<PathBuf> {
    match std::env::var_os("CHECK_JSONSCHEMA").map(PathBuf::from) {
        Some(path) if path.exists() => Some(path),
        _ if std::env::var_os("CI").is_some() => panic!(
            "CHECK_JSONSCHEMA is unset or missing: install check-jsonschema from PyPI (scripts/test.sh does) and set CHECK_JSONSCHEMA"
        ),
        _ => {
            eprintln!("skipping the GitLab schema check: set CHECK_JSONSCHEMA (scripts/test.sh installs check-jsonschema)");
            None
        }
    }
}

fn assert_valid_gitlab_ci(env: &TestEnv, file: &Path) {
    let Some(checker) = check_jsonschema() else {
        return;
    };
    let out = env
        .command(&checker, file.parent().expect("dir"))
        .args([
            "--builtin-schema",
            "vendor.gitlab-ci",
            "--data-transform",
            "gitlab-ci",
        ])
        .arg(file)
        .output()
        .expect("run check-jsonschema");
    assert!(
        out.status.success(),
        "{} fails the GitLab CI schema:\n{}{}",
        file.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn rules(job: &Yaml) -> Vec<String> {
    job["rules"]
        .as_vec()
        .expect("rules")
        .iter()
        .map(|r| r["if"].as_str().expect("if rule").to_string())
        .collect()
}

fn needs(job: &Yaml) -> Vec<String> {
    job["needs"]
        .as_vec()
        .map(|needs| {
            needs
                .iter()
                .map(|n| match n {
                    Yaml::String(s) => s.clone(),
                    n => n["job"].as_str().expect("needs job").to_string(),
                })
                .collect()
        })
        .unwrap_or_default()
}

fn script(doc: &Yaml, name: &str) -> String {
    let job = &doc[name];
    let mut lines: Vec<String> = Vec::new();
    for key in ["before_script", "script"] {
        let mut from = job;
        // Follow `extends` for the before_script.
        while from[key].is_badvalue() {
            match from["extends"].as_str() {
                Some(parent) => from = &doc[parent],
                None => break,
            }
        }
        if let Some(items) = from[key].as_vec() {
            lines.extend(items.iter().filter_map(|i| i.as_str().map(str::to_string)));
        }
    }
    lines.join("\n")
}

#[test]
fn init_ci_gitlab_writes_a_pipeline_that_checks_promotes_then_releases() {
    let env = TestEnv::new();
    let repo = env.monorepo(
        "mono",
        &config_none(&["service-a", "api-v2"]),
        &["service-a", "api-v2"],
    );
    let run = env.run(&repo.work, &["init", "--ci", "gitlab"]).ok();
    assert!(
        run.stdout.contains("wrote .gitlab-ci.yml"),
        "{}",
        run.stdout
    );
    let file = repo.work.join(".gitlab-ci.yml");
    assert_valid_gitlab_ci(&env, &file);
    let text = std::fs::read_to_string(&file).expect("read");
    let doc = &YamlLoader::load_from_str(&text).expect("YAML")[0];

    let tag_rule = "$CI_COMMIT_TAG =~ /^[a-z0-9][a-z0-9._-]*\\-v[0-9]+\\.[0-9]+\\.[0-9]+([-+][0-9A-Za-z.+-]*)?$/";
    let jobs: Vec<&str> = doc
        .as_hash()
        .expect("mapping")
        .keys()
        .filter_map(Yaml::as_str)
        .filter(|k| !k.starts_with('.'))
        .collect();
    let on_tags: Vec<&str> = jobs
        .iter()
        .copied()
        .filter(|j| rules(&doc[*j]) == [tag_rule])
        .collect();
    assert_eq!(
        on_tags,
        [
            "git-release-check",
            "git-release-promote",
            "git-release-publish"
        ]
    );
    // The rule's regular expression matches release tags and nothing else (grep -E reads
    // this subset of RE2 the same way).
    let regex = tag_rule
        .trim_start_matches("$CI_COMMIT_TAG =~ /")
        .trim_end_matches('/');
    for (tag, release) in [
        ("service-a-v1.2.3", true),
        ("api-v2-v0.1.0-rc.1", true),
        ("service-a-v1.2.3+build.5", true),
        ("main", false),
        ("service-a-vx", false),
        ("service-a-v1.2", false),
    ] {
        let out = env
            .command("grep", &repo.work)
            .args(["-qE", regex])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                child
                    .stdin
                    .take()
                    .expect("stdin")
                    .write_all(format!("{tag}\n").as_bytes())?;
                child.wait()
            })
            .expect("grep");
        assert_eq!(out.success(), release, "{tag} against {regex}");
    }

    // check → promote → release, each waiting for the one before.
    assert!(needs(&doc["git-release-check"]).is_empty());
    assert_eq!(needs(&doc["git-release-promote"]), ["git-release-check"]);
    assert_eq!(needs(&doc["git-release-publish"]), ["git-release-promote"]);
    assert!(script(doc, "git-release-check").contains("git release check \"$CI_COMMIT_TAG\""));
    let promote = script(doc, "git-release-promote");
    assert!(
        promote.contains("git release promote \"$CI_COMMIT_TAG\""),
        "{promote}"
    );
    assert!(
        promote.contains("git release notes \"$CI_COMMIT_TAG\" --format md > release-notes.md"),
        "{promote}"
    );
    assert!(
        promote.contains("refs/tags/*"),
        "tags are fetched: {promote}"
    );
    let release = &doc["git-release-publish"]["release"];
    assert_eq!(release["tag_name"].as_str(), Some("$CI_COMMIT_TAG"));
    assert_eq!(release["description"].as_str(), Some("release-notes.md"));
    assert_eq!(
        doc["git-release-promote"]["artifacts"]["paths"][0].as_str(),
        Some("release-notes.md")
    );

    // The default branch builds every changed service, tagged by commit.
    let build = &doc["git-release-build"];
    assert_eq!(rules(build), ["$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH"]);
    let build_script = script(doc, "git-release-build");
    assert!(build_script.contains("CI_COMMIT_SHA"), "{build_script}");
    assert!(
        build_script.contains("CI_COMMIT_BEFORE_SHA"),
        "{build_script}"
    );
    // ECR through OIDC, else GitLab's registry; never static AWS keys.
    assert!(build_script.contains("AWS_WEB_IDENTITY_TOKEN_FILE"));
    assert!(
        build_script.contains("$CI_REGISTRY_USER")
            && build_script.contains("$CI_REGISTRY_PASSWORD")
    );
    assert!(!text.contains("AWS_SECRET_ACCESS_KEY"));
    assert_eq!(
        doc[".git-release-aws-oidc"]["id_tokens"]["AWS_ID_TOKEN"]["aud"].as_str(),
        Some("sts.amazonaws.com")
    );
    assert_eq!(build["extends"].as_str(), Some(".git-release-aws-oidc"));

    // Our own file is not overwritten without --force, and is with it.
    env.run(&repo.work, &["init", "--ci", "gitlab"])
        .expect_code(1);
    env.run(&repo.work, &["init", "--ci", "gitlab", "--force"])
        .ok();

    // A user's pipeline is never overwritten, even with --force: the jobs go to an
    // include file and the user is told the line to add.
    let mine = "unit:\n  script: [make test]\n";
    std::fs::write(&file, mine).expect("write");
    for args in [
        &["init", "--ci", "gitlab"][..],
        &["init", "--ci", "gitlab", "--force"],
    ] {
        let run = env.run(&repo.work, args).ok();
        assert!(
            run.stdout
                .contains("include:\n  - local: .gitlab/git-release.yml"),
            "{}",
            run.stdout
        );
        assert_eq!(std::fs::read_to_string(&file).expect("read"), mine);
    }
    let include = repo.work.join(".gitlab/git-release.yml");
    assert_eq!(std::fs::read_to_string(&include).expect("include"), text);
    // The include, merged into the user's file, is a valid pipeline too.
    std::fs::write(&file, format!("{mine}{text}")).expect("write");
    assert_valid_gitlab_ci(&env, &file);
}

#[test]
fn github_release_workflow_publishes_the_notes_after_promote() {
    let env = TestEnv::new();
    let repo = env.monorepo("mono", &config_none(&["service-a"]), &["service-a"]);
    env.run(&repo.work, &["init", "--ci", "github"]).ok();
    let text = std::fs::read_to_string(repo.work.join(".github/workflows/release.yml"))
        .expect("release.yml");
    let doc = &YamlLoader::load_from_str(&text).expect("YAML")[0];
    let publish = &doc["jobs"]["publish"];
    assert_eq!(publish["needs"].as_str(), Some("promote"));
    assert_eq!(publish["permissions"]["contents"].as_str(), Some("write"));
    let run = publish["steps"]
        .as_vec()
        .expect("steps")
        .iter()
        .filter_map(|s| s["run"].as_str())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        run.contains("gh release create \"$GITHUB_REF_NAME\" --verify-tag --title \"$GITHUB_REF_NAME\" --notes-file release-notes.md"),
        "{run}"
    );
    let promote_steps = format!("{:?}", doc["jobs"]["promote"]["steps"]);
    assert!(
        promote_steps
            .contains("git release notes \\\"$GITHUB_REF_NAME\\\" --format md > release-notes.md"),
        "{promote_steps}"
    );
}

#[test]
fn a_stable_release_after_a_release_candidate_lists_everything_since_the_last_stable() {
    let env = TestEnv::new();
    let repo = env.monorepo("rc", &config_none(&["service-a"]), &["service-a"]);
    let tag = |name: &str| env.git(&repo.work, &["tag", "-a", "-m", name, name]);
    tag("service-a-v1.0.0");
    env.commit_to(&repo, "service-a", "a.txt", "feat: in the candidate");
    tag("service-a-v1.1.0-rc.1");
    env.commit_to(&repo, "service-a", "a.txt", "fix: after the candidate");
    env.run(&repo.work, &["service-a", "--bump", "release", "--offline"])
        .ok();
    let message = env.git(
        &repo.work,
        &["tag", "-l", "--format=%(contents)", "service-a-v1.1.0"],
    );
    assert!(
        message.contains("Changes since service-a-v1.0.0:"),
        "{message}"
    );
    assert!(message.contains("feat: in the candidate"), "{message}");
    assert!(message.contains("fix: after the candidate"), "{message}");
    let json = env
        .run(
            &repo.work,
            &["notes", "service-a-v1.1.0", "--format", "json"],
        )
        .ok()
        .json();
    assert_eq!(json["previous"], "service-a-v1.0.0");
    assert_eq!(json["commits"].as_array().expect("commits").len(), 2);
    // The candidate's own notes start at the previous release of any kind.
    let json = env
        .run(
            &repo.work,
            &["notes", "service-a-v1.1.0-rc.1", "--format", "json"],
        )
        .ok()
        .json();
    assert_eq!(json["previous"], "service-a-v1.0.0");
    assert_eq!(json["commits"].as_array().expect("commits").len(), 1);
}
