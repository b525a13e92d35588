//! Reading back what a SAM environment pins: which release each function's `CodeUri` names.
//!
//! `deploy` writes the promoted object's location into the template; `status` reads it
//! back here. Many services share one template, so it is read and parsed once per
//! environment ([`read_pins`]), and every service's function is looked up in that one
//! parse: the cost grows with the template, not with services × template.
//!
//! An object's key is mapped back to a release by *rendering*, never by trusting the key:
//! the candidate release is cut out of the key at the place the store's `release-key`
//! puts it, parsed as a release version of this service, and rendered again through
//! [`RegistryConfig::release_object_key`] (the very function promote names objects with);
//! only a key equal to that rendering, in the store's bucket, names a release. Anything
//! else (a local directory, a commit's object, another bucket, an intrinsic) is reported
//! as not pinned with the reason, never as a release. The object's version id is not
//! checked against S3: `status` reads files, not the bucket.

use std::path::Path;

use super::{code_uris, CodeUri, SamError};
use crate::config::{Config, EnvironmentKind, RegistryConfig, RegistryKind};
use crate::deploy::ObjectLocation;
use crate::safe_write::{self, Policy};
use crate::text;
use crate::version::parse_release_version;

/// The longest key S3 accepts: a longer one names no object, and bounds the search.
const MAX_KEY_LEN: usize = 1024;

/// What one service's function in one SAM environment is pinned to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SamPin {
    /// Nothing of the service is in this environment: it is not stored in S3, or the
    /// template has no function by its `resource` name.
    Absent,
    /// The function's `CodeUri` names this release tag's object.
    Release(String),
    /// The function is there, but its `CodeUri` names no release of the service.
    Unpinned {
        /// A few words for a table cell (`local`, `commit 0123abc`, `other bucket`).
        short: String,
        /// Why, on one line, every piece of template text escaped.
        reason: String,
    },
}

/// Returns what SAM environment `env` pins for each of `services`, in their order,
/// reading and parsing the template once.
///
/// The template is read where `deploy` would write it: a link is followed only inside
/// the repository. A template that is missing, unreadable or not a template SAM's
/// editor can parse is one error for the whole environment.
pub fn read_pins(
    config: &Config,
    root: &Path,
    env: &str,
    services: &[&str],
) -> Result<Vec<SamPin>, SamError> {
    let environment = config.environments.get(env);
    let file = match environment.map(|e| (e.kind, &e.template)) {
        Some((EnvironmentKind::Sam, Some(template))) => template.trim_end_matches('/'),
        Some((kind, _)) => {
            return Err(SamError::NotSam {
                env: env.to_string(),
                kind: kind.as_str(),
            })
        }
        None => {
            return Err(SamError::NotSam {
                env: env.to_string(),
                kind: "unset",
            })
        }
    };
    let path = root.join(file);
    let resolved = safe_write::resolve(root, &path, Policy::DATA.symlinks)?;
    if !resolved.exists {
        return Err(SamError::Missing {
            env: env.to_string(),
            file: text::line(file).into_owned(),
        });
    }
    let bytes = std::fs::read(&resolved.file).map_err(|source| SamError::Read {
        path: path.clone(),
        source,
    })?;
    let unparsable = |reason: String| SamError::Unparsable {
        file: text::line(file).into_owned(),
        reason,
    };
    let template = String::from_utf8(bytes).map_err(|_| unparsable("it is not UTF-8".into()))?;
    let functions = code_uris(&template).map_err(|e| unparsable(text::line(&e).into_owned()))?;
    Ok(services
        .iter()
        .map(|service| {
            if config.store_of(service).1.kind != RegistryKind::S3 {
                return SamPin::Absent;
            }
            // A resource that is no logical id cannot be in the template either.
            let Ok(target) = super::target(config, root, service, env) else {
                return SamPin::Absent;
            };
            match functions.get(&target.resource) {
                None => SamPin::Absent,
                Some(code) => pin_of(config, service, &target.resource, code),
            }
        })
        .collect())
}

/// Returns what function `resource`'s code location pins for `service`.
pub fn pin_of(config: &Config, service: &str, resource: &str, code: &CodeUri) -> SamPin {
    let unpinned = |short: &str, reason: String| SamPin::Unpinned {
        short: short.to_string(),
        reason,
    };
    match code {
        CodeUri::Object(object) => match release_of(config, service, object) {
            Ok(tag) => SamPin::Release(tag),
            Err((short, reason)) => unpinned(&short, reason),
        },
        CodeUri::Local(path) => unpinned(
            "local",
            format!(
                "the CodeUri of {resource} is a local directory (`{}`), not a released object",
                text::line(path)
            ),
        ),
        CodeUri::Unknown(why) => unpinned("?", format!("{resource}: {why}")),
    }
}

/// Returns the release tag of `service` whose promoted object `object` is, or a short
/// label and the reason it is none.
pub fn release_of(
    config: &Config,
    service: &str,
    object: &ObjectLocation,
) -> Result<String, (String, String)> {
    let store = config.store_of(service).1;
    let shown = || {
        format!(
            "s3://{}/{}",
            text::line(&object.bucket),
            text::line(&object.key)
        )
    };
    let bucket = store.bucket.as_deref().unwrap_or_default();
    if object.bucket != bucket {
        return Err((
            "other bucket".into(),
            format!(
                "the CodeUri names `{}`, outside bucket {} where {service}'s releases are",
                shown(),
                text::line(bucket)
            ),
        ));
    }
    if let Some(tag) = release_key_tag(config, store, service, &object.key) {
        return Ok(tag);
    }
    match commit_of(store, service, &object.key) {
        Some(commit) => Err((
            format!("commit {commit}"),
            format!(
                "the CodeUri names `{}`, the object CI built from commit {commit}, not a promoted release",
                shown()
            ),
        )),
        None => Err((
            "not a release".into(),
            format!(
                "the CodeUri names `{}`, which is no release key of {service} (release-key `{}`)",
                shown(),
                text::line(
                    store
                        .release_key
                        .as_deref()
                        .unwrap_or(crate::config::DEFAULT_RELEASE_KEY)
                )
            ),
        )),
    }
}

/// Returns the tag whose release key (in `store`) is exactly `key`.
///
/// The first `{tag}` or `{version}` of the template starts at a fixed offset in the key;
/// each possible end of it is tried, parsed as a release of `service`, and rendered back
/// with [`RegistryConfig::release_object_key`]. One tag must render to the key: two
/// would make the key ambiguous, and an ambiguous key names no release.
fn release_key_tag(
    config: &Config,
    store: &RegistryConfig,
    service: &str,
    key: &str,
) -> Option<String> {
    if key.len() > MAX_KEY_LEN {
        return None;
    }
    let template = format!(
        "{}{}",
        store.prefix.as_deref().unwrap_or_default(),
        store
            .release_key
            .as_deref()
            .unwrap_or(crate::config::DEFAULT_RELEASE_KEY)
    )
    .replace("{service}", service);
    let (at, is_tag) = match (template.find("{tag}"), template.find("{version}")) {
        (Some(t), Some(v)) if v < t => (v, false),
        (Some(t), _) => (t, true),
        (None, Some(v)) => (v, false),
        (None, None) => return None,
    };
    let rest = key.strip_prefix(&template[..at])?;
    let tags = config.tag_template();
    let mut found: Option<String> = None;
    for end in (1..=rest.len()).filter(|&e| rest.is_char_boundary(e)) {
        let value = &rest[..end];
        let version = if is_tag {
            tags.version_part(service, value)
                .and_then(|v| parse_release_version(v).ok())
        } else {
            parse_release_version(value).ok()
        };
        let Some(version) = version else { continue };
        let tag = tags.render(service, &version);
        if is_tag && tag != value {
            continue;
        }
        if store.release_object_key(service, &tag, &version.to_string()) != key {
            continue;
        }
        match &found {
            Some(other) if *other != tag => return None,
            _ => found = Some(tag),
        }
    }
    found
}

/// Returns the short commit whose CI object (`key` template, in `store`) is `key`.
fn commit_of(store: &RegistryConfig, service: &str, key: &str) -> Option<String> {
    let template = format!(
        "{}{}",
        store.prefix.as_deref().unwrap_or_default(),
        store
            .key
            .as_deref()
            .unwrap_or(crate::config::DEFAULT_OBJECT_KEY)
    )
    .replace("{service}", service);
    let (mut t, mut k) = (template.as_str(), key);
    let mut commit: Option<&str> = None;
    while !t.is_empty() {
        let hex = [
            ("{commit}", 40),
            ("{sha}", 40),
            ("{short_commit}", 7),
            ("{short_sha}", 7),
        ]
        .into_iter()
        .find(|(p, _)| t.starts_with(p));
        match hex {
            Some((placeholder, len)) => {
                let value = k.get(..len)?;
                if !value.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return None;
                }
                // Every placeholder names the same commit.
                match commit {
                    Some(c) if !c.starts_with(value) && !value.starts_with(c) => return None,
                    Some(c) if c.len() >= value.len() => {}
                    _ => commit = Some(value),
                }
                t = &t[placeholder.len()..];
                k = &k[len..];
            }
            None => {
                let c = t.chars().next()?;
                k = k.strip_prefix(c)?;
                t = &t[c.len_utf8()..];
            }
        }
    }
    if !k.is_empty() {
        return None;
    }
    commit.and_then(|c| c.get(..7)).map(str::to_ascii_lowercase)
}

#[cfg(test)]
mod tests;
