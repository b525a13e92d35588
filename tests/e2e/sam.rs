//! Lambda deploys: a SAM template's one `CodeUri` and the Terraform pins of S3 services.
//!
//! The template edit is checked byte for byte against the fixture and then by the real
//! `cfn-lint` (PyPI; scripts/test.sh installs it), so "only the one function changed"
//! and "SAM still accepts it" are both shown. The Terraform pins are parsed as JSON and
//! compared with the names the guide's `aws_lambda_function` snippet uses.

use std::path::{Path, PathBuf};
use std::process::Command;

use monorel_core::config::Config;
use monorel_core::deploy::{self, sam, ObjectLocation, Pin};

const TEMPLATE: &str = include_str!("../fixtures/sam/template.yaml");

const CONFIG: &str = r#"[services.lambda-a]
path = "services/lambda-a"

[services.lambda-b]
path = "services/lambda-b"

[environments.stg]
kind = "sam"
template = "infra/stg/template.yaml"

[environments.tf]
dir = "infra/tf"
"#;

fn object(version: Option<&str>, hash: Option<&str>) -> ObjectLocation {
    ObjectLocation {
        bucket: "release-zips".into(),
        key: "lambda-a-v1.2.0".into(),
        version_id: version.map(str::to_string),
        checksum_sha256_base64: hash.map(str::to_string),
    }
}

/// Returns cfn-lint: `CFN_LINT`, else the workspace's `.venv`; fails (never skips) when
/// neither is there.
fn cfn_lint() -> PathBuf {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/cfn-lint");
    std::env::var_os("CFN_LINT")
        .map(PathBuf::from)
        .filter(|p| p.exists())
        .or_else(|| venv.exists().then_some(venv))
        .unwrap_or_else(|| {
            panic!("cfn-lint not found: run scripts/test.sh (it installs cfn-lint into .venv) or set CFN_LINT")
        })
}

fn lint(template: &Path) {
    let out = Command::new(cfn_lint())
        .arg(template)
        .output()
        .expect("run cfn-lint");
    assert!(
        out.status.success(),
        "cfn-lint refused {}:\n{}{}",
        template.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Returns the byte ranges where `old` and `new` differ: the common prefix and suffix
/// are cut off, and what is left of each is returned.
fn changed<'a>(old: &'a str, new: &'a str) -> (&'a str, &'a str) {
    let prefix = old
        .bytes()
        .zip(new.bytes())
        .take_while(|(a, b)| a == b)
        .count();
    let suffix = old[prefix..]
        .bytes()
        .rev()
        .zip(new[prefix..].bytes().rev())
        .take_while(|(a, b)| a == b)
        .count();
    (
        &old[prefix..old.len() - suffix],
        &new[prefix..new.len() - suffix],
    )
}

#[test]
fn sam_deploy_changes_only_the_one_code_uri_and_cfn_lint_accepts_it() {
    let tmp = tempfile::tempdir().expect("tmp");
    let config = Config::parse(CONFIG, "git-release.toml").expect("config");
    let target = sam::target(&config, tmp.path(), "lambda-a", "stg").expect("target");
    assert_eq!(target.resource, "LambdaAFunction");
    std::fs::create_dir_all(tmp.path().join("infra/stg")).expect("mkdir");
    std::fs::write(&target.path, TEMPLATE).expect("write");
    lint(&target.path);

    let o = object(Some("3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrH"), None);
    assert!(sam::write_code_uri(&target, &o).expect("deploy"));
    let new = std::fs::read_to_string(&target.path).expect("read");
    let (before, after) = changed(TEMPLATE, &new);
    assert_eq!(before, " ../../services/lambda-a", "{new}");
    assert_eq!(
        after,
        "\n        Bucket: release-zips\n        Key: lambda-a-v1.2.0\n        Version: \"3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrH\""
    );
    lint(&target.path);

    // The same object again: nothing written.
    assert!(!sam::write_code_uri(&target, &o).expect("again"));
    assert_eq!(std::fs::read_to_string(&target.path).expect("read"), new);

    // The next release replaces the map's values in place, and only them.
    let mut next = object(Some("nextVersion"), None);
    next.key = "lambda-a-v1.3.0".into();
    assert!(sam::write_code_uri(&target, &next).expect("next"));
    let newer = std::fs::read_to_string(&target.path).expect("read");
    assert_eq!(
        changed(&new, &newer),
        (
            "2.0\n        Version: \"3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrH\"",
            "3.0\n        Version: nextVersion"
        )
    );
    lint(&target.path);
}

#[test]
fn a_template_that_cannot_be_edited_with_certainty_is_left_as_it_was() {
    let tmp = tempfile::tempdir().expect("tmp");
    let config = Config::parse(CONFIG, "git-release.toml").expect("config");
    let target = sam::target(&config, tmp.path(), "lambda-a", "stg").expect("target");
    std::fs::create_dir_all(tmp.path().join("infra/stg")).expect("mkdir");
    let hostile = TEMPLATE.replace(
        "CodeUri: ../../services/lambda-a",
        "CodeUri: !Sub 's3://${Bucket}/a.zip'",
    );
    std::fs::write(&target.path, &hostile).expect("write");
    let err = sam::write_code_uri(&target, &object(None, None)).expect_err("intrinsic");
    let message = err.to_string();
    assert!(
        message.contains("LambdaAFunction")
            && message.contains("intrinsic")
            && message.contains("nothing was written"),
        "{message}"
    );
    assert_eq!(
        std::fs::read_to_string(&target.path).expect("read"),
        hostile
    );
    assert!(
        !tmp.path().join("infra/stg/template.yaml.lock").exists(),
        "the lock is released"
    );
}

/// Returns the `var.<name>` references of the guide's `aws_lambda_function` snippet.
fn guide_snippet_variables() -> Vec<String> {
    let guide =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/guide.md"))
            .expect("read docs/guide.md");
    let snippet = guide
        .split("```hcl\n")
        .skip(1)
        .filter_map(|rest| rest.split("```").next())
        .find(|block| block.contains("resource \"aws_lambda_function\""))
        .expect("docs/guide.md has an ```hcl block with an aws_lambda_function");
    let mut names: Vec<String> = snippet
        .split("var.")
        .skip(1)
        .map(|rest| {
            rest.chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        })
        .collect();
    // Each used variable is also declared in the snippet.
    for name in &names {
        assert!(
            snippet.contains(&format!("variable \"{name}\"")),
            "the guide's snippet uses var.{name} without declaring it"
        );
    }
    names.sort();
    names
}

#[test]
fn terraform_pins_of_an_s3_service_parse_and_match_the_guide() {
    let tmp = tempfile::tempdir().expect("tmp");
    let config = Config::parse(CONFIG, "git-release.toml").expect("config");
    let target = deploy::target_for(&config, tmp.path(), "lambda-a", "tf", true).expect("target");
    assert_eq!(target.file, "infra/tf/lambda-a.auto.tfvars.json");
    assert_eq!(target.variable, "lambda_a_release_tag");
    let pin = Pin {
        tag: "lambda-a-v1.2.0".into(),
        digest: None,
        object: Some(object(
            Some("3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrH"),
            Some("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="),
        )),
    };
    assert!(deploy::write_pin(&target, &pin).expect("write"));
    let text = std::fs::read_to_string(&target.path).expect("read");
    let value: serde_json::Value = serde_json::from_str(&text).expect("the pin file is JSON");
    let written: Vec<String> = value
        .as_object()
        .expect("an object")
        .keys()
        .cloned()
        .collect();
    assert_eq!(written, guide_snippet_variables(), "{text}");
    assert_eq!(value["lambda_a_s3_bucket"], "release-zips");
    assert_eq!(value["lambda_a_s3_key"], "lambda-a-v1.2.0");
    assert_eq!(
        value["lambda_a_source_code_hash"],
        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    );

    // An unversioned bucket and no checksum: the stale values go, as a stale digest does.
    let bare = Pin {
        tag: "lambda-a-v1.3.0".into(),
        digest: None,
        object: Some(ObjectLocation {
            key: "lambda-a-v1.3.0".into(),
            ..object(None, None)
        }),
    };
    assert!(deploy::write_pin(&target, &bare).expect("write"));
    let value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&target.path).expect("read")).expect("json");
    let keys: Vec<&String> = value.as_object().expect("object").keys().collect();
    assert_eq!(
        keys,
        [
            "lambda_a_release_tag",
            "lambda_a_s3_bucket",
            "lambda_a_s3_key"
        ]
    );
    assert!(!deploy::write_pin(&target, &bare).expect("same again"));
}

#[test]
fn terraform_pins_of_an_s3_service_in_hcl_keep_the_rest_of_the_file() {
    let tmp = tempfile::tempdir().expect("tmp");
    let config = Config::parse(
        &CONFIG.replace(
            "dir = \"infra/tf\"\n",
            "dir = \"infra/tf\"\nfile = \"terraform.tfvars\"\n",
        ),
        "git-release.toml",
    )
    .expect("config");
    let target = deploy::target_for(&config, tmp.path(), "lambda-a", "tf", true).expect("target");
    std::fs::create_dir_all(tmp.path().join("infra/tf")).expect("mkdir");
    let old = "# stg\nregion = \"eu-west-1\"\nlambda_a_release_tag = \"lambda-a-v1.0.0\" # by git-release\nlambda_a_s3_object_version = \"old\"\n";
    std::fs::write(&target.path, old).expect("write");
    let pin = Pin {
        tag: "lambda-a-v1.2.0".into(),
        digest: None,
        object: Some(object(None, Some("hash="))),
    };
    assert!(deploy::write_pin(&target, &pin).expect("write"));
    assert_eq!(
        std::fs::read_to_string(&target.path).expect("read"),
        "# stg\nregion = \"eu-west-1\"\nlambda_a_release_tag = \"lambda-a-v1.2.0\" # by git-release\nlambda_a_s3_bucket = \"release-zips\"\nlambda_a_s3_key = \"lambda-a-v1.2.0\"\nlambda_a_source_code_hash = \"hash=\"\n"
    );
}

/// Returns the Python program of the `detect` step of a rendered build.yml.
fn detect_script(build: &str) -> String {
    let start = build
        .find("python3 - <<'PY'\n")
        .expect("the detect step runs python")
        + "python3 - <<'PY'\n".len();
    let end = build[start..]
        .find("\n          PY")
        .expect("the heredoc ends")
        + start;
    build[start..end]
        .lines()
        .map(|l| l.strip_prefix("          ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_build_workflow_zips_s3_services_and_builds_images_of_the_others() {
    let env = monorel_e2e::TestEnv::new();
    let services = ["lambda-a", "service-a"];
    // The workflow has a job per kind of store the configuration uses (ECR and S3 here).
    let config = "[registries.lambda]\nkind = \"s3\"\nbucket = \"release-zips\"\nregion = \"eu-west-1\"\nprefix = \"zips/\"\n\n[services.lambda-a]\npath = \"services/lambda-a\"\nregistry = \"lambda\"\n\n[services.service-a]\npath = \"services/service-a/\"\n";
    let repo = env.monorepo("mono", config, &services);
    env.run(&repo.work, &["init", "--ci", "github"]).ok();
    let build =
        std::fs::read_to_string(repo.work.join(".github/workflows/build.yml")).expect("build.yml");
    assert!(build.contains("--checksum-algorithm SHA256"), "{build}");
    // The detect step, run for real on a configuration with an S3 store.
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("git-release.toml"), config).expect("write config");
    let output = dir.path().join("out");
    let sha = "0123456789abcdef0123456789abcdef01234567";
    let run = Command::new("python3")
        .args(["-c", &detect_script(&build)])
        .current_dir(dir.path())
        .env("GITHUB_SHA", sha)
        .env("GITHUB_OUTPUT", &output)
        .env("ALL", "true")
        .output()
        .expect("python3 runs the detect step");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let out = std::fs::read_to_string(&output).expect("outputs");
    let field = |name: &str| -> serde_json::Value {
        let line = out
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("no {name} in {out}"));
        serde_json::from_str(line).unwrap_or_else(|_| serde_json::Value::String(line.into()))
    };
    assert_eq!(
        field("zips"),
        serde_json::json!({"include": [{
            "service": "lambda-a",
            "path": "services/lambda-a",
            "bucket": "release-zips",
            "key": format!("zips/lambda-a-{sha}"),
            "region": "eu-west-1",
        }]})
    );
    assert_eq!(field("matrix")["include"][0]["service"], "service-a");
    assert_eq!(field("matrix")["include"].as_array().map(Vec::len), Some(1));
    assert_eq!(field("any_zip"), serde_json::json!(true));
}

#[test]
fn init_writes_lambda_services_with_an_s3_store() {
    let env = monorel_e2e::TestEnv::new();
    let services = ["service-a"];
    let repo = env.monorepo("mono", &monorel_e2e::config_none(&services), &services);
    let lambda = repo.work.join("services/lambda-a");
    std::fs::create_dir_all(&lambda).expect("mkdir");
    std::fs::write(lambda.join("template.yaml"), TEMPLATE).expect("template");
    // A YAML file that is no SAM template makes no service.
    let other = repo.work.join("services/docs");
    std::fs::create_dir_all(&other).expect("mkdir");
    std::fs::write(other.join("template.yaml"), "title: not SAM\n").expect("yaml");
    let run = env.run(&repo.work, &["init", "--force"]).ok();
    assert!(
        run.stdout
            .contains("lambda-a (services/lambda-a, Lambda zip in S3)"),
        "{}",
        run.stdout
    );
    let text = std::fs::read_to_string(repo.work.join("git-release.toml")).expect("config");
    let config = Config::parse(&text, "git-release.toml").expect("the starter file loads");
    assert_eq!(config.services.len(), 2, "{text}");
    assert!(
        text.contains("[registries.lambda]\nkind = \"s3\"\n"),
        "{text}"
    );
    assert!(
        text.contains("[services.lambda-a]\npath = \"services/lambda-a\"\nregistry = \"lambda\"\n"),
        "{text}"
    );
    assert!(
        text.contains("[services.service-a]\npath = \"services/service-a\"\n\n")
            || text.ends_with("[services.service-a]\npath = \"services/service-a\"\n"),
        "{text}"
    );
    env.run(&repo.work, &["list"]).ok();
}

#[test]
fn init_reads_lambda_services_from_a_template_it_is_pointed_at() {
    let env = monorel_e2e::TestEnv::new();
    let services = ["service-a"];
    let repo = env.monorepo("mono", &monorel_e2e::config_none(&services), &services);
    for dir in ["functions/orders", "functions/payments"] {
        std::fs::create_dir_all(repo.work.join(dir)).expect("mkdir");
        std::fs::write(
            repo.work.join(dir).join("app.py"),
            "def handler(e, c): pass\n",
        )
        .expect("code");
    }
    // One template at the root for every function: the scan never reads the root.
    std::fs::write(
        repo.work.join("sam.yaml"),
        "Transform: AWS::Serverless-2016-10-31\n\
         Resources:\n\
         \x20 OrdersFunction:\n\
         \x20   Type: AWS::Serverless::Function\n\
         \x20   Properties:\n\
         \x20     CodeUri: functions/orders/\n\
         \x20 PaymentsFn:\n\
         \x20   Type: AWS::Serverless::Function\n\
         \x20   Properties:\n\
         \x20     CodeUri: ./functions/payments\n\
         \x20 Escapes:\n\
         \x20   Type: AWS::Serverless::Function\n\
         \x20   Properties:\n\
         \x20     CodeUri: ../../etc\n",
    )
    .expect("template");
    let run = env.run(&repo.work, &["init", "--force"]).ok();
    assert!(!run.stdout.contains("orders"), "{}", run.stdout);

    let run = env
        .run(
            &repo.work,
            &["init", "--force", "--sam-template", "sam.yaml"],
        )
        .ok();
    let text = std::fs::read_to_string(repo.work.join("git-release.toml")).expect("config");
    let config = Config::parse(&text, "git-release.toml").expect("the starter file loads");
    assert_eq!(config.services.len(), 3, "{text}");
    for (name, path) in [
        ("orders", "functions/orders"),
        ("payments", "functions/payments"),
    ] {
        let service = &config.services[name];
        assert_eq!(service.path, path, "{text}");
        assert_eq!(service.registry.as_deref(), Some("lambda"), "{text}");
    }
    assert!(
        run.stderr.contains(
            "skipped function Escapes of sam.yaml: its CodeUri `../../etc` leaves the repository"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(
            "service payments is function PaymentsFn in the template, not PaymentsFunction"
        ),
        "{}",
        run.stderr
    );

    // A template outside the repository is refused with nothing written.
    let outside = env.path().join("outside.yaml");
    std::fs::write(&outside, "Resources: {}\n").expect("outside");
    let before = std::fs::read(repo.work.join("git-release.toml")).expect("config");
    let run = env.run(
        &repo.work,
        &[
            "init",
            "--force",
            "--sam-template",
            &outside.to_string_lossy(),
        ],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("outside the repository"),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read(repo.work.join("git-release.toml")).expect("config"),
        before
    );
}

/// A monorepo with one Lambda service on a versioned moto bucket, a Terraform
/// environment and a SAM environment.
const FLOW_BUCKET: &str = "release-zips";

/// S3 calls on moto through boto3 (the suite's `Moto::ecr` runs `service.op` calls).
fn s3(moto: &monorel_e2e::moto::Moto, op: &str, args: serde_json::Value) -> serde_json::Value {
    let answer = moto.ecr(&[(&format!("s3.{op}"), args)]).remove(0);
    assert!(answer.get("error").is_none(), "{op} failed: {answer}");
    answer
}

fn create_bucket(moto: &monorel_e2e::moto::Moto, versioned: bool) {
    s3(
        moto,
        "create_bucket",
        serde_json::json!({"Bucket": FLOW_BUCKET}),
    );
    if versioned {
        s3(
            moto,
            "put_bucket_versioning",
            serde_json::json!({"Bucket": FLOW_BUCKET, "VersioningConfiguration": {"Status": "Enabled"}}),
        );
    }
}

/// Uploads a zip as CI does (with a SHA-256 checksum); returns the checksum.
fn put_object(moto: &monorel_e2e::moto::Moto, key: &str, body: &str) -> String {
    s3(
        moto,
        "put_object",
        serde_json::json!({"Bucket": FLOW_BUCKET, "Key": key, "Body": body, "ChecksumAlgorithm": "SHA256"}),
    );
    let head = s3(
        moto,
        "head_object",
        serde_json::json!({"Bucket": FLOW_BUCKET, "Key": key, "ChecksumMode": "ENABLED"}),
    );
    head["ChecksumSHA256"]
        .as_str()
        .expect("checksum")
        .to_string()
}

fn versions(moto: &monorel_e2e::moto::Moto, key: &str) -> Vec<String> {
    let answer = s3(
        moto,
        "list_object_versions",
        serde_json::json!({"Bucket": FLOW_BUCKET, "Prefix": key}),
    );
    answer["Versions"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter(|v| v["Key"] == key)
                .filter_map(|v| v["VersionId"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn flow_config() -> String {
    format!(
        "[registry]\nregion = \"us-east-1\"\n\n[registries.lambda]\nkind = \"s3\"\nbucket = \"{FLOW_BUCKET}\"\nregion = \"us-east-1\"\n\n[services.lambda-a]\npath = \"services/lambda-a\"\nregistry = \"lambda\"\n\n[environments.stg]\ndir = \"infra/stg\"\n\n[environments.sam]\nkind = \"sam\"\ntemplate = \"infra/sam/template.yaml\"\n"
    )
}

/// Commits [`TEMPLATE`] as `infra/sam/template.yaml` and installs the hook; returns the
/// template's path.
fn commit_template_and_install(
    env: &monorel_e2e::TestEnv,
    repo: &monorel_e2e::Monorepo,
) -> PathBuf {
    let template = repo.work.join("infra/sam/template.yaml");
    std::fs::create_dir_all(template.parent().expect("dir")).expect("mkdir");
    std::fs::write(&template, TEMPLATE).expect("template");
    env.git(&repo.work, &["add", "-A"]);
    env.git(
        &repo.work,
        &["commit", "-q", "-m", "chore: the SAM template"],
    );
    env.run(&repo.work, &["install"]).ok();
    template
}

/// Commits a change to `lambda-a`, uploads its zip as CI does and releases it with
/// `--bump minor --push` (the hook checks the object); returns the new tag and the zip's
/// SHA-256 checksum.
fn release_lambda_a(
    env: &monorel_e2e::TestEnv,
    repo: &monorel_e2e::Monorepo,
    moto: &monorel_e2e::moto::Moto,
    change: &str,
) -> (String, String) {
    let sha = env.commit_to(repo, "lambda-a", "app.py", &format!("feat: {change}"));
    let sum = put_object(moto, &format!("lambda-a-{sha}"), change);
    let run = env
        .run(
            &repo.work,
            &["lambda-a", "--bump", "minor", "--push", "--json"],
        )
        .ok();
    let tag = run.json()["tag"].as_str().expect("tag").to_string();
    (tag, sum)
}

#[test]
fn full_flow_release_hook_promote_then_deploy_to_terraform_and_sam() {
    let moto = monorel_e2e::moto::Moto::start();
    create_bucket(&moto, true);
    let mut env = monorel_e2e::TestEnv::new();
    for (k, v) in moto.env() {
        env.set_env(k, &v);
    }
    let repo = env.monorepo("mono", &flow_config(), &["lambda-a"]);
    let template = commit_template_and_install(&env, &repo);
    let (tag, sum) = release_lambda_a(&env, &repo, &moto, "a handler");
    env.run(&repo.work, &["promote", &tag]).ok();
    let version = versions(&moto, &tag);
    assert_eq!(version.len(), 1, "{version:?}");

    // Terraform: the pin file holds the object, under the guide's names.
    let run = env
        .run(
            &repo.work,
            &["deploy", "lambda-a", "--env", "stg", "--json"],
        )
        .ok();
    let json = run.json();
    assert_eq!(json["kind"], "terraform");
    assert_eq!(json["variable"], "lambda_a_release_tag");
    assert_eq!(json["object"]["key"], tag.as_str());
    assert_eq!(json["changed"], true);
    let pins: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo.work.join("infra/stg/lambda-a.auto.tfvars.json"))
            .expect("pin file"),
    )
    .expect("the pin file is JSON");
    assert_eq!(
        pins,
        serde_json::json!({
            "lambda_a_release_tag": tag,
            "lambda_a_s3_bucket": FLOW_BUCKET,
            "lambda_a_s3_key": tag,
            "lambda_a_s3_object_version": version[0],
            "lambda_a_source_code_hash": sum,
        })
    );

    // SAM: only LambdaAFunction's CodeUri changes, committed, and cfn-lint accepts it.
    let run = env
        .run(
            &repo.work,
            &["deploy", "lambda-a", "--env", "sam", "--commit"],
        )
        .ok();
    assert!(
        run.stdout
            .contains("set the CodeUri of LambdaAFunction in infra/sam/template.yaml"),
        "{}",
        run.stdout
    );
    let new = std::fs::read_to_string(&template).expect("read");
    let (before, after) = changed(TEMPLATE, &new);
    assert_eq!(before, " ../../services/lambda-a");
    let expected_version = if version[0].starts_with(|c: char| c.is_ascii_alphabetic())
        && version[0]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
    {
        version[0].clone()
    } else {
        serde_json::Value::String(version[0].clone()).to_string()
    };
    assert_eq!(
        after,
        format!("\n        Bucket: {FLOW_BUCKET}\n        Key: {tag}\n        Version: {expected_version}")
    );
    lint(&template);
    assert_eq!(
        env.git(&repo.work, &["log", "-1", "--format=%s"]),
        format!("deploy(sam): lambda-a {tag}")
    );
    let again = env
        .run(
            &repo.work,
            &["deploy", "lambda-a", "--env", "sam", "--json"],
        )
        .ok();
    assert_eq!(again.json()["changed"], false);
    assert_eq!(again.json()["resource"], "LambdaAFunction");
    assert_eq!(again.json()["variable"], serde_json::Value::Null);
}

#[test]
fn deploy_refuses_an_object_that_is_not_promoted_and_writes_nothing() {
    let moto = monorel_e2e::moto::Moto::start();
    create_bucket(&moto, false);
    let mut env = monorel_e2e::TestEnv::new();
    for (k, v) in moto.env() {
        env.set_env(k, &v);
    }
    let repo = env.monorepo("mono", &flow_config(), &["lambda-a"]);
    let sha = env.git(&repo.work, &["rev-parse", "HEAD"]);
    put_object(&moto, &format!("lambda-a-{sha}"), "zip");
    let tag = env
        .run(&repo.work, &["lambda-a", "--bump", "minor", "--json"])
        .ok()
        .json()["tag"]
        .as_str()
        .expect("tag")
        .to_string();
    for target in ["stg", "sam"] {
        let run = env
            .run(&repo.work, &["deploy", "lambda-a", "--env", target])
            .expect_code(1);
        assert!(
            run.stderr.contains("not promoted yet") && run.stderr.contains(&tag),
            "{}",
            run.stderr
        );
    }
    assert!(!repo.work.join("infra").exists(), "nothing written");
}

/// Returns the `status --json` cell of `service` in `env`.
fn status_cell(json: &serde_json::Value, service: &str, env: &str) -> serde_json::Value {
    json["services"]
        .as_array()
        .expect("services")
        .iter()
        .find(|row| row["service"] == service)
        .unwrap_or_else(|| panic!("no row for {service}: {json}"))["environments"][env]
        .clone()
}

#[test]
fn status_names_the_release_a_sam_template_pins_and_marks_it_behind() {
    let moto = monorel_e2e::moto::Moto::start();
    create_bucket(&moto, false);
    let mut env = monorel_e2e::TestEnv::new();
    for (k, v) in moto.env() {
        env.set_env(k, &v);
    }
    // lambda-b is in the template (at lambda-b-v0.3.0) but was never released here.
    let config = format!(
        "{}\n[services.lambda-b]\npath = \"services/lambda-b\"\nregistry = \"lambda\"\n",
        flow_config()
    );
    let repo = env.monorepo("mono", &config, &["lambda-a", "lambda-b"]);
    commit_template_and_install(&env, &repo);

    // Before any deploy: lambda-a's CodeUri is the local source directory.
    let json = env.run(&repo.work, &["status", "--json"]).ok().json();
    assert_eq!(json["environments"], serde_json::json!(["sam", "stg"]));
    let cell = status_cell(&json, "lambda-a", "sam");
    assert_eq!(cell["pinned"], serde_json::Value::Null, "{cell}");
    assert!(
        cell["unpinned"]
            .as_str()
            .is_some_and(|r| r.contains("local directory") && r.contains("../../services/lambda-a")),
        "{cell}"
    );
    let cell = status_cell(&json, "lambda-b", "sam");
    assert_eq!(cell["pinned"], "lambda-b-v0.3.0", "{cell}");
    assert_eq!(cell["behind"], false);
    assert!(cell.get("unpinned").is_none(), "{cell}");

    let (tag, _) = release_lambda_a(&env, &repo, &moto, "a handler");
    env.run(&repo.work, &["promote", &tag]).ok();
    env.run(
        &repo.work,
        &["deploy", "lambda-a", "--env", "sam", "--commit"],
    )
    .ok();

    let json = env.run(&repo.work, &["status", "--json"]).ok().json();
    let cell = status_cell(&json, "lambda-a", "sam");
    assert_eq!(
        cell,
        serde_json::json!({"pinned": tag, "behind": false}),
        "the template names the deployed release"
    );
    // Not deployed to the Terraform environment: an empty cell, as before.
    assert_eq!(
        status_cell(&json, "lambda-a", "stg")["pinned"],
        serde_json::Value::Null
    );

    // A newer release exists: the SAM pin is behind.
    let (newer, _) = release_lambda_a(&env, &repo, &moto, "another handler");
    assert_ne!(newer, tag);
    let json = env.run(&repo.work, &["status", "--json"]).ok().json();
    let cell = status_cell(&json, "lambda-a", "sam");
    assert_eq!(cell["pinned"], tag.as_str());
    assert_eq!(cell["behind"], true, "{cell}");
    let table = env.run(&repo.work, &["status"]).ok().stdout;
    assert!(table.contains("SAM"), "{table}");
    let version = tag.trim_start_matches("lambda-a-v");
    assert!(table.contains(&format!("{version} (behind)")), "{table}");
}

#[test]
fn status_escapes_hostile_template_text_and_survives_an_unreadable_template() {
    let mut env = monorel_e2e::TestEnv::new();
    let repo = env.monorepo("mono", &flow_config(), &["lambda-a"]);
    env.set_env("NO_COLOR", "1");
    let template = repo.work.join("infra/sam/template.yaml");
    std::fs::create_dir_all(template.parent().expect("dir")).expect("mkdir");
    // A key that looks like a release but carries an escape sequence and a bidi override.
    let hostile = TEMPLATE.replace(
        "CodeUri: ../../services/lambda-a   # sam build reads this; deploy pins S3",
        "CodeUri: {Bucket: release-zips, Key: \"lambda-a-v9.9.9\\e[2J\\u202E\"}",
    );
    std::fs::write(&template, &hostile).expect("template");

    let run = env.run(&repo.work, &["status", "--json"]).ok();
    for raw in ['\u{1b}', '\u{202e}'] {
        assert!(!run.stdout.contains(raw), "{:?}", run.stdout);
    }
    let cell = status_cell(&run.json(), "lambda-a", "sam");
    assert_eq!(
        cell["pinned"],
        serde_json::Value::Null,
        "never a wrong release"
    );
    let reason = cell["unpinned"].as_str().expect("unpinned").to_string();
    assert!(
        reason.contains("lambda-a-v9.9.9\\x1b[2J\\u{202e}") && reason.contains("no release key"),
        "{reason}"
    );
    let run = env.run(&repo.work, &["status"]).ok();
    for raw in ['\u{1b}', '\u{202e}'] {
        assert!(!run.stdout.contains(raw), "{:?}", run.stdout);
    }
    assert!(run.stdout.contains("- (not a release)"), "{}", run.stdout);

    // A template that is not YAML: one warning, every cell of the column says why, and
    // the rest of the table (and the exit code) stand.
    std::fs::write(&template, "Resources: [LambdaAFunction\n").expect("template");
    let run = env.run(&repo.work, &["status", "--json"]).ok();
    assert_eq!(run.stderr.matches("warning:").count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("infra/sam/template.yaml"),
        "{}",
        run.stderr
    );
    let json = run.json();
    let cell = status_cell(&json, "lambda-a", "sam");
    assert_eq!(cell["pinned"], serde_json::Value::Null);
    assert!(
        cell["pin_error"]
            .as_str()
            .is_some_and(|e| e.contains("not valid YAML")),
        "{cell}"
    );
    assert_eq!(
        status_cell(&json, "lambda-a", "stg")["pinned"],
        serde_json::Value::Null
    );
    let table = env.run(&repo.work, &["status"]).ok().stdout;
    assert!(table.contains("- (template: ?)"), "{table}");
}
