//! Reading what the SDK and an AWS service say into the classes people can act on.
//!
//! Every AWS backend asks the same questions of an SDK error first: did it time out, was
//! the endpoint unreachable, are the credentials missing, expired or rejected, were we
//! throttled? [`diagnose`] answers those once; each backend then reads the codes that are
//! its own (`RepositoryNotFoundException`, `NoSuchBucket`, `ClusterNotFoundException`, …)
//! from the [`ServiceAnswer`] that is left.
//!
//! A missing-credentials failure is a dispatch failure without an error code (FACTS.md);
//! expired SSO sessions are the most common real failure, so the hint names the login
//! command. Credentials never appear in these texts, only provider and profile names.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// What an AWS service answered, read from the SDK error and, when the SDK could not
/// parse it, from the raw body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServiceAnswer {
    /// The HTTP status, when there was a response.
    pub status: Option<u16>,
    /// The error code, like `AccessDenied`; empty when there is none (a bodiless 404).
    pub code: String,
    /// The service's message, on one line and through the text gate; may be empty.
    pub message: String,
    /// The error and its causes, on one line (for answers that have no code).
    pub context: String,
}

impl ServiceAnswer {
    /// `HTTP 500, InternalError: message`, or as much of it as is known.
    pub fn describe(&self) -> String {
        let head = match (self.status, self.code.as_str()) {
            (Some(status), "") => format!("HTTP {status}"),
            (Some(status), code) => format!("HTTP {status}, {code}"),
            (None, "") => self.context.clone(),
            (None, code) => code.to_string(),
        };
        if self.message.is_empty() {
            head
        } else {
            format!("{head}: {}", self.message)
        }
    }

    /// Whether the service said the caller lacks a permission.
    pub fn is_access_denied(&self) -> bool {
        matches!(
            self.code.as_str(),
            "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation"
        ) || (self.status == Some(403) && self.code.is_empty())
    }

    /// Whether the answer is a server error (HTTP 5xx) after the SDK's retries.
    pub fn is_server_error(&self) -> bool {
        matches!(self.status, Some(500..=599))
    }
}

/// The classes every AWS failure falls into before a backend reads its own codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Diagnosis {
    /// No answer in time.
    Timeout,
    /// The endpoint could not be reached; the reason is on one line.
    Unreachable(String),
    /// No credentials, or expired ones; the cause is on one line (see [`no_credentials_cause`]).
    NoCredentials(String),
    /// The service rejected the credentials (bad signature, unknown key id).
    RejectedCredentials(ServiceAnswer),
    /// The service throttled the calls after the SDK's retries.
    Throttled(ServiceAnswer),
    /// Any other answer: the backend reads the code.
    Answer(ServiceAnswer),
}

/// Sorts an SDK error into a [`Diagnosis`].
pub fn diagnose<E>(err: &SdkError<E, HttpResponse>) -> Diagnosis
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let context = error_chain(err);
    if let SdkError::TimeoutError(_) = err {
        return Diagnosis::Timeout;
    }
    if let SdkError::DispatchFailure(dispatch) = err {
        if credentials_problem(&context) {
            return Diagnosis::NoCredentials(context);
        }
        if dispatch.is_timeout() {
            return Diagnosis::Timeout;
        }
        if dispatch.is_io() {
            let reason = if context.contains("refused") {
                "connection refused".to_string()
            } else {
                context
            };
            return Diagnosis::Unreachable(reason);
        }
    }
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
    let message = err
        .message()
        .map(one_line)
        .or_else(|| xml_field(&body, "Message").map(|m| one_line(&m)))
        .unwrap_or_default();
    classify(ServiceAnswer {
        status,
        code,
        message,
        context,
    })
}

/// Sorts a service's answer into a [`Diagnosis`] by its code and status: the part of
/// [`diagnose`] that does not depend on where the answer came from (the SDK, or the
/// signed-JSON client of ECS and Lambda).
pub(crate) fn classify(answer: ServiceAnswer) -> Diagnosis {
    if matches!(
        answer.code.as_str(),
        "ExpiredTokenException" | "ExpiredToken" | "RequestExpired"
    ) || (answer.code.is_empty() && credentials_problem(&answer.context))
    {
        // A service's answer is told by its code and message; the chain of a service
        // error only wraps those in "service error: unhandled error (…)".
        let cause = match (answer.code.as_str(), answer.message.as_str()) {
            ("", _) => answer.context,
            (code, "") => format!("the service answered {code}"),
            (code, message) => format!("the service answered {code}: {message}"),
        };
        return Diagnosis::NoCredentials(cause);
    }
    match answer.code.as_str() {
        "UnrecognizedClientException"
        | "InvalidSignatureException"
        | "InvalidClientTokenId"
        | "SignatureDoesNotMatch"
        | "InvalidAccessKeyId" => Diagnosis::RejectedCredentials(answer),
        "ThrottlingException"
        | "TooManyRequestsException"
        | "Throttling"
        | "RequestLimitExceeded"
        | "SlowDown" => Diagnosis::Throttled(answer),
        _ if answer.status == Some(429)
            || (answer.status == Some(503) && answer.code.is_empty()) =>
        {
            Diagnosis::Throttled(answer)
        }
        _ => Diagnosis::Answer(answer),
    }
}

/// Whether an error's text says that credentials are missing or expired.
pub(crate) fn credentials_problem(context: &str) -> bool {
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

/// The one-line message for missing or expired credentials, from the error's cause.
pub fn no_credentials_cause(context: &str) -> String {
    let lower = context.to_ascii_lowercase();
    if lower.contains("sso") || lower.contains("expired") {
        format!("the AWS session has expired or was never logged in ({context})")
    } else if lower.contains("no credentials found in chain") || lower.contains("not enabled") {
        "no AWS credentials found (tried environment variables, AWS config and credentials files, web identity, container and instance metadata)".to_string()
    } else {
        format!("cannot load AWS credentials ({context})")
    }
}

/// How to log in, naming the profile when one is set.
pub fn login_hint() -> String {
    match std::env::var("AWS_PROFILE").ok().filter(|p| !p.is_empty()) {
        Some(profile) => format!(
            "log in with {} (or fix the credentials of profile {} in ~/.aws/config)",
            crate::text::suggest(&["aws", "sso", "login", "--profile", &profile]),
            crate::text::line(&profile)
        ),
        None => "log in with `aws sso login --profile <your profile>` and set AWS_PROFILE, or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; in CI, grant the job an IAM role (OIDC web identity)".into(),
    }
}

/// Renders an error and its causes on one line, like the SDK's `DisplayErrorContext` but
/// without its `Debug` dump; repeated causes are dropped. Credentials never appear in SDK
/// error texts, only provider names and profile names.
///
/// Some SDK types display as a debug dump (`ErrorMetadata` shows
/// `Error { code: "…", message: "…", aws_request_id: "…" }`): such causes are dropped too,
/// their code and message are read through [`ProvideErrorMetadata`] instead.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
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

/// Returns the text of the first `<name>…</name>` element of an XML error body.
pub(crate) fn xml_field(body: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = body.find(&open)? + open.len();
    let end = body[start..].find(&format!("</{name}>"))? + start;
    Some(body[start..end].trim().to_string()).filter(|s| !s.is_empty())
}

/// Joins lines so a message stays on one line, and passes the service's text through
/// the gate: a server's error message is not trusted to be free of escape sequences.
pub fn one_line(text: &str) -> String {
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
    }

    #[test]
    fn answers_describe_themselves() {
        let answer = ServiceAnswer {
            status: Some(500),
            code: "InternalError".into(),
            message: "boom".into(),
            context: String::new(),
        };
        assert_eq!(answer.describe(), "HTTP 500, InternalError: boom");
        assert!(answer.is_server_error());
        let bare = ServiceAnswer {
            status: Some(403),
            ..ServiceAnswer::default()
        };
        assert!(bare.is_access_denied());
    }
}
