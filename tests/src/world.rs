//! The moto "world" the store tests share: a real `moto_server`, a hermetic environment
//! pointing the AWS SDK at it, and a monorepo with a bare remote; with the runs, tags,
//! proxies and IAM users those tests set up around it.
//!
//! The ECR tests (`registry.rs`) and the S3 tests (`s3.rs`) each had their own copy;
//! one copy keeps their fault and IAM set-ups the same.

use serde_json::{json, Value};

use crate::moto::Moto;
use crate::proxy::{Fault, Proxy};
use crate::{binary, Monorepo, Run, TestEnv};

impl TestEnv {
    /// Points every later command's AWS SDK (and boto3) at `moto`, with test keys.
    pub fn use_moto(&mut self, moto: &Moto) {
        for (k, v) in moto.env() {
            self.set_env(k, &v);
        }
    }
}

/// moto, an environment pointing at it, and a monorepo.
pub struct MotoWorld {
    /// The environment; its AWS variables point at [`MotoWorld::moto`].
    pub env: TestEnv,
    /// The server.
    pub moto: Moto,
    /// The monorepo (work tree and bare remote).
    pub repo: Monorepo,
}

impl MotoWorld {
    /// An environment pointing at `moto` and a monorepo `mono` with `config` and
    /// `services`.
    pub fn new(moto: Moto, config: &str, services: &[&str]) -> MotoWorld {
        let mut env = TestEnv::new();
        env.use_moto(&moto);
        let repo = env.monorepo("mono", config, services);
        MotoWorld { env, moto, repo }
    }

    /// Returns the work tree's HEAD commit.
    pub fn head(&self) -> String {
        self.env.git(&self.repo.work, &["rev-parse", "HEAD"])
    }

    /// Runs `git-release args…` in the work tree.
    pub fn run(&self, args: &[&str]) -> Run {
        self.env.run(&self.repo.work, args)
    }

    /// Runs `git-release args…` with the AWS endpoint at `endpoint` (a proxy, a black
    /// hole) for this run only.
    pub fn run_via(&self, endpoint: &str, args: &[&str]) -> Run {
        Run::from(
            self.env
                .command(binary(), &self.repo.work)
                .env("AWS_ENDPOINT_URL", endpoint)
                .args(args)
                .output()
                .expect("run git-release"),
        )
    }

    /// Runs `git push args…` in the work tree with the AWS endpoint at `endpoint` (the
    /// pre-push hook's checks go there).
    pub fn push_via(&self, endpoint: &str, args: &[&str]) -> Run {
        Run::from(
            self.env
                .command("git", &self.repo.work)
                .env("AWS_ENDPOINT_URL", endpoint)
                .arg("push")
                .args(args)
                .output()
                .expect("run git push"),
        )
    }

    /// Returns the work tree's tags.
    pub fn local_tags(&self) -> Vec<String> {
        let out = self.env.git(&self.repo.work, &["tag", "-l"]);
        out.lines().map(str::to_string).collect()
    }

    /// Creates the release tag `tag` on HEAD by hand (what CI finds after a tag push).
    pub fn tag(&self, tag: &str) {
        self.env
            .git(&self.repo.work, &["tag", "-a", tag, "-m", "release"]);
    }

    /// Starts a loopback proxy in front of moto answering with `fault`.
    pub fn proxy(&self, fault: Fault) -> Proxy {
        Proxy::start(
            "127.0.0.1:0",
            &format!("127.0.0.1:{}", self.moto.port),
            fault,
        )
        .expect("proxy")
    }

    /// Creates the IAM user `user`, allowed only `actions` (no policy at all when empty),
    /// runs the `seed` calls in the same batch, and switches the environment to the user's
    /// keys; returns the seed calls' answers.
    ///
    /// moto enforces IAM after `INITIAL_NO_AUTH_ACTION_COUNT` requests: start it with the
    /// number of calls made here (2, plus 1 for a policy, plus the seed calls), so the
    /// seeding is the last unchecked work.
    pub fn as_iam_user(
        &mut self,
        user: &str,
        actions: &[&str],
        seed: Vec<(&str, Value)>,
    ) -> Vec<Value> {
        let mut calls = vec![
            ("iam.create_user", json!({"UserName": user})),
            ("iam.create_access_key", json!({"UserName": user})),
        ];
        if !actions.is_empty() {
            let policy = json!({
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}],
            });
            calls.push((
                "iam.put_user_policy",
                json!({"UserName": user, "PolicyName": "read", "PolicyDocument": policy.to_string()}),
            ));
        }
        let unseeded = calls.len();
        calls.extend(seed);
        let mut answers = self.moto.ecr(&calls);
        for answer in &answers {
            assert!(answer.get("error").is_none(), "seeding failed: {answer}");
        }
        let key = &answers[1]["AccessKey"];
        self.env.set_env(
            "AWS_ACCESS_KEY_ID",
            key["AccessKeyId"].as_str().expect("key id"),
        );
        self.env.set_env(
            "AWS_SECRET_ACCESS_KEY",
            key["SecretAccessKey"].as_str().expect("secret"),
        );
        answers.split_off(unseeded)
    }
}

/// Asserts that stderr has exactly one `error:` line and that it contains `needle`.
#[track_caller]
pub fn assert_one_error(run: &Run, needle: &str) {
    let errors = run.error_lines();
    assert_eq!(errors.len(), 1, "expected one error line:\n{}", run.stderr);
    assert!(
        errors[0].contains(needle),
        "error line lacks {needle:?}:\n{}",
        run.stderr
    );
}
