//! Turning what the SDK and ECR say into one-line failures that say what to do.
//!
//! The classes every AWS service shares (timeouts, unreachable endpoints, missing,
//! expired or rejected credentials, throttling) are read by [`crate::aws::diagnose`];
//! this file words them for ECR and reads ECR's own codes. Credentials never appear in
//! these texts, only provider and profile names.

use aws_sdk_ecr::error::{ProvideErrorMetadata, SdkError};

use super::Ecr;
use crate::aws::{diagnose, login_hint, no_credentials_cause, Diagnosis};
use crate::registry::{FailureKind, RegistryFailure};

impl Ecr {
    pub(super) fn timed_out(&self, what: &str) -> RegistryFailure {
        RegistryFailure {
            kind: FailureKind::Timeout,
            message: format!(
                "no answer from ECR at {} within {} s while {what}",
                self.endpoint(self.session.loaded().map(|l| &l.sdk)),
                self.timeout().as_secs()
            ),
            hint: "check your network or VPN, then retry; raise [registry] timeout-seconds in git-release.toml if the registry is just slow".into(),
        }
    }

    /// Turns an SDK error into a failure with a precise message and the fix.
    pub(super) fn failure<E>(
        &self,
        err: &SdkError<E>,
        action: &str,
        repository: &str,
    ) -> RegistryFailure
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let sdk = self.session.loaded().map(|l| &l.sdk);
        let endpoint = self.endpoint(sdk);
        let answer = match diagnose(err) {
            Diagnosis::Timeout => {
                return self.timed_out(&format!("calling {action} on {repository}"))
            }
            Diagnosis::Unreachable(reason) => {
                return RegistryFailure {
                    kind: FailureKind::Unreachable,
                    message: format!("cannot reach ECR at {endpoint}: {reason}"),
                    hint: "check your network, VPN or proxy, and AWS_ENDPOINT_URL if you set it; then retry".into(),
                }
            }
            Diagnosis::NoCredentials(cause) => {
                return no_credentials(&cause.replace("the service answered", "ECR answered"))
            }
            Diagnosis::RejectedCredentials(answer) => {
                return RegistryFailure {
                    kind: FailureKind::NoCredentials,
                    message: format!(
                        "ECR rejected the AWS credentials ({}: {})",
                        answer.code, answer.message
                    ),
                    hint: login_hint(),
                }
            }
            Diagnosis::Throttled(answer) => {
                return RegistryFailure {
                    kind: FailureKind::Throttled,
                    message: format!(
                        "ECR throttled {action} on {repository} after 3 attempts ({}: {})",
                        answer.code, answer.message
                    ),
                    hint: "retry in a minute; if it keeps happening, spread the calls out or ask AWS to raise the ECR API quota".into(),
                }
            }
            Diagnosis::Answer(answer) => answer,
        };
        let region = self.region_name(sdk).unwrap_or_else(|| "REGION".into());
        if answer.context.contains("region") && region == "REGION" && answer.code.is_empty() {
            let missing = crate::aws::SessionError::NoRegion {
                service: "ECR",
                key: "[registry] region".into(),
            };
            return RegistryFailure {
                kind: FailureKind::Other,
                message: missing.to_string(),
                hint: missing.hint(),
            };
        }
        let account = self
            .config
            .registry_id
            .clone()
            .or_else(|| account_in(&answer.message))
            .unwrap_or_else(|| "ACCOUNT".into());
        let arn = format!("arn:aws:ecr:{region}:{account}:repository/{repository}");
        let aws_message = &answer.message;
        match answer.code.as_str() {
            "RepositoryNotFoundException" => RegistryFailure {
                kind: FailureKind::RepositoryNotFound,
                message: format!(
                    "repository {repository} does not exist in ECR ({region}{})",
                    self.config
                        .registry_id
                        .as_deref()
                        .map(|id| format!(", registry {id}"))
                        .unwrap_or_default()
                ),
                hint: "check the name: it comes from [registry] repository or [services.<name>] repository in git-release.toml; create the repository if CI has never pushed to it".into(),
            },
            "AccessDeniedException" | "AccessDenied" => RegistryFailure {
                kind: FailureKind::AccessDenied,
                message: format!(
                    "access denied: the AWS identity may not call {action} on {repository}{}",
                    if aws_message.is_empty() { String::new() } else { format!(" ({aws_message})") }
                ),
                hint: format!("allow `{action}` on {arn} in the IAM policy of the role or user you use (see docs/registry.md)"),
            },
            _ => {
                // A 5xx after the SDK's retries is an outage ("could not ask"); any other
                // unclassified answer is not known to be one.
                let kind = if answer.is_server_error() {
                    FailureKind::ServerError
                } else {
                    FailureKind::Other
                };
                RegistryFailure {
                    kind,
                    message: format!(
                        "ECR at {endpoint} failed {action} on {repository} ({})",
                        answer.describe()
                    ),
                    hint: "retry in a moment; if it persists, check the AWS Health Dashboard for ECR in your region".into(),
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

/// Returns the account id in an ARN quoted by an error message (`arn:aws:iam::123…:user/x`).
fn account_in(message: &str) -> Option<String> {
    message.split("arn:").skip(1).find_map(|arn| {
        let account = arn.split(':').nth(3)?;
        (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()))
            .then(|| account.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids_are_read_from_arns() {
        assert_eq!(
            account_in("User: arn:aws:iam::123456789012:user/dev is not authorized").as_deref(),
            Some("123456789012")
        );
        assert_eq!(account_in("no arn here"), None);
    }
}
