//! The OCI backend end to end: the real binary against Debian's `docker-registry`
//! (CNCF distribution) per test, with images pushed by Debian's `skopeo`, the user's
//! credentials in a docker `config.json`, and the registry's own authentication
//! (htpasswd for Basic, its token auth with a local token service for Bearer).

use std::path::PathBuf;

use monorel_e2e::oci::{self, Auth, Registry, TokenIssuer, TokenMode, PASSWORD, USER};
use monorel_e2e::proxy::{BlackHole, Fault, Proxy};
use monorel_e2e::world::assert_one_error;
use monorel_e2e::{Monorepo, Run, TestEnv};

/// The password of the wrong-password tests.
const WRONG_PASSWORD: &str = "not-the-Pa55word";

/// A config with an OCI registry at `host` (plain http on loopback) and `services`.
fn oci_config(host: &str, services: &[&str], extra: &str) -> String {
    let mut text = format!(
        "[registry]\nkind = \"oci\"\nhost = \"{host}\"\ninsecure = true\nrepository = \"acme/{{service}}\"\ntimeout-seconds = 10\n{extra}\n"
    );
    for s in services {
        text.push_str(&format!("\n[services.{s}]\npath = \"services/{s}\"\n"));
    }
    text
}

struct World {
    env: TestEnv,
    registry: Registry,
    repo: Monorepo,
    images: PathBuf,
    /// The token service, for a registry with token auth.
    issuer: Option<TokenIssuer>,
}

impl World {
    /// A registry with `auth`, a monorepo with `services`, and credentials for it in a
    /// docker config.json (`auths`) unless `anonymous`.
    fn new(auth: &Auth, services: &[&str], anonymous: bool) -> World {
        World::in_env(TestEnv::new(), auth, services, anonymous)
    }

    /// Like [`World::new`], in `env` (which may already hold a token service's keys).
    fn in_env(mut env: TestEnv, auth: &Auth, services: &[&str], anonymous: bool) -> World {
        let registry = Registry::start(&env.path().join("registry"), auth);
        if !anonymous {
            let dir = oci::docker_config_with_auths(env.path(), &registry.host, USER, PASSWORD);
            env.set_env("DOCKER_CONFIG", dir.to_str().expect("utf-8"));
        }
        let repo = env.monorepo("mono", &oci_config(&registry.host, services, ""), services);
        let images = env.path().join("images");
        std::fs::create_dir_all(&images).expect("images dir");
        World {
            env,
            registry,
            repo,
            images,
            issuer: None,
        }
    }

    fn issuer(&self) -> &TokenIssuer {
        self.issuer.as_ref().expect("a token world")
    }

    /// Asserts that nothing the binary wrote holds a secret: the test password (plain or
    /// in a Basic header), the wrong password of the fault tests, or any token issued so
    /// far. Every run of this module goes through here, so every byte is checked.
    #[track_caller]
    fn assert_no_secret(&self, run: &Run) {
        let mut secrets = vec![
            PASSWORD.to_string(),
            WRONG_PASSWORD.to_string(),
            oci::base64(format!("{USER}:{PASSWORD}").as_bytes(), false),
            oci::base64(format!("{USER}:{WRONG_PASSWORD}").as_bytes(), false),
        ];
        if let Some(issuer) = &self.issuer {
            for token in issuer.issued() {
                // The whole JWT and its signature alone.
                secrets.extend(token.rsplit('.').next().map(str::to_string));
                secrets.push(token);
            }
        }
        for secret in &secrets {
            assert!(
                !run.stdout.contains(secret.as_str()) && !run.stderr.contains(secret.as_str()),
                "a secret was printed:\nstdout:\n{}\nstderr:\n{}",
                run.stdout,
                run.stderr
            );
        }
    }

    /// Runs `git args…` in the work tree (a push runs the installed hook).
    fn git(&self, args: &[&str]) -> Run {
        let run = Run::from(
            self.env
                .command("git", &self.repo.work)
                .args(args)
                .output()
                .expect("run git"),
        );
        self.assert_no_secret(&run);
        run
    }

    /// Points git-release.toml at `host` with `extra` registry keys and commits it; returns
    /// the new HEAD.
    fn point_at(&self, host: &str, services: &[&str], extra: &str) -> String {
        self.write_config(&oci_config(host, services, extra))
    }

    /// Writes `config` as git-release.toml and commits it; returns the new HEAD.
    fn write_config(&self, config: &str) -> String {
        std::fs::write(self.repo.work.join("git-release.toml"), config).expect("config");
        self.env
            .git(&self.repo.work, &["commit", "-qam", "chore: registry"]);
        self.head()
    }

    fn head(&self) -> String {
        self.env.git(&self.repo.work, &["rev-parse", "HEAD"])
    }

    fn run(&self, args: &[&str]) -> Run {
        let run = self.env.run(&self.repo.work, args);
        self.assert_no_secret(&run);
        run
    }

    fn tag(&self, tag: &str) {
        self.env
            .git(&self.repo.work, &["tag", "-a", tag, "-m", "release"]);
    }

    /// Pushes a single-platform image built from `seed` as `acme/<service>:<tag>`.
    fn push_single(&self, service: &str, tag: &str, seed: &str) -> String {
        let (layout, digest) = oci::single_image(&self.images, seed);
        oci::push(
            &layout,
            &self.registry.host,
            &format!("acme/{service}"),
            tag,
        );
        digest
    }

    /// Pushes a two-platform OCI index built from `seed` as `acme/<service>:<tag>`.
    fn push_index(&self, service: &str, tag: &str, seed: &str) -> String {
        let (layout, digest) = oci::two_platform_image(&self.images, seed);
        oci::push(
            &layout,
            &self.registry.host,
            &format!("acme/{service}"),
            tag,
        );
        digest
    }

    fn digest_of(&self, service: &str, tag: &str) -> Option<String> {
        oci::inspect_digest(&self.registry.host, &format!("acme/{service}"), tag)
    }
}

fn local_tags(w: &World) -> Vec<String> {
    let out = w.env.git(&w.repo.work, &["tag", "-l"]);
    out.lines().map(str::to_string).collect()
}

#[test]
fn basic_auth_verify_and_promote_a_single_image_and_an_index() {
    let w = World::new(&Auth::Htpasswd, &["service-a", "service-b"], false);
    let sha = w.head();
    let single = w.push_single("service-a", &sha, "a1");
    let index = w.push_index("service-b", &sha, "b1");
    assert_eq!(
        w.digest_of("service-a", &sha).as_deref(),
        Some(single.as_str())
    );
    assert_eq!(
        w.digest_of("service-b", &sha).as_deref(),
        Some(index.as_str())
    );

    // A release records the digest the registry reports.
    let run = w.run(&["service-a", "--bump", "minor", "--json"]).ok();
    assert_eq!(run.json()["tag"], "service-a-v0.1.0", "{}", run.stdout);
    let message = w.env.git(
        &w.repo.work,
        &["tag", "-l", "--format=%(contents)", "service-a-v0.1.0"],
    );
    assert!(
        message.contains(&single),
        "tag message lacks the digest:\n{message}"
    );

    // Promote copies the manifest under the release tag: same digest, as skopeo sees it.
    let run = w.run(&["promote", "service-a-v0.1.0", "--json"]).ok();
    let json = run.json();
    assert_eq!(json["digest"], single.as_str(), "{}", run.stdout);
    assert_eq!(json["changed"], true, "{}", run.stdout);
    assert_eq!(
        json["media_type"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    assert_eq!(
        w.digest_of("service-a", "service-a-v0.1.0").as_deref(),
        Some(single.as_str())
    );

    // The two-platform index is promoted whole: same digest, both platforms.
    w.tag("service-b-v1.0.0");
    let run = w.run(&["promote", "service-b-v1.0.0", "--json"]).ok();
    assert_eq!(run.json()["digest"], index.as_str(), "{}", run.stdout);
    assert_eq!(
        run.json()["media_type"],
        "application/vnd.oci.image.index.v1+json"
    );
    assert_eq!(
        w.digest_of("service-b", "service-b-v1.0.0").as_deref(),
        Some(index.as_str())
    );
    let raw = oci::inspect_raw(&w.registry.host, "acme/service-b", "service-b-v1.0.0");
    let promoted: serde_json::Value = serde_json::from_str(&raw).expect("index json");
    assert_eq!(
        promoted["manifests"].as_array().map(Vec::len),
        Some(2),
        "{raw}"
    );

    // Twice: nothing to do, nothing changed.
    let again = w.run(&["promote", "service-b-v1.0.0", "--json"]).ok();
    assert_eq!(again.json()["changed"], false, "{}", again.stdout);
    assert_eq!(again.json()["digest"], index.as_str());
    let human = w.run(&["promote", "service-b-v1.0.0"]).ok();
    assert!(human.stdout.contains("nothing to do"), "{}", human.stdout);
}

#[test]
fn promote_refuses_a_release_tag_naming_another_image_unless_forced() {
    let w = World::new(&Auth::Htpasswd, &["service-a"], false);
    let sha = w.head();
    let ours = w.push_single("service-a", &sha, "ours");
    // Someone already pushed another image under the release tag.
    let theirs = w.push_single("service-a", "service-a-v1.0.0", "theirs");
    w.tag("service-a-v1.0.0");

    let run = w.run(&["promote", "service-a-v1.0.0"]).expect_code(1);
    assert_one_error(&run, "already names another image");
    assert!(run.stderr.contains("--force"), "{}", run.stderr);
    assert_eq!(
        w.digest_of("service-a", "service-a-v1.0.0").as_deref(),
        Some(theirs.as_str()),
        "the registry was changed"
    );

    let run = w
        .run(&["promote", "service-a-v1.0.0", "--force", "--json"])
        .ok();
    assert_eq!(
        run.json()["previous_digest"],
        theirs.as_str(),
        "{}",
        run.stdout
    );
    assert_eq!(
        w.digest_of("service-a", "service-a-v1.0.0").as_deref(),
        Some(ours.as_str())
    );
}

#[test]
fn anonymous_access_verifies_and_promotes() {
    let w = World::new(&Auth::None, &["service-a"], true);
    let sha = w.head();
    let digest = w.push_single("service-a", &sha, "anon");
    w.tag("service-a-v1.0.0");
    let run = w.run(&["check", "service-a-v1.0.0", "--json"]).ok();
    assert!(run.stdout.contains(&digest), "{}", run.stdout);
    let run = w.run(&["promote", "service-a-v1.0.0", "--json"]).ok();
    assert_eq!(run.json()["digest"], digest.as_str());
}

#[test]
fn the_hook_and_check_refuse_a_tag_whose_image_is_missing() {
    let w = World::new(&Auth::Htpasswd, &["service-a", "service-b"], false);
    w.run(&["install"]).ok();
    let sha = w
        .env
        .commit_to(&w.repo, "service-a", "app.txt", "feat: an endpoint");
    let digest = w.push_single("service-a", &sha, "hooked");
    // service-b has no image for this commit.
    w.tag("service-a-v1.0.0");
    w.tag("service-b-v1.0.0");

    let run = w.run(&["check", "service-b-v1.0.0"]).expect_code(1);
    assert!(
        run.stdout.contains(&format!("acme/service-b:{sha}")),
        "{}\n{}",
        run.stdout,
        run.stderr
    );

    let push = w.git(&["push", "origin", "--tags"]);
    assert_ne!(push.code, 0, "{}", push.stderr);
    assert!(
        push.stderr.contains("✓ service-a-v1.0.0"),
        "{}",
        push.stderr
    );
    assert!(push.stderr.contains(&digest), "{}", push.stderr);
    assert!(
        push.stderr.contains("✗ [image] `service-b-v1.0.0`"),
        "{}",
        push.stderr
    );
    assert!(
        monorel_e2e::remote_tags(&w.env, &w.repo.bare).is_empty(),
        "a tag reached the remote"
    );

    // With the image pushed, the same push goes through.
    w.push_index("service-b", &sha, "b-late");
    let push = w.git(&["push", "origin", "--tags"]);
    assert_eq!(push.code, 0, "{}", push.stderr);
    assert_eq!(monorel_e2e::remote_tags(&w.env, &w.repo.bare).len(), 2);
}

#[test]
fn release_is_refused_when_the_image_is_missing() {
    let w = World::new(&Auth::Htpasswd, &["service-a"], false);
    w.push_single("service-a", &"0".repeat(40), "old");
    let run = w.run(&["service-a", "--bump", "minor"]).expect_code(1);
    assert!(run.stderr.contains("acme/service-a:"), "{}", run.stderr);
    assert!(local_tags(&w).is_empty(), "a tag was created");
}

/// A token service and a registry trusting it, in one environment.
fn token_world(services: &[&str]) -> World {
    let env = TestEnv::new();
    let issuer = TokenIssuer::start(env.path());
    let mut w = World::in_env(env, &issuer.auth(), services, false);
    w.issuer = Some(issuer);
    w
}

#[test]
fn bearer_tokens_are_fetched_once_per_repository_scope() {
    let w = token_world(&["service-a", "service-b"]);
    w.run(&["install"]).ok();
    let sha = w.head();
    let a = w.push_single("service-a", &sha, "bearer-a");
    let b = w.push_index("service-b", &sha, "bearer-b");
    w.tag("service-a-v1.0.0");
    w.tag("service-b-v1.0.0");
    w.tag("service-a-v1.0.1");
    let before = w.issuer().requests().len();

    // Three tags in two repositories: one token per repository scope, with the user's
    // credentials from config.json.
    let run = w
        .run(&[
            "check",
            "service-a-v1.0.0",
            "service-b-v1.0.0",
            "service-a-v1.0.1",
            "--json",
        ])
        .ok();
    assert!(
        run.stdout.contains(&a) && run.stdout.contains(&b),
        "{}",
        run.stdout
    );
    let mut scopes: Vec<(String, bool)> = w.issuer().requests()[before..].to_vec();
    scopes.sort();
    assert_eq!(
        scopes,
        [
            ("repository:acme/service-a:pull".to_string(), true),
            ("repository:acme/service-b:pull".to_string(), true)
        ]
    );

    // promote asks for a push token, once, and keeps the index whole.
    let before = w.issuer().requests().len();
    let run = w.run(&["promote", "service-b-v1.0.0", "--json"]).ok();
    assert_eq!(run.json()["digest"], b.as_str(), "{}", run.stdout);
    assert_eq!(
        w.issuer().requests()[before..],
        [("repository:acme/service-b:pull,push".to_string(), true)]
    );
    assert_eq!(
        w.digest_of("service-b", "service-b-v1.0.0").as_deref(),
        Some(b.as_str())
    );
}

#[test]
fn a_credential_helper_named_in_cred_helpers_is_used() {
    let env = TestEnv::new();
    let issuer = TokenIssuer::start(env.path());
    let mut w = World::in_env(env, &issuer.auth(), &["service-a"], true);
    w.issuer = Some(issuer);
    let host = w.registry.host.clone();
    let config_dir = w.env.path().join("helper-config");
    std::fs::create_dir_all(&config_dir).expect("dir");
    std::fs::write(
        config_dir.join("config.json"),
        format!(r#"{{"credHelpers": {{"{host}": "gr-test"}}}}"#),
    )
    .expect("config.json");
    let bin = oci::credential_helper(w.env.path(), "gr-test", &host);
    let path = format!("{}:{}", bin.display(), w.env.path_var());
    w.env.set_env("PATH", &path);
    w.env
        .set_env("DOCKER_CONFIG", config_dir.to_str().expect("utf-8"));
    let sha = w.head();
    let digest = w.push_single("service-a", &sha, "helped");
    w.tag("service-a-v1.0.0");
    let before = w.issuer().requests().len();

    let run = w.run(&["promote", "service-a-v1.0.0", "--json"]).ok();
    assert_eq!(run.json()["digest"], digest.as_str(), "{}", run.stdout);
    // The helper was asked about this registry, and its credential reached the token
    // service.
    let log = std::fs::read_to_string(w.env.path().join("helper.log")).expect("helper log");
    assert_eq!(log.trim(), host, "{log}");
    assert!(w.issuer().requests()[before..]
        .iter()
        .all(|(_, authed)| *authed));
}

#[test]
fn fault_expired_tokens_are_replaced_once_then_reported() {
    let w = token_world(&["service-a"]);
    let sha = w.head();
    w.push_single("service-a", &sha, "expiring");
    w.tag("service-a-v1.0.0");
    w.issuer().set_mode(TokenMode::Expired);
    let before = w.issuer().requests().len();
    let run = w.run(&["promote", "service-a-v1.0.0"]).expect_code(4);
    assert_one_error(&run, "refused the credentials");
    assert!(run.stderr.contains("docker login"), "{}", run.stderr);
    // One token, refused, one replacement, refused: bounded.
    assert_eq!(
        w.issuer().requests().len() - before,
        2,
        "{:?}",
        w.issuer().requests()
    );
    assert_eq!(
        w.digest_of("service-a", "service-a-v1.0.0"),
        None,
        "something was written"
    );
}

#[test]
fn fault_a_token_without_push_says_the_scope_was_refused() {
    let w = token_world(&["service-a"]);
    let sha = w.head();
    w.push_single("service-a", &sha, "scoped");
    w.tag("service-a-v1.0.0");
    w.issuer().set_mode(TokenMode::PullOnly);
    // Reading is allowed...
    w.run(&["check", "service-a-v1.0.0"]).ok();
    // ...writing is not, and the error says which right is missing.
    let run = w.run(&["promote", "service-a-v1.0.0"]).expect_code(4);
    assert_one_error(&run, "scope");
    assert_eq!(
        w.digest_of("service-a", "service-a-v1.0.0"),
        None,
        "something was written"
    );
}

#[test]
fn fault_wrong_password_with_basic_and_bearer() {
    for bearer in [false, true] {
        let env = TestEnv::new();
        let issuer = TokenIssuer::start(env.path());
        let auth = if bearer {
            issuer.auth()
        } else {
            Auth::Htpasswd
        };
        let mut w = World::in_env(env, &auth, &["service-a"], true);
        w.issuer = Some(issuer);
        let dir =
            oci::docker_config_with_auths(w.env.path(), &w.registry.host, USER, WRONG_PASSWORD);
        w.env.set_env("DOCKER_CONFIG", dir.to_str().expect("utf-8"));
        let sha = w.head();
        w.push_single("service-a", &sha, "wrong");
        w.tag("service-a-v1.0.0");
        let run = w.run(&["check", "service-a-v1.0.0"]).expect_code(4);
        assert!(
            run.stdout.contains("refused the credentials")
                || run.stderr.contains("refused the credentials"),
            "{}\n{}",
            run.stdout,
            run.stderr
        );
        assert!(
            run.stdout.contains("docker login") || run.stderr.contains("docker login"),
            "{}",
            run.stderr
        );
        let run = w.run(&["promote", "service-a-v1.0.0"]).expect_code(4);
        assert_one_error(&run, "refused the credentials");
        assert_eq!(
            w.digest_of("service-a", "service-a-v1.0.0"),
            None,
            "something was written"
        );
    }
}

/// Returns the combined output, for messages that go to stdout (verdicts) or stderr.
fn output(run: &Run) -> String {
    format!("{}{}", run.stdout, run.stderr)
}

#[test]
fn fault_rate_limited_and_server_errors_write_nothing() {
    let w = World::new(&Auth::Htpasswd, &["service-a"], false);
    let proxy = Proxy::start("127.0.0.1:0", &w.registry.host, Fault::None).expect("proxy");
    let proxied = format!("127.0.0.1:{}", proxy.port);
    let sha = w.point_at(&proxied, &["service-a"], "");
    // `docker login` to the proxied address.
    oci::docker_config_with_auths(w.env.path(), &proxied, USER, PASSWORD);
    w.push_single("service-a", &sha, "faults");
    w.tag("service-a-v1.0.0");
    w.run(&["check", "service-a-v1.0.0"]).ok();

    proxy.set_fault(Fault::RateLimited);
    let run = w.run(&["check", "service-a-v1.0.0"]).expect_code(4);
    let text = output(&run);
    assert!(text.contains("rate-limiting"), "{text}");
    assert!(text.contains("ratelimit-remaining: 0;w=21600"), "{text}");
    assert!(text.contains("retry-after: 3600"), "{text}");
    let run = w.run(&["promote", "service-a-v1.0.0"]).expect_code(4);
    assert_one_error(&run, "HTTP 429");

    proxy.set_fault(Fault::Http500);
    let run = w.run(&["check", "service-a-v1.0.0"]).expect_code(4);
    assert!(output(&run).contains("HTTP 500"), "{}", output(&run));
    let run = w.run(&["promote", "service-a-v1.0.0"]).expect_code(4);
    assert_one_error(&run, "HTTP 500");
    assert_eq!(
        w.digest_of("service-a", "service-a-v1.0.0"),
        None,
        "something was written"
    );
}

#[test]
fn fault_a_registry_that_never_answers_is_bounded() {
    let w = World::new(&Auth::Htpasswd, &["service-a"], false);
    let hole = BlackHole::start();
    let host = hole.endpoint.trim_start_matches("http://").to_string();
    w.point_at(&host, &["service-a"], "");
    let config = std::fs::read_to_string(w.repo.work.join("git-release.toml")).expect("config");
    w.write_config(&config.replace("timeout-seconds = 10", "timeout-seconds = 2"));
    w.tag("service-a-v1.0.0");
    let started = std::time::Instant::now();
    let run = w.run(&["check", "service-a-v1.0.0"]).expect_code(4);
    assert!(
        started.elapsed().as_secs() < 8,
        "took {:?}",
        started.elapsed()
    );
    assert!(output(&run).contains("did not answer"), "{}", output(&run));
    let started = std::time::Instant::now();
    let run = w.run(&["promote", "service-a-v1.0.0"]).expect_code(4);
    assert!(
        started.elapsed().as_secs() < 8,
        "took {:?}",
        started.elapsed()
    );
    assert_one_error(&run, "within 2 s");
}

#[test]
fn fault_tls_to_a_plain_http_port_and_to_a_self_signed_certificate() {
    // https to the plain-http registry: says it does not speak TLS and how to allow http.
    let w = World::new(&Auth::Htpasswd, &["service-a"], false);
    let host = w.registry.host.clone();
    w.write_config(&oci_config(&host, &["service-a"], "").replace("insecure = true\n", ""));
    w.tag("service-a-v1.0.0");
    let run = w.run(&["promote", "service-a-v1.0.0"]).expect_code(4);
    assert_one_error(&run, "does not speak TLS");
    assert!(run.stderr.contains("insecure = true"), "{}", run.stderr);

    // A registry with a self-signed certificate: says which certificate problem.
    let keys = oci::key_pair(w.env.path(), "registry-tls", "127.0.0.1");
    let tls = Registry::start_with_tls(
        &w.env.path().join("tls-registry"),
        &Auth::None,
        Some((&keys.cert, &keys.key)),
    );
    let host = tls.host.clone();
    w.write_config(&oci_config(&host, &["service-a"], "").replace("insecure = true\n", ""));
    w.tag("service-a-v1.0.1");
    let run = w.run(&["promote", "service-a-v1.0.1"]).expect_code(4);
    assert_one_error(&run, "certificate is self-signed");
    let run = w.run(&["check", "service-a-v1.0.1"]).expect_code(4);
    assert!(output(&run).contains("self-signed"), "{}", output(&run));
}

/// Returns doctor's finding named `check`.
fn finding(json: &serde_json::Value, check: &str) -> serde_json::Value {
    json["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["check"] == check)
        .unwrap_or_else(|| panic!("no finding {check}: {json}"))
        .clone()
}

#[test]
fn doctor_names_the_credential_source_the_scheme_and_the_rights() {
    let w = token_world(&["service-a"]);
    w.run(&["install"]).ok();
    let host = w.registry.host.clone();
    let sha = w.head();
    w.push_single("service-a", &sha, "doctor");
    let run = w.run(&["doctor", "--json"]).ok();
    let json = run.json();
    let credentials = finding(&json, "credentials");
    assert_eq!(credentials["status"], "ok", "{json}");
    assert!(
        credentials["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("config.json (auths)"),
        "{json}"
    );
    let registry = finding(&json, "registry");
    assert!(
        registry["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("auth: bearer"),
        "{json}"
    );
    let pull = format!("repository {host}/acme/service-a (pull)");
    let push = format!("repository {host}/acme/service-a (push)");
    assert_eq!(finding(&json, &pull)["status"], "ok", "{json}");
    assert_eq!(finding(&json, &push)["status"], "ok", "{json}");

    // A token without push: doctor says so, and nothing was written.
    w.issuer().set_mode(TokenMode::PullOnly);
    let run = w.run(&["doctor", "--json"]).expect_code(1);
    let json = run.json();
    assert_eq!(finding(&json, &pull)["status"], "ok", "{json}");
    let refused = finding(&json, &push);
    assert_eq!(refused["status"], "fail", "{json}");
    assert!(
        refused["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("scope"),
        "{json}"
    );
    let raw = oci::skopeo(&[
        "list-tags",
        "--tls-verify=false",
        "--creds",
        &format!("{USER}:{PASSWORD}"),
        &format!("docker://{host}/acme/service-a"),
    ]);
    let tags: serde_json::Value = serde_json::from_str(&raw).expect("tags json");
    assert_eq!(tags["Tags"], serde_json::json!([sha]), "{raw}");
}

#[test]
fn promote_makes_three_requests_after_authentication_and_sends_no_blob() {
    let w = World::new(&Auth::Htpasswd, &["service-a"], false);
    let proxy = Proxy::start("127.0.0.1:0", &w.registry.host, Fault::None).expect("proxy");
    let proxied = format!("127.0.0.1:{}", proxy.port);
    let sha = w.point_at(&proxied, &["service-a"], "");
    oci::docker_config_with_auths(w.env.path(), &proxied, USER, PASSWORD);
    let digest = w.push_index("service-a", &sha, "counted");
    w.tag("service-a-v1.0.0");
    proxy.clear_operations();
    let run = w.run(&["promote", "service-a-v1.0.0", "--json"]).ok();
    assert_eq!(run.json()["digest"], digest.as_str());
    assert_eq!(
        proxy.request_lines(),
        [
            "GET /v2/".to_string(),
            format!("GET /v2/acme/service-a/manifests/{sha}"),
            "HEAD /v2/acme/service-a/manifests/service-a-v1.0.0".to_string(),
            "PUT /v2/acme/service-a/manifests/service-a-v1.0.0".to_string(),
        ]
    );
    // Again: the release tag already names it, nothing is written.
    proxy.clear_operations();
    w.run(&["promote", "service-a-v1.0.0"]).ok();
    assert!(
        proxy
            .request_lines()
            .iter()
            .all(|r| !r.starts_with("PUT") && !r.contains("/blobs/")),
        "{:?}",
        proxy.request_lines()
    );
}

/// Issue 13: one `git push` with release tags of an ECR service (moto), an S3 service
/// (moto) and an OCI service (docker-registry), checked in one hook run; then the same
/// with the OCI image missing, which refuses the whole push.
#[test]
fn one_push_checks_an_ecr_an_s3_and_an_oci_service() {
    let moto = monorel_e2e::moto::Moto::start();
    let mut env = TestEnv::new();
    env.use_moto(&moto);
    let services = ["service-a", "lambda-a", "oci-a"];
    let w = World::in_env(env, &Auth::Htpasswd, &services, false);
    let config = format!(
        "[registry]\nregion = \"us-east-1\"\n\n[registries.lambda]\nkind = \"s3\"\nbucket = \"acme-zips\"\nregion = \"us-east-1\"\n\n[registries.lab]\nkind = \"oci\"\nhost = \"{}\"\ninsecure = true\nrepository = \"acme/{{service}}\"\nimage-tag = \"{{commit}}\"\n\n[services.service-a]\npath = \"services/service-a\"\n\n[services.lambda-a]\npath = \"services/lambda-a\"\nregistry = \"lambda\"\n\n[services.oci-a]\npath = \"services/oci-a\"\nregistry = \"lab\"\n",
        w.registry.host
    );
    let sha = w.write_config(&config);
    moto.create_repositories(&["service-a-image"], true);
    moto.create_bucket("acme-zips", false);
    w.run(&["install"]).ok();
    let ecr_digest = moto.put_image(
        "service-a-image",
        &sha,
        &monorel_e2e::moto::docker_manifest("three"),
    );
    moto.put_object("acme-zips", &format!("lambda-a-{sha}"), "zip of lambda-a");
    let oci_digest = w.push_index("oci-a", &sha, "three");
    for service in services {
        w.tag(&format!("{service}-v1.0.0"));
    }
    let run = w.git(&["push", "origin", "--tags"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for service in services {
        assert!(
            run.stderr.contains(&format!("✓ {service}-v1.0.0")),
            "{}",
            run.stderr
        );
    }
    assert!(run.stderr.contains(&ecr_digest), "{}", run.stderr);
    assert!(run.stderr.contains(&oci_digest), "{}", run.stderr);
    assert_eq!(monorel_e2e::remote_tags(&w.env, &w.repo.bare).len(), 3);

    // A second commit with its image in ECR and its zip in S3, but no OCI image.
    w.env
        .commit_to(&w.repo, "oci-a", "main.go", "fix: a second commit");
    let second = w.head();
    moto.put_image(
        "service-a-image",
        &second,
        &monorel_e2e::moto::docker_manifest("three-2"),
    );
    moto.put_object("acme-zips", &format!("lambda-a-{second}"), "zip 2");
    for service in services {
        w.tag(&format!("{service}-v1.0.1"));
    }
    let run = w.git(&["push", "origin", "--tags"]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("✓ service-a-v1.0.1"), "{}", run.stderr);
    assert!(run.stderr.contains("✓ lambda-a-v1.0.1"), "{}", run.stderr);
    assert!(
        run.stderr.contains("✗ [image] `oci-a-v1.0.1`"),
        "{}",
        run.stderr
    );
    assert_eq!(
        monorel_e2e::remote_tags(&w.env, &w.repo.bare).len(),
        3,
        "nothing of the refused push arrived"
    );
}
