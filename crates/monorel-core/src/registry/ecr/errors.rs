//! Turning what the SDK and ECR say into one-line failures that say what to do.
//!
//! The classes every AWS service shares (timeouts, unreachable endpoints, missing,
//! expired or rejected credentials, throttling) are read by [`crate::aws::diagnose`] and
//! worded by [`crate::aws::Voice`]; this file gives ECR's voice and reads ECR's own
//! codes. Credentials never appear in these texts, only provider and profile names.

use aws_sdk_ecr::error::{ProvideErrorMetadata, SdkError};

use super::Ecr;
use crate::aws::{diagnose, Quote, Voice};
use crate::registry::{FailureKind, RegistryFailure};

impl Ecr {
    /// How ECR's failures are worded where every AWS service's are alike.
    pub(super) fn voice(&self) -> Voice {
        Voice {
            service: "ECR",
            endpoint: self.endpoint(),
            timeout_seconds: self.timeout().as_secs(),
            timeout_key: "[registry] timeout-seconds".into(),
            slow: "the registry",
            throttle_hint: "retry in a minute; if it keeps happening, spread the calls out or ask AWS to raise the ECR API quota",
            quote: Quote::CodeAndMessage,
        }
    }

    pub(super) fn timed_out(&self, what: &str) -> RegistryFailure {
        self.voice().timed_out(what).into()
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
        let voice = self.voice();
        let answer = match voice.shared(diagnose(err), action, repository) {
            Ok(worded) => return worded.into(),
            Err(answer) => answer,
        };
        let region = self
            .session
            .region_name()
            .unwrap_or_else(|| "REGION".into());
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
            // A 5xx after the SDK's retries is an outage ("could not ask"); any other
            // unclassified answer is not known to be one.
            _ => voice.unexpected(action, repository, &answer).into(),
        }
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
