//! Where an OCI registry is and how its names are spelled.
//!
//! Docker Hub is the one registry with aliases: `docker.io`, `index.docker.io` and
//! `registry-1.docker.io` all mean the API at `registry-1.docker.io`, whose credentials
//! `docker login` files under `https://index.docker.io/v1/`, and whose one-word
//! repositories live in `library/` (`alpine` is `library/alpine`). Everything else is
//! taken as written.
//!
//! Names are checked against the distribution grammar before they reach a URL: a
//! repository or tag from the configuration or the repository must not be able to
//! change the request's path (`../`, `?`, `#`).

use crate::config::{Insecure, RegistryConfig};

/// The hosts that all mean Docker Hub.
const DOCKER_HUB_ALIASES: [&str; 3] = ["docker.io", "index.docker.io", "registry-1.docker.io"];

/// Docker Hub's API host.
const DOCKER_HUB_API: &str = "registry-1.docker.io";

/// The key `docker login` files Docker Hub's credentials under.
pub(super) const DOCKER_HUB_AUTH_KEY: &str = "https://index.docker.io/v1/";

/// The registry a configuration names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Endpoint {
    /// `https` or, with `insecure`, `http`.
    pub scheme: &'static str,
    /// Where the API is (`registry-1.docker.io` for Docker Hub).
    pub api_host: String,
    /// The host as the user wrote it, for `docker login <host>` hints.
    pub login_host: String,
    /// Whether this is Docker Hub (aliases, `library/`, its credential key).
    pub docker_hub: bool,
}

impl Endpoint {
    /// Returns the endpoint for `[registry] host` (validated on config load).
    pub fn new(config: &RegistryConfig) -> Endpoint {
        let host = config.host.clone().unwrap_or_default();
        let docker_hub = DOCKER_HUB_ALIASES
            .iter()
            .any(|alias| host.eq_ignore_ascii_case(alias));
        Endpoint {
            scheme: if config.insecure == Insecure::Off {
                "https"
            } else {
                "http"
            },
            api_host: if docker_hub {
                DOCKER_HUB_API.to_string()
            } else {
                host.clone()
            },
            login_host: if docker_hub { "docker.io".into() } else { host },
            docker_hub,
        }
    }

    /// Returns the repository as the API names it (`library/` added on Docker Hub).
    pub fn repository(&self, repository: &str) -> String {
        if self.docker_hub && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository.to_string()
        }
    }

    /// Returns `<scheme>://<api host><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("{}://{}{path}", self.scheme, self.api_host)
    }

    /// Returns the keys a credential for this registry may be filed under in `auths`.
    pub fn auth_keys(&self) -> Vec<String> {
        let hosts: Vec<&str> = if self.docker_hub {
            let mut hosts = vec![DOCKER_HUB_AUTH_KEY];
            hosts.extend(DOCKER_HUB_ALIASES);
            hosts
        } else {
            vec![self.login_host.as_str()]
        };
        let mut keys = Vec::new();
        for host in hosts {
            keys.push(host.to_string());
            if !host.contains("://") {
                keys.push(format!("https://{host}"));
                keys.push(format!("http://{host}"));
                keys.push(format!("https://{host}/v1/"));
                keys.push(format!("https://{host}/v2/"));
            }
        }
        keys
    }

    /// Returns the server URL a credential helper is asked about.
    pub fn helper_server(&self) -> &str {
        if self.docker_hub {
            DOCKER_HUB_AUTH_KEY
        } else {
            &self.login_host
        }
    }
}

/// Checks a repository name against the distribution grammar: lowercase path components
/// of `[a-z0-9]` joined by `.`, `_`, `__` or dashes, separated by `/`.
pub(super) fn check_repository(name: &str) -> Result<(), String> {
    let component_ok = |c: &str| {
        let bytes = c.as_bytes();
        !c.is_empty()
            && bytes
                .first()
                .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            && bytes
                .last()
                .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            && bytes.iter().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
            })
            && !c.contains("..")
    };
    if name.len() <= 255 && name.split('/').all(component_ok) {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not an OCI repository name (lowercase letters, digits and `._-` between them, `/` between parts)",
            crate::text::line(name)
        ))
    }
}

/// Checks a tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
pub(super) fn check_tag(tag: &str) -> Result<(), String> {
    let ok = tag.len() <= 128
        && tag
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        && tag
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not an OCI tag (letters, digits, `_.-`, at most 128, not starting with `.` or `-`)",
            crate::text::line(tag)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(host: &str) -> RegistryConfig {
        RegistryConfig {
            host: Some(host.into()),
            ..RegistryConfig::default()
        }
    }

    #[test]
    fn docker_hub_aliases_and_library() {
        for alias in DOCKER_HUB_ALIASES {
            let hub = Endpoint::new(&config(alias));
            assert!(hub.docker_hub);
            assert_eq!(hub.api_host, "registry-1.docker.io");
            assert_eq!(hub.repository("alpine"), "library/alpine");
            assert_eq!(hub.repository("acme/api"), "acme/api");
            assert_eq!(hub.helper_server(), DOCKER_HUB_AUTH_KEY);
            assert_eq!(hub.auth_keys()[0], DOCKER_HUB_AUTH_KEY);
        }
        let ghcr = Endpoint::new(&config("ghcr.io"));
        assert!(!ghcr.docker_hub);
        assert_eq!(ghcr.repository("alpine"), "alpine");
        assert_eq!(ghcr.url("/v2/"), "https://ghcr.io/v2/");
        let local = Endpoint::new(&RegistryConfig {
            insecure: Insecure::Loopback,
            ..config("127.0.0.1:5000")
        });
        assert_eq!(local.url("/v2/"), "http://127.0.0.1:5000/v2/");
    }

    #[test]
    fn names_cannot_change_the_path() {
        assert!(check_repository("acme/service-a").is_ok());
        assert!(check_repository("a__b.c/d-e").is_ok());
        for bad in [
            "", "../x", "a/../b", "A", "a?b", "a#b", "a/", "/a", "a b", "-a",
        ] {
            assert!(check_repository(bad).is_err(), "{bad}");
        }
        assert!(check_tag("0123abc").is_ok());
        assert!(check_tag("service-a-v1.2.3").is_ok());
        for bad in ["", ".x", "-x", "a/b", "a?b", "a:b", &"x".repeat(129)] {
            assert!(check_tag(bad).is_err(), "{bad}");
        }
    }
}
