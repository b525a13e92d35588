//! Deploying straight to ECS services and Lambda functions, against a real `moto_server`.
//!
//! moto keeps task definitions, services, functions and aliases as ECS and Lambda do,
//! but does not roll anything out: an updated service keeps its first deployment, whose
//! rollout state is fixed at creation (COMPLETED when `MOTO_ECS_SERVICE_RUNNING` covers
//! the desired count, else IN_PROGRESS; FACTS.md). So these tests deploy with
//! `--no-wait`, and the waiting logic is tested on recorded `DescribeServices` answers
//! in `monorel-core` (`deploy/rollout.rs`).

use monorel_e2e::moto::{all_ok as ok, docker_manifest, Moto};
use monorel_e2e::proxy::{closed_endpoint, BlackHole, Fault, Proxy};
use monorel_e2e::{Monorepo, TestEnv};
use serde_json::{json, Value};

const URI: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/web-image";

fn config(extra: &str) -> String {
    format!(
        "[registry]\nkind = \"ecr\"\nregion = \"us-east-1\"\nrepository = \"{{service}}-image\"\n\n[services.web]\npath = \"services/web\"\n\n[environments.stg]\nkind = \"ecs\"\ncluster = \"main\"\n\n[environments.prod]\nkind = \"ecs\"\ncluster = \"busy\"\n\n[environments.fn]\nkind = \"lambda\"\nfunction = \"{{service}}-fn\"\nalias = \"live\"\n{extra}"
    )
}

/// moto with every service "running" one task: a desired count of 1 is COMPLETED, 2 is
/// IN_PROGRESS (the busy service of `prod`).
pub(crate) fn seeded() -> (Moto, TestEnv, Monorepo, String) {
    let moto = Moto::start_with_env(&[("MOTO_ECS_SERVICE_RUNNING", "1")]);
    let mut env = TestEnv::new();
    for (k, v) in moto.env() {
        env.set_env(k, &v);
    }
    let repo = env.monorepo("mono", &config(""), &["web"]);
    let commit = env.git(&repo.work, &["rev-parse", "HEAD"]);
    moto.create_repositories(&["web-image"], true);
    let digest = moto.put_image("web-image", &commit, &docker_manifest("web"));
    let role = moto.lambda_role();
    ok(moto.ecr(&[
        ("ecs.create_cluster", json!({"clusterName": "main"})),
        ("ecs.create_cluster", json!({"clusterName": "busy"})),
        (
            "ecs.register_task_definition",
            json!({
                "family": "web",
                "taskRoleArn": "arn:aws:iam::123456789012:role/web-task",
                "executionRoleArn": "arn:aws:iam::123456789012:role/web-exec",
                "networkMode": "awsvpc",
                "containerDefinitions": [
                    {"name": "web", "image": format!("{URI}:latest"), "essential": true,
                     "memory": 512, "portMappings": [{"containerPort": 3000, "protocol": "tcp"}],
                     "environment": [{"name": "RAILS_ENV", "value": "production"}],
                     "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "web"}}},
                    {"name": "envoy", "image": "public.ecr.aws/envoy:v1.31", "essential": false, "memory": 128}
                ],
                "volumes": [{"name": "tmp", "host": {}}],
                "requiresCompatibilities": ["FARGATE"],
                "cpu": "512",
                "memory": "1024",
                "runtimePlatform": {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"},
                "ephemeralStorage": {"sizeInGiB": 30},
                "tags": [{"key": "team", "value": "payments"}]
            }),
        ),
        (
            "ecs.create_service",
            json!({"cluster": "main", "serviceName": "web", "taskDefinition": "web:1", "desiredCount": 1}),
        ),
        (
            "ecs.create_service",
            json!({"cluster": "busy", "serviceName": "web", "taskDefinition": "web:1", "desiredCount": 2}),
        ),
        (
            "lambda.create_function",
            json!({"FunctionName": "web-fn", "Role": role, "PackageType": "Image",
                   "Code": {"ImageUri": format!("{URI}:latest")}, "Publish": true}),
        ),
        (
            "lambda.create_alias",
            json!({"FunctionName": "web-fn", "Name": "live", "FunctionVersion": "1"}),
        ),
    ]));
    // Tag without asking the registry: only deploy is under test.
    env.set_env("GIT_RELEASE_REGISTRY", "none");
    env.run(
        &repo.work,
        &["web", "--bump", "minor", "--push", "--yes", "--offline"],
    )
    .ok();
    env.set_env("GIT_RELEASE_REGISTRY", "ecr");
    (moto, env, repo, digest)
}

fn revisions(moto: &Moto) -> Vec<String> {
    let out = ok(moto.ecr(&[("ecs.list_task_definitions", json!({"familyPrefix": "web"}))]));
    out[0]["taskDefinitionArns"]
        .as_array()
        .expect("arns")
        .iter()
        .map(|a| {
            a.as_str()
                .expect("arn")
                .rsplit('/')
                .next()
                .expect("tail")
                .to_string()
        })
        .collect()
}

fn service_task_definition(moto: &Moto, cluster: &str) -> String {
    let out = ok(moto.ecr(&[(
        "ecs.describe_services",
        json!({"cluster": cluster, "services": ["web"]}),
    )]));
    out[0]["services"][0]["taskDefinition"]
        .as_str()
        .expect("taskDefinition")
        .rsplit('/')
        .next()
        .expect("tail")
        .to_string()
}

fn task_definition(moto: &Moto, name: &str) -> (Value, Value) {
    let out = ok(moto.ecr(&[(
        "ecs.describe_task_definition",
        json!({"taskDefinition": name, "include": ["TAGS"]}),
    )]));
    (out[0]["taskDefinition"].clone(), out[0]["tags"].clone())
}

fn alias_version(moto: &Moto) -> String {
    let out = ok(moto.ecr(&[(
        "lambda.get_alias",
        json!({"FunctionName": "web-fn", "Name": "live"}),
    )]));
    out[0]["FunctionVersion"]
        .as_str()
        .expect("version")
        .to_string()
}

#[test]
fn ecs_deploy_registers_one_revision_by_digest_and_refuses_without_changes() {
    let (moto, env, repo, digest) = seeded();
    let deploy = |args: &[&str]| {
        let mut all = vec!["deploy", "web"];
        all.extend_from_slice(args);
        env.run(&repo.work, &all)
    };

    // Unpromoted: refused, nothing registered or updated.
    let run = deploy(&["--env", "stg", "--no-wait"]).expect_code(1);
    assert!(run.stderr.contains("not promoted yet"), "{}", run.stderr);
    assert_eq!(revisions(&moto), ["web:1"]);
    assert_eq!(service_task_definition(&moto, "main"), "web:1");

    moto.put_image("web-image", "web-v0.1.0", &docker_manifest("web"));
    let image = format!("{URI}@{digest}");

    // Another service's tag, or a version that is not released: refused, nothing changed.
    deploy(&["--env", "stg", "--tag", "api-v0.1.0"]).expect_code(2);
    deploy(&["--env", "stg", "--version", "9.9.9"]).expect_code(1);
    assert_eq!(revisions(&moto), ["web:1"]);

    // --dry-run prints the change and touches nothing.
    let run = deploy(&["--env", "stg", "--dry-run"]).ok();
    assert!(
        run.stdout.contains("would deploy web-v0.1.0 to stg"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains(&image), "{}", run.stdout);
    assert!(
        run.stdout.contains(&format!("{URI}:latest")),
        "{}",
        run.stdout
    );
    assert_eq!(revisions(&moto), ["web:1"]);

    // A container name that is not in the task definition: refused, nothing changed.
    let file = repo.work.join("git-release.toml");
    std::fs::write(
        &file,
        config("\n[services.web.environments.stg]\ncontainer = \"app\"\n"),
    )
    .expect("config");
    let run = deploy(&["--env", "stg", "--no-wait"]).expect_code(1);
    assert!(
        run.stderr
            .contains("task definition web:1 has no container `app` (its containers: web, envoy)"),
        "{}",
        run.stderr
    );
    std::fs::write(&file, config("")).expect("config");
    assert_eq!(revisions(&moto), ["web:1"]);

    // Another rollout in progress (prod's service runs 1 of 2): refused, nothing changed.
    let run = deploy(&["--env", "prod", "--no-wait"]).expect_code(1);
    assert!(
        run.stderr.contains("has a rollout in progress"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--force"), "{}", run.stderr);
    assert_eq!(revisions(&moto), ["web:1"]);
    assert_eq!(service_task_definition(&moto, "busy"), "web:1");

    // The deploy: exactly one new revision, equal to the old one but for the image and
    // the release tag, and the service points at it.
    let out = deploy(&["--env", "stg", "--no-wait", "--json"]).ok().json();
    assert_eq!(out["changed"], true);
    assert_eq!(out["revision"], "web:2");
    assert_eq!(out["previous"]["revision"], "web:1");
    assert_eq!(revisions(&moto), ["web:1", "web:2"]);
    assert_eq!(service_task_definition(&moto, "main"), "web:2");
    let (mut old, old_tags) = task_definition(&moto, "web:1");
    let (mut new, new_tags) = task_definition(&moto, "web:2");
    assert_eq!(new["containerDefinitions"][0]["image"], image.as_str());
    for def in [&mut old, &mut new] {
        let def = def.as_object_mut().expect("object");
        for read_only in [
            "taskDefinitionArn",
            "revision",
            "registeredAt",
            "registeredBy",
        ] {
            def.remove(read_only);
        }
        def["containerDefinitions"][0]
            .as_object_mut()
            .expect("container")
            .remove("image");
    }
    assert_eq!(new, old, "the new revision differs in more than the image");
    assert_eq!(old_tags, json!([{"key": "team", "value": "payments"}]));
    assert_eq!(
        new_tags,
        json!([{"key": "team", "value": "payments"}, {"key": "git-release-tag", "value": "web-v0.1.0"}])
    );

    // status names the release as running; a second deploy changes nothing.
    let status = env.run(&repo.work, &["status", "--json"]).ok().json();
    let cell = &status["services"][0]["environments"]["stg"];
    assert_eq!(cell["running"], "web-v0.1.0", "{status}");
    assert_eq!(cell["running_revision"], "web:2");
    assert_eq!(cell["running_digest"], digest.as_str());
    assert_eq!(
        status["services"][0]["environments"]["prod"]["running"],
        Value::Null
    );
    assert_eq!(
        status["services"][0]["environments"]["prod"]["running_revision"],
        "web:1"
    );
    let run = deploy(&["--env", "stg", "--no-wait"]).ok();
    assert!(
        run.stdout.contains("stg already runs web-v0.1.0"),
        "{}",
        run.stdout
    );
    assert_eq!(revisions(&moto), ["web:1", "web:2"]);

    // --force goes ahead despite the rollout in progress.
    deploy(&["--env", "prod", "--no-wait", "--force"]).ok();
    assert_eq!(revisions(&moto), ["web:1", "web:2", "web:3"]);
    assert_eq!(service_task_definition(&moto, "busy"), "web:3");
}

#[test]
fn lambda_deploy_publishes_a_version_and_moves_the_alias() {
    let (moto, env, repo, digest) = seeded();
    moto.put_image("web-image", "web-v0.1.0", &docker_manifest("web"));
    let image = format!("{URI}@{digest}");
    assert_eq!(alias_version(&moto), "1");

    let run = env
        .run(&repo.work, &["deploy", "web", "--env", "fn", "--dry-run"])
        .ok();
    assert!(run.stdout.contains(&image), "{}", run.stdout);
    assert_eq!(alias_version(&moto), "1");

    let out = env
        .run(&repo.work, &["deploy", "web", "--env", "fn", "--json"])
        .ok()
        .json();
    assert_eq!(out["changed"], true);
    let version = out["revision"].as_str().expect("version").to_string();
    assert_eq!(alias_version(&moto), version);
    let code = ok(moto.ecr(&[(
        "lambda.get_function",
        json!({"FunctionName": "web-fn", "Qualifier": "live"}),
    )]));
    assert_eq!(code[0]["Code"]["ImageUri"], image.as_str());

    let status = env.run(&repo.work, &["status", "--json"]).ok().json();
    assert_eq!(
        status["services"][0]["environments"]["fn"]["running"], "web-v0.1.0",
        "{status}"
    );

    let run = env.run(&repo.work, &["deploy", "web", "--env", "fn"]).ok();
    assert!(
        run.stdout.contains("fn already runs web-v0.1.0"),
        "{}",
        run.stdout
    );
    assert_eq!(alias_version(&moto), version);
    let versions = ok(moto.ecr(&[(
        "lambda.list_versions_by_function",
        json!({"FunctionName": "web-fn"}),
    )]));
    assert_eq!(
        versions[0]["Versions"].as_array().expect("versions").len(),
        3,
        "$LATEST, 1 and the deployed version: {}",
        versions[0]
    );
}

/// Issue 14: a service pinned in Terraform whose environment also names the ECS service
/// it runs (`cluster`) is read live by `status`: pinned one release, running another is
/// drift, named in the table and in `--json`.
#[test]
fn status_shows_drift_between_a_terraform_pin_and_the_running_ecs_revision() {
    let (moto, mut env, repo, digest) = seeded();
    std::fs::write(
        repo.work.join("git-release.toml"),
        config("\n[environments.tf]\ndir = \"infra/tf\"\ncluster = \"main\"\n"),
    )
    .expect("config");
    moto.put_image("web-image", "web-v0.1.0", &docker_manifest("web"));
    env.run(&repo.work, &["deploy", "web", "--env", "stg", "--no-wait"])
        .ok();
    // The next release, pinned in Terraform but not applied: ECS still runs the first.
    env.commit_to(&repo, "web", "app.rb", "feat: two");
    env.set_env("GIT_RELEASE_REGISTRY", "none");
    env.run(&repo.work, &["web", "--bump", "minor", "--offline"])
        .ok();
    env.set_env("GIT_RELEASE_REGISTRY", "ecr");
    let second = moto.put_image("web-image", "web-v0.2.0", &docker_manifest("web-two"));
    assert_ne!(second, digest);
    env.run(&repo.work, &["deploy", "web", "--env", "tf"]).ok();

    let status = env.run(&repo.work, &["status", "--json"]).ok().json();
    assert_eq!(
        status["services"][0]["environments"]["tf"],
        json!({
            "pinned": "web-v0.2.0",
            "behind": false,
            "running": "web-v0.1.0",
            "running_revision": "web:2",
            "running_digest": digest,
            "drift": true,
        }),
        "{status}"
    );
    let table = env.run(&repo.work, &["status"]).ok().stdout;
    assert!(table.contains("pinned 0.2.0, running 0.1.0"), "{table}");
}

/// ECS and Lambda are spoken to by git-release's own signed-JSON client (aws/json.rs).
/// Through a fault-injecting proxy in front of moto: reads are retried (three attempts) on
/// server errors and throttling, a mutating call that reached the service is never sent
/// twice (a second RegisterTaskDefinition would register a second revision), expired
/// credentials are named as such, and every request is SigV4-signed for its service.
#[test]
fn ecs_and_lambda_faults_are_bounded_and_mutations_are_sent_once() {
    let (moto, mut env, repo, _digest) = seeded();
    moto.put_image("web-image", "web-v0.1.0", &docker_manifest("web"));
    let upstream = format!("127.0.0.1:{}", moto.port);
    let proxy = Proxy::start("127.0.0.1:0", &upstream, Fault::None).expect("proxy");
    env.set_env("AWS_ENDPOINT_URL_ECS", &proxy.endpoint);
    let deploy =
        |env: &TestEnv| env.run(&repo.work, &["deploy", "web", "--env", "stg", "--no-wait"]);
    let count = |op: &str| proxy.operations().iter().filter(|o| *o == op).count();
    let error_line = |run: &monorel_e2e::Run, needle: &str| {
        let errors = run.error_lines();
        assert_eq!(errors.len(), 1, "expected one error line:\n{}", run.stderr);
        assert!(
            errors[0].contains(needle),
            "lacks {needle:?}:\n{}",
            run.stderr
        );
    };

    // A server error on the registration: sent once, not retried, nothing registered.
    proxy.set_fault_for("RegisterTaskDefinition", Fault::Http500);
    let run = deploy(&env).expect_code(4);
    error_line(
        &run,
        "ECS RegisterTaskDefinition for ECS service `web` in cluster `main`",
    );
    assert_eq!(
        count("RegisterTaskDefinition"),
        1,
        "{:?}",
        proxy.operations()
    );
    assert_eq!(count("UpdateService"), 0);
    assert_eq!(revisions(&moto), ["web:1"]);

    // A server error on a read: three attempts, then a one-line error; nothing changed.
    proxy.clear_operations();
    proxy.set_fault_for("DescribeServices", Fault::Http500);
    let run = deploy(&env).expect_code(4);
    error_line(&run, "HTTP 500");
    assert_eq!(proxy.operations(), ["DescribeServices"; 3]);

    // Throttling on a read: retried, then "throttled" with its hint.
    proxy.clear_operations();
    proxy.set_fault_for("DescribeTaskDefinition", Fault::Throttle);
    let run = deploy(&env).expect_code(4);
    error_line(
        &run,
        "was throttled: HTTP 400, ThrottlingException: Rate exceeded",
    );
    assert_eq!(count("DescribeTaskDefinition"), 3);

    // Expired credentials: not retried, named, with the login hint.
    proxy.clear_operations();
    proxy.set_fault(Fault::ExpiredToken);
    let run = deploy(&env).expect_code(4);
    error_line(&run, "the AWS session has expired");
    assert!(run.stderr.contains("aws sso login"), "{}", run.stderr);
    assert_eq!(proxy.operations(), ["DescribeServices"]);
    assert_eq!(revisions(&moto), ["web:1"]);

    // No fault: the calls in order, each signed for ECS in the configured region.
    proxy.clear_operations();
    proxy.clear_fault();
    deploy(&env).ok();
    assert_eq!(
        proxy.operations(),
        [
            "DescribeServices",
            "DescribeTaskDefinition",
            "RegisterTaskDefinition",
            "UpdateService"
        ]
    );
    for request in proxy.requests() {
        let auth = request.header("authorization").expect("signed");
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=testing/")
                && auth.contains("/us-east-1/ecs/aws4_request"),
            "{auth}"
        );
        assert_eq!(
            request.header("content-type"),
            Some("application/x-amz-json-1.1")
        );
    }
    assert_eq!(revisions(&moto), ["web:1", "web:2"]);

    // The proxy from the environment is honoured, as the SDK clients honoured it.
    proxy.clear_operations();
    env.set_env("AWS_ENDPOINT_URL_ECS", &moto.endpoint);
    env.set_env("HTTP_PROXY", &proxy.endpoint);
    env.run(&repo.work, &["status", "--json"]).ok();
    assert!(
        proxy.operations().contains(&"DescribeServices".to_string()),
        "{:?}",
        proxy.request_lines()
    );
    env.set_env("HTTP_PROXY", "");

    // Lambda: nothing listening is "cannot reach AWS", quickly, with nothing changed.
    env.set_env("AWS_ENDPOINT_URL_LAMBDA", &closed_endpoint());
    let started = std::time::Instant::now();
    let run = env
        .run(&repo.work, &["deploy", "web", "--env", "fn"])
        .expect_code(4);
    error_line(&run, "cannot reach AWS (connection refused)");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(alias_version(&moto), "1");

    // A server that never answers: each read attempt is bounded (5 s, three attempts),
    // so the deploy fails as a timeout well within the 30-s call bound.
    let hole = BlackHole::start();
    env.set_env("AWS_ENDPOINT_URL_LAMBDA", &hole.endpoint);
    let started = std::time::Instant::now();
    let run = env
        .run(&repo.work, &["deploy", "web", "--env", "fn"])
        .expect_code(4);
    error_line(
        &run,
        "Lambda GetFunction for Lambda function `web-fn` alias `live`",
    );
    assert!(run.stderr.contains("timed out"), "{}", run.stderr);
    let took = started.elapsed();
    assert!(
        took >= std::time::Duration::from_secs(14) && took < std::time::Duration::from_secs(28),
        "{took:?}"
    );
    assert_eq!(hole.connections(), 3);
    assert_eq!(alias_version(&moto), "1");
}

/// `status` over 50 services in two live environments reads all 100 cells at once: a
/// proxy that holds every request for 2.5 s sees the 100 first calls in flight together
/// (counted, not timed), and each cell costs its two reads, no more. 2.5 s leaves room
/// for 100 threads to start on a loaded machine, and for moto, which answers one
/// request at a time, to answer them all within the SDK's 5 s per attempt.
#[test]
fn status_reads_every_live_cell_at_once() {
    let names: Vec<String> = (0..50).map(|i| format!("svc-{i:02}")).collect();
    let mut config = String::from(
        "[registry]\nkind = \"none\"\n\n[environments.stg]\nkind = \"ecs\"\ncluster = \"stg\"\nregion = \"us-east-1\"\n\n[environments.prod]\nkind = \"lambda\"\nregion = \"us-east-1\"\n\n",
    );
    for name in &names {
        config.push_str(&format!(
            "[services.{name}]\npath = \"services/{name}\"\n\n"
        ));
    }
    let moto = Moto::start_with_env(&[("MOTO_ECS_SERVICE_RUNNING", "1")]);
    let mut env = TestEnv::new();
    for (k, v) in moto.env() {
        env.set_env(k, &v);
    }
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let repo = env.monorepo("mono", &config, &refs);
    let role = moto.lambda_role();
    let mut calls = vec![("ecs.create_cluster", json!({"clusterName": "stg"}))];
    for name in &names {
        calls.extend([
            (
                "ecs.register_task_definition",
                json!({"family": name, "containerDefinitions": [{"name": name, "image": format!("{URI}:latest"), "memory": 512}]}),
            ),
            (
                "ecs.create_service",
                json!({"cluster": "stg", "serviceName": name, "taskDefinition": format!("{name}:1"), "desiredCount": 1}),
            ),
            (
                "lambda.create_function",
                json!({"FunctionName": name, "Role": role, "PackageType": "Image",
                       "Code": {"ImageUri": format!("{URI}:latest")}, "Publish": true}),
            ),
            (
                "lambda.create_alias",
                json!({"FunctionName": name, "Name": "prod", "FunctionVersion": "1"}),
            ),
        ]);
    }
    ok(moto.ecr(&calls));
    let proxy = monorel_e2e::proxy::Proxy::start(
        "127.0.0.1:0",
        &format!("127.0.0.1:{}", moto.port),
        monorel_e2e::proxy::Fault::DelayMs(2500),
    )
    .expect("proxy");
    let run = monorel_e2e::Run::from(
        env.command(monorel_e2e::binary(), &repo.work)
            .env("AWS_ENDPOINT_URL", &proxy.endpoint)
            .args(["status", "--json"])
            .output()
            .expect("run git-release"),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let status = run.json();
    let read = status["services"]
        .as_array()
        .expect("services")
        .iter()
        .flat_map(|s| ["stg", "prod"].map(|e| s["environments"][e]["running_revision"].clone()))
        .filter(Value::is_string)
        .count();
    assert_eq!(read, 100, "every cell was read: {status}");
    // ECS: one DescribeServices per ten services of the cluster, then DescribeTaskDefinition
    // per cell; Lambda: one GetFunction qualified by the alias answers the version and its
    // code.
    let requests = proxy.requests();
    let targets: Vec<&str> = requests
        .iter()
        .filter_map(|r| r.header("x-amz-target"))
        .collect();
    let describe = targets
        .iter()
        .filter(|t| t.ends_with(".DescribeServices"))
        .count();
    assert_eq!(describe, 5, "fifty services, ten per call: {targets:?}");
    assert_eq!(
        requests.len(),
        105,
        "5 DescribeServices + 50 DescribeTaskDefinition + 50 GetFunction"
    );
    // The first calls of every cell (5 DescribeServices and 50 GetFunction) went out
    // together, held by the proxy.
    assert!(
        proxy.max_in_flight() >= 55,
        "the cells were not read all at once: at most {} calls in flight",
        proxy.max_in_flight()
    );
}
