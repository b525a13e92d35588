//! Where the images live, behind one trait.
//!
//! A release tag is only allowed on a commit whose image `<repository>:<commit tag>`
//! exists. Every check is batched: one call answers for all images of one push, grouped
//! per repository, so a push of 50 tags costs about one round trip. The trait is
//! synchronous; a backend that needs an async client keeps its own runtime, which keeps
//! tokio out of every caller and off the paths that never touch a registry.

use serde::Serialize;

use crate::config::{Config, RegistryKind};

#[cfg(feature = "ecr")]
pub mod ecr;
mod not_built;
#[cfg(feature = "oci")]
pub mod oci;

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

/// The answer for one image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum ImageStatus {
    /// The image exists.
    Present {
        /// Its manifest digest, as the registry reports it.
        digest: String,
    },
    /// The repository exists but has no image with this tag.
    Missing,
    /// `kind = "none"`: nothing was checked.
    Unchecked,
    /// The registry could not answer for this image.
    Failed(RegistryFailure),
}

/// Why the registry could not answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureKind {
    /// The image repository does not exist.
    RepositoryNotFound,
    /// The repository exists but the image to read (promote's source) does not.
    ImageNotFound,
    /// The credentials lack a permission.
    AccessDenied,
    /// No credentials, or expired ones (SSO).
    NoCredentials,
    /// The registry asked us to slow down.
    Throttled,
    /// No answer in time.
    Timeout,
    /// The endpoint could not be reached.
    Unreachable,
    /// A release tag already names another image.
    Conflict,
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
            FailureKind::RepositoryNotFound | FailureKind::ImageNotFound
        )
    }

    /// Whether the failure only means "could not ask right now", the one case that
    /// `[hook] on-registry-error = "warn"` may let through.
    ///
    /// Access denied is not among them, on purpose: it does not go away by retrying, so
    /// letting it through would switch the image rule off for good without anyone
    /// noticing; and ECR answers `AccessDenied` for a repository outside the policy's
    /// resources whether or not it exists, so it may well hide a missing artifact.
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

/// The outcome of [`Registry::promote`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Promotion {
    /// The image that was read (by commit tag).
    pub source: ImageRef,
    /// The image under the release tag.
    pub target: ImageRef,
    /// The manifest digest both now name.
    pub digest: String,
    /// The manifest's media type.
    pub media_type: String,
    /// False when the release tag already named this manifest (promotion is idempotent).
    pub changed: bool,
    /// The digest the release tag named before, when `--force` moved it.
    pub previous_digest: Option<String>,
}

/// What `doctor` learns about one image repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RepositoryInfo {
    /// The repository's name.
    pub repository: String,
    /// Its URI, like `123456789012.dkr.ecr.eu-west-1.amazonaws.com/service-a-image`.
    pub uri: Option<String>,
    /// The registry's own word for tag mutability, like `IMMUTABLE` or `MUTABLE`.
    pub tag_mutability: String,
    /// Whether an existing tag can never be moved (what release tags want).
    pub immutable: bool,
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

/// An image registry.
pub trait Registry {
    /// Returns a short description for messages, like `ECR (eu-west-1)`.
    fn describe(&self) -> String;

    /// Answers for every image, in the order given.
    fn check(&self, images: &[ImageRef]) -> Vec<ImageStatus>;

    /// Gives `source`'s manifest the tag `target_tag` in the same repository, server-side.
    ///
    /// Succeeds without a change when the tag already names that manifest; refuses with
    /// [`FailureKind::Conflict`] when it names another one, unless `force`.
    fn promote(
        &self,
        source: &ImageRef,
        target_tag: &str,
        force: bool,
    ) -> Result<Promotion, RegistryFailure>;

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

    /// Describes each repository, in the order given (for `doctor`).
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
}

/// `kind = "none"`: the explicit opt-out, which answers [`ImageStatus::Unchecked`].
#[derive(Debug, Default)]
pub struct NoRegistry;

impl Registry for NoRegistry {
    fn describe(&self) -> String {
        "no registry (kind = \"none\")".into()
    }

    fn check(&self, images: &[ImageRef]) -> Vec<ImageStatus> {
        images.iter().map(|_| ImageStatus::Unchecked).collect()
    }

    fn promote(
        &self,
        _source: &ImageRef,
        _target_tag: &str,
        _force: bool,
    ) -> Result<Promotion, RegistryFailure> {
        Err(RegistryFailure {
            kind: FailureKind::Other,
            message:
                "promote needs a registry, but git-release.toml sets [registry] kind = \"none\""
                    .into(),
            hint: "set [registry] kind = \"ecr\" and its region".into(),
        })
    }
}

/// Returns the registry the configuration names. Building it does no network I/O.
pub fn open(config: &Config) -> Box<dyn Registry> {
    match config.registry.kind {
        RegistryKind::None => Box::new(NoRegistry),
        #[cfg(feature = "ecr")]
        RegistryKind::Ecr => Box::new(ecr::Ecr::new(&config.registry)),
        #[cfg(not(feature = "ecr"))]
        RegistryKind::Ecr => Box::new(not_built::NotBuilt::new("ecr", "ECR")),
        #[cfg(feature = "oci")]
        RegistryKind::Oci => Box::new(oci::Oci::new(&config.registry)),
        #[cfg(not(feature = "oci"))]
        RegistryKind::Oci => Box::new(not_built::NotBuilt::new("oci", "OCI registry")),
    }
}

/// Returns the image CI built for `commit` of `service`.
pub fn commit_image(config: &Config, service: &str, commit: &str) -> ImageRef {
    ImageRef {
        repository: config.image_repository(service),
        tag: config.image_tag(service, commit),
    }
}
