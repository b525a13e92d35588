//! A real `moto_server` (PyPI `moto[server]`) per test, on a free loopback port.
//!
//! The binary reaches it through the AWS SDK's standard endpoint override
//! (`AWS_ENDPOINT_URL`), so no test-only code path exists in the product. In CI a missing
//! moto is a failure that says what to install, never a silent skip.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running moto server; stopped on drop.
pub struct Moto {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// The port.
    pub port: u16,
}

/// Returns the `moto_server` executable: `MOTO_SERVER`, the project's `.venv`, or PATH.
pub fn moto_server_path() -> PathBuf {
    if let Some(path) = std::env::var_os("MOTO_SERVER") {
        return PathBuf::from(path);
    }
    let venv = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/moto_server");
    if venv.exists() {
        return venv;
    }
    PathBuf::from("moto_server")
}

/// Returns a free loopback port.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

impl Moto {
    /// Starts moto and waits until it answers.
    pub fn start() -> Moto {
        Moto::start_with_env(&[])
    }

    /// Starts moto with extra environment variables, like `INITIAL_NO_AUTH_ACTION_COUNT`
    /// (moto enforces IAM after that many requests).
    pub fn start_with_env(vars: &[(&str, &str)]) -> Moto {
        let port = free_port();
        let path = moto_server_path();
        let child = Command::new(&path)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .envs(vars.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {} ({e}): install moto with `scripts/test.sh` (it creates .venv with `pip install 'moto[server]'`) or set MOTO_SERVER",
                    path.display()
                )
            });
        let endpoint = format!("http://127.0.0.1:{port}");
        let moto = Moto {
            child,
            endpoint,
            port,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not listen on port {port} within 20 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        moto
    }

    /// Environment variables that point the AWS SDK (and boto3) at this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs boto3 calls against this server; each call is `[operation, {arguments}]`, the
/// operation prefixed with its service when it is not ECR (`iam.create_user`).
///
/// One Python process answers a whole list, so seeding a test costs one interpreter start.
/// Each answer is the call's JSON result, or `{"error": "<code>"}`.
const BOTO3_SCRIPT: &str = r#"
import json, sys
import boto3
calls = json.load(sys.stdin)
clients = {}
def client(service):
    if service not in clients:
        clients[service] = boto3.client(service, endpoint_url=sys.argv[1], region_name="us-east-1",
                                        aws_access_key_id="testing", aws_secret_access_key="testing")
    return clients[service]
out = []
for op, args in calls:
    service, _, op = op.rpartition(".")
    c = client(service or "ecr")
    try:
        out.append(getattr(c, op)(**args))
    except c.exceptions.ClientError as e:
        out.append({"error": e.response["Error"]["Code"]})
json.dump(out, sys.stdout, default=str)
"#;

/// Returns the Python next to `moto_server` (its venv), else `python3` on PATH.
fn python() -> PathBuf {
    let server = moto_server_path();
    if let Some(dir) = server.parent().filter(|d| !d.as_os_str().is_empty()) {
        let candidate = dir.join("python3");
        if candidate.exists() {
            return candidate;
        }
    }
    PathBuf::from("python3")
}

impl Moto {
    /// Runs ECR API calls on this server through boto3 and returns their answers.
    pub fn ecr(&self, calls: &[(&str, serde_json::Value)]) -> Vec<serde_json::Value> {
        use std::io::Write;
        let calls: Vec<serde_json::Value> = calls
            .iter()
            .map(|(op, args)| serde_json::json!([op, args]))
            .collect();
        let mut child = Command::new(python())
            .args(["-c", BOTO3_SCRIPT, &self.endpoint])
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start python3 with boto3");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(serde_json::to_string(&calls).expect("json").as_bytes())
            .expect("write calls");
        let out = child.wait_with_output().expect("boto3 calls");
        assert!(
            out.status.success(),
            "boto3 calls failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("boto3 answers are JSON")
    }

    /// Runs S3 API calls on this server through boto3 (operation names without the
    /// `s3.` prefix) and returns their answers.
    pub fn s3(&self, calls: &[(&str, serde_json::Value)]) -> Vec<serde_json::Value> {
        let calls: Vec<(String, serde_json::Value)> = calls
            .iter()
            .map(|(op, args)| (format!("s3.{op}"), args.clone()))
            .collect();
        let borrowed: Vec<(&str, serde_json::Value)> = calls
            .iter()
            .map(|(op, args)| (op.as_str(), args.clone()))
            .collect();
        self.ecr(&borrowed)
    }

    /// Creates `bucket`, versioned when `versioned`.
    pub fn create_bucket(&self, bucket: &str, versioned: bool) {
        let mut calls = vec![("create_bucket", serde_json::json!({"Bucket": bucket}))];
        if versioned {
            calls.push((
                "put_bucket_versioning",
                serde_json::json!({"Bucket": bucket, "VersioningConfiguration": {"Status": "Enabled"}}),
            ));
        }
        for answer in self.s3(&calls) {
            assert!(answer.get("error").is_none(), "seeding failed: {answer}");
        }
    }

    /// Uploads `body` as `bucket/key` with a SHA-256 checksum (as CI's
    /// `aws s3 cp --checksum-algorithm SHA256` does); returns the HeadObject answer.
    pub fn put_object(&self, bucket: &str, key: &str, body: &str) -> serde_json::Value {
        let answers = self.s3(&[
            (
                "put_object",
                serde_json::json!({"Bucket": bucket, "Key": key, "Body": body, "ChecksumAlgorithm": "SHA256"}),
            ),
            (
                "head_object",
                serde_json::json!({"Bucket": bucket, "Key": key, "ChecksumMode": "ENABLED"}),
            ),
        ]);
        assert!(
            answers[0].get("error").is_none(),
            "upload failed: {}",
            answers[0]
        );
        answers[1].clone()
    }

    /// Returns the HeadObject answer for `bucket/key` (checksum mode on), or `None` when
    /// there is no such object.
    pub fn head_object(&self, bucket: &str, key: &str) -> Option<serde_json::Value> {
        let answer = self.s3(&[(
            "head_object",
            serde_json::json!({"Bucket": bucket, "Key": key, "ChecksumMode": "ENABLED"}),
        )]);
        let answer = answer.into_iter().next()?;
        answer.get("error").is_none().then_some(answer)
    }

    /// Returns every key in `bucket`, sorted.
    pub fn keys(&self, bucket: &str) -> Vec<String> {
        let answer = self.s3(&[("list_objects_v2", serde_json::json!({"Bucket": bucket}))]);
        let mut keys: Vec<String> = answer[0]["Contents"]
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(|o| o["Key"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        keys.sort();
        keys
    }

    /// Returns the version ids of `key` in `bucket`, newest first.
    pub fn versions(&self, bucket: &str, key: &str) -> Vec<String> {
        let answer = self.s3(&[(
            "list_object_versions",
            serde_json::json!({"Bucket": bucket, "Prefix": key}),
        )]);
        answer[0]["Versions"]
            .as_array()
            .map(|list| {
                list.iter()
                    .filter(|v| v["Key"] == key)
                    .filter_map(|v| v["VersionId"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Returns the object tags of `bucket/key` as `key=value`, sorted.
    pub fn object_tags(&self, bucket: &str, key: &str) -> Vec<String> {
        let answer = self.s3(&[(
            "get_object_tagging",
            serde_json::json!({"Bucket": bucket, "Key": key}),
        )]);
        let mut tags: Vec<String> = answer[0]["TagSet"]
            .as_array()
            .map(|list| {
                list.iter()
                    .map(|t| {
                        format!(
                            "{}={}",
                            t["Key"].as_str().unwrap_or_default(),
                            t["Value"].as_str().unwrap_or_default()
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        tags.sort();
        tags
    }

    /// Creates repositories; `immutable` sets their tag mutability.
    pub fn create_repositories(&self, names: &[&str], immutable: bool) {
        let mutability = if immutable { "IMMUTABLE" } else { "MUTABLE" };
        let calls: Vec<(&str, serde_json::Value)> = names
            .iter()
            .map(|name| {
                (
                    "create_repository",
                    serde_json::json!({"repositoryName": name, "imageTagMutability": mutability}),
                )
            })
            .collect();
        for answer in self.ecr(&calls) {
            assert!(answer.get("error").is_none(), "create_repository: {answer}");
        }
    }

    /// Puts `manifest` (with its `mediaType`) under `repository:tag`; returns moto's digest.
    pub fn put_image(&self, repository: &str, tag: &str, manifest: &serde_json::Value) -> String {
        let media_type = manifest["mediaType"]
            .as_str()
            .expect("manifest has a mediaType");
        let answer = self.ecr(&[(
            "put_image",
            serde_json::json!({
                "repositoryName": repository,
                "imageTag": tag,
                "imageManifest": manifest.to_string(),
                "imageManifestMediaType": media_type,
            }),
        )]);
        answer[0]["image"]["imageId"]["imageDigest"]
            .as_str()
            .unwrap_or_else(|| panic!("put_image {repository}:{tag}: {}", answer[0]))
            .to_string()
    }

    /// Returns `(digest, media type, manifest)` of `repository:tag`, or `None` if absent.
    pub fn image(&self, repository: &str, tag: &str) -> Option<(String, String, String)> {
        let answer = self.ecr(&[(
            "batch_get_image",
            serde_json::json!({
                "repositoryName": repository,
                "imageIds": [{"imageTag": tag}],
                "acceptedMediaTypes": MEDIA_TYPES,
            }),
        )]);
        let image = answer[0]["images"].get(0)?;
        Some((
            image["imageId"]["imageDigest"].as_str()?.to_string(),
            image["imageManifestMediaType"].as_str()?.to_string(),
            image["imageManifest"].as_str()?.to_string(),
        ))
    }

    /// Returns every tag in `repository`, sorted.
    pub fn tags(&self, repository: &str) -> Vec<String> {
        let answer = self.ecr(&[(
            "list_images",
            serde_json::json!({"repositoryName": repository}),
        )]);
        let mut tags: Vec<String> = answer[0]["imageIds"]
            .as_array()
            .unwrap_or_else(|| panic!("list_images {repository}: {}", answer[0]))
            .iter()
            .filter_map(|id| id["imageTag"].as_str().map(str::to_string))
            .collect();
        tags.sort();
        tags
    }
}

/// The four manifest media types ECR stores.
pub const MEDIA_TYPES: [&str; 4] = [
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
];

fn fake_digest(seed: &str, salt: &str) -> String {
    // Not a real content hash (moto does not verify); distinct seeds give distinct images.
    use std::hash::{Hash, Hasher};
    let mut out = String::from("sha256:");
    for round in 0..4u8 {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (seed, salt, round).hash(&mut h);
        out.push_str(&format!("{:016x}", h.finish()));
    }
    out
}

/// A single-platform Docker v2 image manifest; `seed` makes its layers (and digest) distinct.
pub fn docker_manifest(seed: &str) -> serde_json::Value {
    serde_json::json!({
        "schemaVersion": 2,
        "mediaType": MEDIA_TYPES[0],
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": 1470,
            "digest": fake_digest(seed, "config"),
        },
        "layers": [{
            "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
            "size": 2811,
            "digest": fake_digest(seed, "layer"),
        }],
    })
}

/// A multi-arch OCI image index with amd64 and arm64 children.
pub fn oci_index(seed: &str) -> serde_json::Value {
    serde_json::json!({
        "schemaVersion": 2,
        "mediaType": MEDIA_TYPES[3],
        "manifests": [
            {
                "mediaType": MEDIA_TYPES[2],
                "size": 1035,
                "digest": fake_digest(seed, "amd64"),
                "platform": {"architecture": "amd64", "os": "linux"},
            },
            {
                "mediaType": MEDIA_TYPES[2],
                "size": 1035,
                "digest": fake_digest(seed, "arm64"),
                "platform": {"architecture": "arm64", "os": "linux"},
            },
        ],
    })
}

/// Returns boto3 answers after asserting none of them is an error (set-up calls that
/// must succeed for the test to mean anything).
pub fn all_ok(answers: Vec<serde_json::Value>) -> Vec<serde_json::Value> {
    for a in &answers {
        assert!(a.get("error").is_none(), "boto3 call failed: {a}");
    }
    answers
}

impl Moto {
    /// Creates the IAM role `fn` a Lambda function needs (moto checks that it exists) and
    /// returns its ARN.
    pub fn lambda_role(&self) -> String {
        all_ok(self.ecr(&[(
            "iam.create_role",
            serde_json::json!({"RoleName": "fn", "AssumeRolePolicyDocument": "{}"}),
        )]))[0]["Role"]["Arn"]
            .as_str()
            .expect("role arn")
            .to_string()
    }
}
