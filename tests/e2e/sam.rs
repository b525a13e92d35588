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
    let repo = env.monorepo("mono", &monorel_e2e::config_none(&services), &services);
    env.run(&repo.work, &["init", "--ci", "github"]).ok();
    let build =
        std::fs::read_to_string(repo.work.join(".github/workflows/build.yml")).expect("build.yml");
    assert!(build.contains("--checksum-algorithm SHA256"), "{build}");
    // The detect step, run for real on a configuration with an S3 store.
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(
        dir.path().join("git-release.toml"),
        "[registries.lambda]\nkind = \"s3\"\nbucket = \"release-zips\"\nregion = \"eu-west-1\"\nprefix = \"zips/\"\n\n[services.lambda-a]\npath = \"services/lambda-a\"\nregistry = \"lambda\"\n\n[services.service-a]\npath = \"services/service-a/\"\n",
    )
    .expect("write config");
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
