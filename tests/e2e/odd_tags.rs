//! Right answers on odd tags: a tag that breaks the release rules (lightweight, or
//! pointing at a tree or a blob) never counts as a release for `next`, `list`, `status`
//! or `deploy`, and a damaged object is reported as corrupt (with `git fsck`), not as
//! missing (with `git fetch`, which cannot help).

use monorel_e2e::{released_with_stg, Monorepo, TestEnv};

const SERVICES: &[&str] = &["service-a", "service-b"];

/// service-a has one real release, 1.0.0, and a commit after it.
fn setup(env: &TestEnv) -> Monorepo {
    released_with_stg(env, SERVICES, "fix: a bug")
}

#[test]
fn tags_that_break_the_release_rules_are_no_releases() {
    let env = TestEnv::new();
    let repo = setup(&env);
    let w = &repo.work;
    // Higher versions than the real release, each shaped wrongly.
    env.git(w, &["tag", "service-a-v9.0.0"]);
    env.git(
        w,
        &["tag", "-a", "-m", "tree", "service-a-v8.0.0", "HEAD^{tree}"],
    );
    let blob = env.git(w, &["rev-parse", "HEAD:services/service-a/main.go"]);
    env.git(w, &["tag", "-a", "-m", "blob", "service-a-v7.0.0", &blob]);
    // A lightweight tag of an annotated tag of a tree: still no release.
    env.git(w, &["tag", "service-a-v6.0.0", "service-a-v8.0.0"]);
    // And after packing, where the reads take another path.
    for packed in [false, true] {
        if packed {
            env.git(w, &["pack-refs", "--all"]);
            env.git(w, &["repack", "-adq"]);
        }
        let next = env
            .run(w, &["next", "service-a", "--offline", "--json"])
            .ok()
            .json();
        assert_eq!(next["current"], "1.0.0", "packed {packed}: {next}");
        assert_eq!(next["next"], "1.0.1", "packed {packed}: {next}");

        let list = env.run(w, &["list", "--json"]).ok().json();
        assert_eq!(list[0]["service"], "service-a");
        assert_eq!(
            list[0]["latest"], "service-a-v1.0.0",
            "packed {packed}: {list}"
        );

        let status = env.run(w, &["status", "--json"]).ok().json();
        assert_eq!(
            status["services"][0]["latest"], "service-a-v1.0.0",
            "packed {packed}: {status}"
        );

        for bad in [
            "service-a-v9.0.0",
            "service-a-v8.0.0",
            "service-a-v7.0.0",
            "service-a-v6.0.0",
        ] {
            let run = env.run(w, &["deploy", "service-a", "--env", "stg", "--tag", bad]);
            assert_ne!(run.code, 0, "{bad} must not be deployable:\n{}", run.stdout);
        }
    }
    let deploy = env
        .run(w, &["deploy", "service-a", "--env", "stg", "--json"])
        .ok();
    assert!(
        deploy.stdout.contains("service-a-v1.0.0"),
        "the latest real release is deployed:\n{}",
        deploy.stdout
    );
}

#[test]
fn a_corrupt_tag_object_is_reported_as_corrupt() {
    let env = TestEnv::new();
    let repo = setup(&env);
    let w = &repo.work;
    env.git(w, &["tag", "-a", "-m", "release 1.1.0", "service-a-v1.1.0"]);
    let id = env.git(w, &["rev-parse", "service-a-v1.1.0"]);
    let path = w.join(".git/objects").join(&id[..2]).join(&id[2..]);
    let mut perms = std::fs::metadata(&path).expect("stat").permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&path, perms).expect("chmod");
    std::fs::write(&path, b"garbage, not zlib").expect("damage");

    for args in [
        vec!["next", "service-a", "--offline"],
        vec!["list"],
        vec!["check", "service-a-v1.1.0"],
    ] {
        let run = env.run(w, &args);
        assert_ne!(run.code, 0, "`{args:?}`:\n{}", run.stdout);
        assert!(
            run.stderr.contains(&format!("object {id} is corrupt"))
                && run.stderr.contains("git fsck"),
            "`{args:?}`:\n{}",
            run.stderr
        );
        assert!(
            !run.stderr.contains("git fetch"),
            "a corrupt object is not a missing one: `{args:?}`:\n{}",
            run.stderr
        );
    }
}
