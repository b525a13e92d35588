//! `git release deploy`, `status` and `init --ci github`: end to end through the real
//! binary, with real clones pushing to a bare remote, and a real moto_server for the
//! registry's digests.

use std::path::{Path, PathBuf};
use std::process::Command;

use monorel_e2e::moto::{moto_server_path, Moto};
use monorel_e2e::{config_none, Monorepo, TestEnv};

const ENVS: &str = "\n[environments.stg]\ndir = \"infra/stg\"\n\n[environments.prod]\ndir = \"infra/prod\"\nfile = \"terraform.tfvars\"\n";

fn config(services: &[&str]) -> String {
    format!("{}{ENVS}", config_none(services))
}

fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    assert!(text.ends_with("}\n"), "no trailing newline: {text:?}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// A valid tfvars JSON pin file: a flat object whose values are strings.
fn assert_flat_string_object(value: &serde_json::Value) {
    let object = value.as_object().expect("top level is an object");
    for (key, v) in object {
        assert!(v.is_string(), "{key} is not a string: {v}");
    }
}

fn release(env: &TestEnv, repo: &Monorepo, service: &str, bump: &str) {
    env.run(
        &repo.work,
        &[service, "--bump", bump, "--push", "--yes", "--offline"],
    )
    .ok();
}

#[test]
fn two_clones_deploy_two_services_to_stg_without_conflict() {
    let env = TestEnv::new();
    let services = ["service-a", "service-b"];
    let repo = env.monorepo("mono", &config(&services), &services);
    release(&env, &repo, "service-a", "minor");
    release(&env, &repo, "service-b", "minor");

    let clone = |name: &str| -> PathBuf {
        let dir = env.path().join(name);
        env.git(
            env.path(),
            &["clone", "-q", &repo.url, dir.to_str().expect("utf-8")],
        );
        dir
    };
    let alice = clone("alice");
    let bob = clone("bob");
    // Both deploy from the same base, as two CI jobs of two tag pushes would.
    let a = env
        .run(
            &alice,
            &["deploy", "service-a", "--env", "stg", "--commit", "--json"],
        )
        .ok()
        .json();
    let b = env
        .run(
            &bob,
            &["deploy", "service-b", "--env", "stg", "--commit", "--json"],
        )
        .ok()
        .json();
    assert_eq!(a["file"], "infra/stg/service-a.auto.tfvars.json");
    assert_eq!(b["file"], "infra/stg/service-b.auto.tfvars.json");
    assert!(a["commit"].is_string() && b["commit"].is_string());

    env.git(&alice, &["push", "-q", "origin", "main"]);
    let rejected = env.git_output(&bob, &["push", "-q", "origin", "main"]);
    assert!(!rejected.success(), "bob's push should need a rebase first");
    env.git(&bob, &["pull", "-q", "--rebase", "origin", "main"]);
    env.git(&bob, &["push", "-q", "origin", "main"]);

    let check = clone("check");
    for (service, var) in [
        ("service-a", "service_a_image_tag"),
        ("service-b", "service_b_image_tag"),
    ] {
        let pin = read_json(&check.join(format!("infra/stg/{service}.auto.tfvars.json")));
        assert_flat_string_object(&pin);
        assert_eq!(pin[var], format!("{service}-v0.1.0"));
    }
    let subjects = env.git(&check, &["log", "--format=%s", "-3"]);
    assert_eq!(
        subjects,
        "deploy(stg): service-b service-b-v0.1.0\ndeploy(stg): service-a service-a-v0.1.0\nchore: initial import"
    );
}

#[test]
fn deploy_refuses_versions_that_are_not_released() {
    let env = TestEnv::new();
    let repo = env.monorepo("mono", &config(&["service-a"]), &["service-a"]);
    let pin = repo.work.join("infra/stg/service-a.auto.tfvars.json");

    let run = env
        .run(&repo.work, &["deploy", "service-a", "--env", "stg"])
        .expect_code(1);
    assert_eq!(
        run.error_lines(),
        ["error: service-a has no release yet, so there is nothing to deploy"]
    );
    assert!(
        run.stderr.contains("git release service-a --bump"),
        "{}",
        run.stderr
    );

    release(&env, &repo, "service-a", "minor");
    let run = env
        .run(
            &repo.work,
            &["deploy", "service-a", "--env", "stg", "--version", "0.2.0"],
        )
        .expect_code(1);
    assert_eq!(
        run.error_lines(),
        ["error: `service-a-v0.2.0` is not a released tag of service-a (released: service-a-v0.1.0); only released versions can be deployed"]
    );
    assert!(
        run.stderr
            .contains("git release service-a --set-version 0.2.0"),
        "{}",
        run.stderr
    );
    let run = env
        .run(
            &repo.work,
            &["deploy", "service-a", "--env", "stg", "--tag", "v0.1.0"],
        )
        .expect_code(2);
    assert!(
        run.stderr.contains("not a release tag of service-a"),
        "{}",
        run.stderr
    );
    env.run(
        &repo.work,
        &["deploy", "service-a", "--env", "stg", "--version", "one"],
    )
    .expect_code(2);
    let run = env
        .run(&repo.work, &["deploy", "service-a", "--env", "qa"])
        .expect_code(2);
    assert!(
        run.stderr.contains("configured environments: prod, stg"),
        "{}",
        run.stderr
    );
    let run = env
        .run(&repo.work, &["deploy", "servce-a", "--env", "stg"])
        .expect_code(1);
    assert!(
        run.stderr.contains("did you mean `service-a`"),
        "{}",
        run.stderr
    );
    assert!(!pin.exists(), "a refused deploy wrote {}", pin.display());

    // The released version itself deploys, by version or by tag.
    env.run(
        &repo.work,
        &["deploy", "service-a", "--env", "stg", "--version", "0.1.0"],
    )
    .ok();
    assert_eq!(read_json(&pin)["service_a_image_tag"], "service-a-v0.1.0");
}

#[test]
fn json_pin_keeps_other_keys_and_commits_only_its_file() {
    let env = TestEnv::new();
    let repo = env.monorepo("mono", &config(&["service-a"]), &["service-a"]);
    let pin = repo.work.join("infra/stg/service-a.auto.tfvars.json");
    std::fs::create_dir_all(pin.parent().expect("dir")).expect("mkdir");
    std::fs::write(
        &pin,
        "{\"replicas\": \"3\", \"service_a_image_tag\": \"old\", \"zone\": \"b\"}\n",
    )
    .expect("write");
    std::fs::write(repo.work.join("infra/stg/main.tf"), "# staged, not ours\n").expect("write");
    env.git(&repo.work, &["add", "infra/stg/main.tf"]);
    release(&env, &repo, "service-a", "patch");

    let run = env
        .run(
            &repo.work,
            &["deploy", "service-a", "--env", "stg", "--commit", "--json"],
        )
        .ok();
    let out = run.json();
    assert_eq!(out["tag"], "service-a-v0.1.0");
    assert_eq!(out["version"], "0.1.0");
    assert_eq!(out["variable"], "service_a_image_tag");
    assert_eq!(out["digest_variable"], "service_a_image_digest");
    assert_eq!(out["digest"], serde_json::Value::Null);
    assert_eq!(out["changed"], true);
    assert!(
        run.stderr.contains("no image digest was recorded"),
        "{}",
        run.stderr
    );

    // Edited in place: only the value changed.
    let text = std::fs::read_to_string(&pin).expect("pin");
    assert_eq!(
        text,
        "{\"replicas\": \"3\", \"service_a_image_tag\": \"service-a-v0.1.0\", \"zone\": \"b\"}\n"
    );
    assert_flat_string_object(&read_json(&pin));
    let files = env.git(&repo.work, &["show", "--name-only", "--format=%s", "HEAD"]);
    assert_eq!(
        files,
        "deploy(stg): service-a service-a-v0.1.0\n\ninfra/stg/service-a.auto.tfvars.json"
    );
    let staged = env.git(&repo.work, &["diff", "--cached", "--name-only"]);
    assert_eq!(
        staged, "infra/stg/main.tf",
        "the other staged file stays staged"
    );

    // Deploying the same release again changes nothing and commits nothing.
    let head = env.git(&repo.work, &["rev-parse", "HEAD"]);
    let again = env
        .run(
            &repo.work,
            &["deploy", "service-a", "--env", "stg", "--commit"],
        )
        .ok();
    assert!(again.stdout.contains("nothing changed"), "{}", again.stdout);
    assert_eq!(env.git(&repo.work, &["rev-parse", "HEAD"]), head);

    // A pin written without --commit is committed by a later --commit of the same release.
    env.commit_to(&repo, "service-a", "app.txt", "fix: x");
    release(&env, &repo, "service-a", "patch");
    env.run(&repo.work, &["deploy", "service-a", "--env", "stg"])
        .ok();
    env.run(
        &repo.work,
        &["deploy", "service-a", "--env", "stg", "--commit"],
    )
    .ok();
    assert_eq!(
        env.git(&repo.work, &["log", "-1", "--format=%s"]),
        "deploy(stg): service-a service-a-v0.1.1"
    );
    assert_eq!(
        env.git(
            &repo.work,
            &[
                "status",
                "--porcelain",
                "--",
                "infra/stg/service-a.auto.tfvars.json"
            ]
        ),
        ""
    );
}

const HAND_WRITTEN: &str = "# Production. Applied by hand after checks.\n\nregion = \"eu-west-1\"   # keep\n\n  # service-a: pinned by `git release deploy`\nservice_a_image_tag    =   \"service-a-v0.1.0\"   # the release\nreplicas               = 3\n/* the end */\n";

#[test]
fn hcl_tfvars_is_edited_in_place_byte_for_byte() {
    let env = TestEnv::new();
    let repo = env.monorepo("mono", &config(&["service-a"]), &["service-a"]);
    let file = repo.work.join("infra/prod/terraform.tfvars");
    std::fs::create_dir_all(file.parent().expect("dir")).expect("mkdir");
    std::fs::write(&file, HAND_WRITTEN).expect("write");
    env.git(&repo.work, &["add", "-A"]);
    env.git(&repo.work, &["commit", "-q", "-m", "chore: prod vars"]);
    release(&env, &repo, "service-a", "patch");
    env.commit_to(&repo, "service-a", "app.txt", "feat: more");
    release(&env, &repo, "service-a", "minor");

    env.run(
        &repo.work,
        &["deploy", "service-a", "--env", "prod", "--commit"],
    )
    .ok();
    let new = std::fs::read_to_string(&file).expect("read");
    let old_value = "\"service-a-v0.1.0\"";
    let start = HAND_WRITTEN.find(old_value).expect("value");
    let end = start + old_value.len();
    assert_eq!(&new[..start], &HAND_WRITTEN[..start], "prefix changed");
    assert_eq!(
        &new[new.len() - (HAND_WRITTEN.len() - end)..],
        &HAND_WRITTEN[end..],
        "suffix changed"
    );
    assert_eq!(
        &new[start..new.len() - (HAND_WRITTEN.len() - end)],
        "\"service-a-v0.2.0\""
    );
    let status = env.run(&repo.work, &["status", "--json"]).ok().json();
    assert_eq!(
        status["services"][0]["environments"]["prod"]["pinned"],
        "service-a-v0.2.0"
    );
}

#[test]
fn status_table_and_json_schema() {
    let mut env = TestEnv::new();
    let services = ["service-a", "service-b", "service-c"];
    let repo = env.monorepo("mono", &config(&services), &services);
    release(&env, &repo, "service-a", "patch");
    release(&env, &repo, "service-c", "patch");
    env.run(&repo.work, &["deploy", "service-a", "--env", "stg"])
        .ok();
    env.run(&repo.work, &["deploy", "service-a", "--env", "prod"])
        .ok();
    env.run(&repo.work, &["deploy", "service-c", "--env", "prod"])
        .ok();
    env.commit_to(&repo, "service-a", "app.txt", "feat: a");
    release(&env, &repo, "service-a", "minor");
    env.run(&repo.work, &["deploy", "service-a", "--env", "stg"])
        .ok();
    env.commit_to(&repo, "service-a", "app.txt", "fix: b");
    env.commit_to(&repo, "service-b", "app.txt", "fix: c");

    let table = env.run(&repo.work, &["status"]).ok();
    assert_eq!(
        table.stdout,
        "\
SERVICE    LATEST  COMMITS  PROD            STG
service-a  0.2.0   1        0.1.0 (behind)  0.2.0
service-b  -       2        -               -
service-c  0.1.0   0        0.1.0           -
"
    );
    // Colour only when forced, and never with NO_COLOR.
    env.set_env("CLICOLOR_FORCE", "1");
    let plain = env.run(&repo.work, &["status"]).ok();
    assert_eq!(plain.stdout, table.stdout, "NO_COLOR must win");
    env.set_env("NO_COLOR", "");
    let coloured = env.run(&repo.work, &["status"]).ok();
    assert!(coloured.stdout.contains("\u{1b}["), "{:?}", coloured.stdout);
    assert_eq!(
        strip_ansi(&coloured.stdout),
        table.stdout,
        "colour must not move columns"
    );

    let json = env.run(&repo.work, &["status", "--json"]).ok().json();
    assert_eq!(
        json,
        serde_json::json!({
            "environments": ["prod", "stg"],
            "services": [
                {"service": "service-a", "latest": "service-a-v0.2.0", "commits_since": 1,
                 "environments": {"prod": {"pinned": "service-a-v0.1.0", "behind": true},
                                  "stg": {"pinned": "service-a-v0.2.0", "behind": false}}},
                {"service": "service-b", "latest": null, "commits_since": 2,
                 "environments": {"prod": {"pinned": null, "behind": false},
                                  "stg": {"pinned": null, "behind": false}}},
                {"service": "service-c", "latest": "service-c-v0.1.0", "commits_since": 0,
                 "environments": {"prod": {"pinned": "service-c-v0.1.0", "behind": false},
                                  "stg": {"pinned": null, "behind": false}}},
            ]
        })
    );
}

/// Removes ANSI colour sequences (`ESC [ … m`).
fn strip_ansi(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn init_ci_github_writes_workflows_that_pass_actionlint() {
    let env = TestEnv::new();
    let services = ["service-a", "api-v2"];
    let repo = env.monorepo("mono", &config(&services), &services);
    let run = env.run(&repo.work, &["init", "--ci", "github"]).ok();
    assert!(
        run.stdout.contains("wrote .github/workflows/build.yml"),
        "{}",
        run.stdout
    );
    let dir = repo.work.join(".github/workflows");
    let build = std::fs::read_to_string(dir.join("build.yml")).expect("build.yml");
    let release = std::fs::read_to_string(dir.join("release.yml")).expect("release.yml");
    for text in [&build, &release] {
        assert!(text.contains("role-to-assume: ${{ vars.AWS_ROLE_ARN }}"));
        assert!(text.contains("id-token: write"));
        assert!(!text.contains("aws-access-key-id"), "no static keys");
        assert!(!text.contains("__"), "unfilled placeholder");
    }
    assert!(build.contains("\"--name-only\", before, sha"), "{build}");
    assert!(
        build.contains("BEFORE: ${{ github.event.before }}"),
        "{build}"
    );
    assert!(build.contains("all:"), "{build}");
    assert!(release.contains("tags: ['*-v*']"), "{release}");
    assert!(release.contains("fetch-depth: 0"), "{release}");
    assert!(release.contains("git release check \"$GITHUB_REF_NAME\""));
    assert!(release.contains("git release promote \"$GITHUB_REF_NAME\""));
    assert!(release.contains("--env stg --tag \"$GITHUB_REF_NAME\" --commit"));

    // Not overwritten without --force, and nothing changes.
    std::fs::write(dir.join("build.yml"), "# mine\n").expect("write");
    let refused = env
        .run(&repo.work, &["init", "--ci", "github"])
        .expect_code(1);
    assert!(refused.stderr.contains("--force"), "{}", refused.stderr);
    assert_eq!(
        std::fs::read_to_string(dir.join("build.yml")).expect("read"),
        "# mine\n"
    );
    env.run(&repo.work, &["init", "--ci", "github", "--force"])
        .ok();
    assert_eq!(
        std::fs::read_to_string(dir.join("build.yml")).expect("read"),
        build
    );

    // The release workflow's jq filter maps a tag to its service (longest match wins).
    let filter = release
        .lines()
        .find_map(|l| l.split("jq -r --arg tag \"$GITHUB_REF_NAME\" '").nth(1))
        .and_then(|rest| rest.strip_suffix("')"))
        .expect("jq filter in release.yml");
    let list = env.run(&repo.work, &["list", "--json"]).ok().stdout;
    for (tag, service) in [
        ("service-a-v1.2.3", "service-a"),
        ("api-v2-v0.1.0", "api-v2"),
        ("other-v1.0.0", ""),
    ] {
        let mut jq = Command::new("jq")
            .args(["-r", "--arg", "tag", tag, filter])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("jq is installed");
        use std::io::Write;
        jq.stdin
            .take()
            .expect("stdin")
            .write_all(list.as_bytes())
            .expect("write");
        let out = jq.wait_with_output().expect("jq");
        assert!(out.status.success());
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            service,
            "{tag}"
        );
    }

    monorel_e2e::assert_actionlint(
        &repo.work,
        &[dir.join("build.yml"), dir.join("release.yml")],
    );
}

// --- With a real registry (moto). These need the ECR backend (issue 4). ---

/// Runs a boto3 snippet against moto; returns its stdout.
fn boto3(moto: &Moto, script: &str) -> String {
    let server = moto_server_path();
    let sibling = server.parent().map(|d| d.join("python3"));
    let python = match sibling {
        Some(p) if p.is_absolute() && p.exists() => p,
        _ => PathBuf::from("python3"),
    };
    let mut cmd = Command::new(&python);
    cmd.arg("-c").arg(script);
    for (k, v) in moto.env() {
        cmd.env(k, v);
    }
    cmd.env("AWS_DEFAULT_REGION", "us-east-1");
    let out = cmd.output().expect("run python3 with boto3");
    assert!(
        out.status.success(),
        "boto3 script failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

const PUT_IMAGE: &str = r#"
import boto3, json, sys
ecr = boto3.client("ecr")
repo, tag = sys.argv[1], sys.argv[2]
try:
    ecr.create_repository(repositoryName=repo)
except ecr.exceptions.RepositoryAlreadyExistsException:
    pass
manifest = {
    "schemaVersion": 2,
    "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
    "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 100,
               "digest": "sha256:" + "1" * 64},
    "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 200,
                "digest": "sha256:" + "2" * 64}],
}
ecr.put_image(repositoryName=repo, imageManifest=json.dumps(manifest), imageTag=tag,
              imageManifestMediaType=manifest["mediaType"])
image = ecr.describe_images(repositoryName=repo, imageIds=[{"imageTag": tag}])["imageDetails"][0]
print(image["imageDigest"])
"#;

fn put_image(moto: &Moto, repository: &str, tag: &str) -> String {
    let script = format!("import sys; sys.argv = ['x', {repository:?}, {tag:?}]\n{PUT_IMAGE}");
    boto3(moto, &script)
}

fn ecr_config(services: &[&str]) -> String {
    let mut text = String::from("[registry]\nkind = \"ecr\"\nregion = \"us-east-1\"\n");
    for s in services {
        text.push_str(&format!("\n[services.{s}]\npath = \"services/{s}\"\n"));
    }
    text.push_str(ENVS);
    text
}

#[test]
fn deploy_refuses_unpromoted_image_then_pins_its_digest() {
    let moto = Moto::start();
    let mut env = TestEnv::new();
    for (k, v) in moto.env() {
        env.set_env(k, &v);
    }
    let repo = env.monorepo("mono", &ecr_config(&["service-a"]), &["service-a"]);
    let commit = env.git(&repo.work, &["rev-parse", "HEAD"]);
    put_image(&moto, "service-a-image", &commit);
    // Only the deploy step is under test here: tag without asking the registry.
    env.set_env("GIT_RELEASE_REGISTRY", "none");
    release(&env, &repo, "service-a", "minor");
    env.set_env("GIT_RELEASE_REGISTRY", "ecr");
    let pin = repo.work.join("infra/stg/service-a.auto.tfvars.json");

    let run = env
        .run(&repo.work, &["deploy", "service-a", "--env", "stg"])
        .expect_code(1);
    assert_eq!(
        run.error_lines(),
        ["error: image service-a-image:service-a-v0.1.0 not promoted yet; run `git release promote service-a-v0.1.0`"]
    );
    assert!(!pin.exists(), "a refused deploy wrote the pin");

    let digest = put_image(&moto, "service-a-image", "service-a-v0.1.0");
    let out = env
        .run(
            &repo.work,
            &["deploy", "service-a", "--env", "stg", "--json"],
        )
        .ok()
        .json();
    assert_eq!(out["digest"], digest.as_str());
    let value = read_json(&pin);
    assert_flat_string_object(&value);
    assert_eq!(value["service_a_image_tag"], "service-a-v0.1.0");
    assert_eq!(value["service_a_image_digest"], digest.as_str());

    // A hand-written HCL file without the digest variable gets it appended at the end.
    let hcl = repo.work.join("infra/prod/terraform.tfvars");
    std::fs::create_dir_all(hcl.parent().expect("dir")).expect("mkdir");
    std::fs::write(&hcl, HAND_WRITTEN).expect("write");
    env.run(&repo.work, &["deploy", "service-a", "--env", "prod"])
        .ok();
    let new = std::fs::read_to_string(&hcl).expect("read");
    let expected = format!("{HAND_WRITTEN}service_a_image_digest = \"{digest}\"\n");
    assert_eq!(new, expected);
}

#[test]
fn deploy_with_kind_none_pins_the_tag_only() {
    let env = TestEnv::new();
    let repo = env.monorepo("mono", &config(&["service-a"]), &["service-a"]);
    release(&env, &repo, "service-a", "minor");
    let run = env
        .run(&repo.work, &["deploy", "service-a", "--env", "stg"])
        .ok();
    assert!(
        run.stderr
            .contains("warning: no image digest was recorded for service-a-v0.1.0"),
        "{}",
        run.stderr
    );
    let value = read_json(&repo.work.join("infra/stg/service-a.auto.tfvars.json"));
    assert_eq!(
        value,
        serde_json::json!({"service_a_image_tag": "service-a-v0.1.0"})
    );
}

/// Issue 13: `[registry] kind = "oci"` on ghcr.io writes the GHCR build workflow: the
/// job's `GITHUB_TOKEN` with `packages: write`, images as `ghcr.io/<repository>:<sha>`.
#[test]
fn init_ci_github_writes_the_ghcr_variant_that_passes_actionlint() {
    let env = TestEnv::new();
    let services = ["service-a"];
    let text = config(&services).replacen(
        "[registry]\nkind = \"none\"\n",
        "[registry]\nkind = \"oci\"\nhost = \"ghcr.io\"\nrepository = \"acme/{service}\"\n",
        1,
    );
    assert!(text.contains("kind = \"oci\""), "{text}");
    let repo = env.monorepo("mono", &text, &services);
    env.run(&repo.work, &["init", "--ci", "github"]).ok();
    let dir = repo.work.join(".github/workflows");
    let build = std::fs::read_to_string(dir.join("build.yml")).expect("build.yml");
    assert!(build.contains("packages: write"), "{build}");
    assert!(
        build.contains("GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}"),
        "{build}"
    );
    assert!(build.contains("docker login ghcr.io"), "{build}");
    assert!(build.contains("REGISTRY: ghcr.io"), "{build}");
    assert!(
        !build.contains("id-token") && !build.contains("AWS_ROLE_ARN"),
        "{build}"
    );
    monorel_e2e::assert_actionlint(&repo.work, &[dir.join("build.yml")]);
}
