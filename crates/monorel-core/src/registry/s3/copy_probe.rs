//! `doctor`'s proof that the credentials may promote, without writing anything.
//!
//! Promote is one `CopyObject` (`s3:GetObject` on the commit's object, `s3:PutObject` and
//! `s3:PutObjectTagging` on the release key). The probe sends that same request, from an
//! object the read proof found to the key a probe release would be promoted to, with two
//! preconditions: `x-amz-copy-source-if-match` with an ETag no object has, and
//! `If-None-Match: *` on the destination. S3 decides whether the caller may make a
//! request before it evaluates the request's preconditions, so the answer is:
//! - **412 `PreconditionFailed`**: the request was authorised, then refused on the ETag;
//!   nothing was written. The credentials can copy.
//! - **403 `AccessDenied`**: they cannot; a policy denies the read of the source or the
//!   write of the release key (the answer does not say which).
//! - **200**: the store ignored the precondition and wrote the probe object. moto does
//!   (FACTS.md); a real S3 never should. Nothing is proven, and the probe object must be
//!   deleted: the finding fails and names the command.
//! - anything else (timeout, credentials, throttling, a server error): the usual
//!   one-line failure; never a yes.
//!
//! Why authorisation comes first:
//! - HTTP semantics (RFC 9110 §13.2.1, as RFC 7232 §5 before it): a server evaluates
//!   preconditions "after it has successfully performed its normal request checks", and
//!   "MUST ignore all received preconditions if its response to the same request without
//!   those conditions … would have been a status code other than a 2xx … or 412": a 403
//!   takes precedence over a 412.
//! - S3 documents access checks on request headers themselves: bucket policies can
//!   require `If-None-Match` through the `s3:if-none-match` condition key, answering 403
//!   to a copy without it (S3 user guide, "Enforce conditional writes on Amazon S3
//!   buckets"); a policy decision made from the headers precedes their evaluation.
//! - The CopyObject API reference: a failed `x-amz-copy-source-if-match` answers
//!   `412 Precondition Failed`; `If-None-Match: *` answers 412 when the key exists.
//!
//! What the ETag looks like: S3's ETag is the quoted hex MD5 of a single-part upload's
//! bytes (32 hex digits), or `<hex>-<parts>` for a multipart upload. 32 zeros is a
//! well-formed ETag that no content has (it would take an MD5 preimage); if the source's
//! ETag were ever exactly that, the probe uses 32 `f`s instead.
//!
//! moto ignores both conditional headers on `CopyObject` (FACTS.md), so the reading of
//! the answers is unit-tested on recorded answers below, and end to end through the
//! loopback proxy, which answers the probe's copy with S3's real 403 and 412 bodies.

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::copy_object::{CopyObjectError, CopyObjectOutput};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use tokio::time::Instant;

use super::{copy_request, status_of, Backend, S3};
use crate::aws::block_on_until;
use crate::registry::{
    CopyProof, CopyVerdict, FailureKind, ObjectIdentity, ObjectRef, ReleaseProbe, PROBE_VERSION,
};

/// The object the read proof found, which the probe copies from.
#[derive(Debug, Clone)]
pub(super) struct Source {
    pub(super) object: ObjectRef,
    pub(super) identity: ObjectIdentity,
}

/// The commit the probe's object tags would name (no commit has this id in practice).
const PROBE_COMMIT: &str = "0000000000000000000000000000000000000000";

/// Returns a well-formed ETag that is not `etag` and that no content has.
fn impossible_etag(etag: &str) -> String {
    let zeros = "0".repeat(32);
    let digits = if etag.trim_matches('"') == zeros {
        "f".repeat(32)
    } else {
        zeros
    };
    format!("\"{digits}\"")
}

impl S3 {
    /// Proves whether the credentials may promote `probe` into `bucket` (see the module
    /// header), copying from `source`, the object the read proof found.
    pub(super) fn copy_proof(
        &self,
        backend: Backend<'_>,
        deadline: Instant,
        bucket: &str,
        source: Option<&Source>,
        probe: &ReleaseProbe,
    ) -> CopyProof {
        let Some(source) = source else {
            return CopyProof {
                verdict: CopyVerdict::Unproven,
                detail: "no object to copy from was read yet: copy rights (s3:GetObject, s3:PutObject) not proven yet".into(),
                hint: Some("run doctor again once CI has uploaded a build to the bucket".into()),
            };
        };
        let target = self.probe_target(bucket, probe);
        let copy = copy_request(
            backend.client,
            &source.object,
            &source.identity,
            &target,
            PROBE_COMMIT,
            &probe.tag,
        )
        .copy_source_if_match(impossible_etag(&source.identity.etag))
        .if_none_match("*");
        let answer = block_on_until(&backend.loaded.runtime, deadline, copy.send()).ok();
        self.read_probe(source, &target, probe, answer)
    }

    /// The key a promotion of `probe` would write: what the store's `release-key`
    /// template makes of the probe's tag and version, under the prefix.
    fn probe_target(&self, bucket: &str, probe: &ReleaseProbe) -> ObjectRef {
        ObjectRef {
            bucket: bucket.to_string(),
            key: self
                .config
                .release_object_key(&probe.service, &probe.tag, &probe.version),
        }
    }

    /// Reads the probe copy's answer (`None`: no answer in time).
    fn read_probe(
        &self,
        source: &Source,
        target: &ObjectRef,
        probe: &ReleaseProbe,
        answer: Option<Result<CopyObjectOutput, SdkError<CopyObjectError, HttpResponse>>>,
    ) -> CopyProof {
        let shown_source = crate::text::line(&source.object.to_string()).into_owned();
        let shown_target = crate::text::line(&target.to_string()).into_owned();
        let failed = |message: String, hint: String| CopyProof {
            verdict: CopyVerdict::Failed,
            detail: format!("copy rights not proven: {message}"),
            hint: Some(hint),
        };
        let err = match answer {
            None => {
                let failure = self.timed_out(&format!(
                    "probing a copy of {shown_source} to {shown_target}"
                ));
                return failed(failure.message, failure.hint);
            }
            Some(Ok(out)) => return self.probe_written(target, out.version_id()),
            Some(Err(err)) => err,
        };
        if err.code() == Some("PreconditionFailed") || status_of(&err) == Some(412) {
            return CopyProof {
                verdict: CopyVerdict::CanCopy,
                detail: format!(
                    "the credentials can copy: S3 authorised a copy of {shown_source} to {shown_target} (the release key of a probe version no release can have) and refused it only on its impossible precondition; nothing was written"
                ),
                hint: None,
            };
        }
        let failure = self.failure(&err, "s3:PutObject", target);
        if failure.kind != FailureKind::AccessDenied {
            return failed(failure.message, failure.hint);
        }
        let arn = |object: &ObjectRef| {
            format!(
                "arn:aws:s3:::{}/{}",
                crate::text::line(&object.bucket),
                crate::text::line(&object.key)
            )
        };
        let versioned = if source.identity.version_id.is_some() {
            " (and s3:GetObjectVersion: the bucket is versioned)"
        } else {
            ""
        };
        // The fix names every release key of the service, not the probe's one key.
        let releases = ObjectRef {
            bucket: target.bucket.clone(),
            key: self.config.release_object_key(
                &probe.service,
                &probe.tag.replace(PROBE_VERSION, "*"),
                "*",
            ),
        };
        let said = if err.message().is_some_and(|m| !m.is_empty()) {
            format!(
                " ({})",
                crate::aws::one_line(err.message().unwrap_or_default())
            )
        } else {
            String::new()
        };
        CopyProof {
            verdict: CopyVerdict::CannotCopy,
            detail: format!(
                "cannot copy: S3 denied a copy of {shown_source} to {shown_target}{said}; promote needs s3:GetObject{versioned} on {} and s3:PutObject and s3:PutObjectTagging on {}",
                arn(&source.object),
                arn(target)
            ),
            hint: Some(format!(
                "allow `s3:GetObject`{} on {} and `s3:PutObject`, `s3:PutObjectTagging` on {} in the IAM policy of the role or user you use, and check that the bucket policy denies neither (see docs/registry.md)",
                if versioned.is_empty() { "" } else { ", `s3:GetObjectVersion`" },
                arn(&ObjectRef {
                    bucket: source.object.bucket.clone(),
                    key: self.config.object_key(&probe.service, "*"),
                }),
                arn(&releases)
            )),
        }
    }

    /// The finding when the store wrote the probe object: it ignored the precondition,
    /// so its answer proves nothing, and the object must go.
    fn probe_written(&self, target: &ObjectRef, version: Option<&str>) -> CopyProof {
        let mut delete = vec![
            "aws",
            "s3api",
            "delete-object",
            "--bucket",
            target.bucket.as_str(),
            "--key",
            target.key.as_str(),
        ];
        let version = version.filter(|v| !v.is_empty() && *v != "null");
        if let Some(version) = version {
            delete.extend(["--version-id", version]);
        }
        CopyProof {
            verdict: CopyVerdict::ProbeWritten,
            detail: format!(
                "copy rights not proven: S3 at {} ignored the precondition of a copy that must fail (x-amz-copy-source-if-match with an ETag no object has) and wrote the probe object {}; a store that ignores copy preconditions cannot prove copy rights, nor guard promote's copies",
                self.endpoint(),
                crate::text::line(&target.to_string())
            ),
            hint: Some(format!(
                "delete the probe object: {}",
                crate::text::suggest(&delete)
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    //! moto ignores the conditional headers of `CopyObject` (FACTS.md), so the reading
    //! of the probe's answers is tested here on recorded answers: S3's real error bodies,
    //! parsed into the SDK's error the way the SDK does.

    use super::*;
    use crate::config::{RegistryConfig, RegistryKind};
    use aws_sdk_s3::error::ErrorMetadata;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;

    fn s3() -> S3 {
        let config = RegistryConfig {
            kind: RegistryKind::S3,
            bucket: Some("zips".into()),
            region: Some("eu-west-1".into()),
            prefix: Some("lambda/".into()),
            ..RegistryConfig::default()
        };
        S3::new(&config, Some("lambda"))
    }

    fn source(version: Option<&str>) -> Source {
        Source {
            object: ObjectRef {
                bucket: "zips".into(),
                key: "lambda/lambda-a-0123456789abcdef0123456789abcdef01234567".into(),
            },
            identity: ObjectIdentity {
                etag: "9e107d9d372bb6826bd81d3542a419d6".into(),
                checksum_sha256: None,
                version_id: version.map(str::to_string),
                size: 3,
            },
        }
    }

    fn probe() -> ReleaseProbe {
        ReleaseProbe {
            service: "lambda-a".into(),
            tag: format!("lambda-a-v{PROBE_VERSION}"),
            version: PROBE_VERSION.into(),
        }
    }

    /// A recorded S3 error answer: status, code and message as S3 sends them.
    fn answer(
        status: u16,
        code: &str,
        message: &str,
    ) -> Option<Result<CopyObjectOutput, SdkError<CopyObjectError, HttpResponse>>> {
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>4442587FB7D0A2F9</RequestId></Error>"
        );
        let meta = ErrorMetadata::builder().code(code).message(message).build();
        let response = HttpResponse::new(
            StatusCode::try_from(status).expect("a valid status"),
            SdkBody::from(body),
        );
        Some(Err(SdkError::service_error(
            CopyObjectError::generic(meta),
            response,
        )))
    }

    fn read(
        version: Option<&str>,
        answer: Option<Result<CopyObjectOutput, SdkError<CopyObjectError, HttpResponse>>>,
    ) -> CopyProof {
        let s3 = s3();
        let probe = probe();
        let target = s3.probe_target("zips", &probe);
        s3.read_probe(&source(version), &target, &probe, answer)
    }

    #[test]
    fn the_probe_key_is_a_release_key_no_release_can_have() {
        let target = s3().probe_target("zips", &probe());
        assert_eq!(
            target.key,
            format!("lambda/lambda-a-v{PROBE_VERSION}"),
            "the default release-key is the tag, under the prefix"
        );
        assert!(crate::config::check_object_key(&target.key).is_ok());
        assert!(
            semver::Version::parse(PROBE_VERSION).is_err(),
            "no release version"
        );
        let git = std::process::Command::new("git")
            .args(["check-ref-format", &format!("refs/tags/{}", probe().tag)])
            .status()
            .expect("git runs");
        assert!(!git.success(), "no git tag can have the probe's name");
    }

    #[test]
    fn the_impossible_etag_is_never_the_sources() {
        assert_eq!(impossible_etag("abc"), format!("\"{}\"", "0".repeat(32)));
        assert_eq!(
            impossible_etag(&format!("\"{}\"", "0".repeat(32))),
            format!("\"{}\"", "f".repeat(32))
        );
    }

    #[test]
    fn a_412_proves_the_copy_right() {
        let proof = read(
            None,
            answer(
                412,
                "PreconditionFailed",
                "At least one of the pre-conditions you specified did not hold",
            ),
        );
        assert_eq!(proof.verdict, CopyVerdict::CanCopy, "{proof:?}");
        assert!(proof.detail.contains("nothing was written"), "{proof:?}");
        assert_eq!(proof.hint, None);
    }

    #[test]
    fn a_403_names_both_actions_and_the_fix() {
        let proof = read(
            Some("v1"),
            answer(403, "AccessDenied", "User: arn:aws:sts::123456789012:assumed-role/ci is not authorized to perform: s3:PutObject"),
        );
        assert_eq!(proof.verdict, CopyVerdict::CannotCopy, "{proof:?}");
        assert!(
            proof.detail.contains(
                "s3:GetObject (and s3:GetObjectVersion: the bucket is versioned) on arn:aws:s3:::zips/lambda/lambda-a-0123456789abcdef0123456789abcdef01234567"
            ),
            "{proof:?}"
        );
        assert!(
            proof.detail.contains(&format!(
                "s3:PutObject and s3:PutObjectTagging on arn:aws:s3:::zips/lambda/lambda-a-v{PROBE_VERSION}"
            )),
            "{proof:?}"
        );
        let hint = proof.hint.unwrap_or_default();
        assert!(
            hint.contains("on arn:aws:s3:::zips/lambda/lambda-a-v* in the IAM policy"),
            "the fix names every release key: {hint}"
        );
        assert!(
            hint.contains("arn:aws:s3:::zips/lambda/lambda-a-*"),
            "{hint}"
        );
    }

    #[test]
    fn a_200_is_a_written_probe_never_a_yes() {
        let out = CopyObjectOutput::builder().version_id("3HL4kqtJ").build();
        let proof = read(None, Some(Ok(out)));
        assert_eq!(proof.verdict, CopyVerdict::ProbeWritten, "{proof:?}");
        assert!(
            proof.detail.contains(&format!(
                "wrote the probe object s3://zips/lambda/lambda-a-v{PROBE_VERSION}"
            )),
            "{proof:?}"
        );
        let hint = proof.hint.unwrap_or_default();
        assert!(
            hint.contains(&format!(
                "aws s3api delete-object --bucket zips --key lambda/lambda-a-v{PROBE_VERSION} --version-id 3HL4kqtJ"
            )),
            "{hint}"
        );
    }

    #[test]
    fn a_server_error_is_the_usual_failure() {
        let proof = read(
            None,
            answer(500, "InternalError", "We encountered an internal error"),
        );
        assert_eq!(proof.verdict, CopyVerdict::Failed, "{proof:?}");
        assert!(
            proof
                .detail
                .contains("failed s3:PutObject on s3://zips/lambda/lambda-a-v")
                && proof
                    .detail
                    .contains("(HTTP 500, InternalError: We encountered an internal error)"),
            "{proof:?}"
        );
        assert!(
            proof
                .hint
                .unwrap_or_default()
                .contains("AWS Health Dashboard"),
            "the usual hint"
        );
    }

    #[test]
    fn no_answer_in_time_is_a_timeout_never_a_yes() {
        let proof = read(None, None);
        assert_eq!(proof.verdict, CopyVerdict::Failed, "{proof:?}");
        assert!(proof.detail.contains("no answer from S3"), "{proof:?}");
        let sdk_timeout: SdkError<CopyObjectError, HttpResponse> =
            SdkError::timeout_error("operation timed out");
        let proof = read(None, Some(Err(sdk_timeout)));
        assert_eq!(proof.verdict, CopyVerdict::Failed, "{proof:?}");
        assert!(proof.detail.contains("no answer from S3"), "{proof:?}");
    }

    #[test]
    fn rejected_credentials_are_not_a_denial_of_the_copy() {
        let proof = read(
            None,
            answer(
                403,
                "InvalidAccessKeyId",
                "The AWS Access Key Id you provided does not exist in our records.",
            ),
        );
        assert_eq!(proof.verdict, CopyVerdict::Failed, "{proof:?}");
        assert!(
            proof.detail.contains("S3 rejected the AWS credentials"),
            "{proof:?}"
        );
    }
}
