//! AWS Elastic Container Registry, on `aws-config` + `aws-sdk-ecr`.
//!
//! Shaped by what ECR and the SDK actually do (see FACTS.md):
//! - **Existence** is one `BatchGetImage` per repository and 100 tags, all in parallel:
//!   missing images come back in `failures[]` with HTTP 200, so a push of 50 tags costs
//!   about one round trip. `DescribeImages` would fail the whole call for one missing tag.
//! - **Promotion** is the documented retag: `BatchGetImage` (commit tag and release tag in
//!   one call), then `PutImage` with the same manifest bytes, media type and digest. All
//!   four manifest media types are accepted, or ECR may hand back a converted manifest and
//!   a multi-arch index would lose its other platforms.
//! - **Laziness:** [`Ecr::new`] only copies the configuration. The tokio runtime, the SDK
//!   configuration (which may probe instance metadata) and the client are built on the
//!   first call, so a push without release tags never initialises the SDK.
//! - **Bounds:** connect timeout from `connect-timeout-seconds`, every operation and the
//!   whole check bounded by `timeout-seconds`, standard retries with at most 3 attempts.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;
use std::time::Duration;

use aws_sdk_ecr::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ecr::types::{ImageFailureCode, ImageIdentifier, ImageTagMutability};
use aws_sdk_ecr::Client;
use tokio::time::Instant;

use super::{
    Access, ArtifactRef, ArtifactStatus, FailureKind, Identity, ImageRef, PromoteRequest,
    Promotion, Registry, RegistryFailure, RepositoryInfo,
};
use crate::config::RegistryConfig;
use crate::text::{BadDigest, Digest};

mod errors;

use crate::aws::{block_on_until, env_region, one_line, Session, Settings};

/// The manifest media types ECR may store; asking for all four means it never converts.
pub const MANIFEST_MEDIA_TYPES: [&str; 4] = [
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
];

/// ECR's limit on image ids per `BatchGetImage` call.
const BATCH_LIMIT: usize = 100;

/// The ECR backend.
#[derive(Debug)]
pub struct Ecr {
    config: RegistryConfig,
    session: Session,
    client: OnceLock<Client>,
}

/// What the first call builds: the session's runtime and configuration, and a client.
#[derive(Debug, Clone, Copy)]
struct Backend<'a> {
    runtime: &'a tokio::runtime::Runtime,
    client: &'a Client,
}

impl Ecr {
    /// Prepares a client; no I/O happens and the SDK is not touched until the first call.
    pub fn new(config: &RegistryConfig) -> Ecr {
        Ecr::named(config, None)
    }

    /// Like [`Ecr::new`] for the store `[registries.<name>]` (`None`: `[registry]`), whose
    /// name the messages use.
    pub fn named(config: &RegistryConfig, name: Option<&str>) -> Ecr {
        let region_key = match name {
            Some(name) => format!("[registries.{}] region", crate::text::line(name)),
            None => "[registry] region".into(),
        };
        Ecr {
            config: config.clone(),
            session: Session::new(Settings {
                service: "ECR",
                endpoint_env: "ECR",
                region: config.region.clone(),
                region_key,
                timeout: Duration::from_secs(config.timeout_seconds),
                connect_timeout: Duration::from_secs(config.connect_timeout_seconds),
            }),
            client: OnceLock::new(),
        }
    }

    /// Returns whether the SDK was initialised (tests and benchmarks assert laziness).
    pub fn initialised(&self) -> bool {
        self.session.initialised()
    }

    fn timeout(&self) -> Duration {
        self.session.timeout()
    }

    fn deadline(&self) -> Instant {
        self.session.deadline()
    }

    /// Loads the AWS configuration and builds the client, once.
    fn backend(&self, deadline: Instant) -> Result<Backend<'_>, RegistryFailure> {
        let loaded = self
            .session
            .load(deadline)
            .map_err(|e| RegistryFailure::from(self.voice().session_failure(&e)))?;
        let client = self.client.get_or_init(|| Client::new(&loaded.sdk));
        Ok(Backend {
            runtime: &loaded.runtime,
            client,
        })
    }

    /// Where requests go, for messages: the override, or the region's public endpoint.
    fn endpoint(&self) -> String {
        if let Some(url) = self.session.endpoint_override() {
            return crate::text::line(&url).into_owned();
        }
        match self.session.region_name() {
            Some(region) => format!("api.ecr.{region}.amazonaws.com"),
            None => "ECR".into(),
        }
    }

    /// Asks ECR about up to 100 tags of one repository.
    async fn batch_get(
        client: Client,
        registry_id: Option<String>,
        repository: String,
        tags: Vec<String>,
    ) -> Result<
        aws_sdk_ecr::operation::batch_get_image::BatchGetImageOutput,
        SdkError<aws_sdk_ecr::operation::batch_get_image::BatchGetImageError>,
    > {
        let mut request = client
            .batch_get_image()
            .set_registry_id(registry_id)
            .repository_name(repository);
        for tag in tags {
            request = request.image_ids(ImageIdentifier::builder().image_tag(tag).build());
        }
        for media_type in MANIFEST_MEDIA_TYPES {
            request = request.accepted_media_types(media_type);
        }
        request.send().await
    }
}

impl Ecr {
    /// Answers for every image, in the order given: one `BatchGetImage` per repository
    /// and 100 tags, all in parallel.
    fn check_images(&self, images: &[ImageRef]) -> Vec<ArtifactStatus> {
        if images.is_empty() {
            return Vec::new();
        }
        let deadline = self.deadline();
        let backend = match self.backend(deadline) {
            Ok(backend) => backend,
            Err(failure) => {
                return images
                    .iter()
                    .map(|_| ArtifactStatus::Failed(failure.clone()))
                    .collect()
            }
        };

        // Group per repository, deduplicated, in chunks of at most 100 tags.
        let mut per_repository: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for image in images {
            let tags = per_repository.entry(&image.repository).or_default();
            if !tags.contains(&image.tag.as_str()) {
                tags.push(&image.tag);
            }
        }
        let mut batches: Vec<(String, Vec<String>)> = Vec::new();
        for (repository, tags) in per_repository {
            for chunk in tags.chunks(BATCH_LIMIT) {
                batches.push((
                    repository.to_string(),
                    chunk.iter().map(|t| t.to_string()).collect(),
                ));
            }
        }

        let answers = backend.runtime.block_on(async {
            let mut set = tokio::task::JoinSet::new();
            for (index, (repository, tags)) in batches.iter().cloned().enumerate() {
                let client = backend.client.clone();
                let registry_id = self.config.registry_id.clone();
                set.spawn(async move {
                    (
                        index,
                        Ecr::batch_get(client, registry_id, repository, tags).await,
                    )
                });
            }
            let mut answers: Vec<Option<_>> = batches.iter().map(|_| None).collect();
            let collected = tokio::time::timeout_at(deadline, async {
                while let Some(joined) = set.join_next().await {
                    if let Ok((index, answer)) = joined {
                        answers[index] = Some(answer);
                    }
                }
            })
            .await;
            if collected.is_err() {
                set.abort_all();
            }
            answers
        });

        let mut statuses: HashMap<(&str, &str), ArtifactStatus> = HashMap::new();
        for ((repository, tags), answer) in batches.iter().zip(answers) {
            let output = match answer {
                None => {
                    let failure = self.timed_out(&format!("checking images in {repository}"));
                    for tag in tags {
                        statuses.insert((repository, tag), ArtifactStatus::Failed(failure.clone()));
                    }
                    continue;
                }
                Some(Err(err)) => {
                    let failure = self.failure(&err, "ecr:BatchGetImage", repository);
                    for tag in tags {
                        statuses.insert((repository, tag), ArtifactStatus::Failed(failure.clone()));
                    }
                    continue;
                }
                Some(Ok(output)) => output,
            };
            for (tag, answer) in tags.iter().zip(match_answers(tags, &output)) {
                let status = match answer {
                    Answer::Found(image) => match image.image_id().and_then(|id| id.image_digest()) {
                        Some(digest) => match Digest::parse(digest) {
                            Ok(digest) => ArtifactStatus::Present(Identity::Image {
                                digest: digest.into_string(),
                            }),
                            Err(bad) => ArtifactStatus::Failed(bad_digest(repository, tag, &bad)),
                        },
                        None => continue,
                    },
                    Answer::Failed(failure) => match failure.failure_code() {
                        Some(ImageFailureCode::ImageNotFound) => ArtifactStatus::Missing,
                        code => ArtifactStatus::Failed(RegistryFailure {
                            kind: FailureKind::Other,
                            message: format!(
                                "ECR could not read {repository}:{tag} ({}: {})",
                                code.map(ImageFailureCode::as_str).unwrap_or("unknown failure"),
                                one_line(failure.failure_reason().unwrap_or("no reason given"))
                            ),
                            hint: "retry; if it persists, inspect the image with `aws ecr describe-images`".into(),
                        }),
                    },
                    Answer::None => continue,
                };
                statuses.insert((repository, tag), status);
            }
        }

        images
            .iter()
            .map(|image| {
                statuses
                    .get(&(image.repository.as_str(), image.tag.as_str()))
                    .cloned()
                    .unwrap_or_else(|| {
                        ArtifactStatus::Failed(RegistryFailure {
                            kind: FailureKind::Other,
                            message: format!("ECR did not answer for {image}"),
                            hint: "retry; this should not happen".into(),
                        })
                    })
            })
            .collect()
    }
}

impl Registry for Ecr {
    fn describe(&self) -> String {
        match (&self.config.region, env_region()) {
            (Some(region), _) => format!("ECR ({region})"),
            (None, Some((_, region))) => format!("ECR ({region})"),
            (None, None) => "ECR (region from the AWS configuration)".into(),
        }
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
                        message: format!("ECR did not answer for {image}"),
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
        let force = request.force;
        let target_tag = target.tag.as_str();
        let deadline = self.deadline();
        let backend = self.backend(deadline)?;
        // A tag names an image in its own repository: the release tag goes next to the
        // commit tag.
        let target = ImageRef {
            repository: source.repository.clone(),
            tag: target_tag.to_string(),
        };

        // Call 1: the source manifest and what the release tag names now, together.
        let read = block_on_until(
            backend.runtime,
            deadline,
            Ecr::batch_get(
                backend.client.clone(),
                self.config.registry_id.clone(),
                source.repository.clone(),
                vec![source.tag.clone(), target_tag.to_string()],
            ),
        )
        .map_err(|_| self.timed_out(&format!("reading {source}")))?
        .map_err(|e| self.failure(&e, "ecr:BatchGetImage", &source.repository))?;

        let requested = [source.tag.clone(), target_tag.to_string()];
        let mut answers = match_answers(&requested, &read).into_iter();
        let (source_answer, target_answer) = (
            answers.next().unwrap_or(Answer::None),
            answers.next().unwrap_or(Answer::None),
        );
        let Answer::Found(image) = source_answer else {
            let reason = match source_answer {
                Answer::Failed(f) => one_line(f.failure_reason().unwrap_or("no such tag")),
                _ => "no such tag".into(),
            };
            return Err(RegistryFailure {
                kind: FailureKind::ImageNotFound,
                message: format!("no image {source} in {} ({reason})", self.describe()),
                hint: "CI builds and pushes the image on every push to main; wait for that workflow to finish and retry".into(),
            });
        };
        let (Some(manifest), Some(digest)) = (
            image.image_manifest(),
            image.image_id().and_then(|id| id.image_digest()),
        ) else {
            return Err(RegistryFailure {
                kind: FailureKind::Other,
                message: format!("ECR returned {source} without its manifest or digest"),
                hint: "retry; if it persists, inspect the image with `aws ecr batch-get-image`"
                    .into(),
            });
        };
        let digest = Digest::parse(digest)
            .map_err(|bad| bad_digest(&source.repository, &source.tag, &bad))?
            .into_string();
        let digest = digest.as_str();
        let media_type = image
            .image_manifest_media_type()
            .map(str::to_string)
            .or_else(|| media_type_of(manifest))
            .unwrap_or_else(|| MANIFEST_MEDIA_TYPES[0].to_string());
        let previous = match target_answer {
            Answer::Found(image) => Some(image),
            _ => None,
        }
        .and_then(|i| i.image_id())
        .and_then(|id| id.image_digest())
        .map(|previous| {
            Digest::parse(previous)
                .map(Digest::into_string)
                .map_err(|bad| bad_digest(&source.repository, target_tag, &bad))
        })
        .transpose()?;

        let mut promotion = Promotion {
            source: ArtifactRef::Image(source.clone()),
            target: ArtifactRef::Image(target.clone()),
            identity: Identity::Image {
                digest: digest.to_string(),
            },
            media_type: Some(media_type.clone()),
            changed: false,
            previous_digest: previous.clone(),
            previous_version_id: None,
        };
        match &previous {
            Some(previous) if previous == digest => return Ok(promotion),
            Some(previous) if !force => {
                return Err(RegistryFailure {
                    kind: FailureKind::Conflict,
                    message: format!(
                        "{target} already names another image ({previous}), not {source} ({digest}); nothing was changed"
                    ),
                    hint: "a release tag should never move: release a new version instead; pass --force to move it where the repository allows mutable tags".into(),
                });
            }
            _ => {}
        }

        // Call 2: the same manifest bytes under the release tag; ECR verifies the digest.
        let put = block_on_until(
            backend.runtime,
            deadline,
            backend
                .client
                .put_image()
                .set_registry_id(self.config.registry_id.clone())
                .repository_name(&source.repository)
                .image_manifest(manifest)
                .image_manifest_media_type(&media_type)
                .image_digest(digest)
                .image_tag(target_tag)
                .send(),
        );
        match put {
            Err(_) => Err(self.timed_out(&format!("writing {target}"))),
            Ok(Ok(_)) => {
                promotion.changed = true;
                Ok(promotion)
            }
            Ok(Err(err)) => match err.code() {
                // The tag already names exactly this manifest: the retag is done.
                Some("ImageAlreadyExistsException") => Ok(promotion),
                Some("ImageTagAlreadyExistsException") => Err(RegistryFailure {
                    kind: FailureKind::Conflict,
                    message: format!(
                        "{target} exists and repository {} has immutable tags, so it cannot be moved to {digest}; nothing was changed",
                        source.repository
                    ),
                    hint: "release a new version instead; immutable tags are what protects releases".into(),
                }),
                _ => Err(self.failure(&err, "ecr:PutImage", &source.repository)),
            },
        }
    }

    fn access(&self) -> Access {
        self.session.resolve(&|| self.voice()).into()
    }

    fn inspect_repositories(
        &self,
        repositories: &[String],
    ) -> Vec<Result<RepositoryInfo, RegistryFailure>> {
        if repositories.is_empty() {
            return Vec::new();
        }
        let deadline = self.deadline();
        let backend = match self.backend(deadline) {
            Ok(backend) => backend,
            Err(failure) => return repositories.iter().map(|_| Err(failure.clone())).collect(),
        };
        // One call per repository: a single missing name fails a multi-name call entirely.
        let answers = backend.runtime.block_on(async {
            let mut set = tokio::task::JoinSet::new();
            for (index, repository) in repositories.iter().cloned().enumerate() {
                let request = backend
                    .client
                    .describe_repositories()
                    .set_registry_id(self.config.registry_id.clone())
                    .repository_names(repository);
                set.spawn(async move { (index, request.send().await) });
            }
            let mut answers: Vec<Option<_>> = repositories.iter().map(|_| None).collect();
            let _ = tokio::time::timeout_at(deadline, async {
                while let Some(joined) = set.join_next().await {
                    if let Ok((index, answer)) = joined {
                        answers[index] = Some(answer);
                    }
                }
            })
            .await;
            set.abort_all();
            answers
        });
        repositories
            .iter()
            .zip(answers)
            .map(|(repository, answer)| match answer {
                None => Err(self.timed_out(&format!("describing {repository}"))),
                Some(Err(err)) => Err(self.failure(&err, "ecr:DescribeRepositories", repository)),
                Some(Ok(output)) => {
                    let found = output
                        .repositories()
                        .iter()
                        .find(|r| r.repository_name() == Some(repository.as_str()));
                    let Some(found) = found else {
                        return Err(RegistryFailure {
                            kind: FailureKind::RepositoryNotFound,
                            message: format!("repository {repository} does not exist in ECR"),
                            hint: "create it, or fix [registry] repository in git-release.toml"
                                .into(),
                        });
                    };
                    let mutability = found.image_tag_mutability();
                    Ok(RepositoryInfo {
                        repository: repository.clone(),
                        uri: found.repository_uri().map(str::to_string),
                        tag_mutability: mutability
                            .map(|m| m.as_str().to_string())
                            .unwrap_or_else(|| "MUTABLE".into()),
                        immutable: matches!(mutability, Some(ImageTagMutability::Immutable)),
                        versioning: None,
                        notes: Vec::new(),
                        copy: None,
                    })
                }
            })
            .collect()
    }
}

/// ECR's answer for one requested tag.
enum Answer<'a> {
    /// The image.
    Found(&'a aws_sdk_ecr::types::Image),
    /// Listed in `failures[]` (usually `ImageNotFound`).
    Failed(&'a aws_sdk_ecr::types::ImageFailure),
    /// Neither: the answer is incomplete.
    None,
}

/// Pairs each requested tag with its entry in a `BatchGetImage` answer, in request order.
///
/// Entries whose `imageTag` equals the request match first. A tag that is neither matched
/// nor in `failures[]` takes the next unclaimed image in answer order: moto labels every
/// entry with the image's *latest* tag rather than the requested one, so after a
/// promotion the commit tag comes back labelled with the release tag.
fn match_answers<'a>(
    requested: &[String],
    output: &'a aws_sdk_ecr::operation::batch_get_image::BatchGetImageOutput,
) -> Vec<Answer<'a>> {
    let images = output.images();
    let mut claimed = vec![false; images.len()];
    let mut answers: Vec<Answer<'a>> = requested.iter().map(|_| Answer::None).collect();
    for (tag, answer) in requested.iter().zip(answers.iter_mut()) {
        let exact = images.iter().enumerate().position(|(i, image)| {
            !claimed[i] && image.image_id().and_then(|id| id.image_tag()) == Some(tag.as_str())
        });
        if let Some(i) = exact {
            claimed[i] = true;
            *answer = Answer::Found(&images[i]);
        } else if let Some(failure) = output
            .failures()
            .iter()
            .find(|f| f.image_id().and_then(|id| id.image_tag()) == Some(tag.as_str()))
        {
            *answer = Answer::Failed(failure);
        }
    }
    for answer in answers.iter_mut() {
        if matches!(answer, Answer::None) {
            if let Some(i) = claimed.iter().position(|c| !c) {
                claimed[i] = true;
                *answer = Answer::Found(&images[i]);
            }
        }
    }
    answers
}

/// The `mediaType` field of a manifest, when ECR does not say.
fn media_type_of(manifest: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(manifest).ok()?;
    value.get("mediaType")?.as_str().map(str::to_string)
}

/// The failure for an answer whose digest is not `sha256:<64 hex>`: a registry that
/// answers garbage has not said the image exists, so the image is not taken as present.
fn bad_digest(repository: &str, tag: &str, bad: &BadDigest) -> RegistryFailure {
    RegistryFailure {
        kind: FailureKind::Other,
        message: format!(
            "ECR answered for {}:{} with a malformed digest: {bad}",
            crate::text::line(repository),
            crate::text::line(tag)
        ),
        hint: "check the endpoint (AWS_ENDPOINT_URL) and the registry; a real ECR always answers sha256 digests".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_digests_are_failures() {
        let failure = bad_digest(
            "api-image",
            "abc",
            &Digest::parse("sha256:\u{1b}[2J").expect_err("bad"),
        );
        assert_eq!(failure.kind, FailureKind::Other);
        assert!(failure.message.contains("\\x1b[2J"), "{}", failure.message);
        assert!(crate::text::is_displayable(&failure.message));
    }

    #[test]
    fn new_does_not_initialise_the_sdk() {
        let ecr = Ecr::new(&RegistryConfig::default());
        assert!(!ecr.initialised());
        let _ = ecr.describe();
        assert!(!ecr.initialised());
        assert!(ecr.check(&[]).is_empty());
        assert!(!ecr.initialised(), "an empty check must not touch AWS");
    }

    #[test]
    fn media_type_comes_from_the_manifest() {
        assert_eq!(
            media_type_of(
                r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json"}"#
            )
            .as_deref(),
            Some("application/vnd.oci.image.index.v1+json")
        );
        assert_eq!(media_type_of("not json"), None);
    }
}
