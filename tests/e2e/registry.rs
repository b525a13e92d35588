//! The ECR backend end to end: the real binary against a real `moto_server` per test,
//! with a real loopback proxy in front of it for faults, and servers that refuse or hang.
//!
//! Images are put into moto through the AWS API (boto3), and the registry's state is read
//! back the same way after each command. Digests are always the ones moto returns (moto
//! does not hash manifests like ECR; see FACTS.md).

use monorel_e2e::moto::{docker_manifest, oci_index, Moto, MEDIA_TYPES};
use monorel_e2e::proxy::{closed_endpoint, BlackHole, Fault};
use monorel_e2e::world::{assert_one_error, MotoWorld as World};
use monorel_e2e::{Run, TestEnv};

/// A config with an ECR registry in us-east-1 and `services` under `services/<name>`.
fn ecr_config(services: &[&str], registry_extra: &str) -> String {
    let mut text = format!("[registry]\nregion = \"us-east-1\"\n{registry_extra}\n");
    for s in services {
        text.push_str(&format!("\n[services.{s}]\npath = \"services/{s}\"\n"));
    }
    text
}

/// moto, a monorepo with `services` under ECR, and the environment pointing at moto.
fn world(services: &[&str], registry_extra: &str) -> World {
    World::new(
        Moto::start(),
        &ecr_config(services, registry_extra),
        services,
    )
}

#[test]
fn release_records_the_image_digest_in_the_tag_message() {
    let w = world(&["service-a"], "");
    w.moto.create_repositories(&["service-a-image"], true);
    let sha = w.head();
    let digest = w
        .moto
        .put_image("service-a-image", &sha, &docker_manifest("a1"));

    let run = w.run(&["service-a", "--bump", "minor", "--json"]).ok();
    assert_eq!(run.json()["tag"], "service-a-v0.1.0", "{}", run.stdout);
    let message = w.env.git(
        &w.repo.work,
        &["tag", "-l", "--format=%(contents)", "service-a-v0.1.0"],
    );
    assert!(
        message.contains(&format!("Image: service-a-image:{sha}@{digest}")),
        "tag message lacks the digest:\n{message}"
    );
}

#[test]
fn release_is_refused_when_the_image_is_missing() {
    let w = world(&["service-a"], "");
    w.moto.create_repositories(&["service-a-image"], true);
    // Another commit has an image; HEAD has none.
    w.moto
        .put_image("service-a-image", &"0".repeat(40), &docker_manifest("old"));

    let run = w.run(&["service-a", "--bump", "minor"]).expect_code(1);
    assert_one_error(&run, "no image service-a-image:");
    assert!(run.stderr.contains("hint:"), "{}", run.stderr);
    assert!(w.local_tags().is_empty(), "a tag was created");
}

#[test]
fn release_is_refused_when_the_repository_is_missing() {
    let w = world(&["service-a"], "");
    let run = w.run(&["service-a", "--bump", "minor"]).expect_code(1);
    assert_one_error(&run, "repository service-a-image does not exist");
    assert!(w.local_tags().is_empty(), "a tag was created");
}

#[test]
fn release_uses_per_service_repository_and_image_tag_overrides() {
    let services = ["service-a"];
    let moto = Moto::start();
    let mut env = TestEnv::new();
    for (k, v) in moto.env() {
        env.set_env(k, &v);
    }
    let config = "[registry]\nregion = \"us-east-1\"\n\n[services.service-a]\npath = \"services/service-a\"\nrepository = \"team/a\"\nimage-tag = \"git-{short_sha}\"\n";
    let repo = env.monorepo("mono", config, &services);
    moto.create_repositories(&["team/a"], true);
    let sha = env.git(&repo.work, &["rev-parse", "HEAD"]);
    let tag = format!("git-{}", &sha[..7]);
    let digest = moto.put_image("team/a", &tag, &docker_manifest("ovr"));
    let run = env
        .run(&repo.work, &["service-a", "--bump", "patch", "--json"])
        .ok();
    let release = run.json()["tag"].as_str().expect("tag").to_string();
    let message = env.git(&repo.work, &["tag", "-l", "--format=%(contents)", &release]);
    assert!(
        message.contains(&format!("team/a:{tag}@{digest}")),
        "{message}"
    );
}

/// Promotes through a counting proxy; returns the run and the API operations it made.
fn promote_counted(w: &World, args: &[&str]) -> (Run, Vec<String>) {
    let proxy = w.proxy(Fault::None);
    let mut env_args = vec!["promote"];
    env_args.extend_from_slice(args);
    let run = w.run_via(&proxy.endpoint, &env_args);
    (run, proxy.operations())
}

#[test]
fn promote_single_arch_copies_the_manifest_in_two_calls() {
    let w = world(&["service-a"], "");
    w.moto.create_repositories(&["service-a-image"], false);
    let sha = w.head();
    let manifest = docker_manifest("single");
    let digest = w.moto.put_image("service-a-image", &sha, &manifest);
    w.tag("service-a-v1.0.0");

    let (run, operations) = promote_counted(&w, &["service-a-v1.0.0", "--json"]);
    let run = run.ok();
    assert_eq!(
        operations,
        ["BatchGetImage", "PutImage"],
        "exactly two calls"
    );
    let json = run.json();
    assert_eq!(json["changed"], true);
    assert_eq!(json["digest"], digest.as_str());
    assert_eq!(json["media_type"], MEDIA_TYPES[0]);
    assert_eq!(json["source"]["tag"], sha.as_str());
    assert_eq!(json["target"]["tag"], "service-a-v1.0.0");

    let (promoted_digest, media_type, bytes) = w
        .moto
        .image("service-a-image", "service-a-v1.0.0")
        .expect("release tag exists in the registry");
    assert_eq!(promoted_digest, digest);
    assert_eq!(media_type, MEDIA_TYPES[0]);
    let promoted: serde_json::Value = serde_json::from_str(&bytes).expect("manifest json");
    assert_eq!(promoted, manifest, "manifest copied unchanged");
}

#[test]
fn promote_multi_arch_index_copies_the_whole_index() {
    let w = world(&["service-a"], "");
    w.moto.create_repositories(&["service-a-image"], true);
    let sha = w.head();
    let index = oci_index("multi");
    let digest = w.moto.put_image("service-a-image", &sha, &index);
    w.tag("service-a-v2.0.0");

    let run = w.run(&["promote", "service-a-v2.0.0"]).ok();
    assert!(run.stdout.contains("promoted"), "{}", run.stdout);
    assert!(run.stdout.contains(&digest), "{}", run.stdout);
    let (promoted_digest, media_type, bytes) = w
        .moto
        .image("service-a-image", "service-a-v2.0.0")
        .expect("release tag exists");
    assert_eq!(promoted_digest, digest);
    assert_eq!(media_type, MEDIA_TYPES[3], "an index stays an index");
    let promoted: serde_json::Value = serde_json::from_str(&bytes).expect("index json");
    assert_eq!(promoted["manifests"].as_array().map(Vec::len), Some(2));
    assert_eq!(promoted, index, "both platforms copied");
}

#[test]
fn promote_twice_is_idempotent() {
    let w = world(&["service-a"], "");
    w.moto.create_repositories(&["service-a-image"], true);
    let sha = w.head();
    let digest = w
        .moto
        .put_image("service-a-image", &sha, &docker_manifest("twice"));
    w.tag("service-a-v1.0.0");

    let first = w.run(&["promote", "service-a-v1.0.0", "--json"]).ok();
    assert_eq!(first.json()["changed"], true);
    let (second, operations) = promote_counted(&w, &["service-a-v1.0.0", "--json"]);
    let second = second.ok();
    assert_eq!(second.json()["changed"], false);
    assert_eq!(second.json()["digest"], digest.as_str());
    assert_eq!(
        operations,
        ["BatchGetImage"],
        "nothing to write the second time"
    );
    let human = w.run(&["promote", "service-a-v1.0.0"]).ok();
    assert!(human.stdout.contains("nothing to do"), "{}", human.stdout);
}

#[test]
fn promote_refuses_to_move_a_release_tag_that_names_another_image() {
    let w = world(&["service-a"], "");
    w.moto.create_repositories(&["service-a-image"], false);
    let sha = w.head();
    let ours = w
        .moto
        .put_image("service-a-image", &sha, &docker_manifest("ours"));
    let theirs = w.moto.put_image(
        "service-a-image",
        "service-a-v1.0.0",
        &docker_manifest("theirs"),
    );
    assert_ne!(ours, theirs);
    w.tag("service-a-v1.0.0");

    let (run, operations) = promote_counted(&w, &["service-a-v1.0.0"]);
    let run = run.expect_code(1);
    assert_one_error(&run, "already names another image");
    assert!(run.stderr.contains("--force"), "{}", run.stderr);
    assert_eq!(operations, ["BatchGetImage"], "no write was attempted");
    let (digest, _, _) = w
        .moto
        .image("service-a-image", "service-a-v1.0.0")
        .expect("release tag still exists");
    assert_eq!(digest, theirs, "the registry was not changed");

    // --force moves it (this repository has mutable tags) and says what it was.
    let forced = w
        .run(&["promote", "service-a-v1.0.0", "--force", "--json"])
        .ok();
    assert_eq!(forced.json()["changed"], true);
    assert_eq!(forced.json()["previous_digest"], theirs.as_str());
    let (digest, _, _) = w
        .moto
        .image("service-a-image", "service-a-v1.0.0")
        .expect("release tag exists");
    assert_eq!(digest, ours);
}

#[test]
fn promote_of_a_commit_without_image_is_refused() {
    let w = world(&["service-a"], "");
    w.moto.create_repositories(&["service-a-image"], true);
    w.tag("service-a-v1.0.0");
    let run = w.run(&["promote", "service-a-v1.0.0"]).expect_code(1);
    assert_one_error(&run, "no image service-a-image:");
    assert!(w.moto.tags("service-a-image").is_empty());
}

#[test]
fn promote_rejects_tags_that_are_not_releases() {
    // No registry is needed: the tag is refused before any call.
    let env = TestEnv::new();
    let repo = env.monorepo("mono", &ecr_config(&["service-a"], ""), &["service-a"]);
    let run = env
        .run(&repo.work, &["promote", "service-x-v1.0.0"])
        .expect_code(2);
    assert_one_error(&run, "is not a release tag");
    let run = env
        .run(&repo.work, &["promote", "service-a-v1.0.0"])
        .expect_code(1);
    assert_one_error(&run, "no tag service-a-v1.0.0");
}

#[test]
fn doctor_reports_hook_credentials_and_tag_immutability() {
    let w = world(&["service-a", "service-b", "service-c"], "");
    w.moto.create_repositories(&["service-a-image"], true);
    w.moto.create_repositories(&["service-b-image"], false);
    // service-c-image does not exist; no hook is installed.
    let run = w.run(&["doctor", "--json"]).expect_code(1);
    let json = run.json();
    let find = |check: &str| {
        json["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .find(|f| f["check"] == check)
            .unwrap_or_else(|| panic!("no finding {check}: {json}"))
            .clone()
    };
    assert_eq!(json["ok"], false);
    assert_eq!(find("config")["status"], "ok");
    assert_eq!(find("hook")["status"], "fail");
    assert_eq!(find("region")["status"], "ok");
    assert_eq!(find("credentials")["status"], "ok");
    assert!(
        !run.stdout.contains("testing"),
        "doctor printed a credential:\n{}",
        run.stdout
    );
    assert_eq!(find("repository service-a-image")["status"], "ok");
    assert_eq!(find("repository service-b-image")["status"], "warn");
    assert_eq!(find("repository service-c-image")["status"], "fail");

    // Install a hook by hand and create the missing repository: all problems are gone,
    // the mutable repository stays a recommendation.
    let hooks = w.repo.work.join(".git/hooks");
    std::fs::create_dir_all(&hooks).expect("hooks dir");
    std::fs::write(
        hooks.join("pre-push"),
        "#!/bin/sh\nexec git-release hook pre-push \"$@\"\n",
    )
    .expect("hook");
    w.moto.create_repositories(&["service-c-image"], true);
    let run = w.run(&["doctor"]).ok();
    assert!(run.stdout.contains("recommendation"), "{}", run.stdout);
    assert!(run.stdout.contains("IMMUTABLE"), "{}", run.stdout);
}

// ---- faults: each bounded, one clear error line, nothing written ----

/// Prepares a world with an image for HEAD, so only the fault can make the release fail.
fn world_with_image(registry_extra: &str) -> World {
    let w = world(&["service-a"], registry_extra);
    w.moto.create_repositories(&["service-a-image"], true);
    let sha = w.head();
    w.moto
        .put_image("service-a-image", &sha, &docker_manifest("fault"));
    w
}

#[test]
fn fault_connection_refused() {
    let mut w = world_with_image("");
    w.env.set_env("AWS_ENDPOINT_URL", &closed_endpoint());
    let run = w.run(&["service-a", "--bump", "minor"]).expect_code(4);
    assert_one_error(&run, "connection refused");
    assert!(w.local_tags().is_empty(), "a tag was created");
}

#[test]
fn fault_server_never_answers() {
    let mut w = world_with_image("timeout-seconds = 3\nconnect-timeout-seconds = 1");
    let hole = BlackHole::start();
    w.env.set_env("AWS_ENDPOINT_URL", &hole.endpoint);
    let run = w.run(&["service-a", "--bump", "minor"]).expect_code(4);
    assert_one_error(&run, "within 3 s");
    assert!(
        hole.connections() >= 1,
        "the request never reached the server"
    );
    assert!(w.local_tags().is_empty(), "a tag was created");
}

#[test]
fn fault_http_500() {
    let mut w = world_with_image("");
    let proxy = w.proxy(Fault::Http500);
    w.env.set_env("AWS_ENDPOINT_URL", &proxy.endpoint);
    let run = w.run(&["service-a", "--bump", "minor"]).expect_code(4);
    assert_one_error(&run, "HTTP 500");
    assert_eq!(proxy.operations().len(), 3, "standard retries: 3 attempts");
    assert!(w.local_tags().is_empty(), "a tag was created");

    // promote fails the same way and writes nothing.
    w.tag("service-a-v1.0.0");
    let run = w.run(&["promote", "service-a-v1.0.0"]).expect_code(4);
    assert_one_error(&run, "HTTP 500");
    assert_eq!(
        w.moto.tags("service-a-image"),
        [w.head()],
        "the registry was not changed"
    );
}

#[test]
fn fault_throttling() {
    let mut w = world_with_image("");
    let proxy = w.proxy(Fault::Throttle);
    w.env.set_env("AWS_ENDPOINT_URL", &proxy.endpoint);
    let run = w.run(&["service-a", "--bump", "minor"]).expect_code(4);
    assert_one_error(&run, "throttled");
    assert!(run.stderr.contains("ThrottlingException"), "{}", run.stderr);
    assert!(w.local_tags().is_empty(), "a tag was created");

    // Once the registry recovers, the same command goes through.
    proxy.set_fault(Fault::None);
    w.run(&["service-a", "--bump", "minor"]).ok();
    assert_eq!(w.local_tags(), ["service-a-v0.1.0"]);
}

#[test]
fn fault_no_credentials_says_how_to_log_in() {
    let moto = Moto::start();
    let mut env = TestEnv::new();
    let empty = env.path().join("empty-aws-file");
    std::fs::write(&empty, "").expect("empty file");
    env.set_env("AWS_ENDPOINT_URL", &moto.endpoint);
    env.set_env("AWS_CONFIG_FILE", empty.to_str().expect("utf-8"));
    env.set_env(
        "AWS_SHARED_CREDENTIALS_FILE",
        empty.to_str().expect("utf-8"),
    );
    env.set_env("AWS_EC2_METADATA_DISABLED", "true");
    env.set_env("AWS_PROFILE", "dev");
    let repo = env.monorepo("mono", &ecr_config(&["service-a"], ""), &["service-a"]);
    moto.create_repositories(&["service-a-image"], true);

    let run = env
        .run(&repo.work, &["service-a", "--bump", "minor"])
        .expect_code(4);
    let errors = run.error_lines();
    assert_eq!(errors.len(), 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("aws sso login --profile dev") || run.stderr.contains("credentials"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("aws sso login"), "{}", run.stderr);
    let tags = env.git(&repo.work, &["tag", "-l"]);
    assert!(tags.is_empty(), "a tag was created: {tags}");
}

/// An expired session says how to log in and keeps AWS's own reason, without the SDK's
/// debug dump of the error (`Error { code: …, aws_request_id: … }`).
#[test]
fn fault_expired_credentials_say_how_to_log_in_without_a_debug_dump() {
    let mut w = world_with_image("");
    let proxy = w.proxy(Fault::ExpiredToken);
    w.env.set_env("AWS_ENDPOINT_URL", &proxy.endpoint);
    w.env.set_env("AWS_PROFILE", "dev");
    w.env.set_env("AWS_CONFIG_FILE", "/dev/null");
    let run = w.run(&["service-a", "--bump", "minor"]).expect_code(4);
    assert_one_error(&run, "the AWS session has expired");
    w.tag("service-a-v1.0.0");
    let check = w.run(&["check", "service-a-v1.0.0"]).expect_code(4);
    for text in [&run.stderr, &check.stdout] {
        assert!(
            text.contains(
                "ExpiredTokenException: The security token included in the request is expired"
            ),
            "the cause is kept:\n{text}"
        );
        assert!(text.contains("aws sso login --profile dev"), "{text}");
        for dump in ["Error {", "aws_request_id", "code: \"", "3f1c7c2e"] {
            assert!(!text.contains(dump), "a debug dump ({dump}):\n{text}");
        }
    }
}

#[test]
fn full_flow_release_push_then_promote() {
    let w = world(&["service-a", "service-b"], "");
    w.moto
        .create_repositories(&["service-a-image", "service-b-image"], true);
    w.run(&["install"]).ok();
    let sha = w
        .env
        .commit_to(&w.repo, "service-a", "app.txt", "feat: add an endpoint");
    let digest = w
        .moto
        .put_image("service-a-image", &sha, &oci_index("flow"));

    let run = w
        .run(&["service-a", "--bump", "minor", "--push", "--json"])
        .ok();
    let tag = run.json()["tag"].as_str().expect("tag").to_string();
    // The push went through the installed pre-push hook, which checked the image in moto.
    assert!(
        run.stderr.contains(&format!("✓ {tag} on ")) && run.stderr.contains(&digest),
        "{}",
        run.stderr
    );
    let remote = monorel_e2e::remote_tags(&w.env, &w.repo.bare);
    assert_eq!(remote.len(), 1, "{remote:?}");
    assert!(remote[0].starts_with(&format!("{tag} ")), "{remote:?}");

    // CI, on the tag push: promote the tag it was given.
    let promoted = w.run(&["promote", &tag, "--json"]).ok();
    assert_eq!(promoted.json()["digest"], digest.as_str());
    assert_eq!(
        w.moto.tags("service-a-image"),
        {
            let mut tags = vec![sha.clone(), tag.clone()];
            tags.sort();
            tags
        },
        "the image now carries its commit tag and the release tag"
    );
    assert!(
        w.moto.tags("service-b-image").is_empty(),
        "other services untouched"
    );
    let message = w
        .env
        .git(&w.repo.work, &["tag", "-l", "--format=%(contents)", &tag]);
    assert!(message.contains(&digest), "{message}");
}

/// moto with IAM enforced after seeding: a user `dev` allowed only `ecr:BatchGetImage`,
/// repository `service-a-image` with HEAD's image, and the environment using dev's keys.
fn world_with_iam() -> (World, String) {
    // Seeding makes exactly this many unauthenticated requests; IAM applies after them.
    let moto = Moto::start_with_env(&[("INITIAL_NO_AUTH_ACTION_COUNT", "5")]);
    let mut w = World::new(moto, &ecr_config(&["service-a"], ""), &["service-a"]);
    let sha = w.head();
    let manifest = docker_manifest("iam");
    w.as_iam_user(
        "dev",
        &["ecr:BatchGetImage"],
        vec![
            (
                "create_repository",
                serde_json::json!({"repositoryName": "service-a-image"}),
            ),
            (
                "put_image",
                serde_json::json!({
                    "repositoryName": "service-a-image",
                    "imageTag": sha,
                    "imageManifest": manifest.to_string(),
                    "imageManifestMediaType": manifest["mediaType"],
                }),
            ),
        ],
    );
    (w, sha)
}

#[test]
fn fault_access_denied_names_the_iam_action() {
    let (w, _) = world_with_iam();
    // Reading is allowed: the release goes through.
    w.run(&["service-a", "--bump", "minor"]).ok();
    // Writing is not: promote names ecr:PutImage.
    let run = w.run(&["promote", "service-a-v0.1.0"]).expect_code(4);
    assert_one_error(&run, "access denied");
    assert!(run.stderr.contains("ecr:PutImage"), "{}", run.stderr);
    // doctor names ecr:DescribeRepositories.
    let run = w.run(&["doctor"]).expect_code(1);
    assert!(
        run.stdout.contains("ecr:DescribeRepositories"),
        "{}",
        run.stdout
    );
}

#[test]
fn fault_wrong_credentials() {
    let (mut w, _) = world_with_iam();
    w.env.set_env("AWS_ACCESS_KEY_ID", "AKIAWRONGWRONGWRONG1");
    w.env.set_env("AWS_SECRET_ACCESS_KEY", "not-the-secret");
    let run = w.run(&["service-a", "--bump", "minor"]).expect_code(4);
    assert_one_error(&run, "rejected the AWS credentials");
    assert!(run.stderr.contains("aws sso login"), "{}", run.stderr);
    assert!(
        !run.stderr.contains("not-the-secret"),
        "a secret was printed:\n{}",
        run.stderr
    );
    assert!(w.local_tags().is_empty(), "a tag was created");
}

#[test]
fn hook_checks_the_tags_of_several_services_in_one_push() {
    let w = world(&["service-a", "service-b", "service-c"], "");
    w.moto.create_repositories(
        &["service-a-image", "service-b-image", "service-c-image"],
        true,
    );
    w.run(&["install"]).ok();
    let sha = w.env.commit_to(
        &w.repo,
        "service-a",
        "app.txt",
        "feat: one commit, three services",
    );
    let digest_a = w
        .moto
        .put_image("service-a-image", &sha, &docker_manifest("a"));
    let digest_b = w.moto.put_image("service-b-image", &sha, &oci_index("b"));
    let proxy = w.proxy(Fault::None);

    // Two services with images, pushed together: both accepted, each with its digest,
    // and the registry asked once per repository.
    w.tag("service-a-v1.0.0");
    w.tag("service-b-v1.0.0");
    let run = w.push_via(&proxy.endpoint, &["origin", "--tags"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("✓ service-a-v1.0.0"), "{}", run.stderr);
    assert!(run.stderr.contains(&digest_a), "{}", run.stderr);
    assert!(run.stderr.contains(&digest_b), "{}", run.stderr);
    assert_eq!(proxy.operations(), ["BatchGetImage", "BatchGetImage"]);
    let remote = monorel_e2e::remote_tags(&w.env, &w.repo.bare);
    assert_eq!(remote.len(), 2, "{remote:?}");

    // One push with a good tag and a tag whose commit has no image: the whole push is
    // refused, the failure names the missing image, and neither tag reaches the remote.
    proxy.clear_operations();
    w.env
        .commit_to(&w.repo, "service-a", "app.txt", "fix: a second commit");
    let second = w.head();
    w.moto
        .put_image("service-a-image", &second, &docker_manifest("a2"));
    w.tag("service-a-v1.0.1");
    w.tag("service-c-v1.0.0");
    let run = w.push_via(&proxy.endpoint, &["origin", "--tags"]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("✓ service-a-v1.0.1"), "{}", run.stderr);
    assert!(
        run.stderr.contains("✗ [image] `service-c-v1.0.0`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!("service-c-image:{second}")),
        "{}",
        run.stderr
    );
    assert_eq!(proxy.operations(), ["BatchGetImage", "BatchGetImage"]);
    let remote = monorel_e2e::remote_tags(&w.env, &w.repo.bare);
    assert_eq!(
        remote.len(),
        2,
        "nothing of the refused push arrived: {remote:?}"
    );
    assert!(w.moto.tags("service-c-image").is_empty());
}

// ---- fail closed: the same answer gives the same verdict and exit code everywhere ----

/// Runs the installed hook's binary as git would, with `lines` on stdin.
fn hook_stdin(w: &World, lines: &str) -> Run {
    Run::from(w.env.hook_pre_push(&w.repo, lines))
}

/// The pre-push line for pushing local tag `tag` as a new tag.
fn new_tag_line(w: &World, tag: &str) -> String {
    let id = w
        .env
        .git(&w.repo.work, &["rev-parse", &format!("refs/tags/{tag}")]);
    format!("refs/tags/{tag} {id} refs/tags/{tag} {}\n", "0".repeat(40))
}

const WARN: &str = "\n[hook]\non-registry-error = \"warn\"";

/// An answer that means "there is no artifact" is a verdict, not an outage: with
/// `on-registry-error = "warn"` a missing image or a missing repository still blocks the
/// push, fails `check` and refuses the release, all with exit 1.
#[test]
fn a_missing_artifact_blocks_even_with_on_registry_error_warn() {
    let w = world(&["service-a", "service-b"], WARN);
    // service-a's repository exists without HEAD's image; service-b has no repository.
    w.moto.create_repositories(&["service-a-image"], true);
    w.moto
        .put_image("service-a-image", &"0".repeat(40), &docker_manifest("old"));
    w.run(&["install"]).ok();
    w.tag("service-a-v1.0.0");
    w.tag("service-b-v1.0.0");

    for (tag, needle) in [
        ("service-a-v1.0.0", "no image service-a-image:"),
        (
            "service-b-v1.0.0",
            "repository service-b-image does not exist",
        ),
    ] {
        // A real push through the installed hook: refused, nothing reaches the remote.
        let run = w.push_via(&w.moto.endpoint, &["origin", tag]);
        assert_ne!(
            run.code, 0,
            "{tag}: the push must be refused:\n{}",
            run.stderr
        );
        assert!(run.stderr.contains("✗ [image]"), "{tag}:\n{}", run.stderr);
        assert!(run.stderr.contains(needle), "{tag}:\n{}", run.stderr);
        assert!(
            !run.stderr.contains("let through"),
            "{tag}:\n{}",
            run.stderr
        );
        assert!(monorel_e2e::remote_tags(&w.env, &w.repo.bare).is_empty());

        // The hook binary itself, `check` and the release command: exit 1 each.
        let run = hook_stdin(&w, &new_tag_line(&w, tag)).expect_code(1);
        assert!(run.stderr.contains(needle), "{tag}:\n{}", run.stderr);
        let run = w.run(&["check", tag]).expect_code(1);
        assert!(run.stdout.contains(needle), "{tag}:\n{}", run.stdout);
        let json = w.run(&["check", "--json", tag]).expect_code(1).json();
        assert_eq!(json["ok"], false);
        assert_eq!(json["warnings"], serde_json::json!([]));
        assert_eq!(json["tags"][0]["failures"][0]["rule"], "image");
        assert_eq!(json["tags"][0]["registry_unavailable"], false);
    }
    w.env.git(
        &w.repo.work,
        &["tag", "-d", "service-a-v1.0.0", "service-b-v1.0.0"],
    );
    for (service, needle) in [
        ("service-a", "no image service-a-image:"),
        ("service-b", "repository service-b-image does not exist"),
    ] {
        let run = w
            .run(&[service, "--bump", "minor", "--offline"])
            .expect_code(1);
        assert_one_error(&run, needle);
        assert!(!run.stderr.contains("warning:"), "{}", run.stderr);
    }
    assert!(w.local_tags().is_empty(), "a tag was created");
}

/// A registry that cannot be asked (nothing listens): with the default `block`, the hook,
/// `check` and the release all exit 4 (unavailable, not refused by a rule); with `warn`
/// all three go on with a warning.
#[test]
fn an_unreachable_registry_exits_4_everywhere_unless_warn() {
    for warn in [false, true] {
        let extra = format!(
            "timeout-seconds = 3\nconnect-timeout-seconds = 1{}",
            if warn { WARN } else { "" }
        );
        let mut w = world(&["service-a"], &extra);
        w.env.set_env("AWS_ENDPOINT_URL", &closed_endpoint());
        w.tag("service-a-v1.0.0");
        let line = new_tag_line(&w, "service-a-v1.0.0");
        let hook = hook_stdin(&w, &line);
        let check = w.run(&["check", "service-a-v1.0.0"]);
        let json = w.run(&["check", "--json", "service-a-v1.0.0"]);
        w.env.git(&w.repo.work, &["tag", "-d", "service-a-v1.0.0"]);
        let release = w.run(&["service-a", "--bump", "minor", "--offline"]);
        if warn {
            for (what, run) in [("hook", &hook), ("check", &check), ("release", &release)] {
                assert_eq!(run.code, 0, "{what} with warn:\n{}", run.stderr);
                assert!(
                    run.stderr.contains("warning:") && run.stderr.contains("connection refused"),
                    "{what} with warn:\n{}",
                    run.stderr
                );
            }
            assert_eq!(json.code, 0, "{}", json.stderr);
            assert_eq!(json.json()["warnings"].as_array().map(Vec::len), Some(1));
            assert_eq!(w.local_tags(), ["service-a-v0.1.0"]);
        } else {
            for (what, run) in [("hook", &hook), ("check", &check), ("release", &release)] {
                assert_eq!(
                    run.code, 4,
                    "{what} with block:\n{}\n{}",
                    run.stdout, run.stderr
                );
                assert!(
                    format!("{}{}", run.stdout, run.stderr).contains("connection refused"),
                    "{what}:\n{}",
                    run.stderr
                );
            }
            assert_eq!(json.code, 4, "{}", json.stderr);
            let json = json.json();
            assert_eq!(json["tags"][0]["registry_unavailable"], true);
            assert_eq!(json["tags"][0]["failures"][0]["rule"], "image");
            assert!(w.local_tags().is_empty(), "a tag was created");
        }
    }
}

/// A rule broken by one tag outranks a registry that cannot be asked about another: the
/// exit code is 1, the tag's verdict says which is which.
#[test]
fn a_broken_rule_outranks_an_unreachable_registry() {
    let mut w = world(
        &["service-a", "service-b"],
        "timeout-seconds = 3\nconnect-timeout-seconds = 1",
    );
    w.env.set_env("AWS_ENDPOINT_URL", &closed_endpoint());
    w.tag("service-a-v1.0.0");
    w.env.git(&w.repo.work, &["tag", "service-b-v1.0.0"]);
    let json = w
        .run(&["check", "--json", "service-a-v1.0.0", "service-b-v1.0.0"])
        .expect_code(1)
        .json();
    assert_eq!(json["tags"][0]["registry_unavailable"], true);
    assert_eq!(json["tags"][1]["failures"][0]["rule"], "annotated");
    assert_eq!(json["tags"][1]["registry_unavailable"], false);
}

/// No region anywhere: the message says where to set it.
#[test]
fn a_missing_region_says_where_to_set_it() {
    let moto = Moto::start();
    let mut env = TestEnv::new();
    for (k, v) in moto.env() {
        if k != "AWS_REGION" {
            env.set_env(k, &v);
        }
    }
    let empty = env.path().join("empty-aws-file");
    std::fs::write(&empty, "").expect("empty file");
    env.set_env("AWS_CONFIG_FILE", empty.to_str().expect("utf-8"));
    env.set_env(
        "AWS_SHARED_CREDENTIALS_FILE",
        empty.to_str().expect("utf-8"),
    );
    let config =
        "[registry]\nkind = \"ecr\"\n\n[services.service-a]\npath = \"services/service-a\"\n";
    let repo = env.monorepo("mono", config, &["service-a"]);
    let run = env
        .run(&repo.work, &["service-a", "--bump", "minor", "--offline"])
        .expect_code(4);
    assert_one_error(&run, "no AWS region");
    assert!(
        run.stderr
            .contains("hint: set `[registry] region` in git-release.toml"),
        "{}",
        run.stderr
    );
    env.git(&repo.work, &["tag", "-a", "-m", "r", "service-a-v1.0.0"]);
    let run = env
        .run(&repo.work, &["check", "service-a-v1.0.0"])
        .expect_code(4);
    assert!(
        run.stdout.contains("set `[registry] region`"),
        "{}",
        run.stdout
    );
}

/// Access denied is not "could not ask right now": it stays until a policy changes, and
/// ECR answers it for repositories outside the policy whether or not they exist. So even
/// `on-registry-error = "warn"` refuses it (exit 4) in check, the hook and the release.
#[test]
fn access_denied_blocks_even_with_on_registry_error_warn() {
    // Seeding makes exactly this many unauthenticated requests; IAM applies after them.
    let moto = Moto::start_with_env(&[("INITIAL_NO_AUTH_ACTION_COUNT", "3")]);
    let mut w = World::new(moto, &ecr_config(&["service-a"], WARN), &["service-a"]);
    w.as_iam_user(
        "nobody",
        &[],
        vec![(
            "create_repository",
            serde_json::json!({"repositoryName": "service-a-image"}),
        )],
    );
    w.tag("service-a-v1.0.0");
    let run = w.run(&["check", "service-a-v1.0.0"]).expect_code(4);
    assert!(run.stdout.contains("access denied"), "{}", run.stdout);
    assert!(run.stdout.contains("ecr:BatchGetImage"), "{}", run.stdout);
    assert!(!run.stderr.contains("let through"), "{}", run.stderr);
    let run = hook_stdin(&w, &new_tag_line(&w, "service-a-v1.0.0")).expect_code(4);
    assert!(run.stderr.contains("✗ [image]"), "{}", run.stderr);
    w.env.git(&w.repo.work, &["tag", "-d", "service-a-v1.0.0"]);
    let run = w
        .run(&["service-a", "--bump", "minor", "--offline"])
        .expect_code(4);
    assert_one_error(&run, "access denied");
    assert!(w.local_tags().is_empty(), "a tag was created");
}
