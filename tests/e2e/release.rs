//! `git release <service>`, `next`, `list`, `init`: end to end through the real binary.

use monorel_e2e::{config_none, remote_tags, TestEnv};

#[test]
fn first_release_then_minor_bump_and_push() {
    let env = TestEnv::new();
    let repo = env.monorepo(
        "mono",
        &config_none(&["service-a", "service-b"]),
        &["service-a", "service-b"],
    );
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
