//! The user's registry credentials, from wherever `docker login` or `podman login` left
//! them: never asked for, never printed.
//!
//! Files, first found wins: `REGISTRY_AUTH_FILE`, podman's
//! `${XDG_RUNTIME_DIR}/containers/auth.json`, then `$DOCKER_CONFIG/config.json` or
//! `~/.docker/config.json`. In a file, as docker reads it: a `credHelpers` entry for the
//! host, else an `auths` entry (`auth` = base64 `user:password`, or an `identitytoken`),
//! else the `credsStore` helper. Helpers are run as `docker-credential-<name> get` with an
//! argument vector, the server on stdin and a bounded wait. No credential means anonymous
//! access, which public images allow.
//!
//! A [`Credential`]'s `Debug` shows no secret, and [`Found::source`] names the file or the
//! helper, never a value: that is all `doctor` and errors may say.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;

use super::reference::Endpoint;
use super::{FailureKind, RegistryFailure};

/// How long a credential helper may take (a keychain may ask to unlock).
const HELPER_TIMEOUT: Duration = Duration::from_secs(20);

/// A credential, as sent to the registry or its token service.
#[derive(Clone, PartialEq, Eq)]
pub(super) enum Credential {
    /// A user name and password (or personal access token).
    Basic {
        /// The user.
        user: String,
        /// The password.
        password: String,
    },
    /// An identity (refresh) token from `docker login` against an OAuth2 token service.
    IdentityToken(String),
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::Basic { .. } => f.write_str("Credential::Basic(<hidden>)"),
            Credential::IdentityToken(_) => f.write_str("Credential::IdentityToken(<hidden>)"),
        }
    }
}

impl Credential {
    /// Returns the `Authorization: Basic …` value for a user and password.
    pub fn basic_header(&self) -> Option<String> {
        match self {
            Credential::Basic { user, password } => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
            )),
            Credential::IdentityToken(_) => None,
        }
    }
}

/// What the lookup found.
#[derive(Debug, Clone)]
pub(super) struct Found {
    /// The credential, or `None` for anonymous access.
    pub credential: Option<Credential>,
    /// Where it came from, for people: a file and key, or a helper's name.
    pub source: String,
}

/// The environment the lookup reads (tests pass their own).
pub(super) trait Env {
    /// Returns the variable's value, if set and not empty.
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub(super) struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

/// Returns the auth files to read, in order.
fn auth_files(env: &dyn Env) -> Vec<PathBuf> {
    let mut files = Vec::new();
    if let Some(file) = env.var("REGISTRY_AUTH_FILE") {
        files.push(PathBuf::from(file));
    }
    if let Some(dir) = env.var("XDG_RUNTIME_DIR") {
        files.push(Path::new(&dir).join("containers/auth.json"));
    }
    if let Some(dir) = env.var("DOCKER_CONFIG") {
        files.push(Path::new(&dir).join("config.json"));
    } else if let Some(home) = env.var("HOME") {
        files.push(Path::new(&home).join(".docker/config.json"));
    }
    files
}

/// Finds the credential for `endpoint`, or anonymous access.
pub(super) fn find(endpoint: &Endpoint, env: &dyn Env) -> Result<Found, RegistryFailure> {
    for file in auth_files(env) {
        let text = match std::fs::read_to_string(&file) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(bad_file(&file, &e.to_string())),
        };
        let json: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| bad_file(&file, &e.to_string()))?;
        if let Some(found) = from_file(endpoint, &file, &json, env)? {
            return Ok(found);
        }
    }
    Ok(Found {
        credential: None,
        source: "none (anonymous)".into(),
    })
}

/// Reads one parsed auth file; `None` when it has nothing for this registry.
fn from_file(
    endpoint: &Endpoint,
    file: &Path,
    json: &serde_json::Value,
    env: &dyn Env,
) -> Result<Option<Found>, RegistryFailure> {
    let shown = crate::text::line(&file.display().to_string()).into_owned();
    let keys = endpoint.auth_keys();
    if let Some(helpers) = json.get("credHelpers").and_then(|h| h.as_object()) {
        if let Some(helper) = keys
            .iter()
            .find_map(|key| helpers.get(key.as_str()))
            .and_then(|h| h.as_str())
        {
            return run_helper(helper, endpoint, env).map(Some);
        }
    }
    if let Some(auths) = json.get("auths").and_then(|a| a.as_object()) {
        for key in &keys {
            let Some(entry) = auths.get(key.as_str()) else {
                continue;
            };
            if let Some(token) = entry
                .get("identitytoken")
                .and_then(|t| t.as_str())
                .filter(|t| !t.is_empty())
            {
                return Ok(Some(Found {
                    credential: Some(Credential::IdentityToken(token.to_string())),
                    source: format!("identity token in {shown} (auths)"),
                }));
            }
            if let Some(auth) = entry
                .get("auth")
                .and_then(|a| a.as_str())
                .filter(|a| !a.is_empty())
            {
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(auth.trim())
                    .ok()
                    .and_then(|bytes| String::from_utf8(bytes).ok());
                let Some((user, password)) = decoded
                    .as_deref()
                    .and_then(|d| d.split_once(':'))
                    .map(|(u, p)| (u.to_string(), p.to_string()))
                else {
                    return Err(bad_file(
                        file,
                        "an `auths` entry's `auth` is not base64 of `user:password`",
                    ));
                };
                return Ok(Some(Found {
                    credential: Some(Credential::Basic { user, password }),
                    source: format!("{shown} (auths)"),
                }));
            }
        }
    }
    if let Some(store) = json.get("credsStore").and_then(|s| s.as_str()) {
        return run_helper(store, endpoint, env).map(Some);
    }
    Ok(None)
}

fn bad_file(file: &Path, why: &str) -> RegistryFailure {
    RegistryFailure {
        kind: FailureKind::NoCredentials,
        message: format!(
            "cannot read the registry credentials in {}: {}",
            crate::text::line(&file.display().to_string()),
            crate::text::line(why)
        ),
        hint: "fix or remove the file, then log in again with `docker login <host>`".into(),
    }
}

/// Asks `docker-credential-<name> get` for the registry's credential.
fn run_helper(name: &str, endpoint: &Endpoint, env: &dyn Env) -> Result<Found, RegistryFailure> {
    let program = format!("docker-credential-{name}");
    let shown = crate::text::line(&program).into_owned();
    let failed = |why: String| RegistryFailure {
        kind: FailureKind::NoCredentials,
        message: format!("the credential helper {shown} failed: {why}"),
        hint: format!(
            "check that {shown} is installed and on PATH, then log in again with {}",
            crate::text::suggest(&["docker", "login", &endpoint.login_host])
        ),
    };
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err(failed("its name is not a plain program name".into()));
    }
    let mut command = Command::new(&program);
    command
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(path) = env.var("PATH") {
        command.env("PATH", path);
    }
    let mut child = command
        .spawn()
        .map_err(|e| failed(format!("cannot start it ({e})")))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A helper that exits without reading is judged by its status below.
        let _ = stdin.write_all(endpoint.helper_server().as_bytes());
    }
    let mut stdout = child.stdout.take();
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        if let Some(pipe) = stdout.as_mut() {
            let _ = pipe.take(1 << 20).read_to_end(&mut out);
        }
        out
    });
    let deadline = Instant::now() + HELPER_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(failed(format!(
                    "it did not answer within {} s and was stopped",
                    HELPER_TIMEOUT.as_secs()
                )));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(failed(e.to_string())),
        }
    };
    let out = reader.join().unwrap_or_default();
    if !status.success() {
        // The protocol's answer for "nothing stored for this server": anonymous access.
        if String::from_utf8_lossy(&out).contains("credentials not found") {
            return Ok(Found {
                credential: None,
                source: format!("none ({shown} has no entry)"),
            });
        }
        // Its output may hold anything, a secret included: never shown.
        return Err(failed(format!("it exited with {status}")));
    }
    let answer: serde_json::Value = serde_json::from_slice(&out).map_err(|_| {
        failed("its answer is not the JSON of the docker-credential protocol".into())
    })?;
    let field = |name: &str| {
        answer
            .get(name)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    let (user, secret) = (field("Username"), field("Secret"));
    if secret.is_empty() {
        return Err(failed("its answer has no Secret".into()));
    }
    let credential = if user == "<token>" {
        Credential::IdentityToken(secret)
    } else {
        Credential::Basic {
            user,
            password: secret,
        }
    };
    Ok(Found {
        credential: Some(credential),
        source: format!("credential helper {shown}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RegistryConfig;
    use std::collections::HashMap;

    struct Vars(HashMap<&'static str, String>);
    impl Env for Vars {
        fn var(&self, name: &str) -> Option<String> {
            self.0.get(name).cloned()
        }
    }

    fn endpoint(host: &str) -> Endpoint {
        Endpoint::new(&RegistryConfig {
            host: Some(host.into()),
            ..RegistryConfig::default()
        })
    }

    #[test]
    fn reads_auths_identity_tokens_and_falls_back_to_anonymous() {
        let dir = tempfile::tempdir().expect("tempdir");
        let docker = dir.path().join("docker");
        std::fs::create_dir_all(&docker).expect("mkdir");
        std::fs::write(
            docker.join("config.json"),
            r#"{"auths": {
                "https://index.docker.io/v1/": {"auth": "dXNlcjpwYXNzOndvcmQ="},
                "ghcr.io": {"identitytoken": "refresh-me"}
            }}"#,
        )
        .expect("write");
        let env = Vars(HashMap::from([(
            "DOCKER_CONFIG",
            docker.display().to_string(),
        )]));
        let hub = find(&endpoint("docker.io"), &env).expect("found");
        assert_eq!(
            hub.credential,
            Some(Credential::Basic {
                user: "user".into(),
                password: "pass:word".into()
            })
        );
        let shown = format!("{hub:?}");
        assert!(!shown.contains("pass:word"), "{shown}");
        let ghcr = find(&endpoint("ghcr.io"), &env).expect("found");
        assert!(matches!(
            ghcr.credential,
            Some(Credential::IdentityToken(_))
        ));
        assert!(!format!("{ghcr:?}").contains("refresh-me"));
        let other = find(&endpoint("quay.io"), &env).expect("anonymous");
        assert_eq!(other.credential, None);
    }

    #[test]
    fn the_podman_file_comes_first_and_bad_entries_say_where() {
        let dir = tempfile::tempdir().expect("tempdir");
        let auth = dir.path().join("auth.json");
        std::fs::write(
            &auth,
            r#"{"auths": {"quay.io": {"auth": "bm90LWEtcGFpcg=="}}}"#,
        )
        .expect("write");
        let env = Vars(HashMap::from([(
            "REGISTRY_AUTH_FILE",
            auth.display().to_string(),
        )]));
        let err = find(&endpoint("quay.io"), &env).expect_err("no colon");
        assert!(err.message.contains("auth.json"), "{}", err.message);
    }
}
