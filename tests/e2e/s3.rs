//! The S3 backend end to end: the real binary against a real `moto_server` S3, with the
//! loopback proxy in front of it to count calls, read the headers S3 gets and inject
//! faults. A monorepo mixes an ECR service (`service-a`, `[registry]`) and a Lambda
//! service (`lambda-a`, `[registries.lambda]`, kind "s3").
//!
//! moto ignores `x-amz-copy-source-if-match` and `If-None-Match: *` on CopyObject
//! (FACTS.md), so the guards of a promotion are asserted at the proxy, on the request
//! S3 would get; moto proves the rest (the copy, its checksum, its tags, versions).

use monorel_e2e::moto::{docker_manifest, Moto};
use monorel_e2e::proxy::{closed_endpoint, BlackHole, Fault, Proxy, Recorded};
use monorel_e2e::world::{assert_one_error, MotoWorld as World};
use monorel_e2e::Run;

const BUCKET: &str = "acme-lambda-zips";

/// `[registry]` (ECR) for service-a, `[registries.lambda]` (S3) for lambda-a.
fn config(store_extra: &str) -> String {
    format!(
        "[registry]\nregion = \"us-east-1\"\n\n[registries.lambda]\nkind = \"s3\"\nbucket = \"{BUCKET}\"\nregion = \"us-east-1\"\n{store_extra}\n\n[services.service-a]\npath = \"services/service-a\"\n\n[services.lambda-a]\npath = \"services/lambda-a\"\nregistry = \"lambda\"\n"
    )
}

/// moto, the monorepo of [`config`], and the environment pointing at moto.
fn world(store_extra: &str) -> World {
    World::new(
        Moto::start(),
        &config(store_extra),
        &["service-a", "lambda-a"],
    )
}

/// Uploads HEAD's zip of lambda-a, as CI does; returns its SHA-256 checksum.
fn upload_head(w: &World, body: &str) -> String {
    let head = w
        .moto
        .put_object(BUCKET, &format!("lambda-a-{}", w.head()), body);
    head["ChecksumSHA256"]
        .as_str()
        .expect("moto keeps the checksum")
        .to_string()
}

/// The S3 operation of a recorded request, from its method, path and headers.
fn s3_operation(request: &Recorded) -> String {
    let (path, query) = request
        .target
        .split_once('?')
        .unwrap_or((request.target.as_str(), ""));
    // Path-style: `/bucket` or `/bucket/` for the bucket, `/bucket/key` for an object.
    let has_key = path
        .trim_start_matches('/')
        .split_once('/')
        .is_some_and(|(_, key)| !key.is_empty());
    match (request.method.as_str(), has_key) {
        ("HEAD", true) => "HeadObject".into(),
        ("HEAD", false) => "HeadBucket".into(),
        ("PUT", true) if request.header("x-amz-copy-source").is_some() => "CopyObject".into(),
        ("PUT", true) => "PutObject".into(),
        ("GET", false) if query.contains("versioning") => "GetBucketVersioning".into(),
        ("GET", true) => "GetObject".into(),
        (method, _) => format!("{method} {}", request.target),
    }
}

fn s3_operations(proxy: &Proxy) -> Vec<String> {
    proxy.requests().iter().map(s3_operation).collect()
}

#[test]
fn release_records_the_object_identity_in_the_tag_message() {
    let w = world("");
    w.moto.create_bucket(BUCKET, true);
    let sum = upload_head(&w, "zip of lambda-a");
    let sha = w.head();

    let run = w.run(&["lambda-a", "--bump", "minor", "--json"]).ok();
    let json = run.json();
    assert_eq!(json["tag"], "lambda-a-v0.1.0", "{}", run.stdout);
    assert_eq!(json["artifact"]["bucket"], BUCKET);
    assert_eq!(json["artifact"]["key"], format!("lambda-a-{sha}"));
    assert_eq!(json["object"]["checksum_sha256"], sum.as_str());
    assert!(json["object"]["version_id"].is_string(), "{json}");
    let message = w.env.git(
        &w.repo.work,
        &["tag", "-l", "--format=%(contents)", "lambda-a-v0.1.0"],
    );
    assert!(
        message.contains(&format!("Object: s3://{BUCKET}/lambda-a-{sha}\n"))
            && message.contains(&format!("Object-SHA256: {sum}\n"))
            && message.contains("Object-Version: ")
            && message.contains("Object-Size: 15"),
        "the tag message lacks the object's identity:\n{message}"
    );
}

#[test]
fn release_is_refused_when_the_object_is_missing() {
    let w = world("");
    w.moto.create_bucket(BUCKET, false);
    w.moto
        .put_object(BUCKET, &format!("lambda-a-{}", "0".repeat(40)), "old");
    let run = w.run(&["lambda-a", "--bump", "minor"]).expect_code(1);
    assert_one_error(&run, &format!("no object s3://{BUCKET}/lambda-a-"));
    assert!(run.stderr.contains("uploads the object"), "{}", run.stderr);
    assert!(w.local_tags().is_empty(), "a tag was created");
}

#[test]
fn release_is_refused_when_the_bucket_is_missing() {
    let w = world("");
    let run = w.run(&["lambda-a", "--bump", "minor"]).expect_code(1);
    assert_one_error(&run, &format!("bucket {BUCKET} does not exist"));
    assert!(
        run.stderr.contains("[registries.lambda] bucket"),
        "{}",
        run.stderr
    );
    assert!(w.local_tags().is_empty(), "a tag was created");
}

#[test]
fn check_json_carries_the_object_identity() {
    let w = world("");
    w.moto.create_bucket(BUCKET, false);
    let sum = upload_head(&w, "zip");
    w.tag("lambda-a-v1.0.0");
    let run = w.run(&["check", "lambda-a-v1.0.0", "--json"]).ok();
    let tag = &run.json()["tags"][0];
    assert_eq!(tag["ok"], true, "{}", run.stdout);
    assert_eq!(tag["digest"], serde_json::Value::Null);
    assert_eq!(tag["artifact"]["bucket"], BUCKET);
    assert_eq!(tag["object"]["checksum_sha256"], sum.as_str());
    assert_eq!(tag["object"]["size"], 3);
    assert_eq!(
        tag["object"]["version_id"],
        serde_json::Value::Null,
        "unversioned"
    );
}

#[test]
fn one_push_checks_an_ecr_service_and_an_s3_service() {
    let w = world("");
    w.moto.create_repositories(&["service-a-image"], true);
    w.moto.create_bucket(BUCKET, false);
    w.run(&["install"]).ok();
    let sha = w.head();
    let digest = w
        .moto
        .put_image("service-a-image", &sha, &docker_manifest("mixed"));
    let sum = upload_head(&w, "zip of lambda-a");
    let proxy = w.proxy(Fault::None);

    w.tag("service-a-v1.0.0");
    w.tag("lambda-a-v1.0.0");
    let run = w.push_via(&proxy.endpoint, &["origin", "--tags"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains(&digest), "{}", run.stderr);
    assert!(
        run.stderr.contains("✓ lambda-a-v1.0.0") && run.stderr.contains(&sum),
        "{}",
        run.stderr
    );
    // One batch per store: ECR's BatchGetImage and S3's HeadObject, nothing else.
    let mut ops: Vec<String> = proxy
        .requests()
        .iter()
        .map(|r| match r.header("x-amz-target") {
            Some(target) => target.rsplit('.').next().unwrap_or(target).to_string(),
            None => s3_operation(r),
        })
        .collect();
    ops.sort();
    assert_eq!(ops, ["BatchGetImage", "HeadObject"]);
    assert_eq!(monorel_e2e::remote_tags(&w.env, &w.repo.bare).len(), 2);

    // A second commit with an image but no zip: the whole push is refused, and the
    // failure names the missing object.
    w.env
        .commit_to(&w.repo, "lambda-a", "handler.py", "fix: a second commit");
    let second = w.head();
    w.moto
        .put_image("service-a-image", &second, &docker_manifest("mixed2"));
    w.tag("service-a-v1.0.1");
    w.tag("lambda-a-v1.0.1");
    let run = w.push_via(&proxy.endpoint, &["origin", "--tags"]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("✓ service-a-v1.0.1"), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "✗ [image] `lambda-a-v1.0.1`: no object s3://{BUCKET}/lambda-a-{second}"
        )),
        "{}",
        run.stderr
    );
    assert_eq!(
        monorel_e2e::remote_tags(&w.env, &w.repo.bare).len(),
        2,
        "nothing of the refused push arrived"
    );
}

/// Promotes lambda-a's tag through a recording proxy; returns the run and the requests.
fn promote_recorded(w: &World, args: &[&str]) -> (Run, Vec<Recorded>) {
    let proxy = w.proxy(Fault::None);
    let run = w.run_via(&proxy.endpoint, args);
    (run, proxy.requests())
}

/// The promotion guards and costs, read from what S3 was sent: three calls (head the
/// source, head the release key, copy), the copy conditional on the source's ETag and on
/// the release key not existing, the tags replaced, and no object byte through the client.
#[track_caller]
fn assert_guarded_copy(requests: &[Recorded], source_etag: &str) {
    let ops: Vec<String> = requests.iter().map(s3_operation).collect();
    assert_eq!(ops, ["HeadObject", "HeadObject", "CopyObject"]);
    let copy = &requests[2];
    assert_eq!(copy.header("x-amz-copy-source-if-match"), Some(source_etag));
    assert_eq!(copy.header("if-none-match"), Some("*"));
    assert_eq!(copy.header("x-amz-tagging-directive"), Some("REPLACE"));
    assert_eq!(copy.header("x-amz-checksum-algorithm"), Some("SHA256"));
    for request in requests {
        assert_eq!(
            request.body_len, 0,
            "bytes went through the client: {request:?}"
        );
        assert_ne!(request.method, "GET", "an object was read: {request:?}");
    }
}

#[test]
fn promote_is_one_guarded_server_side_copy_with_object_tags() {
    let w = world("");
    w.moto.create_bucket(BUCKET, true);
    let sum = upload_head(&w, "zip of lambda-a");
    let sha = w.head();
    let source = w
        .moto
        .head_object(BUCKET, &format!("lambda-a-{sha}"))
        .expect("source");
    w.tag("lambda-a-v1.0.0");

    let (run, requests) = promote_recorded(&w, &["promote", "lambda-a-v1.0.0", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json = run.json();
    assert_eq!(json["changed"], true);
    assert_eq!(json["target"]["key"], "lambda-a-v1.0.0");
    assert_eq!(json["checksum_sha256"], sum.as_str());
    assert!(json["version_id"].is_string(), "{json}");
    assert_guarded_copy(&requests, source["ETag"].as_str().expect("etag"));

    let copy = w
        .moto
        .head_object(BUCKET, "lambda-a-v1.0.0")
        .expect("the release object exists");
    assert_eq!(copy["ChecksumSHA256"], sum.as_str());
    assert_eq!(copy["VersionId"], json["version_id"]);
    assert_eq!(
        w.moto.object_tags(BUCKET, "lambda-a-v1.0.0"),
        [
            format!("git-release-commit={sha}"),
            "git-release-tag=lambda-a-v1.0.0".to_string()
        ]
    );
    assert_eq!(
        w.moto.keys(BUCKET),
        [format!("lambda-a-{sha}"), "lambda-a-v1.0.0".to_string()]
    );

    // Twice: nothing to do, two HEADs, no write.
    let (run, requests) = promote_recorded(&w, &["promote", "lambda-a-v1.0.0", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["changed"], false);
    let ops: Vec<String> = requests.iter().map(s3_operation).collect();
    assert_eq!(ops, ["HeadObject", "HeadObject"]);
    assert_eq!(w.moto.versions(BUCKET, "lambda-a-v1.0.0").len(), 1);
    let human = w.run(&["promote", "lambda-a-v1.0.0"]).ok();
    assert!(human.stdout.contains("nothing to do"), "{}", human.stdout);
}

#[test]
fn promote_refuses_a_release_key_that_holds_other_content() {
    let w = world("");
    w.moto.create_bucket(BUCKET, false);
    upload_head(&w, "zip of lambda-a");
    let other = w
        .moto
        .put_object(BUCKET, "lambda-a-v1.0.0", "something else");
    w.tag("lambda-a-v1.0.0");

    let run = w.run(&["promote", "lambda-a-v1.0.0"]).expect_code(1);
    assert_one_error(&run, "already exists and it holds other content");
    // --force is refused too: the bucket is not versioned, so the old object would be lost.
    let run = w
        .run(&["promote", "lambda-a-v1.0.0", "--force"])
        .expect_code(1);
    assert_one_error(&run, "only in a versioned bucket");
    assert!(
        run.stderr.contains("put-bucket-versioning"),
        "{}",
        run.stderr
    );
    let now = w.moto.head_object(BUCKET, "lambda-a-v1.0.0").expect("kept");
    assert_eq!(
        now["ETag"], other["ETag"],
        "the release key was not changed"
    );
    assert_eq!(now["ChecksumSHA256"], other["ChecksumSHA256"]);
    assert!(w.moto.object_tags(BUCKET, "lambda-a-v1.0.0").is_empty());
}

#[test]
fn force_on_a_versioned_bucket_replaces_and_keeps_the_old_version() {
    let w = world("");
    w.moto.create_bucket(BUCKET, true);
    let sum = upload_head(&w, "zip of lambda-a");
    let other = w
        .moto
        .put_object(BUCKET, "lambda-a-v1.0.0", "something else");
    let old_version = other["VersionId"].as_str().expect("versioned").to_string();
    w.tag("lambda-a-v1.0.0");

    let run = w.run(&["promote", "lambda-a-v1.0.0"]).expect_code(1);
    assert_one_error(&run, "holds other content");
    assert_eq!(
        w.moto.versions(BUCKET, "lambda-a-v1.0.0"),
        std::slice::from_ref(&old_version)
    );

    let proxy = w.proxy(Fault::None);
    let run = w.run_via(
        &proxy.endpoint,
        &["promote", "lambda-a-v1.0.0", "--force", "--json"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json = run.json();
    assert_eq!(json["changed"], true);
    assert_eq!(json["previous_version_id"], old_version.as_str());
    let ops = s3_operations(&proxy);
    assert_eq!(
        ops,
        [
            "HeadObject",
            "HeadObject",
            "GetBucketVersioning",
            "CopyObject"
        ]
    );
    let copy = &proxy.requests()[3];
    assert!(copy.header("x-amz-copy-source-if-match").is_some());
    assert_eq!(copy.header("if-none-match"), None, "a forced copy replaces");

    let versions = w.moto.versions(BUCKET, "lambda-a-v1.0.0");
    assert_eq!(versions.len(), 2, "{versions:?}");
    assert!(versions.contains(&old_version), "the old version survives");
    let now = w.moto.head_object(BUCKET, "lambda-a-v1.0.0").expect("now");
    assert_eq!(now["ChecksumSHA256"], sum.as_str());
}

#[test]
fn promote_of_a_commit_without_object_is_refused() {
    let w = world("");
    w.moto.create_bucket(BUCKET, false);
    w.tag("lambda-a-v1.0.0");
    let run = w
        .run(&["promote", "lambda-a-v1.0.0", "--json"])
        .expect_code(1);
    assert_eq!(run.json()["failure"]["kind"], "object-not-found");
    assert!(w.moto.keys(BUCKET).is_empty());
}

#[test]
fn full_flow_release_push_hook_then_promote() {
    let w = world("");
    w.moto.create_bucket(BUCKET, true);
    w.run(&["install"]).ok();
    let sha = w
        .env
        .commit_to(&w.repo, "lambda-a", "handler.py", "feat: a new handler");
    let sum = upload_head(&w, "zip of the handler");

    let run = w
        .run(&["lambda-a", "--bump", "minor", "--push", "--json"])
        .ok();
    let tag = run.json()["tag"].as_str().expect("tag").to_string();
    assert_eq!(tag, "lambda-a-v0.1.0");
    // The push went through the installed hook, which headed the object in moto.
    assert!(
        run.stderr.contains(&format!("✓ {tag} on ")) && run.stderr.contains(&sum),
        "{}",
        run.stderr
    );
    let remote = monorel_e2e::remote_tags(&w.env, &w.repo.bare);
    assert_eq!(remote.len(), 1, "{remote:?}");

    let promoted = w.run(&["promote", &tag, "--json"]).ok();
    assert_eq!(promoted.json()["checksum_sha256"], sum.as_str());
    assert_eq!(
        w.moto.keys(BUCKET),
        [format!("lambda-a-{sha}"), tag.clone()],
        "the bucket holds the commit's zip and the release's"
    );
    assert_eq!(
        w.moto.head_object(BUCKET, &tag).expect("release")["ChecksumSHA256"],
        sum.as_str()
    );
    assert_eq!(
        w.moto.object_tags(BUCKET, &tag),
        [
            format!("git-release-commit={sha}"),
            format!("git-release-tag={tag}")
        ]
    );
}

#[test]
fn doctor_reports_the_bucket_and_its_versioning() {
    let w = world("");
    w.moto.create_repositories(&["service-a-image"], true);
    w.moto.create_bucket(BUCKET, false);
    let run = w.run(&["doctor", "--json"]);
    let json = run.json();
    let findings = json["findings"].as_array().cloned().unwrap_or_default();
    let bucket = findings
        .iter()
        .find(|f| f["check"] == format!("registries.lambda: bucket {BUCKET}"))
        .unwrap_or_else(|| panic!("no bucket finding: {}", run.stdout));
    assert_eq!(bucket["status"], "warn", "{bucket}");
    assert!(
        bucket["hint"]
            .as_str()
            .unwrap_or_default()
            .contains("put-bucket-versioning"),
        "{bucket}"
    );
    let detail = bucket["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("read access (s3:GetObject) untried"),
        "an empty bucket proves nothing about reads: {bucket}"
    );
    assert!(
        findings
            .iter()
            .any(|f| f["check"] == "repository service-a-image" && f["status"] == "ok"),
        "the ECR store is still checked: {}",
        run.stdout
    );

    w.moto.s3(&[(
        "put_bucket_versioning",
        serde_json::json!({"Bucket": BUCKET, "VersioningConfiguration": {"Status": "Enabled"}}),
    )]);
    let run = w.run(&["doctor", "--json"]);
    let json = run.json();
    let bucket = json["findings"]
        .as_array()
        .and_then(|f| {
            f.iter()
                .find(|f| f["check"] == format!("registries.lambda: bucket {BUCKET}"))
                .cloned()
        })
        .expect("bucket finding");
    assert_eq!(bucket["status"], "ok", "{bucket}");
    assert!(
        bucket["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("Enabled"),
        "{bucket}"
    );

    // With an object in the bucket, doctor reads one: the credentials' read access is
    // proven, not assumed.
    w.moto.put_object(BUCKET, "lambda-a-0123456", "zip");
    let run = w.run(&["doctor", "--json"]);
    let detail = run.json()["findings"]
        .as_array()
        .and_then(|f| {
            f.iter()
                .find(|f| f["check"] == format!("registries.lambda: bucket {BUCKET}"))
                .map(|f| f["detail"].as_str().unwrap_or_default().to_string())
        })
        .expect("bucket finding");
    assert!(
        detail.contains("the credentials can read objects (s3:GetObject on lambda-a-0123456)"),
        "{detail}"
    );
}

/// The probe's key: lambda-a's release key for a version no release can have.
const PROBE_KEY: &str = "lambda-a-v0.0.0-git-release..doctor-probe";

/// Returns doctor's finding named `check`.
#[track_caller]
fn finding(run: &Run, check: &str) -> serde_json::Value {
    run.json()["findings"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["check"] == check).cloned())
        .unwrap_or_else(|| panic!("no finding {check:?}: {}", run.stdout))
}

#[test]
fn doctor_proves_copy_rights_only_when_the_store_honours_the_precondition() {
    let w = world("");
    w.moto.create_repositories(&["service-a-image"], true);
    w.moto.create_bucket(BUCKET, true);
    let copy_check = format!("registries.lambda: bucket {BUCKET} (copy)");

    // Nothing to copy from: not proven, and not a yes.
    let run = w.run(&["doctor", "--json"]);
    let copy = finding(&run, &copy_check);
    assert_eq!(copy["status"], "warn", "{copy}");
    assert!(
        copy["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("not proven yet"),
        "{copy}"
    );

    // moto ignores the copy's preconditions (FACTS.md) and writes the probe: doctor
    // fails closed, names the probe object and how to delete it.
    w.moto.put_object(BUCKET, "lambda-a-0123456", "zip");
    let run = w.run(&["doctor", "--json"]).expect_code(1);
    let copy = finding(&run, &copy_check);
    assert_eq!(copy["status"], "fail", "{copy}");
    let detail = copy["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("ignored the precondition")
            && detail.contains(&format!("wrote the probe object s3://{BUCKET}/{PROBE_KEY}")),
        "{copy}"
    );
    let hint = copy["hint"].as_str().unwrap_or_default();
    assert!(
        hint.contains(&format!(
            "aws s3api delete-object --bucket {BUCKET} --key {PROBE_KEY} --version-id "
        )),
        "the versioned bucket's probe is deleted by version: {copy}"
    );
    assert!(
        w.moto.keys(BUCKET).contains(&PROBE_KEY.to_string()),
        "the probe object doctor names is really there"
    );

    // Behind the proxy, S3's real answers: 412 (authorised, refused on the
    // precondition) is a yes, and nothing reached the store.
    let before = w.moto.keys(BUCKET);
    let proxy = w.proxy(Fault::None);
    proxy.set_fault_for_header("x-amz-copy-source", Fault::S3PreconditionFailed);
    let run = w.run_via(&proxy.endpoint, &["doctor", "--json"]);
    let copy = finding(&run, &copy_check);
    assert_eq!(copy["status"], "ok", "{copy}");
    assert!(
        copy["detail"]
            .as_str()
            .unwrap_or_default()
            .starts_with("the credentials can copy"),
        "{copy}"
    );
    let probes: Vec<Recorded> = proxy
        .requests()
        .into_iter()
        .filter(|r| r.header("x-amz-copy-source").is_some())
        .collect();
    assert_eq!(probes.len(), 1, "one probe copy");
    let probe = &probes[0];
    assert!(
        probe.target.starts_with(&format!(
            "/{BUCKET}/lambda-a-v0.0.0-git-release..doctor-probe"
        )),
        "{}",
        probe.target
    );
    assert_eq!(
        probe.header("x-amz-copy-source-if-match"),
        Some("\"00000000000000000000000000000000\"")
    );
    assert_eq!(probe.header("if-none-match"), Some("*"));
    assert_eq!(probe.header("x-amz-tagging-directive"), Some("REPLACE"));

    // 403: cannot copy, with both actions and the IAM fix.
    proxy.set_fault_for_header("x-amz-copy-source", Fault::S3AccessDenied);
    let run = w
        .run_via(&proxy.endpoint, &["doctor", "--json"])
        .expect_code(1);
    let copy = finding(&run, &copy_check);
    assert_eq!(copy["status"], "fail", "{copy}");
    let detail = copy["detail"].as_str().unwrap_or_default();
    assert!(
        detail.starts_with("cannot copy: S3 denied a copy of")
            && detail.contains("s3:GetObject")
            && detail.contains(&format!(
                "s3:PutObject and s3:PutObjectTagging on arn:aws:s3:::{BUCKET}/{PROBE_KEY}"
            )),
        "{copy}"
    );
    assert!(
        copy["hint"].as_str().unwrap_or_default().contains(&format!(
            "on arn:aws:s3:::{BUCKET}/lambda-a-v* in the IAM policy"
        )),
        "{copy}"
    );
    assert_eq!(w.moto.keys(BUCKET), before, "the probes wrote nothing");
}

// ---- faults: bounded, one clear line, nothing written ----

fn world_with_object(store_extra: &str) -> World {
    let w = world(store_extra);
    w.moto.create_bucket(BUCKET, true);
    upload_head(&w, "zip");
    w
}

/// Asserts that the release was refused as unavailable with `needle`, no tag was made,
/// and promote fails the same way without writing to the bucket.
#[track_caller]
fn assert_fault(w: &World, endpoint: &str, needle: &str) {
    let run = w
        .run_via(endpoint, &["lambda-a", "--bump", "minor"])
        .expect_code(4);
    assert_one_error(&run, needle);
    assert!(w.local_tags().is_empty(), "a tag was created");
    w.tag("lambda-a-v1.0.0");
    let run = w
        .run_via(endpoint, &["promote", "lambda-a-v1.0.0"])
        .expect_code(4);
    assert_one_error(&run, needle);
    assert_eq!(
        w.moto.keys(BUCKET),
        [format!("lambda-a-{}", w.head())],
        "the bucket was not changed"
    );
}

#[test]
fn fault_connection_refused() {
    let w = world_with_object("");
    assert_fault(&w, &closed_endpoint(), "connection refused");
}

#[test]
fn fault_server_never_answers() {
    let w = world_with_object("timeout-seconds = 3\nconnect-timeout-seconds = 1");
    let hole = BlackHole::start();
    let started = std::time::Instant::now();
    let run = w
        .run_via(&hole.endpoint, &["lambda-a", "--bump", "minor"])
        .expect_code(4);
    assert!(
        started.elapsed().as_secs() < 10,
        "not bounded: {:?}",
        started.elapsed()
    );
    assert_one_error(&run, "within 3 s");
    assert!(
        hole.connections() >= 1,
        "the request never reached the server"
    );
    assert!(w.local_tags().is_empty(), "a tag was created");
}

#[test]
fn fault_http_500() {
    let w = world_with_object("");
    let proxy = w.proxy(Fault::Http500);
    assert_fault(&w, &proxy.endpoint, "HTTP 500");
}

#[test]
fn fault_throttling() {
    let w = world_with_object("");
    let proxy = w.proxy(Fault::S3SlowDown);
    assert_fault(&w, &proxy.endpoint, "S3 throttled");
    // Once S3 recovers, the same command goes through.
    proxy.set_fault(Fault::None);
    w.env.git(&w.repo.work, &["tag", "-d", "lambda-a-v1.0.0"]);
    let run = w.run_via(&proxy.endpoint, &["lambda-a", "--bump", "minor"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn fault_expired_credentials_say_how_to_log_in() {
    let mut w = world_with_object("");
    w.env.set_env("AWS_PROFILE", "dev");
    w.env.set_env("AWS_CONFIG_FILE", "/dev/null");
    let proxy = w.proxy(Fault::S3ExpiredToken);
    assert_fault(&w, &proxy.endpoint, "the AWS session has expired");
    let run = w
        .run_via(&proxy.endpoint, &["check", "lambda-a-v1.0.0"])
        .expect_code(4);
    assert!(
        run.stdout.contains("aws sso login --profile dev"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("ExpiredToken"), "{}", run.stdout);
}

/// moto with IAM enforced after seeding: user `dev` may only read objects.
fn world_with_iam() -> World {
    // Seeding makes exactly this many unauthenticated requests; IAM applies after them.
    let moto = Moto::start_with_env(&[("INITIAL_NO_AUTH_ACTION_COUNT", "5")]);
    let mut w = World::new(moto, &config(""), &["service-a", "lambda-a"]);
    let sha = w.head();
    w.as_iam_user(
        "dev",
        &["s3:GetObject", "s3:ListBucket"],
        vec![
            ("s3.create_bucket", serde_json::json!({"Bucket": BUCKET})),
            (
                "s3.put_object",
                serde_json::json!({"Bucket": BUCKET, "Key": format!("lambda-a-{sha}"), "Body": "zip", "ChecksumAlgorithm": "SHA256"}),
            ),
        ],
    );
    w
}

#[test]
fn fault_access_denied_names_the_iam_action() {
    let w = world_with_iam();
    // Reading is allowed: the release goes through.
    w.run(&["lambda-a", "--bump", "minor"]).ok();
    // Copying is not: promote names s3:PutObject and changes nothing.
    let run = w.run(&["promote", "lambda-a-v0.1.0"]).expect_code(4);
    assert_one_error(&run, "access denied");
    assert!(run.stderr.contains("s3:PutObject"), "{}", run.stderr);
}

#[test]
fn fault_wrong_credentials() {
    let mut w = world_with_iam();
    w.env.set_env("AWS_ACCESS_KEY_ID", "AKIAWRONGWRONGWRONG1");
    w.env.set_env("AWS_SECRET_ACCESS_KEY", "not-the-secret");
    let run = w.run(&["lambda-a", "--bump", "minor"]).expect_code(4);
    assert_one_error(&run, "rejected the AWS credentials");
    assert!(run.stderr.contains("aws sso login"), "{}", run.stderr);
    assert!(
        !run.stderr.contains("not-the-secret"),
        "a secret was printed"
    );
    assert!(w.local_tags().is_empty(), "a tag was created");
}

#[test]
fn a_push_without_release_tags_sets_up_no_sdk() {
    // The endpoint hangs: any AWS call would take the whole timeout.
    let w = world("timeout-seconds = 30");
    w.run(&["install"]).ok();
    let hole = BlackHole::start();
    w.env
        .commit_to(&w.repo, "lambda-a", "handler.py", "fix: no release");
    let run = w.push_via(&hole.endpoint, &["origin", "main"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(hole.connections(), 0, "the hook reached for AWS");
}

/// A push's worth of objects is asked all at once: 50 S3 services tagged at one commit,
/// checked through a proxy that holds every request for two seconds. Every HEAD must be
/// in flight together (S3 has no batch read, so the fan-out is the only way 50 objects
/// cost one round trip, as ECR's BatchGetImage and the OCI backend do); counted at the
/// proxy, not timed.
#[test]
fn fifty_objects_are_headed_all_at_once() {
    let names: Vec<String> = (0..50).map(|i| format!("fn-{i:02}")).collect();
    let mut config =
        format!("[registry]\nkind = \"s3\"\nbucket = \"{BUCKET}\"\nregion = \"us-east-1\"\n\n");
    for name in &names {
        config.push_str(&format!(
            "[services.{name}]\npath = \"services/{name}\"\n\n"
        ));
    }
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let w = World::new(Moto::start(), &config, &refs);
    let head = w.head();
    w.moto.create_bucket(BUCKET, false);
    let uploads: Vec<(&str, serde_json::Value)> = names
        .iter()
        .map(|name| {
            (
                "put_object",
                serde_json::json!({"Bucket": BUCKET, "Key": format!("{name}-{head}"), "Body": "zip", "ChecksumAlgorithm": "SHA256"}),
            )
        })
        .collect();
    for answer in w.moto.s3(&uploads) {
        assert!(answer.get("error").is_none(), "upload failed: {answer}");
    }
    let tags: Vec<String> = names.iter().map(|n| format!("{n}-v1.0.0")).collect();
    for tag in &tags {
        w.tag(tag);
    }
    let proxy = w.proxy(Fault::DelayMs(2000));
    let mut args = vec!["check"];
    args.extend(tags.iter().map(String::as_str));
    let run = w.run_via(&proxy.endpoint, &args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let heads = s3_operations(&proxy)
        .iter()
        .filter(|op| *op == "HeadObject")
        .count();
    assert_eq!(heads, 50, "one HEAD per object");
    assert_eq!(
        proxy.max_in_flight(),
        50,
        "the 50 HEADs were not all in flight together"
    );
}
