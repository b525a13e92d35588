//! Turning what the SDK and S3 say into one-line failures that say what to do.
//!
//! The classes every AWS service shares are read by [`crate::aws::diagnose`] and worded
//! by [`crate::aws::Voice`]; this file gives S3's voice and reads S3's own codes
//! (`NoSuchBucket`, `NoSuchKey`, `AccessDenied`, `PreconditionFailed`, …). A HEAD answer has no body, so a 403 to
//! `HeadObject` carries no code: it may be a policy that denies `s3:GetObject`, wrong
//! credentials, or a missing key read without `s3:ListBucket` (S3 then answers 403, not
//! 404, so as not to tell who may not list whether a key exists). The message says so.

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

use super::S3;
use crate::aws::{diagnose, Quote, Voice};
use crate::registry::{FailureKind, ObjectRef, RegistryFailure};

impl S3 {
    /// How S3's failures are worded where every AWS service's are alike.
    pub(super) fn voice(&self) -> Voice {
        Voice {
            service: "S3",
            endpoint: self.endpoint(),
            timeout_seconds: self.session.timeout().as_secs(),
            timeout_key: format!("{} timeout-seconds", self.section),
            slow: "S3",
            throttle_hint: "retry in a minute; S3 slows down a prefix that gets too many requests per second, so spread the calls out",
            quote: Quote::Described,
        }
    }

    pub(super) fn timed_out(&self, what: &str) -> RegistryFailure {
        self.voice().timed_out(what).into()
    }

    /// Where requests go, for messages: the override, or the region's public endpoint.
    pub(super) fn endpoint(&self) -> String {
        if let Some(url) = self.session.endpoint_override() {
            return crate::text::line(&url).into_owned();
        }
        match self.session.region_name() {
            Some(region) => format!("s3.{region}.amazonaws.com"),
            None => "S3".into(),
        }
    }

    /// Turns an SDK error into a failure with a precise message and the fix; `action` is
    /// the IAM action the call needs, `object` what it was about (an empty key: the
    /// bucket itself).
    pub(super) fn failure<E>(
        &self,
        err: &SdkError<E, HttpResponse>,
        action: &str,
        object: &ObjectRef,
    ) -> RegistryFailure
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let shown = if object.key.is_empty() {
            format!("bucket {}", crate::text::line(&object.bucket))
        } else {
            crate::text::line(&object.to_string()).into_owned()
        };
        let voice = self.voice();
        let answer = match voice.shared(diagnose(err), action, &shown) {
            Ok(worded) => return worded.into(),
            Err(answer) => answer,
        };
        let arn = if object.key.is_empty() {
            format!("arn:aws:s3:::{}", crate::text::line(&object.bucket))
        } else {
            format!(
                "arn:aws:s3:::{}/{}",
                crate::text::line(&object.bucket),
                crate::text::line(&object.key)
            )
        };
        match answer.code.as_str() {
            "NoSuchBucket" => self.no_bucket(&object.bucket),
            "NoSuchKey" | "NotFound" => RegistryFailure {
                kind: FailureKind::ObjectNotFound,
                message: format!("no object {shown} in S3"),
                hint: "CI builds and uploads the object on every push to main; wait for that workflow to finish and retry".into(),
            },
            "PermanentRedirect" | "AuthorizationHeaderMalformed" | "IllegalLocationConstraintException" => RegistryFailure {
                kind: FailureKind::Other,
                message: format!(
                    "bucket {} is not in region {} ({})",
                    crate::text::line(&object.bucket),
                    self.session.region_name().unwrap_or_else(|| "?".into()),
                    answer.describe()
                ),
                hint: format!("set {} region to the bucket's region in git-release.toml", self.section),
            },
            _ if answer.is_access_denied() || answer.status == Some(403) => {
                let head_note = if answer.code.is_empty() {
                    " (a HEAD answer carries no reason: the credentials may also be wrong; and S3 answers 403 instead of 404 for a missing key when the identity lacks s3:ListBucket on the bucket)"
                } else {
                    ""
                };
                RegistryFailure {
                    kind: FailureKind::AccessDenied,
                    message: format!(
                        "access denied: the AWS identity may not call {action} on {shown}{}{head_note}",
                        if answer.message.is_empty() { String::new() } else { format!(" ({})", answer.message) }
                    ),
                    hint: format!("allow `{action}` on {arn} (and `s3:ListBucket` on arn:aws:s3:::{}, so a missing object reads as missing) in the IAM policy of the role or user you use (see docs/registry.md)", crate::text::line(&object.bucket)),
                }
            }
            _ => voice.unexpected(action, &shown, &answer).into(),
        }
    }
}
