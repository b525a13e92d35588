//! Amazon S3 (Lambda zips and other build objects), on `aws-config` + `aws-sdk-s3`.
//!
//! Shaped by what S3 and the SDK do (FACTS.md, "S3"):
//! - **Existence** is one `HeadObject` per artifact with `ChecksumMode` enabled, so the
//!   answer carries the SHA-256 checksum S3 keeps. S3 has no batch read, so the heads of
//!   one push run concurrently on one client (one connection pool) with a bounded
//!   fan-out ([`FAN_OUT`]) sized to cover a push's worth of objects: 50 objects cost
//!   one round trip, as ECR's `BatchGetImage` and the OCI backend's heads do, and a push
//!   of 1,000 does not open 1,000 connections. A HEAD answer has no body, so a 404 cannot say whether the bucket or
//!   the key is missing: the bucket of any 404 is asked once (`HeadBucket`).
//! - **Promotion** is one server-side `CopyObject` (no byte passes through the client),
//!   after a `HeadObject` of the source and one of the release key: three calls. The
//!   copy is conditional on the source's ETag (`x-amz-copy-source-if-match`) and on the
//!   release key not existing (`If-None-Match: *`), so a concurrent promotion or a
//!   changed source can never be overwritten silently; it replaces the object tags with
//!   `git-release-commit` and `git-release-tag`, so the object names its commit without
//!   git, and keeps the SHA-256 checksum. Content is compared by checksum, never by
//!   ETag ([`ObjectIdentity::same_content`]).
//! - **Laziness and bounds** come from [`crate::aws::Session`], shared with ECR.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::OnceLock;
use std::time::Duration;

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::copy_object::builders::CopyObjectFluentBuilder;
use aws_sdk_s3::operation::head_object::builders::HeadObjectFluentBuilder;
use aws_sdk_s3::operation::head_object::{HeadObjectError, HeadObjectOutput};
use aws_sdk_s3::types::{
    BucketVersioningStatus, ChecksumAlgorithm, ChecksumMode, TaggingDirective,
};
use aws_sdk_s3::Client;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use tokio::time::Instant;

use super::{
    Access, ArtifactRef, ArtifactStatus, FailureKind, Identity, ObjectIdentity, ObjectRef,
    PromoteRequest, Promotion, Registry, RegistryFailure, ReleaseProbe, RepositoryInfo,
    SameContent,
};
use crate::aws::{block_on_until, Loaded, Session, Settings};
use crate::config::RegistryConfig;

mod copy_probe;
mod errors;

/// How many HEADs of one check are in flight at once. It covers a large push in one
/// round trip (issue 12's benchmark: 50 objects within 2x of one; 16 took four round
/// trips and 3.6x behind 100 ms of latency) while bounding the connections one check
/// opens; the OCI backend uses the same bound. S3 itself allows thousands of reads per
/// second per prefix.
pub const FAN_OUT: usize = 64;

/// The largest object one `CopyObject` can copy (5 GiB); beyond it S3 needs a multipart
/// copy, which this backend does not do rather than leave half a copy behind.
pub const COPY_LIMIT: u64 = 5 * 1024 * 1024 * 1024;

/// The object tag that names the commit of a promoted object.
pub const COMMIT_TAG: &str = "git-release-commit";
/// The object tag that names the release of a promoted object.
pub const RELEASE_TAG: &str = "git-release-tag";

/// The S3 backend.
#[derive(Debug)]
pub struct S3 {
    config: RegistryConfig,
    /// `[registry]` or `[registries.<name>]`, for messages.
    section: String,
    session: Session,
    client: OnceLock<Client>,
}

/// What the first call builds.
#[derive(Debug, Clone, Copy)]
struct Backend<'a> {
    loaded: &'a Loaded,
    client: &'a Client,
}

/// The answer of one `HeadObject`.
enum Head {
    Found(ObjectIdentity),
    /// HTTP 404: no such key, or no such bucket (a HEAD answer cannot say which).
    NotFound,
    Failed(RegistryFailure),
    /// A 400 or 403 without a body (every HEAD error): denied, or credentials that are
    /// wrong or expired, which only a call with a body can tell apart
    /// ([`S3::explain`]).
    Unexplained(RegistryFailure),
}

impl S3 {
    /// Prepares a client for the store `[registries.<name>]` (`None`: `[registry]`); no
    /// I/O happens and the SDK is not touched until the first call.
    pub fn new(config: &RegistryConfig, name: Option<&str>) -> S3 {
        let section = match name {
            Some(name) => format!("[registries.{}]", crate::text::line(name)),
            None => "[registry]".into(),
        };
        S3 {
            config: config.clone(),
            session: Session::new(Settings {
                service: "S3",
                endpoint_env: "S3",
                region: config.region.clone(),
                region_key: format!("{section} region"),
                timeout: Duration::from_secs(config.timeout_seconds),
                connect_timeout: Duration::from_secs(config.connect_timeout_seconds),
            }),
            section,
            client: OnceLock::new(),
        }
    }

    /// Returns whether the SDK was initialised (tests and benchmarks assert laziness).
    pub fn initialised(&self) -> bool {
        self.session.initialised()
    }

    fn bucket(&self) -> &str {
        self.config.bucket.as_deref().unwrap_or_default()
    }

    /// Loads the AWS configuration and builds the client, once. Path-style addressing
    /// when the endpoint is overridden: a local endpoint (moto, MinIO) has no
    /// `<bucket>.host` names.
    fn backend(&self, deadline: Instant) -> Result<Backend<'_>, RegistryFailure> {
        let loaded = self
            .session
            .load(deadline)
            .map_err(|e| RegistryFailure::from(self.voice().session_failure(&e)))?;
        let client = self.client.get_or_init(|| {
            let mut builder = aws_sdk_s3::config::Builder::from(&loaded.sdk);
            if self.session.endpoint_override().is_some() {
                builder = builder.force_path_style(true);
            }
            Client::from_conf(builder.build())
        });
        Ok(Backend { loaded, client })
    }

    /// Heads one object (checksum mode on).
    async fn head(&self, client: Client, object: ObjectRef) -> Head {
        let answer = head_request(&client, &object).send().await;
        self.read_head(&object, answer)
    }

    /// Reads a `HeadObject` answer.
    fn read_head(
        &self,
        object: &ObjectRef,
        answer: Result<HeadObjectOutput, SdkError<HeadObjectError, HttpResponse>>,
    ) -> Head {
        match answer {
            Ok(out) => match identity(
                out.e_tag(),
                out.checksum_sha256(),
                out.version_id(),
                out.content_length(),
            ) {
                Some(identity) => Head::Found(identity),
                None => Head::Failed(RegistryFailure {
                    kind: FailureKind::Other,
                    message: format!(
                        "S3 answered for {} without an ETag or size",
                        crate::text::line(&object.to_string())
                    ),
                    hint: "check the endpoint (AWS_ENDPOINT_URL); a real S3 always sends both"
                        .into(),
                }),
            },
            Err(err) if status_of(&err) == Some(404) => Head::NotFound,
            Err(err) => {
                let failure = self.failure(&err, "s3:GetObject", object);
                let bodiless = err
                    .raw_response()
                    .is_some_and(|r| r.body().bytes().is_none_or(<[u8]>::is_empty));
                if bodiless && matches!(status_of(&err), Some(400 | 403)) {
                    Head::Unexplained(failure)
                } else {
                    Head::Failed(failure)
                }
            }
        }
    }

    /// Explains a bodiless 400 or 403 to a HEAD with one call that has a body
    /// (`GetBucketVersioning` on the bucket): returns the credentials failure when that
    /// call says the credentials are wrong or expired, else `None` (the HEAD's own
    /// access-denied reading stands). Only failures pay for it.
    fn explain(
        &self,
        backend: Backend<'_>,
        bucket: &str,
        deadline: Instant,
    ) -> Option<RegistryFailure> {
        let answer = block_on_until(
            &backend.loaded.runtime,
            deadline,
            backend.client.get_bucket_versioning().bucket(bucket).send(),
        )
        .ok()?;
        let err = answer.err()?;
        let failure = self.failure(
            &err,
            "s3:GetBucketVersioning",
            &ObjectRef {
                bucket: bucket.to_string(),
                key: String::new(),
            },
        );
        (failure.kind == FailureKind::NoCredentials).then_some(failure)
    }

    /// Asks whether each bucket exists: `Ok(true)`, `Ok(false)` on 404, or the failure.
    async fn bucket_exists(&self, client: Client, bucket: String) -> Result<bool, RegistryFailure> {
        match client.head_bucket().bucket(&bucket).send().await {
            Ok(_) => Ok(true),
            Err(err) if status_of(&err) == Some(404) => Ok(false),
            Err(err) => Err(self.failure(
                &err,
                "s3:ListBucket",
                &ObjectRef {
                    bucket,
                    key: String::new(),
                },
            )),
        }
    }

    /// Heads every object, at most [`FAN_OUT`] at once, within `deadline`; `None` for
    /// those without an answer in time.
    fn head_all(
        &self,
        backend: Backend<'_>,
        objects: &[ObjectRef],
        deadline: Instant,
    ) -> Vec<Option<Head>> {
        let runtime = &backend.loaded.runtime;
        runtime.block_on(async {
            let mut answers: Vec<Option<Head>> = objects.iter().map(|_| None).collect();
            let _ = tokio::time::timeout_at(deadline, async {
                let mut set = tokio::task::JoinSet::new();
                let mut next = 0;
                loop {
                    while set.len() < FAN_OUT && next < objects.len() {
                        let object = objects[next].clone();
                        let client = backend.client.clone();
                        let index = next;
                        set.spawn(async move {
                            let answer = head_request(&client, &object).send().await;
                            (index, object, answer)
                        });
                        next += 1;
                    }
                    let Some(joined) = set.join_next().await else {
                        break;
                    };
                    if let Ok((index, object, answer)) = joined {
                        answers[index] = Some(self.read_head(&object, answer));
                    }
                }
            })
            .await;
            answers
        })
    }

    /// Reads the bucket's versioning: `Enabled`, `Suspended` or `Disabled` (never set).
    fn versioning(
        &self,
        backend: Backend<'_>,
        deadline: Instant,
    ) -> Result<String, RegistryFailure> {
        let bucket = self.bucket().to_string();
        let answer = block_on_until(
            &backend.loaded.runtime,
            deadline,
            backend
                .client
                .get_bucket_versioning()
                .bucket(&bucket)
                .send(),
        )
        .map_err(|_| self.timed_out(&format!("reading the versioning of bucket {bucket}")))?;
        match answer {
            Ok(out) => Ok(out
                .status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_else(|| "Disabled".into())),
            // moto 5 answers with a `GetBucketVersioningResponse` root, which the SDK
            // refuses; the answer is still a 200 with the `Status` element, read here.
            Err(err) if status_of(&err) == Some(200) => {
                let body = err
                    .raw_response()
                    .and_then(|r| r.body().bytes())
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default();
                Ok(match crate::aws::xml_field(&body, "Status").as_deref() {
                    Some("Enabled") => "Enabled".into(),
                    Some("Suspended") => "Suspended".into(),
                    _ => "Disabled".into(),
                })
            }
            Err(err) => Err(self.failure(
                &err,
                "s3:GetBucketVersioning",
                &ObjectRef {
                    bucket,
                    key: String::new(),
                },
            )),
        }
    }

    /// Proves (or disproves) that the credentials can read the store's objects: lists one
    /// key under the prefix (`ListObjectsV2`, `s3:ListBucket`) and heads it (`HeadObject`,
    /// `s3:GetObject`, what `check` needs). Returns the finding as a note, and the object
    /// read, which the copy probe copies from; an empty prefix leaves read access untried
    /// rather than assumed.
    fn read_proof(
        &self,
        backend: Backend<'_>,
        deadline: Instant,
        bucket: &str,
    ) -> (String, Option<copy_probe::Source>) {
        let prefix = self.config.prefix.clone().unwrap_or_default();
        let listed = block_on_until(
            &backend.loaded.runtime,
            deadline,
            backend
                .client
                .list_objects_v2()
                .bucket(bucket)
                .prefix(&prefix)
                .max_keys(1)
                .send(),
        );
        let key = match listed {
            Err(_) => {
                return (
                    "listing objects did not answer in time: read access untried".into(),
                    None,
                )
            }
            Ok(Err(err)) => {
                let failure = self.failure(
                    &err,
                    "s3:ListBucket",
                    &ObjectRef {
                        bucket: bucket.to_string(),
                        key: prefix,
                    },
                );
                return (format!("cannot list objects: {}", failure.message), None);
            }
            Ok(Ok(out)) => out
                .contents()
                .first()
                .and_then(|o| o.key())
                .map(str::to_string),
        };
        let Some(key) = key else {
            return (
                "no object under the prefix yet: read access (s3:GetObject) untried".into(),
                None,
            );
        };
        let object = ObjectRef {
            bucket: bucket.to_string(),
            key,
        };
        let answer = block_on_until(
            &backend.loaded.runtime,
            deadline,
            self.head(backend.client.clone(), object.clone()),
        );
        match answer {
            Err(_) => (
                "reading an object did not answer in time: read access untried".into(),
                None,
            ),
            Ok(Head::Found(identity)) => (
                format!(
                    "the credentials can read objects (s3:GetObject on {})",
                    crate::text::line(&object.key)
                ),
                Some(copy_probe::Source { object, identity }),
            ),
            Ok(Head::NotFound) => (
                format!(
                    "cannot read objects: no object {} in S3",
                    crate::text::line(&object.to_string())
                ),
                None,
            ),
            Ok(Head::Failed(failure) | Head::Unexplained(failure)) => {
                (format!("cannot read objects: {}", failure.message), None)
            }
        }
    }

    fn check_objects(&self, objects: &[ObjectRef]) -> Vec<ArtifactStatus> {
        if objects.is_empty() {
            return Vec::new();
        }
        let deadline = self.session.deadline();
        let backend = match self.backend(deadline) {
            Ok(backend) => backend,
            Err(failure) => {
                return objects
                    .iter()
                    .map(|_| ArtifactStatus::Failed(failure.clone()))
                    .collect()
            }
        };
        let unique: Vec<ObjectRef> = objects
            .iter()
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let heads = self.head_all(backend, &unique, deadline);

        // A 404 to a HEAD does not say what is missing: ask each such bucket once.
        let missing_buckets: BTreeSet<String> = unique
            .iter()
            .zip(&heads)
            .filter(|(_, head)| matches!(head, Some(Head::NotFound)))
            .map(|(object, _)| object.bucket.clone())
            .collect();
        let mut buckets: BTreeMap<String, Result<bool, RegistryFailure>> = BTreeMap::new();
        for bucket in missing_buckets {
            let answer = block_on_until(
                &backend.loaded.runtime,
                deadline,
                self.bucket_exists(backend.client.clone(), bucket.clone()),
            )
            .unwrap_or_else(|_| Err(self.timed_out(&format!("checking bucket {bucket}"))));
            buckets.insert(bucket, answer);
        }

        // A bodiless 400 or 403 does not say whether the credentials are at fault: one
        // call with a body per such bucket does.
        let unexplained: BTreeSet<&str> = unique
            .iter()
            .zip(&heads)
            .filter(|(_, head)| matches!(head, Some(Head::Unexplained(_))))
            .map(|(object, _)| object.bucket.as_str())
            .collect();
        let explained: BTreeMap<&str, Option<RegistryFailure>> = unexplained
            .into_iter()
            .map(|bucket| (bucket, self.explain(backend, bucket, deadline)))
            .collect();

        let mut statuses: HashMap<&ObjectRef, ArtifactStatus> = HashMap::new();
        for (object, head) in unique.iter().zip(heads) {
            let status = match head {
                None => ArtifactStatus::Failed(self.timed_out(&format!(
                    "checking {}",
                    crate::text::line(&object.to_string())
                ))),
                Some(Head::Found(identity)) => ArtifactStatus::Present(Identity::Object(identity)),
                Some(Head::Failed(failure)) => ArtifactStatus::Failed(failure),
                Some(Head::Unexplained(failure)) => ArtifactStatus::Failed(
                    explained
                        .get(object.bucket.as_str())
                        .cloned()
                        .flatten()
                        .unwrap_or(failure),
                ),
                Some(Head::NotFound) => match buckets.get(&object.bucket) {
                    Some(Ok(true)) => ArtifactStatus::Missing,
                    Some(Ok(false)) => ArtifactStatus::Failed(self.no_bucket(&object.bucket)),
                    Some(Err(failure)) => ArtifactStatus::Failed(failure.clone()),
                    None => ArtifactStatus::Missing,
                },
            };
            statuses.insert(object, status);
        }
        objects
            .iter()
            .map(|object| {
                statuses.get(object).cloned().unwrap_or_else(|| {
                    ArtifactStatus::Failed(RegistryFailure {
                        kind: FailureKind::Other,
                        message: format!(
                            "S3 did not answer for {}",
                            crate::text::line(&object.to_string())
                        ),
                        hint: "retry; this should not happen".into(),
                    })
                })
            })
            .collect()
    }

    fn no_bucket(&self, bucket: &str) -> RegistryFailure {
        RegistryFailure {
            kind: FailureKind::BucketNotFound,
            message: format!(
                "bucket {} does not exist in S3 ({})",
                crate::text::line(bucket),
                self.session.region_name().unwrap_or_else(|| "no region".into())
            ),
            hint: format!(
                "check the name: it comes from {} bucket in git-release.toml; create the bucket if CI has never uploaded to it",
                self.section
            ),
        }
    }

    /// Heads one object on its own (promotion), with the bucket asked on a 404.
    fn head_one(
        &self,
        backend: Backend<'_>,
        object: &ObjectRef,
        deadline: Instant,
    ) -> Result<Option<ObjectIdentity>, RegistryFailure> {
        let shown = crate::text::line(&object.to_string()).into_owned();
        let head = block_on_until(
            &backend.loaded.runtime,
            deadline,
            self.head(backend.client.clone(), object.clone()),
        )
        .map_err(|_| self.timed_out(&format!("reading {shown}")))?;
        match head {
            Head::Found(identity) => Ok(Some(identity)),
            Head::NotFound => Ok(None),
            Head::Failed(failure) => Err(failure),
            Head::Unexplained(failure) => Err(self
                .explain(backend, &object.bucket, deadline)
                .unwrap_or(failure)),
        }
    }
}

/// A `HeadObject` request that asks for the checksum too.
fn head_request(client: &Client, object: &ObjectRef) -> HeadObjectFluentBuilder {
    client
        .head_object()
        .bucket(&object.bucket)
        .key(&object.key)
        .checksum_mode(ChecksumMode::Enabled)
}

/// The identity in a HEAD or copy answer; `None` without an ETag or size.
fn identity(
    etag: Option<&str>,
    checksum: Option<&str>,
    version: Option<&str>,
    size: Option<i64>,
) -> Option<ObjectIdentity> {
    let etag = etag?.trim_matches('"');
    let size = u64::try_from(size?).ok()?;
    Some(ObjectIdentity {
        etag: crate::text::line(etag).into_owned(),
        checksum_sha256: checksum.map(|c| crate::text::line(c).into_owned()),
        // An unversioned bucket answers `null`: no version to pin.
        version_id: version
            .filter(|v| *v != "null")
            .map(|v| crate::text::line(v).into_owned()),
        size,
    })
}

/// Promote's server-side copy of `source` (whose identity is `from`) to `target`,
/// without its conditions: the tags that name the commit and the release replace the
/// source's, and S3 keeps a SHA-256 checksum. The `doctor` probe sends the very same
/// request, so what it proves is what promote needs.
fn copy_request(
    client: &Client,
    source: &ObjectRef,
    from: &ObjectIdentity,
    target: &ObjectRef,
    commit: &str,
    tag: &str,
) -> CopyObjectFluentBuilder {
    let mut copy_source = format!("{}/{}", source.bucket, encode_key(&source.key));
    if let Some(version) = &from.version_id {
        copy_source.push_str(&format!("?versionId={}", encode_value(version)));
    }
    let tagging = format!(
        "{COMMIT_TAG}={}&{RELEASE_TAG}={}",
        encode_value(commit),
        encode_value(tag)
    );
    client
        .copy_object()
        .bucket(&target.bucket)
        .key(&target.key)
        .copy_source(copy_source)
        .tagging_directive(TaggingDirective::Replace)
        .tagging(tagging)
        .checksum_algorithm(ChecksumAlgorithm::Sha256)
}

/// The HTTP status of an SDK error's response, if there was one.
fn status_of<E>(err: &SdkError<E, HttpResponse>) -> Option<u16> {
    err.raw_response().map(|r| r.status().as_u16())
}

/// Percent-encodes a key for `x-amz-copy-source` (everything but unreserved and `/`).
fn encode_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Percent-encodes a value of the `x-amz-tagging` query string.
fn encode_value(value: &str) -> String {
    encode_key(value).replace('/', "%2F")
}

impl Registry for S3 {
    fn describe(&self) -> String {
        let bucket = crate::text::line(self.bucket()).into_owned();
        match self.session.region_name() {
            Some(region) => format!("S3 bucket {bucket} ({region})"),
            None => format!("S3 bucket {bucket} (region from the AWS configuration)"),
        }
    }

    fn check(&self, artifacts: &[ArtifactRef]) -> Vec<ArtifactStatus> {
        let objects: Vec<ObjectRef> = artifacts
            .iter()
            .filter_map(|a| a.as_object().cloned())
            .collect();
        let mut answers = self.check_objects(&objects).into_iter();
        artifacts
            .iter()
            .map(|artifact| match artifact {
                ArtifactRef::Object(object) => answers.next().unwrap_or_else(|| {
                    ArtifactStatus::Failed(RegistryFailure {
                        kind: FailureKind::Other,
                        message: format!(
                            "S3 did not answer for {}",
                            crate::text::line(&object.to_string())
                        ),
                        hint: "retry; this should not happen".into(),
                    })
                }),
                ArtifactRef::Image(_) => {
                    ArtifactStatus::Failed(super::wrong_kind(&self.describe(), artifact))
                }
            })
            .collect()
    }

    fn promote(&self, request: &PromoteRequest) -> Result<Promotion, RegistryFailure> {
        let (source, target) = request.objects(&self.describe())?;
        let shown_source = crate::text::line(&source.to_string()).into_owned();
        let shown_target = crate::text::line(&target.to_string()).into_owned();
        let deadline = self.session.deadline();
        let backend = self.backend(deadline)?;

        // Call 1: the commit's object.
        let Some(from) = self.head_one(backend, source, deadline)? else {
            let exists = block_on_until(
                &backend.loaded.runtime,
                deadline,
                self.bucket_exists(backend.client.clone(), source.bucket.clone()),
            )
            .map_err(|_| self.timed_out(&format!("checking bucket {}", source.bucket)))??;
            if !exists {
                return Err(self.no_bucket(&source.bucket));
            }
            return Err(RegistryFailure {
                kind: FailureKind::ObjectNotFound,
                message: format!("no object {shown_source} in {}", self.describe()),
                hint: "CI builds and uploads the object on every push to main; wait for that workflow to finish and retry".into(),
            });
        };
        if from.size > COPY_LIMIT {
            return Err(RegistryFailure {
                kind: FailureKind::TooLarge,
                message: format!(
                    "{shown_source} is {} bytes, over the 5 GiB that one server-side copy can take; nothing was copied",
                    from.size
                ),
                hint: "keep release artifacts under 5 GiB (a Lambda zip is at most 250 MB unzipped), or copy it with a multipart copy yourself".into(),
            });
        }

        // Call 2: what the release key holds now.
        let existing = self.head_one(backend, target, deadline)?;
        let mut promotion = Promotion {
            source: request.source.clone(),
            target: request.target.clone(),
            identity: Identity::Object(from.clone()),
            media_type: None,
            changed: false,
            previous_digest: None,
            previous_version_id: None,
        };
        let mut overwrite = false;
        if let Some(existing) = existing {
            match from.same_content(&existing) {
                SameContent::Same => {
                    promotion.identity = Identity::Object(existing);
                    return Ok(promotion);
                }
                other => {
                    let why = match &other {
                        SameContent::Unknown(why) => {
                            format!("it cannot be told whether it holds the same content: {why}")
                        }
                        _ => format!(
                            "it holds other content ({}), not that of {shown_source} ({})",
                            existing.short(),
                            from.short()
                        ),
                    };
                    if !request.force {
                        return Err(RegistryFailure {
                            kind: FailureKind::Conflict,
                            message: format!("{shown_target} already exists and {why}; nothing was changed"),
                            hint: "a release should never change: release a new version instead; pass --force to replace it, which is only done in a versioned bucket (the old object stays as an older version)".into(),
                        });
                    }
                    // Forced: only where the replaced object survives.
                    let versioning = self.versioning(backend, deadline)?;
                    if versioning != BucketVersioningStatus::Enabled.as_str() {
                        return Err(RegistryFailure {
                            kind: FailureKind::Conflict,
                            message: format!("{shown_target} already exists and {why}; --force replaces a release object only in a versioned bucket, and bucket {} has versioning {versioning}; nothing was changed", crate::text::line(self.bucket())),
                            hint: format!("turn versioning on ({}), or release a new version instead", crate::text::suggest(&["aws", "s3api", "put-bucket-versioning", "--bucket", self.bucket(), "--versioning-configuration", "Status=Enabled"])),
                        });
                    }
                    promotion.previous_version_id = existing.version_id.clone();
                    overwrite = true;
                }
            }
        }

        // Call 3: the server-side copy, conditional on the source's ETag and, unless a
        // forced replace, on the release key not existing.
        let mut copy = copy_request(
            backend.client,
            source,
            &from,
            target,
            &request.commit,
            &request.tag,
        )
        .copy_source_if_match(format!("\"{}\"", from.etag));
        if !overwrite {
            copy = copy.if_none_match("*");
        }
        let answer = block_on_until(&backend.loaded.runtime, deadline, copy.send())
            .map_err(|_| self.timed_out(&format!("copying {shown_source} to {shown_target}")))?;
        match answer {
            Ok(out) => {
                let result = out.copy_object_result();
                let etag = result
                    .and_then(|r| r.e_tag())
                    .map(|e| e.trim_matches('"').to_string());
                promotion.identity = Identity::Object(ObjectIdentity {
                    etag: crate::text::line(&etag.unwrap_or_else(|| from.etag.clone()))
                        .into_owned(),
                    checksum_sha256: result
                        .and_then(|r| r.checksum_sha256())
                        .map(|c| crate::text::line(c).into_owned())
                        .or_else(|| from.checksum_sha256.clone()),
                    version_id: out
                        .version_id()
                        .filter(|v| *v != "null")
                        .map(|v| crate::text::line(v).into_owned()),
                    size: from.size,
                });
                promotion.changed = true;
                Ok(promotion)
            }
            Err(err) => {
                let code = err.code().unwrap_or_default().to_string();
                let status = status_of(&err);
                if code == "PreconditionFailed"
                    || code == "ConditionalRequestConflict"
                    || status == Some(412)
                {
                    return Err(RegistryFailure {
                        kind: FailureKind::Conflict,
                        message: format!("S3 refused the conditional copy of {shown_source} to {shown_target} ({}): the release key was written meanwhile, or the commit's object changed; nothing was overwritten", if code.is_empty() { "HTTP 412".to_string() } else { code }),
                        hint: format!("run {} again to see what the release key holds now", crate::text::suggest(&["git", "release", "promote", &request.tag])),
                    });
                }
                Err(self.failure(&err, "s3:PutObject", target))
            }
        }
    }

    fn access(&self) -> Access {
        self.session.resolve(&|| self.voice()).into()
    }

    /// Describes each bucket: reachable (`HeadBucket`, which needs `s3:ListBucket`), its
    /// versioning (`GetBucketVersioning`) and read access (`read_proof`). Whether the
    /// credentials may copy is only proven by [`Registry::inspect_with_probe`].
    fn inspect_repositories(
        &self,
        buckets: &[String],
    ) -> Vec<Result<RepositoryInfo, RegistryFailure>> {
        self.inspect_with_probe(buckets, None)
    }

    /// [`Registry::inspect_repositories`], plus, with a probe, the copy proof of the
    /// `copy_probe` module: a `CopyObject` that S3 authorises and then refuses on a
    /// precondition that cannot hold, so nothing is written.
    fn inspect_with_probe(
        &self,
        buckets: &[String],
        probe: Option<&ReleaseProbe>,
    ) -> Vec<Result<RepositoryInfo, RegistryFailure>> {
        if buckets.is_empty() {
            return Vec::new();
        }
        let deadline = self.session.deadline();
        let backend = match self.backend(deadline) {
            Ok(backend) => backend,
            Err(failure) => return buckets.iter().map(|_| Err(failure.clone())).collect(),
        };
        buckets
            .iter()
            .map(|bucket| {
                let exists = block_on_until(
                    &backend.loaded.runtime,
                    deadline,
                    self.bucket_exists(backend.client.clone(), bucket.clone()),
                )
                .map_err(|_| self.timed_out(&format!("checking bucket {bucket}")))??;
                if !exists {
                    return Err(self.no_bucket(bucket));
                }
                let versioning = self.versioning(backend, deadline)?;
                let (read, source) = self.read_proof(backend, deadline, bucket);
                let mut notes = vec![
                    "the credentials can list the bucket (s3:ListBucket)".into(),
                    read,
                ];
                let copy = match probe {
                    Some(probe) => {
                        Some(self.copy_proof(backend, deadline, bucket, source.as_ref(), probe))
                    }
                    None => {
                        notes.push("promote also needs s3:GetObjectTagging, s3:PutObject and s3:PutObjectTagging, which only a write can prove (promote names the missing action if one is)".into());
                        None
                    }
                };
                Ok(RepositoryInfo {
                    repository: bucket.clone(),
                    uri: Some(format!("s3://{bucket}")),
                    immutable: versioning == BucketVersioningStatus::Enabled.as_str(),
                    tag_mutability: versioning.clone(),
                    versioning: Some(versioning),
                    notes,
                    copy,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_does_not_initialise_the_sdk() {
        let config = RegistryConfig {
            kind: crate::config::RegistryKind::S3,
            bucket: Some("zips".into()),
            ..RegistryConfig::default()
        };
        let s3 = S3::new(&config, Some("lambda"));
        assert!(!s3.initialised());
        let _ = s3.describe();
        assert!(s3.check(&[]).is_empty());
        assert!(!s3.initialised(), "an empty check must not touch AWS");
    }

    #[test]
    fn identities_drop_quotes_and_null_versions() {
        let id = identity(Some("\"abc\""), Some("c2Vj"), Some("null"), Some(3)).expect("id");
        assert_eq!(id.etag, "abc");
        assert_eq!(id.version_id, None);
        assert_eq!(id.size, 3);
        assert!(identity(None, None, None, Some(1)).is_none());
        assert!(identity(Some("a"), None, None, Some(-1)).is_none());
    }

    #[test]
    fn copy_sources_are_encoded() {
        assert_eq!(encode_key("lambda/a-b_c.zip"), "lambda/a-b_c.zip");
        assert_eq!(encode_key("a(1)!'*"), "a%281%29%21%27%2A");
        assert_eq!(encode_value("a/b"), "a%2Fb");
    }
}
