//! The registry's `WWW-Authenticate` challenge, which decides the scheme: `Basic`, or
//! `Bearer` with the token service's `realm`, `service` and the `scope` asked for.

/// A parsed challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Challenge {
    /// `Basic realm="…"`: send the user and password with every request.
    Basic,
    /// `Bearer realm="…",service="…"`: get a token per scope from `realm`.
    Bearer {
        /// The token service's URL.
        realm: String,
        /// The `service` to ask a token for.
        service: Option<String>,
        /// `error="insufficient_scope"` and the like, when the challenge refuses a token.
        error: Option<String>,
    },
}

/// Parses a `WWW-Authenticate` value; `None` for a scheme we do not speak.
pub(super) fn parse(value: &str) -> Option<Challenge> {
    let value = value.trim();
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if scheme.eq_ignore_ascii_case("basic") {
        return Some(Challenge::Basic);
    }
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let params = params(rest);
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    Some(Challenge::Bearer {
        realm: get("realm")?,
        service: get("service"),
        error: get("error"),
    })
}

/// Splits `a="x, y",b=z` into pairs, honouring quotes and backslash escapes.
fn params(text: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = std::iter::from_fn(|| chars.next_if(|c| *c != '=' && *c != ','))
            .collect::<String>()
            .trim()
            .to_string();
        if key.is_empty() {
            break;
        }
        if chars.next_if_eq(&'=').is_none() {
            continue;
        }
        let mut value = String::new();
        if chars.next_if_eq(&'"').is_some() {
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            value = std::iter::from_fn(|| chars.next_if(|c| *c != ','))
                .collect::<String>()
                .trim()
                .to_string();
        }
        pairs.push((key, value));
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_schemes_registries_send() {
        assert_eq!(
            parse(r#"Basic realm="Registry Realm""#),
            Some(Challenge::Basic)
        );
        assert_eq!(
            parse(
                r#"Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:a/b:pull""#
            ),
            Some(Challenge::Bearer {
                realm: "https://ghcr.io/token".into(),
                service: Some("ghcr.io".into()),
                error: None
            })
        );
        assert_eq!(
            parse(
                r#"Bearer realm="https://auth.docker.io/token", service="registry.docker.io", scope="repository:library/alpine:pull,push", error="insufficient_scope""#
            ),
            Some(Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
                error: Some("insufficient_scope".into())
            })
        );
        assert_eq!(parse("Negotiate abc"), None);
        assert_eq!(parse(r#"Bearer service="x""#), None);
        assert_eq!(
            parse(r#"bearer realm=http://h/t,service="a \"b\"""#),
            Some(Challenge::Bearer {
                realm: "http://h/t".into(),
                service: Some("a \"b\"".into()),
                error: None
            })
        );
    }
}
