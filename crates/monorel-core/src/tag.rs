//! Release tag names: the naming template, parsing names back, and naming rules.
//!
//! A release tag is used twice: as a git ref (`refs/tags/service-a-v1.1.0`) and, after
//! promotion, as the image tag in the registry. So its name must satisfy both git's
//! ref-format rules and the registry's image-tag charset (`[A-Za-z0-9_.-]`, at most 128
//! characters, first character alphanumeric or `_`). The template's literal parts are held
//! to the image-tag charset when the config is loaded, so only the service name and the
//! version can break the rules at run time.

use semver::Version;

use crate::version::{parse_release_version, VersionError};

/// The longest image tag registries accept.
pub const MAX_IMAGE_TAG_LEN: usize = 128;

/// A parsed `{service}…{version}` tag template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagTemplate {
    before_service: String,
    between: String,
    after_version: String,
}

/// The error returned by [`TagTemplate::parse`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// A placeholder is missing or repeated.
    #[error("`{0}` must contain {{service}} once, then {{version}} once, like \"{{service}}-v{{version}}\"")]
    Placeholders(String),
    /// The literal text has characters an image tag cannot have.
    #[error("`{0}` has characters that are not allowed in an image tag; use only letters, digits, `_`, `.` and `-`")]
    Charset(String),
}

impl TagTemplate {
    /// Parses a template such as `{service}-v{version}`.
    pub fn parse(template: &str) -> Result<TagTemplate, TemplateError> {
        let placeholders = |t: &str| TemplateError::Placeholders(t.to_string());
        if template.matches("{service}").count() != 1 || template.matches("{version}").count() != 1
        {
            return Err(placeholders(template));
        }
        let (before_service, rest) = template
            .split_once("{service}")
            .ok_or_else(|| placeholders(template))?;
        let (between, after_version) = rest
            .split_once("{version}")
            .ok_or_else(|| placeholders(template))?;
        if [before_service, between, after_version]
            .iter()
            .any(|lit| lit.contains(['{', '}']) || !lit.chars().all(is_image_tag_char))
        {
            return Err(TemplateError::Charset(template.to_string()));
        }
        // Without a separator `svc1.0.0` could be `svc` + `1.0.0` or `svc1` + `.0.0`.
        if between.is_empty() {
            return Err(placeholders(template));
        }
        Ok(TagTemplate {
            before_service: before_service.to_string(),
            between: between.to_string(),
            after_version: after_version.to_string(),
        })
    }

    /// Returns the tag name of `version` of `service`.
    pub fn render(&self, service: &str, version: &Version) -> String {
        format!("{}{version}{}", self.prefix(service), self.after_version)
    }

    /// Returns what every tag of `service` starts with (`service-a-v`).
    pub fn prefix(&self, service: &str) -> String {
        format!("{}{service}{}", self.before_service, self.between)
    }

    /// Returns what every tag ends with (usually nothing).
    pub fn suffix(&self) -> &str {
        &self.after_version
    }

    /// Returns the version text of `tag` if it has the shape of a tag of `service`.
    pub fn version_part<'t>(&self, service: &str, tag: &'t str) -> Option<&'t str> {
        let prefix = self.prefix(service);
        tag.strip_prefix(prefix.as_str())?
            .strip_suffix(self.after_version.as_str())
    }

    /// Parses `tag` against the configured `services`.
    ///
    /// Services whose names contain the separator (`api-v2` with `{service}-v{version}`)
    /// are handled by preferring a match whose version parses, then the longest service.
    pub fn parse_tag<'s>(
        &self,
        tag: &str,
        services: impl IntoIterator<Item = &'s str>,
    ) -> ParsedTag {
        let mut best: Option<(&'s str, Result<Version, VersionError>)> = None;
        for service in services {
            let Some(version) = self.version_part(service, tag) else {
                continue;
            };
            let parsed = parse_release_version(version);
            let better = match &best {
                None => true,
                Some((b, bp)) => match (parsed.is_ok(), bp.is_ok()) {
                    (true, false) => true,
                    (false, true) => false,
                    _ => service.len() > b.len(),
                },
            };
            if better {
                best = Some((service, parsed));
            }
        }
        match best {
            Some((service, Ok(version))) => ParsedTag::Release {
                service: service.to_string(),
                version,
            },
            Some((service, Err(error))) => ParsedTag::BadVersion {
                service: service.to_string(),
                error,
            },
            None => ParsedTag::UnknownService {
                guess: self.guess_service(tag),
            },
        }
    }

    /// Returns the service part of a tag that matches no configured service, if the tag
    /// has the template's shape at all (used to suggest the closest name).
    fn guess_service(&self, tag: &str) -> Option<String> {
        let rest = tag.strip_prefix(self.before_service.as_str())?;
        let rest = rest.strip_suffix(self.after_version.as_str())?;
        // The last separator followed by a digit most likely starts the version.
        rest.match_indices(self.between.as_str())
            .filter(|(i, _)| {
                rest[i + self.between.len()..].starts_with(|c: char| c.is_ascii_digit())
            })
            .last()
            .or_else(|| rest.match_indices(self.between.as_str()).last())
            .map(|(i, _)| rest[..i].to_string())
            .filter(|s| !s.is_empty())
    }
}

/// What a tag name says, read against the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParsedTag {
    /// A well-formed release tag of a configured service.
    Release {
        /// The service.
        service: String,
        /// The version.
        version: Version,
    },
    /// The shape of a configured service's tag, but the version is not a release version.
    BadVersion {
        /// The service.
        service: String,
        /// What is wrong with the version.
        error: VersionError,
    },
    /// No configured service's tag looks like this.
    UnknownService {
        /// The service part, if the name has the template's shape.
        guess: Option<String>,
    },
}

/// Checks a service name: it becomes part of tag names and image repository names.
pub fn check_service_name(name: &str) -> Result<(), String> {
    let ok = name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'))
        && !name.contains("..");
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not a valid service name; use lowercase letters, digits, `-`, `_` and `.`, starting with a letter or digit",
            crate::text::line(name)
        ))
    }
}

fn is_image_tag_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

/// Checks that `tag` can be used as an image tag; returns the rule it breaks.
pub fn check_image_tag(tag: &str) -> Result<(), String> {
    if tag.len() > MAX_IMAGE_TAG_LEN {
        return Err(format!(
            "is {} characters long; image tags allow at most {MAX_IMAGE_TAG_LEN}",
            tag.len()
        ));
    }
    if let Some(c) = tag.chars().find(|c| !is_image_tag_char(*c)) {
        let what = if c == '+' {
            "semver build metadata (`+…`) is not allowed in image tags; drop the `+…` part"
                .to_string()
        } else {
            format!(
                "`{}` is not allowed in image tags (only letters, digits, `_`, `.`, `-`)",
                c.escape_default()
            )
        };
        return Err(what);
    }
    if !tag.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
        return Err("image tags must start with a letter, digit or `_`".into());
    }
    Ok(())
}

/// Checks that `tag` is a valid git tag name (`git check-ref-format`).
pub fn check_ref_format(tag: &str) -> Result<(), String> {
    let full = format!("refs/tags/{tag}");
    gix::refs::FullName::try_from(full.as_str())
        .map(|_| ())
        .map_err(|e| {
            format!(
                "is not a valid git tag name ({})",
                crate::text::line(&e.to_string())
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template() -> TagTemplate {
        TagTemplate::parse("{service}-v{version}").expect("default template")
    }

    #[test]
    fn renders_and_parses_round_trip() {
        let t = template();
        let v = Version::parse("1.2.3-rc.1").expect("version");
        assert_eq!(t.render("service-a", &v), "service-a-v1.2.3-rc.1");
        assert_eq!(
            t.parse_tag("service-a-v1.2.3-rc.1", ["service-a", "service-b"]),
            ParsedTag::Release {
                service: "service-a".into(),
                version: v
            }
        );
    }

    #[test]
    fn services_containing_the_separator() {
        let t = template();
        let services = ["api", "api-v2", "api-v2-v"];
        let parsed = t.parse_tag("api-v2-v1.0.0", services);
        assert_eq!(
            parsed,
            ParsedTag::Release {
                service: "api-v2".into(),
                version: Version::new(1, 0, 0)
            }
        );
        let parsed = t.parse_tag("api-v1.0.0", services);
        assert_eq!(
            parsed,
            ParsedTag::Release {
                service: "api".into(),
                version: Version::new(1, 0, 0)
            }
        );
    }

    #[test]
    fn unknown_service_guess() {
        let t = template();
        assert_eq!(
            t.parse_tag("servce-a-v1.0.0", ["service-a"]),
            ParsedTag::UnknownService {
                guess: Some("servce-a".into())
            }
        );
        assert_eq!(
            t.parse_tag("random", ["service-a"]),
            ParsedTag::UnknownService { guess: None }
        );
    }

    #[test]
    fn templates() {
        assert!(TagTemplate::parse("{service}/v{version}").is_err());
        assert!(TagTemplate::parse("{service}{version}").is_err());
        assert!(TagTemplate::parse("{version}-{service}").is_err());
        let t = TagTemplate::parse("rel_{service}_{version}").expect("valid");
        assert_eq!(t.prefix("a"), "rel_a_");
    }

    #[test]
    fn image_tag_rules() {
        assert!(check_image_tag("service-a-v1.0.0").is_ok());
        assert!(check_image_tag("service-a-v1.0.0+b1")
            .unwrap_err()
            .contains("build metadata"));
        assert!(check_image_tag(&"a".repeat(129)).is_err());
        assert!(check_image_tag(".a").is_err());
    }

    #[test]
    fn ref_format_rules() {
        assert!(check_ref_format("service-a-v1.0.0").is_ok());
        assert!(check_ref_format("a..b").is_err());
        assert!(check_ref_format("a.lock").is_err());
        assert!(check_ref_format("a b").is_err());
    }
}
