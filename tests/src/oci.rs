//! A real OCI registry per test: Debian's `docker-registry` (CNCF distribution 2.8) on a
//! free loopback port with filesystem storage, and real images pushed into it by an
//! independent client, Debian's `skopeo`, from OCI layouts built here.
//!
//! Authentication is the registry's own: an htpasswd file (bcrypt) for Basic, or its
//! token auth (`auth.token`) trusting a certificate generated with the `openssl` CLI,
//! whose key signs the JWTs of [`TokenIssuer`], a small token service on loopback.
//! A missing tool is a failure that says what to install, never a silent skip.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::moto::free_port;

/// The test user of every registry.
pub const USER: &str = "release-bot";
/// Its password: also what the no-secret-in-output test greps for.
pub const PASSWORD: &str = "s3cret-Pa55word-4-tests";
/// The bcrypt line for [`USER`]/[`PASSWORD`] (distribution accepts bcrypt only; made with
/// libxcrypt's `crypt(3)`, committed so the suite needs no apache2-utils).
pub const HTPASSWD: &str =
    "release-bot:$2y$05$abcdefghijklmnopqrstuuo7VH9jkRkHqt5DXkUqrPKHV1RnTxX3G\n";

/// Returns `name`'s path, or panics saying how to install it.
fn tool(name: &str, package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in
        std::env::split_paths(&path).chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/sbin")])
    {
        let candidate = dir.join(name);
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!("`{name}` is not installed: run scripts/test.sh (it installs the Debian package `{package}`)");
}

/// How the registry authenticates.
#[derive(Debug, Clone)]
pub enum Auth {
    /// Anyone may pull and push.
    None,
    /// htpasswd ([`USER`], [`PASSWORD`]).
    Htpasswd,
    /// Token auth through `realm`, trusting `cert` (PEM).
    Token {
        /// The token service's URL.
        realm: String,
        /// The certificate bundle.
        cert: PathBuf,
    },
}

/// A running `docker-registry`; stopped on drop.
pub struct Registry {
    child: Child,
    /// The port on 127.0.0.1.
    pub port: u16,
    /// `127.0.0.1:PORT`.
    pub host: String,
    dir: PathBuf,
}

impl Registry {
    /// Starts a registry storing under `dir` with `auth`, and waits until it answers.
    pub fn start(dir: &Path, auth: &Auth) -> Registry {
        Registry::start_with_tls(dir, auth, None)
    }

    /// Like [`Registry::start`], serving https with `(cert, key)` when given.
    pub fn start_with_tls(dir: &Path, auth: &Auth, tls: Option<(&Path, &Path)>) -> Registry {
        let binary = tool("docker-registry", "docker-registry");
        std::fs::create_dir_all(dir.join("storage")).expect("storage dir");
        let port = free_port();
        let auth_yaml = match auth {
            Auth::None => String::new(),
            Auth::Htpasswd => {
                let file = dir.join("htpasswd");
                std::fs::write(&file, HTPASSWD).expect("htpasswd");
                format!(
                    "auth:\n  htpasswd:\n    realm: git-release-test\n    path: {}\n",
                    file.display()
                )
            }
            Auth::Token { realm, cert } => format!(
                "auth:\n  token:\n    realm: {realm}\n    service: git-release-test\n    issuer: git-release-test-issuer\n    rootcertbundle: {}\n",
                cert.display()
            ),
        };
        let tls_yaml = match tls {
            Some((cert, key)) => format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                cert.display(),
                key.display()
            ),
            None => String::new(),
        };
        let config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n  secret: git-release-test-secret\n{tls_yaml}{auth_yaml}",
            dir.join("storage").display()
        );
        let config_path = dir.join("config.yml");
        std::fs::write(&config_path, config).expect("registry config");
        let log = std::fs::File::create(dir.join("registry.log")).expect("log");
        let child = Command::new(&binary)
            .arg("serve")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {} ({e})", binary.display()));
        let registry = Registry {
            child,
            port,
            host: format!("127.0.0.1:{port}"),
            dir: dir.to_path_buf(),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "docker-registry did not listen on {port} within 20 s; its log:\n{}",
                std::fs::read_to_string(dir.join("registry.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
        registry
    }

    /// The registry's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("registry.log")).unwrap_or_default()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs skopeo with `args`, panicking with its stderr when it fails; returns stdout.
pub fn skopeo(args: &[&str]) -> String {
    let binary = tool("skopeo", "skopeo");
    let out = Command::new(&binary)
        .args(["--insecure-policy", "--registries-conf", "/dev/null"])
        .args(args)
        .env("HOME", std::env::temp_dir())
        .output()
        .expect("run skopeo");
    assert!(
        out.status.success(),
        "skopeo {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Pushes the layout `layout` (tag `latest`, all platforms) to `host/repository:tag`.
pub fn push(layout: &Path, host: &str, repository: &str, tag: &str) {
    let source = format!("oci:{}:latest", layout.display());
    let dest = format!("docker://{host}/{repository}:{tag}");
    let creds = format!("{USER}:{PASSWORD}");
    skopeo(&[
        "copy",
        "--all",
        "--quiet",
        "--preserve-digests",
        "--dest-tls-verify=false",
        "--dest-creds",
        &creds,
        &source,
        &dest,
    ]);
}

/// Returns the manifest digest of `host/repository:tag`, as skopeo sees it (raw manifest
/// hashed, so an index is not resolved to one platform).
pub fn inspect_digest(host: &str, repository: &str, tag: &str) -> Option<String> {
    let binary = tool("skopeo", "skopeo");
    let creds = format!("{USER}:{PASSWORD}");
    let out = Command::new(&binary)
        .args(["--insecure-policy", "--registries-conf", "/dev/null"])
        .args(["inspect", "--raw", "--tls-verify=false", "--creds", &creds])
        .arg(format!("docker://{host}/{repository}:{tag}"))
        .env("HOME", std::env::temp_dir())
        .output()
        .expect("run skopeo");
    out.status.success().then(|| sha256_digest(&out.stdout))
}

/// Returns the raw manifest of `host/repository:tag`.
pub fn inspect_raw(host: &str, repository: &str, tag: &str) -> String {
    let creds = format!("{USER}:{PASSWORD}");
    skopeo(&[
        "inspect",
        "--raw",
        "--tls-verify=false",
        "--creds",
        &creds,
        &format!("docker://{host}/{repository}:{tag}"),
    ])
}

/// `sha256:<hex>` of `bytes`, through `sha256sum`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("sha256sum");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(bytes)
        .expect("write");
    let out = child.wait_with_output().expect("sha256sum");
    let text = String::from_utf8_lossy(&out.stdout);
    format!(
        "sha256:{}",
        text.split_whitespace().next().unwrap_or_default()
    )
}

fn write_blob(layout: &Path, bytes: &[u8]) -> (String, usize) {
    let digest = sha256_digest(bytes);
    let hex = digest.trim_start_matches("sha256:");
    let dir = layout.join("blobs/sha256");
    std::fs::create_dir_all(&dir).expect("blobs dir");
    std::fs::write(dir.join(hex), bytes).expect("blob");
    (digest, bytes.len())
}

/// A gzipped tar holding one file with `content`.
fn layer(scratch: &Path, content: &str) -> Vec<u8> {
    let root = scratch.join("layer-root");
    std::fs::create_dir_all(&root).expect("layer root");
    std::fs::write(root.join("hello.txt"), content).expect("file");
    let tarball = scratch.join("layer.tar.gz");
    let status = Command::new("tar")
        .args([
            "--sort=name",
            "--mtime=@0",
            "--owner=0",
            "--group=0",
            "-czf",
        ])
        .arg(&tarball)
        .arg("-C")
        .arg(&root)
        .arg(".")
        .status()
        .expect("tar");
    assert!(status.success(), "tar failed");
    std::fs::read(tarball).expect("layer")
}

/// Writes an image manifest for `arch` into `layout`; returns (digest, size).
fn image_manifest(layout: &Path, seed: &str, arch: &str) -> (String, usize) {
    let layer = layer(
        layout.parent().expect("parent"),
        &format!("{seed} on {arch}\n"),
    );
    let (layer_digest, layer_size) = write_blob(layout, &layer);
    let config = format!(
        r#"{{"architecture":"{arch}","os":"linux","config":{{"Labels":{{"seed":"{seed}"}}}},"rootfs":{{"type":"layers","diff_ids":["{}"]}}}}"#,
        sha256_digest(&gunzip(&layer))
    );
    let (config_digest, config_size) = write_blob(layout, config.as_bytes());
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config_digest}","size":{config_size}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{layer_digest}","size":{layer_size}}}]}}"#
    );
    write_blob(layout, manifest.as_bytes())
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut child = Command::new("gzip")
        .arg("-dc")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("gzip");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = bytes.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().expect("gzip");
    let _ = writer.join();
    out.stdout
}

fn finish_layout(layout: &Path, media_type: &str, digest: &str, size: usize) {
    std::fs::write(
        layout.join("oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .expect("oci-layout");
    std::fs::write(
        layout.join("index.json"),
        format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"{media_type}","digest":"{digest}","size":{size},"annotations":{{"org.opencontainers.image.ref.name":"latest"}}}}]}}"#
        ),
    )
    .expect("index.json");
}

/// Builds a single-platform image (linux/amd64) as an OCI layout under `dir/<seed>`;
/// returns the layout and the manifest's digest.
pub fn single_image(dir: &Path, seed: &str) -> (PathBuf, String) {
    let layout = dir.join(format!("layout-{seed}"));
    std::fs::create_dir_all(&layout).expect("layout");
    let (digest, size) = image_manifest(&layout, seed, "amd64");
    finish_layout(
        &layout,
        "application/vnd.oci.image.manifest.v1+json",
        &digest,
        size,
    );
    (layout, digest)
}

/// Builds a two-platform image (linux/amd64 and linux/arm64) behind an OCI index; returns
/// the layout and the index's digest.
pub fn two_platform_image(dir: &Path, seed: &str) -> (PathBuf, String) {
    let layout = dir.join(format!("layout-{seed}"));
    std::fs::create_dir_all(&layout).expect("layout");
    let entries: Vec<String> = ["amd64", "arm64"]
        .iter()
        .map(|arch| {
            let (digest, size) = image_manifest(&layout, seed, arch);
            format!(
                r#"{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{digest}","size":{size},"platform":{{"architecture":"{arch}","os":"linux"}}}}"#
            )
        })
        .collect();
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{}]}}"#,
        entries.join(",")
    );
    let (digest, size) = write_blob(&layout, index.as_bytes());
    finish_layout(
        &layout,
        "application/vnd.oci.image.index.v1+json",
        &digest,
        size,
    );
    (layout, digest)
}

/// Writes a docker `config.json` into `dir` with an `auths` entry for `host` and returns
/// the directory (for `DOCKER_CONFIG`).
pub fn docker_config_with_auths(dir: &Path, host: &str, user: &str, password: &str) -> PathBuf {
    let config_dir = dir.join("docker-config");
    std::fs::create_dir_all(&config_dir).expect("docker config dir");
    let auth = base64(format!("{user}:{password}").as_bytes(), false);
    std::fs::write(
        config_dir.join("config.json"),
        format!(r#"{{"auths":{{"{host}":{{"auth":"{auth}"}}}}}}"#),
    )
    .expect("config.json");
    config_dir
}

/// Base64 (standard, padded) or base64url (unpadded, for JWTs).
pub fn base64(bytes: &[u8], url: bool) -> String {
    let alphabet: &[u8] = if url {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    } else {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    };
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(alphabet[((n >> (18 - 6 * i)) & 63) as usize]));
            } else if !url {
                out.push('=');
            }
        }
    }
    out
}

/// A key pair and self-signed certificate made with the `openssl` CLI.
pub struct KeyPair {
    /// The private key (PEM, RSA 2048).
    pub key: PathBuf,
    /// The certificate (PEM).
    pub cert: PathBuf,
}

/// Generates an RSA key and a self-signed certificate for `cn` (with `127.0.0.1` and
/// `localhost` as alternative names) under `dir`.
pub fn key_pair(dir: &Path, name: &str, cn: &str) -> KeyPair {
    let openssl = tool("openssl", "openssl");
    let key = dir.join(format!("{name}.key"));
    let cert = dir.join(format!("{name}.pem"));
    let out = Command::new(openssl)
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
        ])
        .arg(format!("/CN={cn}"))
        .args([
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "openssl req failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    KeyPair { key, cert }
}

/// What the token service does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenMode {
    /// Issue valid tokens for what is asked.
    Normal,
    /// Issue tokens that expired an hour ago.
    Expired,
    /// Grant only `pull`, whatever is asked.
    PullOnly,
}

struct IssuerState {
    mode: Mutex<TokenMode>,
    /// (scope, authenticated) per token request.
    requests: Mutex<Vec<(String, bool)>>,
    issued: Mutex<Vec<String>>,
    stop: AtomicBool,
}

/// A token service for distribution's token auth: checks Basic credentials
/// ([`USER`]/[`PASSWORD`]; anonymous requests get pull-only tokens) and signs RS256 JWTs
/// with the key whose certificate the registry trusts (`x5c` header), via `openssl dgst`.
pub struct TokenIssuer {
    state: Arc<IssuerState>,
    /// `http://127.0.0.1:PORT/token`.
    pub realm: String,
    port: u16,
    /// The signing key pair.
    pub keys: KeyPair,
}

impl TokenIssuer {
    /// Starts the service with keys generated under `dir`.
    pub fn start(dir: &Path) -> TokenIssuer {
        let keys = key_pair(dir, "token-signer", "git-release-test-issuer");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let state = Arc::new(IssuerState {
            mode: Mutex::new(TokenMode::Normal),
            requests: Mutex::new(Vec::new()),
            issued: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
        });
        let (thread_state, key, cert) = (state.clone(), keys.key.clone(), keys.cert.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if thread_state.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (state, key, cert) = (thread_state.clone(), key.clone(), cert.clone());
                std::thread::spawn(move || {
                    let _ = serve_token(stream, &state, &key, &cert);
                });
            }
        });
        TokenIssuer {
            state,
            realm: format!("http://127.0.0.1:{port}/token"),
            port,
            keys,
        }
    }

    /// Changes what the service does from the next request on.
    pub fn set_mode(&self, mode: TokenMode) {
        *self.state.mode.lock().expect("mode") = mode;
    }

    /// The token requests so far: (scope, whether they carried valid credentials).
    pub fn requests(&self) -> Vec<(String, bool)> {
        self.state.requests.lock().expect("requests").clone()
    }

    /// Every token issued so far (for the no-secret-in-output test).
    pub fn issued(&self) -> Vec<String> {
        self.state.issued.lock().expect("issued").clone()
    }

    /// The registry's auth configuration for this service.
    pub fn auth(&self) -> Auth {
        Auth::Token {
            realm: self.realm.clone(),
            cert: self.keys.cert.clone(),
        }
    }
}

impl Drop for TokenIssuer {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn query_param(query: &str, name: &str) -> Vec<String> {
    query
        .split('&')
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            (k == name).then(|| percent_decode(v))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("00");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn serve_token(
    stream: TcpStream,
    state: &IssuerState,
    key: &Path,
    cert: &Path,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut stream = stream;
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut authorization = None;
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            break;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("authorization") {
                authorization = Some(value.trim().to_string());
            }
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let target = request_line.split_whitespace().nth(1).unwrap_or("");
    let query = target.split_once('?').map(|(_, q)| q).unwrap_or("");
    let scopes = query_param(query, "scope");
    let expected = format!(
        "Basic {}",
        base64(format!("{USER}:{PASSWORD}").as_bytes(), false)
    );
    let authenticated = authorization.as_deref() == Some(expected.as_str());
    state
        .requests
        .lock()
        .expect("requests")
        .push((scopes.join(" "), authenticated));
    let respond = |stream: &mut TcpStream, status: &str, body: &str| {
        write!(
            stream,
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    if authorization.is_some() && !authenticated {
        return respond(
            &mut stream,
            "401 Unauthorized",
            r#"{"details":"bad credentials"}"#,
        );
    }
    let mode = *state.mode.lock().expect("mode");
    let access: Vec<String> = scopes
        .iter()
        .filter_map(|scope| {
            let mut parts = scope.splitn(3, ':');
            let (kind, name, actions) = (parts.next()?, parts.next()?, parts.next()?);
            let actions: Vec<&str> = actions
                .split(',')
                .filter(|a| authenticated && mode != TokenMode::PullOnly || *a == "pull")
                .collect();
            Some(format!(
                r#"{{"type":"{kind}","name":"{name}","actions":[{}]}}"#,
                actions
                    .iter()
                    .map(|a| format!("\"{a}\""))
                    .collect::<Vec<_>>()
                    .join(",")
            ))
        })
        .collect();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (nbf, exp) = if mode == TokenMode::Expired {
        (now - 7200, now - 3600)
    } else {
        (now - 60, now + 300)
    };
    let jti = state.issued.lock().expect("issued").len();
    let claims = format!(
        r#"{{"iss":"git-release-test-issuer","sub":"{}","aud":"git-release-test","exp":{exp},"nbf":{nbf},"iat":{nbf},"jti":"{jti}-{now}","access":[{}]}}"#,
        if authenticated { USER } else { "" },
        access.join(",")
    );
    let der = pem_to_der(&std::fs::read_to_string(cert)?);
    let header = format!(
        r#"{{"typ":"JWT","alg":"RS256","x5c":["{}"]}}"#,
        base64(&der, false)
    );
    let signing_input = format!(
        "{}.{}",
        base64(header.as_bytes(), true),
        base64(claims.as_bytes(), true)
    );
    let signature = sign(key, signing_input.as_bytes())?;
    let token = format!("{signing_input}.{}", base64(&signature, true));
    state.issued.lock().expect("issued").push(token.clone());
    respond(
        &mut stream,
        "200 OK",
        &format!(r#"{{"token":"{token}","access_token":"{token}","expires_in":300}}"#),
    )
}

fn pem_to_der(pem: &str) -> Vec<u8> {
    let body: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .concat();
    let decode = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let values: Vec<u32> = body.bytes().filter_map(decode).collect();
    let mut out = Vec::new();
    for chunk in values.chunks(4) {
        let mut n = 0u32;
        for (i, v) in chunk.iter().enumerate() {
            n |= v << (18 - 6 * i);
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..chunk.len().saturating_sub(1)]);
    }
    out
}

/// RS256: `openssl dgst -sha256 -sign key` (PKCS#1 v1.5 over SHA-256).
fn sign(key: &Path, input: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut child = Command::new("openssl")
        .args(["dgst", "-sha256", "-sign"])
        .arg(key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    child.stdin.take().expect("stdin").write_all(input)?;
    Ok(child.wait_with_output()?.stdout)
}

/// A `docker-credential-<name>` helper script under `dir/bin` that answers `get` for
/// `server` with [`USER`]/[`PASSWORD`] and logs each call's server to `dir/helper.log`.
pub fn credential_helper(dir: &Path, name: &str, server: &str) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).expect("bin");
    let script = bin.join(format!("docker-credential-{name}"));
    let log = dir.join("helper.log");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n# The docker-credential protocol: `get`, the server URL on stdin, JSON out.\n[ \"$1\" = get ] || exit 1\nread -r server\necho \"$server\" >> '{}'\nif [ \"$server\" = '{server}' ]; then\n  printf '{{\"ServerURL\":\"%s\",\"Username\":\"{USER}\",\"Secret\":\"{PASSWORD}\"}}\\n' \"$server\"\nelse\n  echo 'credentials not found in native keychain'\n  exit 1\nfi\n",
            log.display()
        ),
    )
    .expect("helper");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    bin
}
