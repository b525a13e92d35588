//! Shared paths (`also`, `[defaults] also`) and `list --changed`, through the real binary
//! in real repositories: a commit under a shared path counts for exactly the services
//! that list it, in `list`, the suggestion and the notes.

use monorel_e2e::{Monorepo, TestEnv};

/// `api` lists `libs/common`, `web` the glob `libs/*/src`, `worker` nothing of its own;
/// every service shares `proto` through `[defaults] also`.
const CONFIG: &str = r#"[defaults]
also = ["proto"]

[registry]
kind = "none"

[services.api]
path = "services/api"
also = ["libs/common"]

[services.web]
path = "services/web"
also = ["libs/*/src"]

[services.worker]
path = "services/worker"
"#;

/// A monorepo of api, web and worker with [`CONFIG`], each service released as 1.0.0 at
/// the initial import.
fn released(env: &TestEnv) -> Monorepo {
    let services = ["api", "web", "worker"];
    let repo = env.monorepo("mono", CONFIG, &services);
    for s in services {
        let tag = format!("{s}-v1.0.0");
        env.git(&repo.work, &["tag", "-a", "-m", &tag, &tag]);
    }
    repo
}

/// Writes `path` (relative to the root) and commits it with `message`.
fn commit_file(env: &TestEnv, repo: &Monorepo, path: &str, message: &str) -> String {
    let file = repo.work.join(path);
    std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
    let mut text = std::fs::read_to_string(&file).unwrap_or_default();
    text.push_str(message);
    text.push('\n');
    std::fs::write(&file, text).expect("write");
    env.git(&repo.work, &["add", "-A"]);
    env.git(&repo.work, &["commit", "-q", "-m", message]);
    env.git(&repo.work, &["rev-parse", "HEAD"])
}

/// The services `list --changed` prints, from its JSON, with their counts.
fn changed(env: &TestEnv, repo: &Monorepo, extra: &[&str]) -> Vec<(String, u64)> {
    let mut args = vec!["list", "--changed", "--json"];
    args.extend_from_slice(extra);
    let json = env.run(&repo.work, &args).ok().json();
    json.as_array()
        .expect("an array")
        .iter()
        .map(|row| {
            (
                row["service"].as_str().expect("service").to_string(),
                row["commits_since"].as_u64().expect("count"),
            )
        })
        .collect()
}

fn names(rows: &[(String, u64)]) -> Vec<&str> {
    rows.iter().map(|(s, _)| s.as_str()).collect()
}

/// `next --json`; exit 1 (nothing to release) still prints the document.
fn next(env: &TestEnv, repo: &Monorepo, service: &str) -> serde_json::Value {
    let run = env.run(&repo.work, &["next", service, "--offline", "--json"]);
    assert!(run.code == 0 || run.code == 1, "{run:?}");
    run.json()
}

#[test]
fn nothing_changed_is_an_empty_list_and_exit_0() {
    let env = TestEnv::new();
    let repo = released(&env);
    assert!(changed(&env, &repo, &[]).is_empty());
    let run = env.run(&repo.work, &["list", "--changed"]).ok();
    assert_eq!(run.stdout, "");
    // Plain `list` still prints every service.
    let all = env.run(&repo.work, &["list", "--json"]).ok().json();
    assert_eq!(all.as_array().expect("array").len(), 3);
}

#[test]
fn a_change_under_a_shared_path_counts_only_for_the_services_that_list_it() {
    let env = TestEnv::new();
    let repo = released(&env);
    commit_file(&env, &repo, "libs/common/retry.txt", "feat: retry helper");
    assert_eq!(changed(&env, &repo, &[]), [("api".to_string(), 1)]);

    let api = next(&env, &repo, "api");
    assert_eq!(api["commits"], 1, "{api}");
    assert_eq!(api["next"], "1.1.0", "{api}");
    for other in ["web", "worker"] {
        let json = next(&env, &repo, other);
        assert_eq!(json["commits"], 0, "{json}");
        assert_eq!(json["next"], serde_json::Value::Null, "{json}");
    }
    // Saying why names the shared paths that were looked at too.
    let run = env.run(&repo.work, &["next", "worker", "--offline"]);
    assert!(
        run.stderr
            .contains("no commit has touched `services/worker` or its shared paths `proto` since"),
        "{}",
        run.stderr
    );

    // The plain table shows the same, and `status`-like counts in `list` agree.
    let table = env.run(&repo.work, &["list", "--changed"]).ok().stdout;
    assert!(table.contains("api"), "{table}");
    assert!(
        !table.contains("web") && !table.contains("worker"),
        "{table}"
    );
    let all = env.run(&repo.work, &["list", "--json"]).ok().json();
    let counts: Vec<u64> = all
        .as_array()
        .expect("array")
        .iter()
        .map(|r| r["commits_since"].as_u64().expect("count"))
        .collect();
    assert_eq!(counts, [1, 0, 0]);
}

#[test]
fn defaults_also_applies_to_every_service() {
    let env = TestEnv::new();
    let repo = released(&env);
    commit_file(
        &env,
        &repo,
        "proto/orders.proto",
        "fix(proto): field number",
    );
    assert_eq!(names(&changed(&env, &repo, &[])), ["api", "web", "worker"]);
    for service in ["api", "web", "worker"] {
        let json = next(&env, &repo, service);
        assert_eq!(json["next"], "1.0.1", "{json}");
    }
}

#[test]
fn a_glob_entry_matches_what_git_glob_matches() {
    let env = TestEnv::new();
    let repo = released(&env);
    // `libs/*/src` covers the src of every lib, at any depth below it...
    commit_file(&env, &repo, "libs/cache/src/deep/lru.txt", "feat: lru");
    assert_eq!(changed(&env, &repo, &[]), [("web".to_string(), 1)]);
    // ...but not a lib's other files, nor a src two levels down (`*` is one component).
    commit_file(&env, &repo, "libs/cache/README", "docs: cache readme");
    commit_file(&env, &repo, "libs/a/b/src/x.txt", "feat: nested");
    assert_eq!(changed(&env, &repo, &[]), [("web".to_string(), 1)]);
    // `libs/common/src` is under both api's prefix and web's glob.
    commit_file(&env, &repo, "libs/common/src/io.txt", "fix: io");
    assert_eq!(
        changed(&env, &repo, &[]),
        [("api".to_string(), 1), ("web".to_string(), 2)]
    );
}

#[test]
fn since_counts_the_commits_of_a_push_instead_of_since_each_release() {
    let env = TestEnv::new();
    let repo = released(&env);
    commit_file(&env, &repo, "services/worker/job.txt", "feat: job");
    let before = env.git(&repo.work, &["rev-parse", "HEAD"]);
    commit_file(&env, &repo, "libs/common/a.txt", "fix: a");
    commit_file(&env, &repo, "services/web/page.txt", "fix: page");
    // Since the releases: all three; since `before`: only what the last two touched.
    assert_eq!(names(&changed(&env, &repo, &[])), ["api", "web", "worker"]);
    assert_eq!(
        changed(&env, &repo, &["--since", &before]),
        [("api".to_string(), 1), ("web".to_string(), 1)]
    );
    assert!(changed(&env, &repo, &["--since", "HEAD"]).is_empty());

    // A revision that is not one, or that looks like an option, is refused by name.
    for bad in ["no-such-rev", "--output=/tmp/x"] {
        let run = env
            .run(
                &repo.work,
                &["list", "--changed", &format!("--since={bad}")],
            )
            .expect_code(1);
        assert!(
            run.stderr.contains("error:") && run.stderr.contains(bad),
            "{}",
            run.stderr
        );
    }
    // `--since` without `--changed` is a usage error, not a silent no-op.
    env.run(&repo.work, &["list", "--since", "HEAD"])
        .expect_code(2);
}

#[test]
fn notes_of_a_service_include_its_shared_path_commits() {
    let env = TestEnv::new();
    let repo = released(&env);
    let shared = commit_file(&env, &repo, "libs/common/auth.txt", "feat(auth): tokens");
    commit_file(&env, &repo, "services/web/x.txt", "fix: web only");
    let json = env
        .run(&repo.work, &["notes", "api", "--format", "json"])
        .ok()
        .json();
    let commits = json["commits"].as_array().expect("commits");
    assert_eq!(commits.len(), 1, "{json}");
    assert_eq!(commits[0]["subject"], "feat(auth): tokens");
    assert!(shared.starts_with(commits[0]["id"].as_str().expect("id")));
    let md = env.run(&repo.work, &["notes", "api"]).ok().stdout;
    assert!(md.contains("tokens") && !md.contains("web only"), "{md}");
}

#[test]
fn a_bad_also_entry_is_refused_with_its_key() {
    let env = TestEnv::new();
    let repo = released(&env);
    for (entry, rule) in [
        ("../outside", "`..`"),
        ("/abs", "absolute"),
        ("libs/[ab", "never closed"),
    ] {
        let text = std::fs::read_to_string(repo.work.join("git-release.toml")).expect("read");
        let text = text.replace(
            "also = [\"proto\"]",
            &format!("also = [\"proto\", {entry:?}]"),
        );
        std::fs::write(repo.work.join("git-release.toml"), &text).expect("write");
        let run = env.run(&repo.work, &["list"]);
        assert!(!run.success(), "{entry}");
        assert!(
            run.stderr.contains("defaults.also[1]") && run.stderr.contains(rule),
            "{entry}: {}",
            run.stderr
        );
        let text = text.replace(&format!(", {entry:?}"), "");
        std::fs::write(repo.work.join("git-release.toml"), text).expect("restore");
    }
}
