//! How every AWS backend words the failures all AWS services share, and what `doctor`
//! learns of a session's region and credentials.
//!
//! A timeout, an unreachable endpoint, missing, expired or rejected credentials,
//! throttling and an answer nobody expected read the same for ECR as for S3, but for the
//! service's name, where its requests go, which key raises its timeout and how it quotes
//! an answer: a [`Voice`] holds those differences, and [`Voice::shared`] words the rest
//! once. Each backend keeps only the reading of its own codes (`RepositoryNotFound…`,
//! `NoSuchBucket`, access denied with the IAM action and resource it needs).
//!
//! The deploy targets (ECS, Lambda) word the same classes differently on purpose: they
//! speak of one call of a live read (`DescribeServices on … timed out`), not of a store.

use aws_credential_types::provider::ProvideCredentials;

use super::{
    block_on_until, error_chain, login_hint, no_credentials_cause, Diagnosis, ServiceAnswer,
    Session, SessionError,
};

/// What kind of failure a [`Worded`] is, for a backend to map to its own error kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// No answer in time.
    Timeout,
    /// The endpoint could not be reached.
    Unreachable,
    /// No credentials, expired ones, or ones the service rejected.
    NoCredentials,
    /// Throttled after the SDK's retries.
    Throttled,
    /// A server error (HTTP 5xx) after the SDK's retries: the service could not be asked.
    ServerError,
    /// Anything else.
    Other,
}

/// A failure worded for people: what failed and why on one line, and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Worded {
    /// What kind of failure it is.
    pub class: Class,
    /// What failed, and why.
    pub message: String,
    /// What to do about it.
    pub hint: String,
}

/// How a service's answer is quoted in a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quote {
    /// `HTTP 403, InvalidAccessKeyId: message` ([`ServiceAnswer::describe`]).
    Described,
    /// `InvalidAccessKeyId: message`, the code and the message only.
    CodeAndMessage,
}

/// Everything in which one AWS backend's wording of the shared failures differs from
/// another's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Voice {
    /// The service's name, like `S3` or `ECR`.
    pub service: &'static str,
    /// Where its requests go, for messages (through the text gate).
    pub endpoint: String,
    /// The bound on one operation, in seconds.
    pub timeout_seconds: u64,
    /// The key that raises the bound, like `[registry] timeout-seconds`.
    pub timeout_key: String,
    /// What "is just slow" when nothing answers in time: `S3`, `the registry`.
    pub slow: &'static str,
    /// What to do when throttled: the service's own advice.
    pub throttle_hint: &'static str,
    /// How an answer is quoted.
    pub quote: Quote,
}

impl Voice {
    /// The failure for no answer in time while doing `what`.
    pub fn timed_out(&self, what: &str) -> Worded {
        Worded {
            class: Class::Timeout,
            message: format!(
                "no answer from {} at {} within {} s while {}",
                self.service,
                self.endpoint,
                self.timeout_seconds,
                crate::text::line(what)
            ),
            hint: format!(
                "check your network or VPN, then retry; raise {} in git-release.toml if {} is just slow",
                self.timeout_key, self.slow
            ),
        }
    }

    /// The failure for a session that could not be loaded.
    pub fn session_failure(&self, error: &SessionError) -> Worded {
        match error {
            SessionError::Timeout { .. } => self.timed_out("loading the AWS configuration"),
            other => Worded {
                class: Class::Other,
                message: other.to_string(),
                hint: other.hint(),
            },
        }
    }

    /// Words the classes every AWS service shares, for a call of `action` on `subject`
    /// (already through the text gate); the answer is handed back when it is none of
    /// them, for the backend to read its own codes.
    pub fn shared(
        &self,
        diagnosis: Diagnosis,
        action: &str,
        subject: &str,
    ) -> Result<Worded, ServiceAnswer> {
        let service = self.service;
        Ok(match diagnosis {
            Diagnosis::Timeout => self.timed_out(&format!("calling {action} on {subject}")),
            Diagnosis::Unreachable(reason) => Worded {
                class: Class::Unreachable,
                message: format!("cannot reach {service} at {}: {reason}", self.endpoint),
                hint: "check your network, VPN or proxy, and AWS_ENDPOINT_URL if you set it; then retry".into(),
            },
            Diagnosis::NoCredentials(cause) => no_credentials(
                &cause.replace("the service answered", &format!("{service} answered")),
            ),
            Diagnosis::RejectedCredentials(answer) => Worded {
                class: Class::NoCredentials,
                message: format!(
                    "{service} rejected the AWS credentials ({})",
                    self.quote(&answer)
                ),
                hint: login_hint(),
            },
            Diagnosis::Throttled(answer) => Worded {
                class: Class::Throttled,
                message: format!(
                    "{service} throttled {action} on {subject} after 3 attempts ({})",
                    self.quote(&answer)
                ),
                hint: self.throttle_hint.into(),
            },
            Diagnosis::Answer(answer) => return Err(answer),
        })
    }

    /// The failure for an answer the backend has no reading of: a server error after
    /// the SDK's retries (the service could not be asked), or something else.
    pub fn unexpected(&self, action: &str, subject: &str, answer: &ServiceAnswer) -> Worded {
        Worded {
            class: if answer.is_server_error() {
                Class::ServerError
            } else {
                Class::Other
            },
            message: format!(
                "{} at {} failed {action} on {subject} ({})",
                self.service,
                self.endpoint,
                answer.describe()
            ),
            hint: format!(
                "retry in a moment; if it persists, check the AWS Health Dashboard for {} in your region",
                self.service
            ),
        }
    }

    fn quote(&self, answer: &ServiceAnswer) -> String {
        match self.quote {
            Quote::Described => answer.describe(),
            Quote::CodeAndMessage => format!("{}: {}", answer.code, answer.message),
        }
    }
}

/// The failure for missing or expired credentials, with how to log in.
pub fn no_credentials(context: &str) -> Worded {
    Worded {
        class: Class::NoCredentials,
        message: no_credentials_cause(context),
        hint: login_hint(),
    }
}

/// What `doctor` learns of a session: where its region comes from, where requests go,
/// the profile, and whether credentials resolve (when they expire; never the secrets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The region requests go to, when one was resolved.
    pub region: Option<String>,
    /// Where the region came from: `git-release.toml` or the AWS environment.
    pub region_source: &'static str,
    /// The endpoint override, if any.
    pub endpoint: Option<String>,
    /// `AWS_PROFILE`, when set.
    pub profile: Option<String>,
    /// When the resolved credentials expire (`None`: they do not), or why none resolved.
    pub credentials: Result<Option<String>, Worded>,
}

impl Session {
    /// Loads the session and resolves its credentials once, within the session's
    /// timeout, for `doctor`; failures are worded in the backend's `voice`, asked when
    /// one happens (it names the endpoint, which loading may have resolved).
    pub fn resolve(&self, voice: &dyn Fn() -> Voice) -> Resolved {
        let region = self.settings().region.clone();
        let mut resolved = Resolved {
            region_source: if region.is_some() {
                "git-release.toml"
            } else {
                "the AWS environment"
            },
            region,
            endpoint: None,
            profile: std::env::var("AWS_PROFILE").ok().filter(|p| !p.is_empty()),
            credentials: Ok(None),
        };
        let deadline = self.deadline();
        let loaded = match self.load(deadline) {
            Ok(loaded) => loaded,
            Err(e) => {
                resolved.credentials = Err(voice().session_failure(&e));
                return resolved;
            }
        };
        resolved.region = resolved
            .region
            .or_else(|| loaded.sdk.region().map(ToString::to_string));
        resolved.endpoint = self.endpoint_override();
        let Some(provider) = loaded.sdk.credentials_provider() else {
            resolved.credentials = Err(no_credentials("no credentials provider is configured"));
            return resolved;
        };
        resolved.credentials =
            match block_on_until(&loaded.runtime, deadline, provider.provide_credentials()) {
                Err(_) => Err(voice().timed_out("resolving AWS credentials")),
                Ok(Err(e)) => Err(no_credentials(&error_chain(&e))),
                Ok(Ok(credentials)) => Ok(credentials.expiry().map(|t| {
                    aws_smithy_types::DateTime::from(t)
                        .fmt(aws_smithy_types::date_time::Format::DateTime)
                        .unwrap_or_default()
                })),
            };
        resolved
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn voice(quote: Quote) -> Voice {
        Voice {
            service: "S3",
            endpoint: "s3.eu-west-1.amazonaws.com".into(),
            timeout_seconds: 15,
            timeout_key: "[registries.lambda] timeout-seconds".into(),
            slow: "S3",
            throttle_hint: "retry in a minute",
            quote,
        }
    }

    fn answer(code: &str) -> ServiceAnswer {
        ServiceAnswer {
            status: Some(400),
            code: code.into(),
            message: "no".into(),
            context: String::new(),
        }
    }

    #[test]
    fn the_shared_classes_are_worded_once() {
        let v = voice(Quote::Described);
        let worded = v
            .shared(
                Diagnosis::Throttled(answer("SlowDown")),
                "s3:GetObject",
                "s3://b/k",
            )
            .expect("shared");
        assert_eq!(worded.class, Class::Throttled);
        assert_eq!(
            worded.message,
            "S3 throttled s3:GetObject on s3://b/k after 3 attempts (HTTP 400, SlowDown: no)"
        );
        let worded = voice(Quote::CodeAndMessage)
            .shared(
                Diagnosis::RejectedCredentials(answer("InvalidSignatureException")),
                "ecr:BatchGetImage",
                "repo",
            )
            .expect("shared");
        assert_eq!(
            worded.message,
            "S3 rejected the AWS credentials (InvalidSignatureException: no)"
        );
        let timed_out = v.timed_out("calling x on y");
        assert_eq!(
            timed_out.message,
            "no answer from S3 at s3.eu-west-1.amazonaws.com within 15 s while calling x on y"
        );
        assert!(timed_out.hint.ends_with(
            "raise [registries.lambda] timeout-seconds in git-release.toml if S3 is just slow"
        ));
        assert!(v
            .shared(Diagnosis::Answer(answer("NoSuchBucket")), "a", "b")
            .is_err());
    }
}
