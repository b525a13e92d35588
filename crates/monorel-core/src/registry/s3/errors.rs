//! Turning what the SDK and S3 say into one-line failures that say what to do.
//!
//! The classes every AWS service shares are read by [`crate::aws::diagnose`]; this file
//! words them for S3 and reads S3's own codes (`NoSuchBucket`, `NoSuchKey`,
//! `AccessDenied`, `PreconditionFailed`, …). A HEAD answer has no body, so a 403 to
//! `HeadObject` carries no code: it may be a policy that denies `s3:GetObject`, wrong
//! credentials, or a missing key read without `s3:ListBucket` (S3 then answers 403, not
//! 404, so as not to tell who may not list whether a key exists). The message says so.

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

use super::S3;
use crate::aws::{diagnose, login_hint, no_credentials_cause, Diagnosis};
use crate::registry::{FailureKind, ObjectRef, RegistryFailure};

impl S3 {
    pub(super) fn timed_out(&self, what: &str) -> RegistryFailure {
        RegistryFailure {
            kind: FailureKind::Timeout,
            message: format!(
                "no answer from S3 at {} within {} s while {}",
                self.endpoint(),
                self.session.timeout().as_secs(),
                crate::text::line(what)
            ),
            hint: format!("check your network or VPN, then retry; raise {} timeout-seconds in git-release.toml if S3 is just slow", self.section),
        }
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
        let endpoint = self.endpoint();
        let answer = match diagnose(err) {
            Diagnosis::Timeout => return self.timed_out(&format!("calling {action} on {shown}")),
            Diagnosis::Unreachable(reason) => {
                return RegistryFailure {
                    kind: FailureKind::Unreachable,
                    message: format!("cannot reach S3 at {endpoint}: {reason}"),
                    hint: "check your network, VPN or proxy, and AWS_ENDPOINT_URL if you set it; then retry".into(),
                }
            }
            Diagnosis::NoCredentials(cause) => {
                return no_credentials(&cause.replace("the service answered", "S3 answered"))
            }
            Diagnosis::RejectedCredentials(answer) => {
                return RegistryFailure {
                    kind: FailureKind::NoCredentials,
                    message: format!("S3 rejected the AWS credentials ({})", answer.describe()),
                    hint: login_hint(),
                }
            }
            Diagnosis::Throttled(answer) => {
                return RegistryFailure {
                    kind: FailureKind::Throttled,
                    message: format!(
                        "S3 throttled {action} on {shown} after 3 attempts ({})",
                        answer.describe()
                    ),
                    hint: "retry in a minute; S3 slows down a prefix that gets too many requests per second, so spread the calls out".into(),
                }
            }
            Diagnosis::Answer(answer) => answer,
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
            _ => {
                let kind = if answer.is_server_error() {
                    FailureKind::ServerError
                } else {
                    FailureKind::Other
                };
                RegistryFailure {
                    kind,
                    message: format!(
                        "S3 at {endpoint} failed {action} on {shown} ({})",
                        answer.describe()
                    ),
                    hint: "retry in a moment; if it persists, check the AWS Health Dashboard for S3 in your region".into(),
                }
            }
        }
    }
}

/// The failure for missing or expired credentials, with how to log in.
pub(super) fn no_credentials(context: &str) -> RegistryFailure {
    RegistryFailure {
        kind: FailureKind::NoCredentials,
        message: no_credentials_cause(context),
        hint: login_hint(),
    }
}
