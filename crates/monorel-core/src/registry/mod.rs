//! Where the artifacts live, behind one trait.
//!
//! A release stands on an *artifact* of its commit: an image in a registry (ECR) or an
//! object in a bucket (S3). A release tag is only allowed on a commit whose artifact
//! exists, and promotion gives that artifact its release name, server-side. Every check
//! is batched: the caller asks once for all artifacts of one push and each backend
//! answers in the fewest round trips it can (ECR: one `BatchGetImage` per repository; S3:
//! bounded concurrent HEADs). [`Stores`] routes each service to its store and asks the
//! stores of one push concurrently. The trait is synchronous; a backend that needs an
//! async client keeps its own runtime, which keeps tokio out of every caller and off the
//! paths that never touch a store.
//!
//! The module keeps the name `registry` because `git-release.toml` calls stores
//! registries (`[registry]`, `[registries.<name>]`).

use serde::Serialize;

use crate::config::{Config, RegistryConfig, RegistryKind};

#[cfg(feature = "ecr")]
pub mod ecr;
mod identity;
mod not_built;
#[cfg(feature = "oci")]
pub mod oci;
#[cfg(feature = "s3")]
pub mod s3;
mod stores;

pub use identity::{Identity, ObjectIdentity, SameContent};
pub use stores::{Progress, Stores, Wanted};

/// One image: a repository and a tag in it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ImageRef {
    /// The repository, like `service-a-image`.
    pub repository: String,
    /// The tag, like the commit's full sha.
    pub tag: String,
}

impl std::fmt::Display for ImageRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.repository, self.tag)
    }
}

/// One object: a bucket and a key in it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ObjectRef {
    /// The bucket, like `acme-lambda-artifacts`.
    pub bucket: String,
    /// The key, like `lambda-a-<commit sha>`.
    pub key: String,
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

/// An artifact: what a release stands on. In JSON it is the image's or the object's own
/// fields (`repository`, `tag` or `bucket`, `key`), so image outputs read as they did.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(untagged)]
pub enum ArtifactRef {
    /// An image in a registry.
    Image(ImageRef),
    /// An object in a bucket.
    Object(ObjectRef),
}

impl ArtifactRef {
    /// The word for it in messages: `image` or `object`.
    pub fn noun(&self) -> &'static str {
        match self {
            ArtifactRef::Image(_) => "image",
            ArtifactRef::Object(_) => "object",
        }
    }

    /// Where it lives: the image repository or the bucket.
    pub fn location(&self) -> &str {
        match self {
            ArtifactRef::Image(image) => &image.repository,
            ArtifactRef::Object(object) => &object.bucket,
        }
    }

    /// Its name within [`ArtifactRef::location`]: the image tag or the object key.
    pub fn name(&self) -> &str {
        match self {
            ArtifactRef::Image(image) => &image.tag,
            ArtifactRef::Object(object) => &object.key,
        }
    }

    /// The image, when it is one.
    pub fn as_image(&self) -> Option<&ImageRef> {
        match self {
            ArtifactRef::Image(image) => Some(image),
            ArtifactRef::Object(_) => None,
        }
    }

    /// The object, when it is one.
    pub fn as_object(&self) -> Option<&ObjectRef> {
        match self {
            ArtifactRef::Object(object) => Some(object),
            ArtifactRef::Image(_) => None,
        }
    }
}

impl std::fmt::Display for ArtifactRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ArtifactRef::Image(image) => image.fmt(f),
            ArtifactRef::Object(object) => object.fmt(f),
        }
    }
}

impl From<ImageRef> for ArtifactRef {
    fn from(image: ImageRef) -> Self {
        ArtifactRef::Image(image)
    }
}

impl From<ObjectRef> for ArtifactRef {
    fn from(object: ObjectRef) -> Self {
        ArtifactRef::Object(object)
    }
}

/// The answer for one artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum ArtifactStatus {
    /// The artifact exists; its content identity (an image's `digest`, an object's
    /// `etag`, `checksum_sha256`, `version_id` and `size`).
    Present(Identity),
    /// The repository or bucket exists but holds no such image or object.
    Missing,
    /// `kind = "none"`: nothing was checked.
    Unchecked,
    /// The store could not answer for this artifact.
    Failed(RegistryFailure),
}

/// Why a store could not answer. The kebab-case names are stable (JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureKind {
    /// The image repository does not exist.
    RepositoryNotFound,
    /// The repository exists but the image to read (promote's source) does not.
    ImageNotFound,
    /// The bucket does not exist.
    BucketNotFound,
    /// The bucket exists but the object to read (promote's source) does not.
    ObjectNotFound,
    /// The credentials lack a permission.
    AccessDenied,
    /// No credentials, or expired ones (SSO).
    NoCredentials,
    /// The store asked us to slow down.
    Throttled,
    /// No answer in time.
    Timeout,
    /// The endpoint could not be reached.
    Unreachable,
    /// A release name already names other content, or a condition of a write failed
    /// (the source changed, or the release name appeared meanwhile).
    Conflict,
    /// The artifact cannot be promoted in one server-side call (an object over 5 GB).
    TooLarge,
    /// The registry answered with a server error (HTTP 5xx) after its retries.
    ServerError,
    /// Anything else the registry said.
    Other,
}

impl FailureKind {
    /// Whether the answer means that the artifact does not exist.
    ///
    /// Such an answer is a verdict, not an outage: the hook and `check` refuse the tag
    /// whatever `[hook] on-registry-error` says, and the exit code is 1 (refused by a rule).
    pub fn means_absent(self) -> bool {
        matches!(
            self,
            FailureKind::RepositoryNotFound
                | FailureKind::ImageNotFound
                | FailureKind::BucketNotFound
                | FailureKind::ObjectNotFound
        )
    }

    /// Whether the failure only means "could not ask right now", the one case that
    /// `[hook] on-registry-error = "warn"` may let through.
    ///
    /// Access denied is not among them, on purpose: it does not go away by retrying, so
    /// letting it through would switch the artifact rule off for good without anyone
    /// noticing; and ECR answers `AccessDenied` for a repository outside the policy's
    /// resources whether or not it exists (S3 answers 403 for a missing key without
    /// `s3:ListBucket`), so it may well hide a missing artifact.
    /// Unclassified answers ([`FailureKind::Other`]) are not known to be transient either.
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            FailureKind::NoCredentials
                | FailureKind::Throttled
                | FailureKind::Timeout
                | FailureKind::Unreachable
                | FailureKind::ServerError
        )
    }

    /// Whether the failure refuses a promotion for a reason in the store's content (exit
    /// 1), rather than the store being unavailable (exit 4).
    pub fn refuses(self) -> bool {
        self.means_absent() || matches!(self, FailureKind::Conflict | FailureKind::TooLarge)
    }
}

/// A registry failure with the fix, as shown to people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct RegistryFailure {
    /// The class of failure, stable for scripts.
    pub kind: FailureKind,
    /// What went wrong, on one line.
    pub message: String,
    /// What to do about it.
    pub hint: String,
}

/// What [`Registry::promote`] is asked to do: give `source` the release name `target`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PromoteRequest {
    /// The commit's artifact.
    pub source: ArtifactRef,
    /// The release's artifact: same repository or bucket, the release name.
    pub target: ArtifactRef,
    /// The commit (40 hex) the release tag names, recorded on objects as a tag.
    pub commit: String,
    /// The release tag, recorded on objects as a tag.
    pub tag: String,
    /// Replace a release name that holds other content (where the store keeps the old).
    pub force: bool,
}

impl PromoteRequest {
    /// Both sides as images, or the failure that names the side that is not one: an
    /// image registry asked to promote an object is a configuration mistake, never a yes.
    /// `store` is the asking backend's [`Registry::describe`].
    pub fn images(&self, store: &str) -> Result<(&ImageRef, &ImageRef), RegistryFailure> {
        self.both(store, ArtifactRef::as_image)
    }

    /// Both sides as objects, or the failure that names the side that is not one.
    pub fn objects(&self, store: &str) -> Result<(&ObjectRef, &ObjectRef), RegistryFailure> {
        self.both(store, ArtifactRef::as_object)
    }

    fn both<'a, T>(
        &'a self,
        store: &str,
        kind: impl Fn(&'a ArtifactRef) -> Option<&'a T>,
    ) -> Result<(&'a T, &'a T), RegistryFailure> {
        match (kind(&self.source), kind(&self.target)) {
            (Some(source), Some(target)) => Ok((source, target)),
            (None, _) => Err(wrong_kind(store, &self.source)),
            (Some(_), None) => Err(wrong_kind(store, &self.target)),
        }
    }
}

/// The outcome of [`Registry::promote`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Promotion {
    /// The artifact that was read (by commit).
    pub source: ArtifactRef,
    /// The artifact under the release name.
    pub target: ArtifactRef,
    /// The content both now hold: `digest` for an image; `etag`, `checksum_sha256`,
    /// `version_id` and `size` of the release object for an object.
    #[serde(flatten)]
    pub identity: Identity,
    /// The image manifest's media type (images only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// False when the release name already held this content (promotion is idempotent).
    pub changed: bool,
    /// The digest the release tag named before, when `--force` moved it (images).
    pub previous_digest: Option<String>,
    /// The version the release key held before, when `--force` replaced it in a
    /// versioned bucket (objects): it survives under that version id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_version_id: Option<String>,
}

/// What `doctor` learns about one image repository or bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RepositoryInfo {
    /// The repository's or bucket's name.
    pub repository: String,
    /// Its URI, like `123456789012.dkr.ecr.eu-west-1.amazonaws.com/service-a-image` or
    /// `s3://bucket`.
    pub uri: Option<String>,
    /// The store's own word for how a release name is protected: tag mutability
    /// (`IMMUTABLE`, `MUTABLE`) for images, bucket versioning (`Enabled`, `Suspended`,
    /// `Disabled`) for objects.
    pub tag_mutability: String,
    /// Whether a release can never be lost: immutable tags, or a versioned bucket (a
    /// replaced object survives as an older version).
    pub immutable: bool,
    /// Bucket versioning, for buckets (`Enabled`, `Suspended`, `Disabled`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub versioning: Option<String>,
    /// What the credentials were seen to be allowed (`read`) or refused, for buckets.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Whether the credentials may promote into it, for buckets, proven without a
    /// write ([`Registry::inspect_with_probe`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub copy: Option<CopyProof>,
}

/// What a `doctor` probe learnt about the right to promote (copy) into a store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CopyProof {
    /// The finding.
    pub verdict: CopyVerdict,
    /// One line saying what was tried and what it showed.
    pub detail: String,
    /// What to do, when something is to be done.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// The finding of a [`CopyProof`]. Only [`CopyVerdict::CanCopy`] is a yes: a probe that
/// could not tell, or a store that answered in a way the proof does not rely on, is never
/// read as one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CopyVerdict {
    /// The store authorised the copy and refused it only on its precondition.
    CanCopy,
    /// The store denied the copy.
    CannotCopy,
    /// Nothing was tried yet (no object to copy from, no service of the store).
    Unproven,
    /// The probe failed for another reason (timeout, credentials, a server error).
    Failed,
    /// The store ignored the precondition and wrote the probe object: it must be deleted.
    ProbeWritten,
}

/// The release a `doctor` copy probe pretends to promote: a real service of the store,
/// with a version no release can have, so the probe's key is one the store's
/// `release-key` template produces (an IAM policy that limits `s3:PutObject` to release
/// keys is what gets tested) and yet never the key of a real release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseProbe {
    /// The service, one that uses the store.
    pub service: String,
    /// The probe's tag: the tag template with [`PROBE_VERSION`].
    pub tag: String,
    /// [`PROBE_VERSION`].
    pub version: String,
}

/// The version of a [`ReleaseProbe`]. It contains `..`, which git forbids in a ref name
/// (so no release tag, and no key rendered from `{tag}`, can hold it) and which semver
/// forbids in a version (an empty pre-release identifier, so no key rendered from
/// `{version}` can either), while staying within S3's safe key characters.
pub const PROBE_VERSION: &str = "0.0.0-git-release..doctor-probe";

impl ReleaseProbe {
    /// The probe release of `service`, named by the configured tag template.
    pub fn new(config: &Config, service: &str) -> ReleaseProbe {
        let template = config.tag_template();
        ReleaseProbe {
            service: service.to_string(),
            tag: format!(
                "{}{PROBE_VERSION}{}",
                template.prefix(service),
                template.suffix()
            ),
            version: PROBE_VERSION.to_string(),
        }
    }
}

/// Where the registry's region and credentials come from, as far as `doctor` can tell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Access {
    /// The region requests go to, when one was resolved.
    pub region: Option<String>,
    /// Where that region came from (`git-release.toml` or the AWS environment).
    pub region_source: String,
    /// The endpoint when it is overridden (`AWS_ENDPOINT_URL`), else `None`.
    pub endpoint: Option<String>,
    /// The AWS profile in use, when one is named.
    pub profile: Option<String>,
    /// When the credentials expire (RFC 3339), if they are temporary. Never the secrets.
    pub credentials_expire: Option<String>,
    /// Why credentials could not be resolved, if they could not.
    pub credentials_error: Option<RegistryFailure>,
}

/// A store of artifacts: an image registry or a bucket. `Send + Sync` because the
/// stores of one push are asked concurrently.
pub trait Registry: Send + Sync {
    /// Returns a short description for messages, like `ECR (eu-west-1)`.
    fn describe(&self) -> String;

    /// Answers for every artifact, in the order given, in as few round trips as the
    /// backend can. An artifact of a kind the store does not hold is a failure.
    fn check(&self, artifacts: &[ArtifactRef]) -> Vec<ArtifactStatus>;

    /// Gives the source's content the release name, server-side, without any content
    /// passing through the client.
    ///
    /// Succeeds without a change when the release name already holds that content;
    /// refuses with [`FailureKind::Conflict`] when it holds other content, unless
    /// `force` and the store keeps what it replaces (or allows moving tags).
    fn promote(&self, request: &PromoteRequest) -> Result<Promotion, RegistryFailure>;

    /// Resolves region and credentials without calling the registry's API (for `doctor`).
    fn access(&self) -> Access {
        Access {
            region: None,
            region_source: "not used".into(),
            endpoint: None,
            profile: None,
            credentials_expire: None,
            credentials_error: None,
        }
    }

    /// Describes each repository or bucket, in the order given (for `doctor`).
    fn inspect_repositories(
        &self,
        repositories: &[String],
    ) -> Vec<Result<RepositoryInfo, RegistryFailure>> {
        repositories
            .iter()
            .map(|_| {
                Err(RegistryFailure {
                    kind: FailureKind::Other,
                    message: format!("{} cannot describe repositories", self.describe()),
                    hint: "nothing to do".into(),
                })
            })
            .collect()
    }

    /// Like [`Registry::inspect_repositories`], and also proves, where the backend can
    /// do so without writing, that the credentials may promote `probe` (a release that
    /// can never exist) into each store ([`RepositoryInfo::copy`]). Backends without
    /// such a proof answer as [`Registry::inspect_repositories`] does.
    fn inspect_with_probe(
        &self,
        repositories: &[String],
        probe: Option<&ReleaseProbe>,
    ) -> Vec<Result<RepositoryInfo, RegistryFailure>> {
        let _ = probe;
        self.inspect_repositories(repositories)
    }
}

#[cfg(feature = "aws")]
impl From<crate::aws::Worded> for RegistryFailure {
    fn from(worded: crate::aws::Worded) -> RegistryFailure {
        use crate::aws::Class;
        RegistryFailure {
            kind: match worded.class {
                Class::Timeout => FailureKind::Timeout,
                Class::Unreachable => FailureKind::Unreachable,
                Class::NoCredentials => FailureKind::NoCredentials,
                Class::Throttled => FailureKind::Throttled,
                Class::ServerError => FailureKind::ServerError,
                Class::Other => FailureKind::Other,
            },
            message: worded.message,
            hint: worded.hint,
        }
    }
}

#[cfg(feature = "aws")]
impl From<crate::aws::Resolved> for Access {
    fn from(resolved: crate::aws::Resolved) -> Access {
        let (credentials_expire, credentials_error) = match resolved.credentials {
            Ok(expiry) => (expiry, None),
            Err(worded) => (None, Some(worded.into())),
        };
        Access {
            region: resolved.region,
            region_source: resolved.region_source.into(),
            endpoint: resolved.endpoint,
            profile: resolved.profile,
            credentials_expire,
            credentials_error,
        }
    }
}

/// The failure for an artifact of a kind the store does not hold (an object asked of an
/// image registry): a configuration mistake, never a yes.
pub fn wrong_kind(store: &str, artifact: &ArtifactRef) -> RegistryFailure {
    RegistryFailure {
        kind: FailureKind::Other,
        message: format!(
            "{store} holds no {}s, but was asked for {}",
            artifact.noun(),
            crate::text::line(&artifact.to_string())
        ),
        hint: "check the service's `registry` and the store's `kind` in git-release.toml".into(),
    }
}

/// `kind = "none"`: the explicit opt-out, which answers [`ArtifactStatus::Unchecked`].
#[derive(Debug, Default)]
pub struct NoRegistry;

impl Registry for NoRegistry {
    fn describe(&self) -> String {
        "no registry (kind = \"none\")".into()
    }

    fn check(&self, artifacts: &[ArtifactRef]) -> Vec<ArtifactStatus> {
        artifacts
            .iter()
            .map(|_| ArtifactStatus::Unchecked)
            .collect()
    }

    fn promote(&self, _request: &PromoteRequest) -> Result<Promotion, RegistryFailure> {
        Err(RegistryFailure {
            kind: FailureKind::Other,
            message: "promote needs a store, but the service's store is kind = \"none\"".into(),
            hint: "set kind = \"ecr\" (or \"s3\") and its region in git-release.toml".into(),
        })
    }
}

/// Returns the backend of one store. Building it does no network I/O.
#[cfg_attr(not(all(feature = "ecr", feature = "s3")), allow(unused_variables))]
pub fn open_store(store: &RegistryConfig, name: Option<&str>) -> Box<dyn Registry> {
    match store.kind {
        RegistryKind::None => Box::new(NoRegistry),
        #[cfg(feature = "ecr")]
        RegistryKind::Ecr => Box::new(ecr::Ecr::named(store, name)),
        #[cfg(not(feature = "ecr"))]
        RegistryKind::Ecr => Box::new(not_built::NotBuilt::new("ecr", "ECR")),
        #[cfg(feature = "oci")]
        RegistryKind::Oci => Box::new(oci::Oci::new(store, name)),
        #[cfg(not(feature = "oci"))]
        RegistryKind::Oci => Box::new(not_built::NotBuilt::new("oci", "OCI registry")),
        #[cfg(feature = "s3")]
        RegistryKind::S3 => Box::new(s3::S3::new(store, name)),
        #[cfg(not(feature = "s3"))]
        RegistryKind::S3 => Box::new(not_built::NotBuilt::new("s3", "S3")),
    }
}

/// Returns the backend of `[registry]`, the default store. Building it does no network
/// I/O. Callers that deal with services use [`Stores`], which routes each to its store.
pub fn open(config: &Config) -> Box<dyn Registry> {
    open_store(&config.registry, None)
}

/// Returns the image CI built for `commit` of `service` (whatever the service's store).
pub fn commit_image(config: &Config, service: &str, commit: &str) -> ImageRef {
    ImageRef {
        repository: config.image_repository(service),
        tag: config.image_tag(service, commit),
    }
}

/// Returns the artifact CI built for `commit` (40 hex) of `service`, in its store: the
/// image under its commit tag, or the object under its commit key.
pub fn commit_artifact(config: &Config, service: &str, commit: &str) -> ArtifactRef {
    let (_, store) = config.store_of(service);
    match store.kind {
        RegistryKind::S3 => ArtifactRef::Object(ObjectRef {
            bucket: store.bucket.clone().unwrap_or_default(),
            key: store.object_key(service, commit),
        }),
        RegistryKind::Ecr | RegistryKind::Oci | RegistryKind::None => {
            ArtifactRef::Image(commit_image(config, service, commit))
        }
    }
}

/// Returns the artifact a release of `service` is promoted to: the image under the
/// release tag, or the object under the release key.
pub fn release_artifact(
    config: &Config,
    service: &str,
    tag: &str,
    version: &semver::Version,
) -> ArtifactRef {
    let (_, store) = config.store_of(service);
    match store.kind {
        RegistryKind::S3 => ArtifactRef::Object(ObjectRef {
            bucket: store.bucket.clone().unwrap_or_default(),
            key: store.release_object_key(service, tag, &version.to_string()),
        }),
        RegistryKind::Ecr | RegistryKind::Oci | RegistryKind::None => {
            ArtifactRef::Image(ImageRef {
                repository: config.image_repository(service),
                tag: tag.to_string(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(tag: &str) -> ArtifactRef {
        ArtifactRef::Image(ImageRef {
            repository: "svc-image".into(),
            tag: tag.into(),
        })
    }

    fn object(key: &str) -> ArtifactRef {
        ArtifactRef::Object(ObjectRef {
            bucket: "zips".into(),
            key: key.into(),
        })
    }

    fn request(source: ArtifactRef, target: ArtifactRef) -> PromoteRequest {
        PromoteRequest {
            source,
            target,
            commit: "a".repeat(40),
            tag: "svc-v1.0.0".into(),
            force: false,
        }
    }

    #[test]
    fn a_promotion_of_the_store_kind_gives_both_sides() {
        let images = request(image("abc"), image("svc-v1.0.0"));
        let (source, target) = images.images("ECR").expect("images");
        assert_eq!(
            (source.tag.as_str(), target.tag.as_str()),
            ("abc", "svc-v1.0.0")
        );
        let objects = request(object("svc-abc"), object("svc-v1.0.0"));
        let (source, target) = objects.objects("S3").expect("objects");
        assert_eq!(
            (source.key.as_str(), target.key.as_str()),
            ("svc-abc", "svc-v1.0.0")
        );
    }

    /// The failure names the side of the wrong kind, whichever it is: never a yes.
    #[test]
    fn a_side_of_the_other_kind_is_named_in_the_failure() {
        let source_odd = request(object("svc-abc"), image("svc-v1.0.0"));
        let failure = source_odd.images("ECR").expect_err("object source");
        assert!(
            failure.message.contains("s3://zips/svc-abc"),
            "{}",
            failure.message
        );
        let target_odd = request(image("abc"), object("svc-v1.0.0"));
        let failure = target_odd.images("ECR").expect_err("object target");
        assert!(
            failure.message.contains("s3://zips/svc-v1.0.0"),
            "{}",
            failure.message
        );
        let failure = source_odd.objects("S3").expect_err("image target");
        assert!(failure.message.contains("svc-image"), "{}", failure.message);
        assert!(
            failure.message.starts_with("S3 holds no images"),
            "{}",
            failure.message
        );
    }
}
