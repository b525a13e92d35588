//! Issue 13: `init --ci github` for every mix of stores. Each job logs in only to the
//! registries its services use and asks for exactly the permissions its steps need;
//! every variant passes actionlint, and the workflows' Python steps run for real on
//! the configuration to route each service to its job and its login.

use std::path::{Path, PathBuf};
use std::process::Command;

use monorel_e2e::TestEnv;
use yaml_rust2::{Yaml, YamlLoader};

/// The two workflows `init --ci github` writes for `config`, linted and parsed.
struct Workflows {
    build: Yaml,
    release: Yaml,
    build_text: String,
    release_text: String,
    dir: PathBuf,
    /// The last line `init` printed: what to set up next.
    next: String,
}

fn init(env: &TestEnv, config: &str, services: &[&str]) -> Workflows {
    let repo = env.monorepo("mono", config, services);
    let run = env.run(&repo.work, &["init", "--ci", "github"]).ok();
    let next = run.stdout.lines().last().unwrap_or_default().to_string();
    let dir = repo.work.join(".github/workflows");
    monorel_e2e::assert_actionlint(
        &repo.work,
        &[dir.join("build.yml"), dir.join("release.yml")],
    );
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).expect("workflow");
    let (build_text, release_text) = (read("build.yml"), read("release.yml"));
    for text in [&build_text, &release_text] {
        assert!(!text.contains("__"), "unfilled placeholder:\n{text}");
        assert!(!text.contains("aws-access-key-id"), "no static keys");
    }
    let parse = |text: &str| YamlLoader::load_from_str(text).expect("YAML").remove(0);
    Workflows {
        build: parse(&build_text),
        release: parse(&release_text),
        build_text,
        release_text,
        dir: repo.work,
        next,
    }
}

/// The names of a workflow's jobs, in order.
fn jobs(doc: &Yaml) -> Vec<String> {
    doc["jobs"]
        .as_hash()
        .expect("jobs")
        .keys()
        .filter_map(|k| k.as_str().map(String::from))
        .collect()
}

/// A job's `permissions`, as `name: level` lines.
fn permissions(doc: &Yaml, job: &str) -> Vec<String> {
    doc["jobs"][job]["permissions"]
        .as_hash()
        .unwrap_or_else(|| panic!("{job} has no permissions"))
        .iter()
        .map(|(k, v)| {
            format!(
                "{}: {}",
                k.as_str().unwrap_or("?"),
                v.as_str().unwrap_or("?")
            )
        })
        .collect()
}

/// A job's login steps (AWS's action, ECR's, or a `docker login`), each as
/// `<what> [if <condition>]`.
fn logins(doc: &Yaml, job: &str) -> Vec<String> {
    doc["jobs"][job]["steps"]
        .as_vec()
        .expect("steps")
        .iter()
        .filter_map(|step| {
            let uses = step["uses"].as_str().unwrap_or_default();
            let run = step["run"].as_str().unwrap_or_default();
            let what = if uses.starts_with("aws-actions/configure-aws-credentials") {
                "aws".to_string()
            } else if uses.starts_with("aws-actions/amazon-ecr-login") {
                "ecr".to_string()
            } else if let Some(rest) = run.split("docker login ").nth(1) {
                let host = rest.split(' ').next().unwrap_or_default();
                let secret = ["GITHUB_TOKEN", "REGISTRY_PASSWORD"]
                    .into_iter()
                    .find(|s| step["env"][*s].as_str().is_some())
                    .unwrap_or("no secret");
                format!("docker login {host} with {secret}")
            } else {
                return None;
            };
            Some(match step["if"].as_str() {
                Some(condition) => format!("{what} if {condition}"),
                None => what,
            })
        })
        .collect()
}

/// Runs the Python heredoc of a job's step (`id`) in `dir` with `vars`; returns the
/// `GITHUB_OUTPUT` it wrote (or its own stdout), or its stderr when it fails.
fn run_step(
    doc: &Yaml,
    job: &str,
    id: &str,
    dir: &Path,
    vars: &[(&str, &str)],
) -> Result<String, String> {
    let step = doc["jobs"][job]["steps"]
        .as_vec()
        .expect("steps")
        .iter()
        .find(|s| s["id"].as_str() == Some(id))
        .unwrap_or_else(|| panic!("{job} has no step {id}"));
    let run = step["run"].as_str().expect("run");
    let start = run.find("<<'PY'\n").expect("a Python heredoc") + "<<'PY'\n".len();
    let end = run[start..].find("\nPY").expect("the heredoc ends") + start;
    let output = dir.join("github-output");
    let _ = std::fs::remove_file(&output);
    let out = Command::new("python3")
        .args(["-c", &run[start..end]])
        .current_dir(dir)
        .env("GITHUB_OUTPUT", &output)
        .envs(vars.iter().copied())
        .output()
        .expect("python3 runs the step");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(std::fs::read_to_string(&output).unwrap_or(stdout))
}

/// The store and host the release workflow's `service` step finds for `service`.
fn release_store(w: &Workflows, service: &str) -> Result<String, String> {
    run_step(
        &w.release,
        "promote",
        "service",
        &w.dir,
        &[("SERVICE", service)],
    )
}

/// The services each build job would build for a push that builds all.
fn build_routes(w: &Workflows) -> Result<Vec<(String, Vec<String>)>, String> {
    let sha = "0123456789abcdef0123456789abcdef01234567";
    let out = run_step(
        &w.build,
        "changes",
        "detect",
        &w.dir,
        &[("GITHUB_SHA", sha), ("ALL", "true")],
    )?;
    Ok(["matrix", "ghcr", "oci", "zips"]
        .into_iter()
        .map(|name| {
            let line = out
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{name}=")))
                .unwrap_or_else(|| panic!("no {name} in {out}"));
            let value: serde_json::Value = serde_json::from_str(line).expect("JSON");
            let images = value["include"]
                .as_array()
                .expect("include")
                .iter()
                .map(|i| {
                    let host = i["host"]
                        .as_str()
                        .map(|h| format!("{h}/"))
                        .unwrap_or_default();
                    match i["repository"].as_str() {
                        Some(repo) => format!("{host}{repo}:{}", i["tag"].as_str().unwrap_or("?")),
                        None => format!(
                            "s3://{}/{}",
                            i["bucket"].as_str().unwrap_or("?"),
                            i["key"].as_str().unwrap_or("?")
                        ),
                    }
                })
                .collect();
            (name.to_string(), images)
        })
        .collect())
}

const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

#[test]
fn ghcr_only_uses_the_job_token_and_no_aws() {
    let env = TestEnv::new();
    let w = init(
        &env,
        "[registry]\nkind = \"oci\"\nhost = \"ghcr.io\"\nrepository = \"acme/{service}\"\n\n[services.web]\npath = \"services/web\"\n\n[environments.stg]\ndir = \"infra/stg\"\n",
        &["web"],
    );
    assert_eq!(
        w.next,
        "next: set the repository variable GIT_RELEASE_REPO, then commit the workflows"
    );
    assert_eq!(jobs(&w.build), ["changes", "build-ghcr"]);
    assert_eq!(
        permissions(&w.build, "build-ghcr"),
        ["contents: read", "packages: write"]
    );
    assert_eq!(
        logins(&w.build, "build-ghcr"),
        ["docker login ghcr.io with GITHUB_TOKEN"]
    );
    assert_eq!(jobs(&w.release), ["promote", "publish", "deploy-stg"]);
    assert_eq!(
        permissions(&w.release, "promote"),
        ["contents: read", "packages: write"]
    );
    assert_eq!(
        logins(&w.release, "promote"),
        ["docker login ghcr.io with GITHUB_TOKEN if steps.service.outputs.store == 'ghcr'"]
    );
    assert_eq!(permissions(&w.release, "publish"), ["contents: write"]);
    // Deploy only reads the release's digest.
    assert_eq!(
        permissions(&w.release, "deploy-stg"),
        ["contents: write", "packages: read"]
    );
    assert_eq!(
        logins(&w.release, "deploy-stg"),
        ["docker login ghcr.io with GITHUB_TOKEN if needs.promote.outputs.store == 'ghcr'"]
    );
    for text in [&w.build_text, &w.release_text] {
        assert!(
            !text.contains("id-token") && !text.contains("AWS_ROLE_ARN"),
            "{text}"
        );
    }
    assert_eq!(
        build_routes(&w).expect("detect"),
        [
            ("matrix".into(), vec![]),
            ("ghcr".into(), vec![format!("acme/web:{SHA}")]),
            ("oci".into(), vec![]),
            ("zips".into(), vec![]),
        ]
    );
    assert_eq!(
        release_store(&w, "web").expect("store"),
        "store=ghcr\nhost=ghcr.io\n"
    );

    // A service moved to a kind of store this workflow has no job for fails the build
    // (and the release) with the command that fixes it, rather than going unbuilt.
    std::fs::write(
        w.dir.join("git-release.toml"),
        "[registry]\nkind = \"ecr\"\n\n[services.web]\npath = \"services/web\"\n",
    )
    .expect("write");
    let refused = build_routes(&w).expect_err("no ECR job");
    assert!(
        refused.contains("::error::no job here builds web")
            && refused.contains("git release init --ci github --force"),
        "{refused}"
    );
    let refused = release_store(&w, "web").expect_err("no AWS login");
    assert!(
        refused.contains("this workflow has no aws login for web"),
        "{refused}"
    );
}

#[test]
fn ecr_and_s3_log_in_to_aws_through_oidc_only() {
    let env = TestEnv::new();
    let w = init(
        &env,
        "[registry]\nkind = \"ecr\"\nregion = \"eu-west-1\"\n\n[registries.zips]\nkind = \"s3\"\nbucket = \"release-zips\"\n\n[services.api]\npath = \"services/api\"\n\n[services.fn]\npath = \"services/fn\"\nregistry = \"zips\"\n\n[environments.stg]\ndir = \"infra/stg\"\n",
        &["api", "fn"],
    );
    assert_eq!(jobs(&w.build), ["changes", "build", "zip"]);
    for job in ["build", "zip"] {
        assert_eq!(
            permissions(&w.build, job),
            ["contents: read", "id-token: write"],
            "{job}"
        );
    }
    assert_eq!(logins(&w.build, "build"), ["aws", "ecr"]);
    assert_eq!(logins(&w.build, "zip"), ["aws"]);
    assert_eq!(
        permissions(&w.release, "promote"),
        ["contents: read", "id-token: write"]
    );
    assert_eq!(
        logins(&w.release, "promote"),
        ["aws if steps.service.outputs.store == 'aws'"]
    );
    assert_eq!(
        permissions(&w.release, "deploy-stg"),
        ["contents: write", "id-token: write"]
    );
    assert_eq!(permissions(&w.release, "publish"), ["contents: write"]);
    for text in [&w.build_text, &w.release_text] {
        assert!(
            !text.contains("packages:") && !text.contains("docker login"),
            "{text}"
        );
    }
    assert_eq!(
        build_routes(&w).expect("detect"),
        [
            ("matrix".into(), vec![format!("api-image:{SHA}")]),
            ("ghcr".into(), vec![]),
            ("oci".into(), vec![]),
            ("zips".into(), vec![format!("s3://release-zips/fn-{SHA}")]),
        ]
    );
    for service in ["api", "fn"] {
        assert_eq!(
            release_store(&w, service).expect("store"),
            "store=aws\nhost=\n"
        );
    }
}

#[test]
fn ecr_and_ghcr_through_a_named_store_each_get_their_own_login() {
    let env = TestEnv::new();
    let w = init(
        &env,
        "[registry]\nkind = \"ecr\"\n\n[registries.ghcr]\nkind = \"oci\"\nhost = \"ghcr.io\"\nrepository = \"acme/{service}\"\n\n[services.api]\npath = \"services/api\"\n\n[services.web]\npath = \"services/web\"\nregistry = \"ghcr\"\n\n[environments.stg]\ndir = \"infra/stg\"\n",
        &["api", "web"],
    );
    assert_eq!(jobs(&w.build), ["changes", "build", "build-ghcr"]);
    assert_eq!(
        permissions(&w.build, "build"),
        ["contents: read", "id-token: write"]
    );
    assert_eq!(logins(&w.build, "build"), ["aws", "ecr"]);
    assert_eq!(
        permissions(&w.build, "build-ghcr"),
        ["contents: read", "packages: write"]
    );
    assert_eq!(
        logins(&w.build, "build-ghcr"),
        ["docker login ghcr.io with GITHUB_TOKEN"]
    );
    assert_eq!(
        permissions(&w.release, "promote"),
        ["contents: read", "id-token: write", "packages: write"]
    );
    assert_eq!(
        logins(&w.release, "promote"),
        [
            "aws if steps.service.outputs.store == 'aws'",
            "docker login ghcr.io with GITHUB_TOKEN if steps.service.outputs.store == 'ghcr'",
        ]
    );
    assert_eq!(
        permissions(&w.release, "deploy-stg"),
        ["contents: write", "id-token: write", "packages: read"]
    );
    assert_eq!(
        logins(&w.release, "deploy-stg"),
        [
            "aws if needs.promote.outputs.store == 'aws'",
            "docker login ghcr.io with GITHUB_TOKEN if needs.promote.outputs.store == 'ghcr'",
        ]
    );
    assert_eq!(
        build_routes(&w).expect("detect"),
        [
            ("matrix".into(), vec![format!("api-image:{SHA}")]),
            ("ghcr".into(), vec![format!("acme/web:{SHA}")]),
            ("oci".into(), vec![]),
            ("zips".into(), vec![]),
        ]
    );
    assert_eq!(
        release_store(&w, "api").expect("store"),
        "store=aws\nhost=\n"
    );
    assert_eq!(
        release_store(&w, "web").expect("store"),
        "store=ghcr\nhost=ghcr.io\n"
    );
}

#[test]
fn another_oci_registry_logs_in_with_named_secrets_and_a_live_env_uses_aws() {
    let env = TestEnv::new();
    let w = init(
        &env,
        "[registry]\nkind = \"oci\"\nhost = \"harbor.example.com:8443\"\nrepository = \"acme/{service}\"\n\n[services.api]\npath = \"services/api\"\n\n[environments.stg]\nkind = \"ecs\"\ncluster = \"stg\"\n",
        &["api"],
    );
    assert_eq!(
        w.next,
        "next: set the repository variables AWS_ROLE_ARN (an IAM role for GitHub OIDC) and AWS_REGION, the repository secrets REGISTRY_USERNAME and REGISTRY_PASSWORD, the repository variable GIT_RELEASE_REPO, then commit the workflows"
    );
    assert_eq!(jobs(&w.build), ["changes", "build-oci"]);
    assert_eq!(permissions(&w.build, "build-oci"), ["contents: read"]);
    assert_eq!(
        logins(&w.build, "build-oci"),
        ["docker login \"$HOST\" with REGISTRY_PASSWORD"]
    );
    assert!(w
        .build_text
        .contains("REGISTRY_USERNAME: ${{ secrets.REGISTRY_USERNAME }}"));
    assert!(w.build_text.contains("# harbor.example.com:8443: the repository secrets REGISTRY_USERNAME and REGISTRY_PASSWORD"), "{}", w.build_text);
    assert_eq!(permissions(&w.release, "promote"), ["contents: read"]);
    assert_eq!(
        logins(&w.release, "promote"),
        ["docker login \"$HOST\" with REGISTRY_PASSWORD if steps.service.outputs.store == 'oci'"]
    );
    // An ECS environment is changed through AWS whatever registry holds the images.
    assert_eq!(
        permissions(&w.release, "deploy-stg"),
        ["contents: write", "id-token: write"]
    );
    assert_eq!(
        logins(&w.release, "deploy-stg"),
        [
            "aws",
            "docker login \"$HOST\" with REGISTRY_PASSWORD if needs.promote.outputs.store == 'oci'",
        ]
    );
    assert_eq!(
        build_routes(&w).expect("detect")[2],
        (
            "oci".into(),
            vec![format!("harbor.example.com:8443/acme/api:{SHA}")]
        )
    );
    assert_eq!(
        release_store(&w, "api").expect("store"),
        "store=oci\nhost=harbor.example.com:8443\n"
    );
}
