//! Any registry that speaks the OCI distribution API: GHCR, Docker Hub, GitLab's registry,
//! Harbor, Artifactory, a self-hosted `distribution`.
//!
//! Shaped by the API and by what `docker login` leaves behind:
//! - **Credentials** are the user's own (auth.rs): docker's and podman's files and
//!   credential helpers, anonymous otherwise. The registry's `/v2/` challenge decides the
//!   scheme (client.rs): Basic, or Bearer tokens fetched once per repository scope.
//! - **Existence** is a manifest `HEAD` per image accepting all four manifest media types
//!   (a multi-arch index is one artifact, never converted), run concurrently with at most
//!   [`FAN_OUT`] in flight over one connection pool. The digest is the registry's
//!   `Docker-Content-Digest`; without a valid one the manifest is read and hashed, and
//!   the answer is never "present" without a digest.
//! - **Promotion** copies the manifest, never a layer: `GET` the exact bytes and media
//!   type by commit tag, `HEAD` the release tag, `PUT` the same bytes under it (same
//!   digest). Three requests after authentication, idempotent, and a release tag naming
//!   another digest is left alone unless `force`.
//! - **Laziness and bounds:** [`Oci::new`] copies the configuration; the runtime, the
//!   credential lookup and the client come with the first call. Connections are bounded by
//!   `connect-timeout-seconds`, every call as a whole by `timeout-seconds`.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_TYPE};
use http::{Method, StatusCode};
use sha2::Digest as _;
use tokio::time::Instant;

use super::{
    Access, ArtifactRef, ArtifactStatus, FailureKind, Identity, ImageRef, PromoteRequest,
    Promotion, Registry, RegistryFailure, RepositoryInfo,
};
use crate::config::RegistryConfig;
use crate::text::Digest;

mod auth;
mod challenge;
mod client;
mod errors;
mod reference;

use client::{accept_manifests, Answer, Client, MANIFEST_MEDIA_TYPES};
use reference::{check_repository, check_tag, Endpoint};

/// Manifest requests in flight at once: a push of 50 tags takes one round trip (each
/// request costs the registry a metadata lookup, no blob), and a push of thousands stays
/// bounded in connections and in what a registry's rate limiter sees at once.
pub const FAN_OUT: usize = 64;

/// The OCI distribution backend.
#[derive(Debug)]
pub struct Oci {
    config: RegistryConfig,
    /// Where the store is configured, for messages: `[registry]` or `[registries.<name>]`.
    table: String,
    endpoint: Endpoint,
    backend: OnceLock<Result<Backend, RegistryFailure>>,
}

/// What the first call builds.
#[derive(Debug)]
struct Backend {
    runtime: tokio::runtime::Runtime,
    client: Arc<Client>,
}

impl Oci {
    /// Prepares the backend of `[registry]` (`name` is `None`) or `[registries.<name>]`;
    /// no I/O happens until the first call.
    pub fn new(config: &RegistryConfig, name: Option<&str>) -> Oci {
        Oci {
            config: config.clone(),
            table: match name {
                Some(name) => format!("[registries.{}]", crate::text::line(name)),
                None => "[registry]".into(),
            },
            endpoint: Endpoint::new(config),
            backend: OnceLock::new(),
        }
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(self.config.timeout_seconds.max(1))
    }

    fn backend(&self) -> Result<&Backend, RegistryFailure> {
        self.backend
            .get_or_init(|| {
                // `GIT_RELEASE_REGISTRY=oci` may name this backend after the file was
                // validated; without a host there is nothing to ask.
                if self.config.host.as_deref().is_none_or(str::is_empty) {
                    return Err(RegistryFailure {
                        kind: FailureKind::Other,
                        message: format!("{} kind = \"oci\" needs the registry's host, and git-release.toml sets none", self.table),
                        hint: format!("set {} host in git-release.toml, like host = \"ghcr.io\"", self.table),
                    });
                }
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| {
                        errors::other(
                            &self.endpoint,
                            &format!("cannot start the async runtime: {e}"),
                        )
                    })?;
                let found = auth::find(&self.endpoint, &auth::ProcessEnv)?;
                let client = Client::new(
                    self.endpoint.clone(),
                    found,
                    Duration::from_secs(self.config.connect_timeout_seconds.max(1)),
                );
                Ok(Backend {
                    runtime,
                    client: Arc::new(client),
                })
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Returns the number of HTTP requests sent so far (tests and the benchmark).
    pub fn requests_sent(&self) -> usize {
        self.backend
            .get()
            .and_then(|b| b.as_ref().ok())
            .map_or(0, |b| {
                b.client.sent.load(std::sync::atomic::Ordering::Relaxed)
            })
    }

    /// Runs `future` on the backend's runtime, bounded by `timeout-seconds`.
    fn run<T>(
        &self,
        backend: &Backend,
        what: &str,
        future: impl std::future::Future<Output = Result<T, RegistryFailure>>,
    ) -> Result<T, RegistryFailure> {
        let deadline = Instant::now() + self.timeout();
        backend
            .runtime
            .block_on(async move { tokio::time::timeout_at(deadline, future).await })
            .unwrap_or_else(|_| {
                Err(errors::timed_out(
                    &self.endpoint,
                    what,
                    self.timeout().as_secs(),
                ))
            })
    }

    /// Returns the API's repository name for `image`, checked against the grammar.
    fn api_name(&self, image: &ImageRef) -> Result<String, RegistryFailure> {
        let repository = self.endpoint.repository(&image.repository);
        check_repository(&repository)
            .and_then(|()| check_tag(&image.tag))
            .map_err(|why| RegistryFailure {
                kind: FailureKind::Other,
                message: why,
                hint: format!(
                    "fix {} repository or image-tag in git-release.toml",
                    self.table
                ),
            })?;
        Ok(repository)
    }
}

/// Returns `repository:<name>:<actions>`, the scope tokens are asked for.
fn scope(repository: &str, push: bool) -> String {
    format!(
        "repository:{repository}:{}",
        if push { "pull,push" } else { "pull" }
    )
}

/// Answers for one image: `HEAD` its manifest.
async fn head(client: Arc<Client>, repository: String, image: ImageRef) -> ArtifactStatus {
    let path = format!("/v2/{repository}/manifests/{}", image.tag);
    let answer = match client
        .request(
            Method::HEAD,
            &path,
            &scope(&repository, false),
            vec![accept_manifests()],
            Bytes::new(),
        )
        .await
    {
        Ok(answer) => answer,
        Err(failure) => return ArtifactStatus::Failed(failure),
    };
    match answer.status {
        s if s.is_success() => match answer_digest(&answer) {
            Some(digest) => ArtifactStatus::Present(Identity::Image {
                digest: digest.into_string(),
            }),
            // No valid digest header: read the manifest and hash it (fail closed).
            None => match get_manifest(&client, &repository, &image.tag, false).await {
                Ok(manifest) => ArtifactStatus::Present(Identity::Image {
                    digest: manifest.digest.into_string(),
                }),
                Err(failure) => ArtifactStatus::Failed(failure),
            },
        },
        StatusCode::NOT_FOUND => ArtifactStatus::Missing,
        _ => ArtifactStatus::Failed(errors::answer(
            client.endpoint(),
            client.found(),
            "read",
            &display(client.endpoint(), &repository, &image.tag),
            &answer,
        )),
    }
}

/// The registry's `Docker-Content-Digest`, if present and valid.
fn answer_digest(answer: &Answer) -> Option<Digest> {
    answer
        .header("docker-content-digest")
        .and_then(|d| Digest::parse(d.trim()).ok())
}

/// `host/repository:tag`, for messages.
fn display(endpoint: &Endpoint, repository: &str, tag: &str) -> String {
    format!("{}/{repository}:{tag}", endpoint.login_host)
}

/// A manifest read by tag: its exact bytes, media type and digest.
struct Manifest {
    bytes: Bytes,
    media_type: String,
    digest: Digest,
}

/// `GET`s a manifest and checks that its bytes hash to the digest the registry claims.
async fn get_manifest(
    client: &Client,
    repository: &str,
    tag: &str,
    push: bool,
) -> Result<Manifest, RegistryFailure> {
    let path = format!("/v2/{repository}/manifests/{tag}");
    let answer = client
        .request(
            Method::GET,
            &path,
            &scope(repository, push),
            vec![accept_manifests()],
            Bytes::new(),
        )
        .await?;
    let shown = display(client.endpoint(), repository, tag);
    if !answer.status.is_success() {
        return Err(errors::answer(
            client.endpoint(),
            client.found(),
            "read",
            &shown,
            &answer,
        ));
    }
    let hex: String = sha2::Sha256::digest(&answer.body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let digest = Digest::parse(&format!("sha256:{hex}"))
        .map_err(|e| errors::other(client.endpoint(), &e.to_string()))?;
    if let Some(claimed) = answer.header("docker-content-digest") {
        if claimed.trim() != digest.as_str() {
            return Err(RegistryFailure {
                kind: FailureKind::Other,
                message: format!(
                    "the manifest of {} does not hash to the digest the registry names ({} vs {})",
                    errors::server_text(&shown),
                    errors::server_text(claimed),
                    digest
                ),
                hint: "the registry or a proxy altered the manifest; nothing was written".into(),
            });
        }
    }
    // The media type the registry stores, never converted: the header, else the
    // manifest's own `mediaType`; anything else is refused.
    let declared = answer
        .header(CONTENT_TYPE.as_str())
        .map(|t| t.split(';').next().unwrap_or_default().trim().to_string());
    let inner = serde_json::from_slice::<serde_json::Value>(&answer.body)
        .ok()
        .and_then(|j| j.get("mediaType")?.as_str().map(str::to_string));
    let media_type = [declared, inner]
        .into_iter()
        .flatten()
        .find(|t| MANIFEST_MEDIA_TYPES.contains(&t.as_str()))
        .ok_or_else(|| RegistryFailure {
            kind: FailureKind::Other,
            message: format!(
                "the manifest of {} is not a Docker v2 or OCI image manifest or index",
                errors::server_text(&shown)
            ),
            hint: "promote only images built by docker, buildah or a compatible tool".into(),
        })?;
    Ok(Manifest {
        bytes: answer.body,
        media_type,
        digest,
    })
}

/// The steps of a promotion, after the names are checked.
async fn promote(
    client: &Client,
    repository: &str,
    source: &ImageRef,
    target_tag: &str,
    force: bool,
) -> Result<Promotion, RegistryFailure> {
    let manifest = get_manifest(client, repository, &source.tag, true).await?;
    let path = format!("/v2/{repository}/manifests/{target_tag}");
    let push_scope = scope(repository, true);
    let shown = display(client.endpoint(), repository, target_tag);
    let current = client
        .request(
            Method::HEAD,
            &path,
            &push_scope,
            vec![accept_manifests()],
            Bytes::new(),
        )
        .await?;
    let target = ImageRef {
        repository: source.repository.clone(),
        tag: target_tag.to_string(),
    };
    let mut previous_digest = None;
    if current.status.is_success() {
        let Some(existing) = answer_digest(&current) else {
            return Err(RegistryFailure {
                kind: FailureKind::Other,
                message: format!(
                    "{} exists but the registry names no valid digest for it",
                    errors::server_text(&shown)
                ),
                hint: "nothing was written; check the registry".into(),
            });
        };
        if existing == manifest.digest {
            return Ok(Promotion {
                source: ArtifactRef::Image(source.clone()),
                target: ArtifactRef::Image(target),
                identity: Identity::Image {
                    digest: manifest.digest.into_string(),
                },
                media_type: Some(manifest.media_type),
                changed: false,
                previous_digest: None,
                previous_version_id: None,
            });
        }
        if !force {
            return Err(RegistryFailure {
                kind: FailureKind::Conflict,
                message: format!(
                    "{} already names another image ({existing}), not {}",
                    errors::server_text(&shown),
                    manifest.digest
                ),
                hint: "a release tag is not moved silently; pass --force to move it".into(),
            });
        }
        previous_digest = Some(existing.into_string());
    } else if current.status != StatusCode::NOT_FOUND {
        return Err(errors::answer(
            client.endpoint(),
            client.found(),
            "read",
            &shown,
            &current,
        ));
    }
    let content_type = HeaderValue::from_str(&manifest.media_type)
        .map_err(|_| errors::other(client.endpoint(), "bad media type"))?;
    let put = client
        .request(
            Method::PUT,
            &path,
            &push_scope,
            vec![(CONTENT_TYPE, content_type)],
            manifest.bytes,
        )
        .await?;
    if !put.status.is_success() {
        let (code, message) = errors::error_code(&put.body);
        let said = format!("{code} {message}").to_ascii_lowercase();
        if said.contains("immutable") {
            return Err(RegistryFailure {
                kind: FailureKind::Conflict,
                message: format!(
                    "{} refused to write {} because its tags are immutable (HTTP {}{})",
                    errors::server_text(&client.endpoint().login_host),
                    errors::server_text(&shown),
                    put.status.as_u16(),
                    if message.is_empty() { String::new() } else { format!(": {message}") }
                ),
                hint: "the registry's tag immutability rule covers this tag; nothing was changed (that rule is what release tags want: keep it, and use a new version)".into(),
            });
        }
        return Err(errors::answer(
            client.endpoint(),
            client.found(),
            "write",
            &shown,
            &put,
        ));
    }
    if let Some(written) = answer_digest(&put) {
        if written != manifest.digest {
            return Err(errors::other(
                client.endpoint(),
                &format!(
                    "the registry stored {} under another digest ({written})",
                    errors::server_text(&shown)
                ),
            ));
        }
    }
    Ok(Promotion {
        source: ArtifactRef::Image(source.clone()),
        target: ArtifactRef::Image(target),
        identity: Identity::Image {
            digest: manifest.digest.into_string(),
        },
        media_type: Some(manifest.media_type),
        changed: true,
        previous_digest,
        previous_version_id: None,
    })
}

impl Oci {
    /// Answers for each image: manifest `HEAD`s, at most [`FAN_OUT`] at once.
    fn check_images(&self, images: &[ImageRef]) -> Vec<ArtifactStatus> {
        if images.is_empty() {
            return Vec::new();
        }
        let backend = match self.backend() {
            Ok(backend) => backend,
            Err(failure) => {
                return images
                    .iter()
                    .map(|_| ArtifactStatus::Failed(failure.clone()))
                    .collect()
            }
        };
        let deadline = Instant::now() + self.timeout();
        let seconds = self.timeout().as_secs();
        let client = backend.client.clone();
        let named: Vec<Result<String, RegistryFailure>> =
            images.iter().map(|image| self.api_name(image)).collect();
        backend.runtime.block_on(async move {
            let limit = Arc::new(tokio::sync::Semaphore::new(FAN_OUT));
            let mut set = tokio::task::JoinSet::new();
            let mut out: Vec<Option<ArtifactStatus>> = vec![None; images.len()];
            for (i, (image, name)) in images.iter().zip(named).enumerate() {
                let repository = match name {
                    Ok(repository) => repository,
                    Err(failure) => {
                        out[i] = Some(ArtifactStatus::Failed(failure));
                        continue;
                    }
                };
                let (client, limit, image) = (client.clone(), limit.clone(), image.clone());
                set.spawn(async move {
                    let endpoint = client.endpoint().clone();
                    let shown = display(&endpoint, &repository, &image.tag);
                    let status = tokio::time::timeout_at(deadline, async {
                        let _permit = limit.acquire().await;
                        head(client, repository, image).await
                    })
                    .await
                    .unwrap_or_else(|_| {
                        ArtifactStatus::Failed(errors::timed_out(&endpoint, &shown, seconds))
                    });
                    (i, status)
                });
            }
            while let Some(joined) = set.join_next().await {
                if let Ok((i, status)) = joined {
                    if let Some(slot) = out.get_mut(i) {
                        *slot = Some(status);
                    }
                }
            }
            out.into_iter()
                .map(|status| {
                    // A task that vanished (it cannot, short of a panic) is no "yes".
                    status.unwrap_or_else(|| {
                        ArtifactStatus::Failed(RegistryFailure {
                            kind: FailureKind::Other,
                            message: "an image check did not finish".into(),
                            hint: "retry; report it if it persists".into(),
                        })
                    })
                })
                .collect()
        })
    }

    /// Gives `source`'s manifest the tag `target_tag` in the same repository.
    fn promote_image(
        &self,
        source: &ImageRef,
        target_tag: &str,
        force: bool,
    ) -> Result<Promotion, RegistryFailure> {
        let repository = self.api_name(source)?;
        check_tag(target_tag).map_err(|why| RegistryFailure {
            kind: FailureKind::Other,
            message: why,
            hint: "release tags become image tags; pick a version without `+build` metadata".into(),
        })?;
        let backend = self.backend()?;
        let client = backend.client.clone();
        let what = display(&self.endpoint, &repository, target_tag);
        self.run(backend, &what, async move {
            promote(&client, &repository, source, target_tag, force).await
        })
    }
}

impl Registry for Oci {
    fn describe(&self) -> String {
        format!(
            "OCI registry {}",
            crate::text::line(&self.endpoint.login_host)
        )
    }

    fn check(&self, artifacts: &[ArtifactRef]) -> Vec<ArtifactStatus> {
        let images: Vec<ImageRef> = artifacts
            .iter()
            .filter_map(|a| a.as_image().cloned())
            .collect();
        let mut answers = self.check_images(&images).into_iter();
        artifacts
            .iter()
            .map(|artifact| match artifact {
                ArtifactRef::Image(image) => answers.next().unwrap_or_else(|| {
                    ArtifactStatus::Failed(RegistryFailure {
                        kind: FailureKind::Other,
                        message: format!(
                            "{} did not answer for {}",
                            self.describe(),
                            crate::text::line(&image.to_string())
                        ),
                        hint: "retry; this should not happen".into(),
                    })
                }),
                ArtifactRef::Object(_) => {
                    ArtifactStatus::Failed(super::wrong_kind(&self.describe(), artifact))
                }
            })
            .collect()
    }

    fn promote(&self, request: &PromoteRequest) -> Result<Promotion, RegistryFailure> {
        let (source, target) = request.images(&self.describe())?;
        self.promote_image(source, &target.tag, request.force)
    }

    fn access(&self) -> Access {
        let (source, error) = match self.backend() {
            Ok(backend) => (backend.client.source().to_string(), None),
            Err(failure) => ("unreadable".to_string(), Some(failure)),
        };
        Access {
            region: None,
            region_source: format!("credentials: {}", crate::text::line(&source)),
            endpoint: Some(self.endpoint.url("/v2/")),
            profile: None,
            credentials_expire: None,
            credentials_error: error,
        }
    }

    fn inspect_repositories(
        &self,
        repositories: &[String],
    ) -> Vec<Result<RepositoryInfo, RegistryFailure>> {
        let backend = match self.backend() {
            Ok(backend) => backend,
            Err(failure) => return repositories.iter().map(|_| Err(failure.clone())).collect(),
        };
        repositories
            .iter()
            .map(|repository| {
                let name = self.endpoint.repository(repository);
                check_repository(&name).map_err(|why| RegistryFailure {
                    kind: FailureKind::Other,
                    message: why,
                    hint: format!("fix {} repository in git-release.toml", self.table),
                })?;
                let client = backend.client.clone();
                let shown = format!("{}/{name}", self.endpoint.login_host);
                let rights =
                    self.run(
                        backend,
                        &shown,
                        async move { pull_right(&client, &name).await },
                    )?;
                // The distribution API has no word for tag immutability (Harbor and GHCR
                // keep it in their own settings): never claimed.
                Ok(RepositoryInfo {
                    repository: repository.clone(),
                    uri: Some(shown),
                    tag_mutability: format!("{rights}; immutability unknown over the OCI API"),
                    immutable: false,
                    versioning: None,
                    notes: Vec::new(),
                    copy: None,
                })
            })
            .collect()
    }
}

/// What `doctor` learns about an OCI registry; never a credential's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoctorReport {
    /// Where the credential comes from (a file and key, a helper's name, or anonymous).
    pub credentials: Result<String, RegistryFailure>,
    /// The `/v2/` answer: the authentication scheme it asks for.
    pub api: Result<String, RegistryFailure>,
    /// Per repository: pull and push rights.
    pub repositories: Vec<RepositoryRights>,
}

/// Pull and push rights on one repository, as the registry answers them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryRights {
    /// The repository as configured.
    pub repository: String,
    /// `host/repository`.
    pub uri: String,
    /// Whether its tags may be listed (pull).
    pub pull: Result<String, RegistryFailure>,
    /// Whether a blob upload may start (push); the upload is cancelled at once.
    pub push: Result<String, RegistryFailure>,
}

impl Oci {
    /// Answers `doctor`'s questions: where the credential comes from, what `/v2/` says,
    /// and the pull and push rights on each repository. Push is probed by starting a blob
    /// upload and cancelling it: no blob, manifest or tag is written.
    pub fn doctor(&self, repositories: &[String]) -> DoctorReport {
        let backend = match self.backend() {
            Ok(backend) => backend,
            Err(failure) => {
                return DoctorReport {
                    credentials: Err(failure.clone()),
                    api: Err(failure),
                    repositories: Vec::new(),
                }
            }
        };
        let client = backend.client.clone();
        let credentials = Ok(client.source().to_string());
        let api = self
            .run(backend, "/v2/", async { client.discover().await })
            .map(|()| {
                format!(
                    "{} answers the distribution API (auth: {})",
                    self.endpoint.url("/v2/"),
                    client.scheme_name().unwrap_or("unknown")
                )
            });
        if api.is_err() {
            return DoctorReport {
                credentials,
                api,
                repositories: Vec::new(),
            };
        }
        let repositories = repositories
            .iter()
            .map(|repository| {
                let name = self.endpoint.repository(repository);
                let uri = format!("{}/{name}", self.endpoint.login_host);
                let checked = check_repository(&name).map_err(|why| RegistryFailure {
                    kind: FailureKind::Other,
                    message: why,
                    hint: format!("fix {} repository in git-release.toml", self.table),
                });
                let (pull, push) = match checked {
                    Err(failure) => (Err(failure.clone()), Err(failure)),
                    Ok(()) => (
                        self.run(backend, &uri, pull_right(&client, &name)),
                        self.run(backend, &uri, push_right(&client, &name)),
                    ),
                };
                RepositoryRights {
                    repository: repository.clone(),
                    uri,
                    pull,
                    push,
                }
            })
            .collect();
        DoctorReport {
            credentials,
            api,
            repositories,
        }
    }
}

/// Lists one tag: pull rights (a missing repository is no refusal of rights).
async fn pull_right(client: &Client, repository: &str) -> Result<String, RegistryFailure> {
    let path = format!("/v2/{repository}/tags/list?n=1");
    let answer = client
        .request(
            Method::GET,
            &path,
            &scope(repository, false),
            Vec::new(),
            Bytes::new(),
        )
        .await?;
    match answer.status {
        s if s.is_success() => Ok("pull allowed".into()),
        StatusCode::NOT_FOUND => Ok("pull allowed (the repository has no images yet)".into()),
        _ => {
            let shown = format!("{}/{repository}", client.endpoint().login_host);
            Err(errors::answer(
                client.endpoint(),
                client.found(),
                "pull from",
                &shown,
                &answer,
            ))
        }
    }
}

/// Starts a blob upload and cancels it: push rights, nothing written.
async fn push_right(client: &Client, repository: &str) -> Result<String, RegistryFailure> {
    let path = format!("/v2/{repository}/blobs/uploads/");
    let push_scope = scope(repository, true);
    let answer = client
        .request(Method::POST, &path, &push_scope, Vec::new(), Bytes::new())
        .await?;
    let shown = format!("{}/{repository}", client.endpoint().login_host);
    if !answer.status.is_success() {
        return Err(errors::answer(
            client.endpoint(),
            client.found(),
            "push to",
            &shown,
            &answer,
        ));
    }
    // Cancel the upload session (best effort: an abandoned one expires on its own).
    if let Some(location) = answer.header("location") {
        let path = location
            .strip_prefix(&client.endpoint().url(""))
            .unwrap_or(location)
            .to_string();
        if path.starts_with("/v2/") {
            let _ = client
                .request(Method::DELETE, &path, &push_scope, Vec::new(), Bytes::new())
                .await;
        }
    }
    Ok("push allowed".into())
}
