//! Issue 14: a Lambda function deployed from a promoted S3 object, and drift between a
//! Terraform pin and what runs, against a real `moto_server` (S3, Lambda and IAM).
//!
//! What moto cannot show (FACTS.md): `UpdateFunctionCode` reads the *newest* version of
//! `S3Bucket`/`S3Key` and ignores `S3ObjectVersion`, so moto's state cannot prove that
//! the deploy pinned the object's version. The tests keep the promoted object the newest
//! version of its key (so moto's answer is the right code), prove the content by the
//! function's `CodeSha256` (equal to the checksum S3 keeps for the promoted object), and
//! prove the version by what the CLI says it sent (`deploy --json`'s `code`).

use monorel_e2e::moto::{all_ok as ok, Moto};
use monorel_e2e::{Monorepo, TestEnv};
use serde_json::json;

const BUCKET: &str = "release-zips";

fn config() -> String {
    format!(
        "[registry]\nregion = \"us-east-1\"\n\n[registries.lambda]\nkind = \"s3\"\nbucket = \"{BUCKET}\"\nregion = \"us-east-1\"\n\n[services.fn]\npath = \"services/fn\"\nregistry = \"lambda\"\n\n[environments.stg]\nkind = \"lambda\"\nfunction = \"{{service}}-function\"\nalias = \"stg\"\nregion = \"us-east-1\"\n\n[environments.tf]\ndir = \"infra/tf\"\nfunction = \"{{service}}-function\"\nalias = \"stg\"\nregion = \"us-east-1\"\n"
    )
}

/// moto with the bucket (versioned or not) and `fn-function` running a bootstrap zip
/// as version 1, alias `stg` on it; a monorepo whose `fn` service stores zips there.
fn seeded(versioned: bool) -> (Moto, TestEnv, Monorepo) {
    let moto = Moto::start();
    let mut env = TestEnv::new();
    for (k, v) in moto.env() {
        env.set_env(k, &v);
    }
    moto.create_bucket(BUCKET, versioned);
    moto.put_object(BUCKET, "bootstrap.zip", "bootstrap code");
    let role = moto.lambda_role();
    ok(moto.ecr(&[
        (
            "lambda.create_function",
            json!({"FunctionName": "fn-function", "Role": role, "Runtime": "python3.12",
                   "Handler": "app.handler", "Publish": true,
                   "Code": {"S3Bucket": BUCKET, "S3Key": "bootstrap.zip"}}),
        ),
        (
            "lambda.create_alias",
            json!({"FunctionName": "fn-function", "Name": "stg", "FunctionVersion": "1"}),
        ),
    ]));
    let repo = env.monorepo("mono", &config(), &["fn"]);
    (moto, env, repo)
}

/// Commits to `fn`, uploads its zip as CI does, releases and promotes it; returns the tag.
fn release(moto: &Moto, env: &TestEnv, repo: &Monorepo, body: &str) -> String {
    let sha = env.commit_to(repo, "fn", "app.py", &format!("feat: {body}"));
    moto.put_object(BUCKET, &format!("fn-{sha}"), body);
    let tag = env
        .run(&repo.work, &["fn", "--bump", "minor", "--json"])
        .ok()
        .json()["tag"]
        .as_str()
        .expect("tag")
        .to_string();
    env.run(&repo.work, &["promote", &tag]).ok();
    tag
}

/// The alias's version and the `CodeSha256` of the code it runs.
fn alias_code(moto: &Moto) -> (String, String) {
    let out = ok(moto.ecr(&[(
        "lambda.get_function",
        json!({"FunctionName": "fn-function", "Qualifier": "stg"}),
    )]));
    let config = &out[0]["Configuration"];
    (
        config["Version"].as_str().expect("version").to_string(),
        config["CodeSha256"].as_str().expect("sha").to_string(),
    )
}

fn function_versions(moto: &Moto) -> usize {
    let out = ok(moto.ecr(&[(
        "lambda.list_versions_by_function",
        json!({"FunctionName": "fn-function"}),
    )]));
    out[0]["Versions"].as_array().expect("versions").len()
}

#[test]
fn lambda_deploy_from_a_promoted_object_publishes_its_version_and_moves_the_alias() {
    let (moto, env, repo) = seeded(true);
    let (_, bootstrap) = alias_code(&moto);
    let tag = release(&moto, &env, &repo, "zip one");
    let promoted = moto.head_object(BUCKET, &tag).expect("promoted object");
    let version_id = promoted["VersionId"]
        .as_str()
        .expect("versioned")
        .to_string();
    let checksum = promoted["ChecksumSHA256"]
        .as_str()
        .expect("checksum")
        .to_string();
    assert_ne!(checksum, bootstrap);

    // --dry-run names the object by version and changes nothing.
    let run = env
        .run(&repo.work, &["deploy", "fn", "--env", "stg", "--dry-run"])
        .ok();
    let object = format!("s3://{BUCKET}/{tag}?versionId={version_id}");
    assert!(run.stdout.contains(&object), "{}", run.stdout);
    assert_eq!(alias_code(&moto), ("1".to_string(), bootstrap.clone()));

    let out = env
        .run(&repo.work, &["deploy", "fn", "--env", "stg", "--json"])
        .ok()
        .json();
    assert_eq!(out["changed"], true);
    assert_eq!(out["tag"], tag.as_str());
    // What was sent: the promoted object at its version (moto ignores the version, see
    // the module header).
    assert_eq!(
        out["code"],
        json!({"type": "object", "bucket": BUCKET, "key": tag, "version": version_id, "sha256": checksum})
    );
    let revision = out["revision"].as_str().expect("new version").to_string();
    assert_eq!(revision, "2");
    // The change list names the version the alias moved to, not a placeholder.
    let alias_change = out["changes"]
        .as_array()
        .and_then(|changes| {
            changes
                .iter()
                .find(|c| c["what"].as_str().is_some_and(|w| w.starts_with("alias")))
        })
        .unwrap_or_else(|| panic!("an alias change in {out}"));
    assert_eq!(alias_change["from"], "1", "{out}");
    assert_eq!(alias_change["to"], revision.as_str(), "{out}");
    // What runs: the alias moved to the published version, whose code is the promoted
    // object (Lambda's CodeSha256 of the zip is S3's SHA-256 checksum of it).
    assert_eq!(alias_code(&moto), (revision.clone(), checksum));
    assert_eq!(
        function_versions(&moto),
        3,
        "$LATEST, 1 and the deployed one"
    );

    // status names the release from the running zip's checksum.
    let status = env.run(&repo.work, &["status", "--json"]).ok().json();
    let cell = &status["services"][0]["environments"]["stg"];
    assert_eq!(cell["running"], tag.as_str(), "{status}");
    assert_eq!(cell["running_revision"], revision.as_str());
    assert_eq!(cell["behind"], false);

    // A second deploy of the same release finds its zip running and changes nothing.
    let again = env
        .run(&repo.work, &["deploy", "fn", "--env", "stg", "--json"])
        .ok()
        .json();
    assert_eq!(again["changed"], false, "{again}");
    assert_eq!(function_versions(&moto), 3, "no version was published");
    assert_eq!(alias_code(&moto).0, revision);
}

#[test]
fn lambda_deploy_from_an_unversioned_bucket_is_refused_with_nothing_changed() {
    let (moto, env, repo) = seeded(false);
    let before = alias_code(&moto);
    let tag = release(&moto, &env, &repo, "zip one");
    let run = env
        .run(&repo.work, &["deploy", "fn", "--env", "stg"])
        .expect_code(1);
    assert_eq!(
        run.error_lines()[0],
        format!("error: cannot deploy {tag} to a live environment: bucket {BUCKET} is not versioned, so the object has no version id to deploy by")
    );
    assert!(
        run.stderr.contains("put-bucket-versioning"),
        "{}",
        run.stderr
    );
    assert_eq!(alias_code(&moto), before);
    assert_eq!(
        function_versions(&moto),
        2,
        "$LATEST and 1: nothing published"
    );
}

/// A Terraform environment that names the function it runs (`function`, `alias`) is read
/// live by `status`: pinned one release, running another is drift.
#[test]
fn status_shows_drift_between_the_terraform_pin_and_the_running_zip() {
    let (moto, env, repo) = seeded(true);
    let first = release(&moto, &env, &repo, "zip one");
    env.run(&repo.work, &["deploy", "fn", "--env", "stg"]).ok();
    let second = release(&moto, &env, &repo, "zip two");
    // Pinned in Terraform; nobody applied it, so the alias still runs the first.
    env.run(&repo.work, &["deploy", "fn", "--env", "tf"]).ok();

    let status = env.run(&repo.work, &["status", "--json"]).ok().json();
    let row = &status["services"][0];
    assert_eq!(row["latest"], second.as_str(), "{status}");
    assert_eq!(
        row["environments"]["tf"],
        json!({
            "pinned": second,
            "behind": false,
            "running": first,
            "running_revision": "2",
            "drift": true,
        })
    );
    assert_eq!(
        row["environments"]["stg"],
        json!({
            "pinned": null,
            "behind": true,
            "running": first,
            "running_revision": "2",
        })
    );
    let table = env.run(&repo.work, &["status"]).ok().stdout;
    assert!(table.contains("pinned 0.2.0, running 0.1.0"), "{table}");

    // Once what runs is the pin, the drift is gone.
    let out = env
        .run(&repo.work, &["deploy", "fn", "--env", "stg", "--json"])
        .ok()
        .json();
    assert_eq!(out["changed"], true);
    let status = env.run(&repo.work, &["status", "--json"]).ok().json();
    let cell = &status["services"][0]["environments"]["tf"];
    assert_eq!(cell["running"], second.as_str(), "{status}");
    assert_eq!(cell.get("drift"), None, "{status}");
}
