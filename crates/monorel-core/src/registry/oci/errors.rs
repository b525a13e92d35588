//! What an OCI registry's answers and failures mean, in the one-line-with-fix form every
//! backend uses, and in the shared [`FailureKind`] classes.
//!
//! Everything a server sent passes the text gate before it is shown, and is cut short;
//! no header this backend sends (`Authorization`) and no token service body is ever part
//! of a message.

use super::auth::Found;
use super::client::Answer;
use super::reference::Endpoint;
use super::{FailureKind, RegistryFailure};

/// The longest piece of server text kept in a message.
const MAX_SERVER_TEXT: usize = 200;

fn login(endpoint: &Endpoint) -> String {
    crate::text::suggest(&["docker", "login", &endpoint.login_host])
}

fn host(endpoint: &Endpoint) -> String {
    crate::text::line(&endpoint.login_host).into_owned()
}

/// Joins lines, passes the text through the gate and cuts it short.
pub(super) fn server_text(text: &str) -> String {
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut text = crate::text::line(&joined).into_owned();
    if text.len() > MAX_SERVER_TEXT {
        let mut cut = MAX_SERVER_TEXT;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    text
}

/// Returns the first `errors[].code` and `message` of a distribution error body.
pub(super) fn error_code(body: &[u8]) -> (String, String) {
    let json: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let first = json.get("errors").and_then(|e| e.get(0));
    let field = |name: &str| {
        first
            .and_then(|e| e.get(name))
            .and_then(|v| v.as_str())
            .map(server_text)
            .unwrap_or_default()
    };
    (field("code"), field("message"))
}

/// A failure of the client itself.
pub(super) fn other(endpoint: &Endpoint, why: &str) -> RegistryFailure {
    RegistryFailure {
        kind: FailureKind::Other,
        message: format!("the OCI registry {}: {why}", host(endpoint)),
        hint: "this is a bug if it persists; report it with the command you ran".into(),
    }
}

/// The registry's `/v2/` challenge names a scheme we do not speak.
pub(super) fn unknown_challenge(endpoint: &Endpoint) -> RegistryFailure {
    RegistryFailure {
        kind: FailureKind::Other,
        message: format!(
            "the OCI registry {} asks for an authentication scheme other than Basic or Bearer",
            host(endpoint)
        ),
        hint: "use a registry that speaks the distribution API's Basic or token authentication"
            .into(),
    }
}

/// The token realm cannot be used.
pub(super) fn bad_realm(endpoint: &Endpoint, realm: &str, why: &str) -> RegistryFailure {
    RegistryFailure {
        kind: FailureKind::Other,
        message: format!(
            "the OCI registry {} sends token requests to {}, which is refused: {why}",
            host(endpoint),
            server_text(realm)
        ),
        hint: "check [registry] host and insecure in git-release.toml".into(),
    }
}

/// The token service answered something that is not a token.
pub(super) fn bad_token(endpoint: &Endpoint, realm: &str, why: &str) -> RegistryFailure {
    RegistryFailure {
        kind: FailureKind::Other,
        message: format!(
            "the token service of {} at {} gave no token: {why}",
            host(endpoint),
            server_text(realm)
        ),
        hint: "retry in a moment; if it persists, check the registry's token service".into(),
    }
}

/// The token service refused to issue a token.
pub(super) fn token_refused(
    endpoint: &Endpoint,
    found: &Found,
    realm: &str,
    scope: &str,
    answer: &Answer,
) -> RegistryFailure {
    match answer.status.as_u16() {
        401 | 403 if found.credential.is_some() => RegistryFailure {
            kind: FailureKind::NoCredentials,
            message: format!(
                "the token service of {} ({}) refused the credentials from {} (HTTP {}) for {}",
                host(endpoint),
                server_text(realm),
                crate::text::line(&found.source),
                answer.status.as_u16(),
                server_text(scope)
            ),
            hint: format!(
                "the password or token is wrong or expired: log in again with {}",
                login(endpoint)
            ),
        },
        401 | 403 => not_logged_in(endpoint, scope),
        _ => self::answer(endpoint, found, "issue a token for", scope, answer),
    }
}

fn not_logged_in(endpoint: &Endpoint, what: &str) -> RegistryFailure {
    RegistryFailure {
        kind: FailureKind::NoCredentials,
        message: format!(
            "not logged in to {}: it does not allow anonymous access to {}",
            host(endpoint),
            server_text(what)
        ),
        hint: format!(
            "log in with {} (in CI, a login step or a token with read access)",
            login(endpoint)
        ),
    }
}

/// Classifies an answer that is not the success the caller wanted; `action` is a verb
/// like "read" and `what` the image or repository.
pub(super) fn answer(
    endpoint: &Endpoint,
    found: &Found,
    action: &str,
    what: &str,
    answer: &Answer,
) -> RegistryFailure {
    let status = answer.status.as_u16();
    let (code, message) = error_code(&answer.body);
    let said = match (code.is_empty(), message.is_empty()) {
        (true, true) => format!("HTTP {status}"),
        (false, true) => format!("HTTP {status}, {code}"),
        (true, false) => format!("HTTP {status}: {message}"),
        (false, false) => format!("HTTP {status}, {code}: {message}"),
    };
    let shown = server_text(what);
    match status {
        401 if super::client::insufficient_scope(answer) => RegistryFailure {
            kind: FailureKind::AccessDenied,
            message: format!(
                "{} refused the token's scope: the credentials from {} may not {action} {shown} ({said})",
                host(endpoint),
                crate::text::line(&found.source)
            ),
            hint: format!(
                "grant the account {action} rights on {shown} (for GHCR: the package's settings, or `packages: write` for GITHUB_TOKEN), or log in as another with {}",
                login(endpoint)
            ),
        },
        401 if found.credential.is_none() => not_logged_in(endpoint, what),
        401 => RegistryFailure {
            kind: FailureKind::NoCredentials,
            message: format!(
                "{} refused the credentials from {} to {action} {shown} ({said})",
                host(endpoint),
                crate::text::line(&found.source)
            ),
            hint: format!(
                "the password or token is wrong or expired: log in again with {}",
                login(endpoint)
            ),
        },
        403 => RegistryFailure {
            kind: FailureKind::AccessDenied,
            message: format!(
                "{} denied the credentials from {} to {action} {shown} ({said})",
                host(endpoint),
                crate::text::line(&found.source)
            ),
            hint: format!("grant the account {action} rights on {shown}, or log in as another with {}", login(endpoint)),
        },
        404 if code == "NAME_UNKNOWN" => RegistryFailure {
            kind: FailureKind::RepositoryNotFound,
            message: format!("{} has no repository for {shown} ({said})", host(endpoint)),
            hint: "push the image first (CI's build step), or check [registry] repository in git-release.toml".into(),
        },
        404 => RegistryFailure {
            kind: FailureKind::ImageNotFound,
            message: format!("{} has no image {shown} ({said})", host(endpoint)),
            hint: "push the image for this commit first (CI's build step), or check [registry] image-tag in git-release.toml".into(),
        },
        429 => {
            let limits: Vec<String> = ["ratelimit-limit", "ratelimit-remaining", "ratelimit-reset", "retry-after"]
                .iter()
                .filter_map(|name| Some(format!("{name}: {}", server_text(answer.header(name)?))))
                .collect();
            RegistryFailure {
                kind: FailureKind::Throttled,
                message: format!(
                    "{} is rate-limiting requests (HTTP 429{})",
                    host(endpoint),
                    if limits.is_empty() { String::new() } else { format!("; {}", limits.join(", ")) }
                ),
                hint: if endpoint.docker_hub {
                    format!("wait until the limit resets; Docker Hub allows more pulls once logged in ({})", login(endpoint))
                } else {
                    "wait until the limit resets, then retry".into()
                },
            }
        }
        500..=599 => RegistryFailure {
            kind: FailureKind::ServerError,
            message: format!("{} failed to {action} {shown} ({said})", host(endpoint)),
            hint: "the registry has a problem; retry in a moment".into(),
        },
        _ => RegistryFailure {
            kind: FailureKind::Other,
            message: format!("{} refused to {action} {shown} ({said})", host(endpoint)),
            hint: "check the registry's documentation for this answer".into(),
        },
    }
}

/// The body could not be read.
pub(super) fn body(
    endpoint: &Endpoint,
    err: &(dyn std::error::Error + Send + Sync + 'static),
) -> RegistryFailure {
    RegistryFailure {
        kind: FailureKind::Unreachable,
        message: format!(
            "cannot read the answer of {} ({})",
            host(endpoint),
            server_text(&err.to_string())
        ),
        hint: "retry; an answer larger than 4 MiB is refused".into(),
    }
}

/// Classifies a failure to get any answer: TLS (which certificate problem), refused or
/// unreachable.
pub(super) fn transport(
    endpoint: &Endpoint,
    err: &hyper_util::client::legacy::Error,
) -> RegistryFailure {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(err);
    let mut chain = Vec::new();
    while let Some(e) = next {
        if let Some(tls) = tls_error(e) {
            return tls_failure(endpoint, tls);
        }
        let text = server_text(&e.to_string());
        if !text.is_empty() && !chain.iter().any(|c: &String| c.contains(&text)) {
            chain.push(text);
        }
        next = e.source();
    }
    let why = chain.join(": ");
    let lower = why.to_ascii_lowercase();
    if lower.contains("timed out") || lower.contains("timeout") {
        return RegistryFailure {
            kind: FailureKind::Timeout,
            message: format!("no connection to {} in time ({why})", host(endpoint)),
            hint: "check the network, or raise [registry] connect-timeout-seconds".into(),
        };
    }
    RegistryFailure {
        kind: FailureKind::Unreachable,
        message: format!(
            "cannot reach the OCI registry at {} ({why})",
            server_text(&endpoint.url(""))
        ),
        hint: "check [registry] host in git-release.toml and the network".into(),
    }
}

/// Finds a rustls error, also inside an `io::Error` (whose `source` skips its payload).
fn tls_error<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    if let Some(tls) = e.downcast_ref::<rustls::Error>() {
        return Some(tls);
    }
    let inner = e.downcast_ref::<std::io::Error>()?.get_ref()?;
    let inner: &(dyn std::error::Error + 'static) = inner;
    tls_error(inner).or_else(|| tls_error(inner.source()?))
}

fn tls_failure(endpoint: &Endpoint, err: &rustls::Error) -> RegistryFailure {
    use rustls::CertificateError as C;
    let (problem, hint) = match err {
        rustls::Error::InvalidCertificate(C::UnknownIssuer) => (
            "its certificate is not signed by a trusted authority (self-signed, or a private CA)".to_string(),
            "add the CA to the system's trust store (or point SSL_CERT_FILE at a bundle with it)".to_string(),
        ),
        rustls::Error::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => (
            "its certificate has expired".into(),
            "the registry's operator must renew it".into(),
        ),
        rustls::Error::InvalidCertificate(C::NotValidYet | C::NotValidYetContext { .. }) => (
            "its certificate is not valid yet (check this machine's clock)".into(),
            "fix the clock, or wait until the certificate is valid".into(),
        ),
        rustls::Error::InvalidCertificate(C::NotValidForName | C::NotValidForNameContext { .. }) => (
            "its certificate is for another host name".into(),
            "check [registry] host: it must be a name the certificate covers".into(),
        ),
        rustls::Error::InvalidCertificate(C::Revoked) => (
            "its certificate has been revoked".into(),
            "the registry's operator must replace it".into(),
        ),
        // What `openssl req -x509` makes by default: a self-signed CA certificate serving
        // as the server's own, which webpki reports before looking for an issuer.
        rustls::Error::InvalidCertificate(other)
            if format!("{other:?}").contains("CaUsedAsEndEntity") =>
        {
            (
                "its certificate is self-signed (a CA certificate used as the server's own), so no trusted authority signed it".to_string(),
                "give the registry a certificate signed by a CA, and add that CA to the system's trust store (or point SSL_CERT_FILE at a bundle with it)".to_string(),
            )
        }
        rustls::Error::InvalidCertificate(other) => (
            format!("its certificate is invalid ({})", server_text(&format!("{other:?}"))),
            "check the registry's certificate".into(),
        ),
        rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. } => (
            "it does not speak TLS (a plain-http port?)".into(),
            if crate::config::is_loopback_host(&endpoint.login_host) {
                "for a local registry without TLS, set [registry] insecure = true".into()
            } else {
                "check the port in [registry] host; a registry without TLS needs [registry] insecure = \"<host>\"".into()
            },
        ),
        other => (
            format!("the TLS handshake failed ({})", server_text(&other.to_string())),
            "check the registry's TLS setup".into(),
        ),
    };
    RegistryFailure {
        kind: FailureKind::Unreachable,
        message: format!(
            "TLS to the OCI registry {} failed: {problem}",
            host(endpoint)
        ),
        hint,
    }
}

/// The whole operation ran past `timeout-seconds`.
pub(super) fn timed_out(endpoint: &Endpoint, what: &str, seconds: u64) -> RegistryFailure {
    RegistryFailure {
        kind: FailureKind::Timeout,
        message: format!(
            "the OCI registry {} did not answer for {} within {seconds} s",
            host(endpoint),
            server_text(what)
        ),
        hint: "check the network and the registry's status, or raise [registry] timeout-seconds"
            .into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_text_is_gated_and_short() {
        assert_eq!(server_text("a\n  b"), "a b");
        assert!(!server_text("\u{1b}[31mred").contains('\u{1b}'));
        assert!(server_text(&"x".repeat(500)).len() < 210);
        let (code, message) =
            error_code(br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#);
        assert_eq!(
            (code.as_str(), message.as_str()),
            ("MANIFEST_UNKNOWN", "manifest unknown")
        );
        assert_eq!(error_code(b"<html>"), (String::new(), String::new()));
    }
}
