//! Turning what the SDK and ECR say into one-line failures that say what to do.
//!
//! A missing-credentials failure is a dispatch failure without an error code (FACTS.md);
//! expired SSO sessions are the most common real failure, so they name the login command.
//! Credentials never appear in these texts, only provider and profile names.

use aws_sdk_ecr::error::{ProvideErrorMetadata, SdkError};

use super::Ecr;
use crate::registry::{FailureKind, RegistryFailure};

impl Ecr {
    pub(super) fn timed_out(&self, what: &str) -> RegistryFailure {
        RegistryFailure {
            kind: FailureKind::Timeout,
            message: format!(
                "no answer from ECR at {} within {} s while {what}",
                self.endpoint(self.backend.get().and_then(|b| b.as_ref().ok()).map(|b| &b.sdk)),
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
        let backend = self.backend.get().and_then(|b| b.as_ref().ok());
        let endpoint = self.endpoint(backend.map(|b| &b.sdk));
        let context = error_chain(err);
        let status = err.raw_response().map(|r| r.status().as_u16());
        // Some endpoints (proxies, moto) answer a JSON API with an XML error body that the
        // SDK cannot parse: read the code and message from the raw body then.
        let body = err
            .raw_response()
            .and_then(|r| r.body().bytes())
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default();
        let code = err
            .code()
            .map(str::to_string)
            .or_else(|| xml_field(&body, "Code"))
            .unwrap_or_default();
        let code = code.as_str();
        let aws_message = err
            .message()
            .map(one_line)
            .or_else(|| xml_field(&body, "Message").map(|m| one_line(&m)))
            .unwrap_or_default();
        let region = self
            .region_name(backend.map(|b| &b.sdk))
            .unwrap_or_else(|| "REGION".into());
        let account = self
            .config
            .registry_id
            .clone()
            .or_else(|| account_in(&aws_message))
            .unwrap_or_else(|| "ACCOUNT".into());
        let arn = format!("arn:aws:ecr:{region}:{account}:repository/{repository}");

        if let SdkError::TimeoutError(_) = err {
            return self.timed_out(&format!("calling {action} on {repository}"));
        }
        if let SdkError::DispatchFailure(dispatch) = err {
            if credentials_problem(&context) {
                return no_credentials(&context);
            }
            if dispatch.is_timeout() {
                return self.timed_out(&format!("calling {action} on {repository}"));
            }
            if dispatch.is_io() {
                let reason = if context.contains("refused") {
                    "connection refused".to_string()
                } else {
                    context.clone()
                };
                return RegistryFailure {
                    kind: FailureKind::Unreachable,
                    message: format!("cannot reach ECR at {endpoint}: {reason}"),
                    hint: "check your network, VPN or proxy, and AWS_ENDPOINT_URL if you set it; then retry".into(),
                };
            }
        }
        if credentials_problem(&context) || matches!(code, "ExpiredTokenException") {
            // A service's answer is told by its code and message; the chain of a service
            // error only wraps those in "service error: unhandled error (…)".
            let cause = match (code, aws_message.as_str()) {
                ("", _) => context,
                (code, "") => format!("ECR answered {code}"),
                (code, message) => format!("ECR answered {code}: {message}"),
            };
            return no_credentials(&cause);
        }
        if context.contains("region") && region == "REGION" {
            return no_region();
        }
        match code {
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
            "UnrecognizedClientException" | "InvalidSignatureException" | "InvalidClientTokenId"
            | "SignatureDoesNotMatch" => RegistryFailure {
                kind: FailureKind::NoCredentials,
                message: format!("ECR rejected the AWS credentials ({code}: {aws_message})"),
                hint: login_hint(),
            },
            "ThrottlingException" | "TooManyRequestsException" | "Throttling"
            | "RequestLimitExceeded" => RegistryFailure {
                kind: FailureKind::Throttled,
                message: format!(
                    "ECR throttled {action} on {repository} after 3 attempts ({code}: {aws_message})"
                ),
                hint: "retry in a minute; if it keeps happening, spread the calls out or ask AWS to raise the ECR API quota".into(),
            },
            _ => {
                let what = match (status, code) {
                    (Some(status), "") => format!("HTTP {status}"),
                    (Some(status), code) => format!("HTTP {status}, {code}"),
                    (None, "") => context.clone(),
                    (None, code) => code.to_string(),
                };
                // A 5xx after the SDK's retries is an outage ("could not ask"); any other
                // unclassified answer is not known to be one.
                let kind = match status {
                    Some(500..=599) => FailureKind::ServerError,
                    _ => FailureKind::Other,
                };
                RegistryFailure {
                    kind,
                    message: format!(
                        "ECR at {endpoint} failed {action} on {repository} ({what}{})",
                        if aws_message.is_empty() { String::new() } else { format!(": {aws_message}") }
                    ),
                    hint: "retry in a moment; if it persists, check the AWS Health Dashboard for ECR in your region".into(),
                }
            }
        }
    }
}

/// Whether an error's text says that credentials are missing or expired.
fn credentials_problem(context: &str) -> bool {
    let lower = context.to_ascii_lowercase();
    [
        "credential",
        "no identity",
        "identity resolver",
        "failed to resolve identity",
        "sso session",
        "token has expired",
        "expired token",
    ]
    .iter()
    .any(|needle| lower.contains(needle))
}

/// Renders an error and its causes on one line, like the SDK's `DisplayErrorContext` but
/// without its `Debug` dump; repeated causes are dropped. Credentials never appear in SDK
/// error texts, only provider names and profile names.
///
/// Some SDK types display as a debug dump (`ErrorMetadata` shows
/// `Error { code: "…", message: "…", aws_request_id: "…" }`): such causes are dropped too,
/// their code and message are read through [`ProvideErrorMetadata`] instead.
pub(super) fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = one_line(&e.to_string());
        if !text.is_empty() && !is_debug_dump(&text) && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    let mut text = parts.join(": ");
    if text.len() > 400 {
        let mut cut = 400;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    text
}

/// Whether `text` is a `Debug`-style struct dump (`Name { field: … }`), not a sentence.
fn is_debug_dump(text: &str) -> bool {
    let Some((name, rest)) = text.split_once(" {") else {
        return false;
    };
    !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && rest.trim_end().ends_with('}')
}

/// The failure for missing or expired credentials, with how to log in.
pub(super) fn no_credentials(context: &str) -> RegistryFailure {
    let lower = context.to_ascii_lowercase();
    let message = if lower.contains("sso") || lower.contains("expired") {
        format!("the AWS session has expired or was never logged in ({context})")
    } else if lower.contains("no credentials found in chain") || lower.contains("not enabled") {
        "no AWS credentials found (tried environment variables, AWS config and credentials files, web identity, container and instance metadata)".to_string()
    } else {
        format!("cannot load AWS credentials ({context})")
    };
    RegistryFailure {
        kind: FailureKind::NoCredentials,
        message,
        hint: login_hint(),
    }
}

/// The failure for a missing AWS region: neither `git-release.toml` nor the AWS
/// environment names one.
pub(super) fn no_region() -> RegistryFailure {
    RegistryFailure {
        kind: FailureKind::Other,
        message: "no AWS region for ECR: git-release.toml has no [registry] region and the AWS environment names none".into(),
        hint: "set `[registry] region` in git-release.toml (like region = \"eu-west-1\"), or export AWS_REGION".into(),
    }
}

/// How to log in, naming the profile when one is set.
fn login_hint() -> String {
    match std::env::var("AWS_PROFILE").ok().filter(|p| !p.is_empty()) {
        Some(profile) => format!(
            "log in with {} (or fix the credentials of profile {} in ~/.aws/config)",
            crate::text::suggest(&["aws", "sso", "login", "--profile", &profile]),
            crate::text::line(&profile)
        ),
        None => "log in with `aws sso login --profile <your profile>` and set AWS_PROFILE, or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; in CI, grant the job an IAM role (OIDC web identity)".into(),
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

/// Returns the text of the first `<name>…</name>` element of an XML error body.
fn xml_field(body: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = body.find(&open)? + open.len();
    let end = body[start..].find(&format!("</{name}>"))? + start;
    Some(body[start..end].trim().to_string()).filter(|s| !s.is_empty())
}

/// Joins lines so a message stays on one line, and passes the registry's text through
/// the gate: a server's error message is not trusted to be free of escape sequences.
pub(super) fn one_line(text: &str) -> String {
    crate::text::line(&text.split_whitespace().collect::<Vec<_>>().join(" ")).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_errors_are_recognised() {
        assert!(credentials_problem(
            "dispatch failure: other: no credentials in the credential chain"
        ));
        assert!(credentials_problem(
            "The SSO session associated with this profile has expired"
        ));
        assert!(!credentials_problem("Connection refused (os error 111)"));
    }

    #[test]
    fn debug_dumps_are_not_part_of_a_message() {
        assert!(is_debug_dump(
            r#"Error { code: "ExpiredTokenException", message: "expired", aws_request_id: "x" }"#
        ));
        assert!(!is_debug_dump(
            "dispatch failure: other: connection refused"
        ));
        assert!(!is_debug_dump("the {service} template"));
    }

    #[test]
    fn xml_error_bodies_are_read() {
        let body = "<ErrorResponse><Errors><Error><Code>AccessDenied</Code><Message>User: x is not authorized</Message></Error></Errors></ErrorResponse>";
        assert_eq!(xml_field(body, "Code").as_deref(), Some("AccessDenied"));
        assert_eq!(
            xml_field(body, "Message").as_deref(),
            Some("User: x is not authorized")
        );
        assert_eq!(xml_field("{}", "Code"), None);
        assert_eq!(
            account_in("User: arn:aws:iam::123456789012:user/dev is not authorized").as_deref(),
            Some("123456789012")
        );
        assert_eq!(account_in("no arn here"), None);
    }
}
