//! `git-release.toml`: the repository's release configuration.
//!
//! The file's keys are a contract that scripts outside the project depend on, so every
//! struct denies unknown fields: a typo is an error naming the key and the line, never a
//! silent default. Layers, lowest first: built-in defaults, the file, `GIT_RELEASE_*`
//! environment variables (applied by [`Config::apply_env`]), then command-line flags
//! (applied by the binary).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::tag::{TagTemplate, TemplateError};

mod cache;

pub use cache::ConfigCache;

/// The configuration file's name, at the repository root.
pub const FILE_NAME: &str = "git-release.toml";

/// Names that cannot be services because `git release <name>` would run a subcommand.
///
/// The binary has a test that keeps this list equal to its subcommands.
pub const RESERVED_NAMES: &[&str] = &[
    "check",
    "completions",
    "deploy",
    "doctor",
    "help",
    "hook",
    "init",
    "install",
    "list",
    "man",
    "next",
    "notes",
    "promote",
    "release",
    "status",
    "uninstall",
];

/// The whole configuration.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// Defaults for every service.
    #[serde(default)]
    pub defaults: Defaults,
    /// Where artifacts (images or objects) live and how they are named: the store of
    /// every service that names no other.
    #[serde(default)]
    pub registry: RegistryConfig,
    /// Named stores, picked per service with `[services.<svc>] registry = "<name>"`.
    #[serde(default)]
    pub registries: BTreeMap<String, RegistryConfig>,
    /// Behaviour of the pre-push hook and `git release check`.
    #[serde(default)]
    pub hook: HookConfig,
    /// The services of the monorepo, by name.
    #[serde(default, deserialize_with = "services_in_bulk")]
    pub services: BTreeMap<String, ServiceConfig>,
    /// Deployment environments (stg, prod, …) pinned in Terraform.
    #[serde(default)]
    pub environments: BTreeMap<String, EnvironmentConfig>,
    /// What `git release <service>` writes into the tag.
    #[serde(default)]
    pub release: ReleaseConfig,
}

/// `[release]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ReleaseConfig {
    /// List the release notes (conventional commits since the previous release, grouped)
    /// in the annotated tag's message.
    #[serde(default = "default_notes")]
    pub notes: bool,
}

impl Default for ReleaseConfig {
    fn default() -> Self {
        ReleaseConfig {
            notes: default_notes(),
        }
    }
}

fn default_notes() -> bool {
    true
}

/// `[defaults]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Defaults {
    /// The tag template; `{service}` and `{version}` are its only placeholders.
    #[serde(default = "default_tag")]
    pub tag: String,
    /// The version of a service's first release.
    #[serde(default = "default_initial_version")]
    pub initial_version: semver::Version,
    /// The remote that releases are pushed to and compared with.
    #[serde(default = "default_remote")]
    pub remote: String,
    /// Seconds to wait for `git ls-remote` before going on without the remote's tags.
    #[serde(default = "default_remote_timeout")]
    pub remote_timeout_seconds: u64,
    /// Shared paths (or globs) whose commits belong to every service, as if each listed
    /// them in its own `also`.
    #[serde(default)]
    pub also: Vec<String>,
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            tag: default_tag(),
            initial_version: default_initial_version(),
            remote: default_remote(),
            remote_timeout_seconds: default_remote_timeout(),
            also: Vec::new(),
        }
    }
}

/// Builds the services map in one go: `BTreeMap::from_iter` sorts and then fills whole
/// nodes, where inserting one service at a time leaves nodes half full. For 1,000 services
/// that is half the memory, which the pre-push hook pays for in page faults on every push.
fn services_in_bulk<'de, D>(deserializer: D) -> Result<BTreeMap<String, ServiceConfig>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    struct Entries;

    impl<'de> serde::de::Visitor<'de> for Entries {
        type Value = Vec<(String, ServiceConfig)>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a table of services")
        }

        fn visit_map<A>(self, mut map: A) -> Result<Self::Value, A::Error>
        where
            A: serde::de::MapAccess<'de>,
        {
            let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0));
            while let Some(entry) = map.next_entry()? {
                entries.push(entry);
            }
            Ok(entries)
        }
    }

    Ok(deserializer.deserialize_map(Entries)?.into_iter().collect())
}

fn default_tag() -> String {
    "{service}-v{version}".into()
}
fn default_initial_version() -> semver::Version {
    semver::Version::new(0, 1, 0)
}
fn default_remote() -> String {
    "origin".into()
}
/// Seconds `defaults.remote-timeout-seconds` may take: 0 would give up before asking, and
/// beyond an hour a hook looks hung (and huge values overflow the clock).
pub const REMOTE_TIMEOUT_RANGE: std::ops::RangeInclusive<u64> = 1..=3600;
/// Seconds `registry.timeout-seconds` may take (see [`REMOTE_TIMEOUT_RANGE`]).
pub const REGISTRY_TIMEOUT_RANGE: std::ops::RangeInclusive<u64> = 1..=3600;
/// Seconds `registry.connect-timeout-seconds` may take.
pub const CONNECT_TIMEOUT_RANGE: std::ops::RangeInclusive<u64> = 1..=600;

fn default_remote_timeout() -> u64 {
    10
}

/// Which backend holds a store's artifacts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RegistryKind {
    /// AWS Elastic Container Registry (images).
    #[default]
    Ecr,
    /// No artifact checks at all; every run says so on stderr.
    None,
    /// Any registry that speaks the OCI distribution API (GHCR, Docker Hub, GitLab,
    /// Harbor, a self-hosted `distribution`), with the user's `docker login`.
    Oci,
    /// Amazon S3 (objects, like Lambda zips).
    S3,
}

/// `[registry] insecure`: whether an OCI registry is spoken to over plain http.
///
/// In `git-release.toml`: `insecure = true` allows plain http for a loopback host only
/// (`localhost`, `127.0.0.0/8`, `::1`); any other host must be spelled out, as
/// `insecure = "<the same host>"` (like `insecure = "registry.lab:5000"`), so that a line
/// copied into another project cannot silently send credentials in the clear.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Insecure {
    /// https only (the default).
    #[default]
    Off,
    /// `insecure = true`: plain http, for a loopback host.
    Loopback,
    /// `insecure = "<host>"`: plain http for exactly that host.
    Host(String),
}

impl Serialize for Insecure {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Written as the user spells it in TOML/JSON; as a plain string (``, `true`, a
        // host) in the binary cache, which is not self-describing.
        match self {
            Insecure::Off if serializer.is_human_readable() => serializer.serialize_bool(false),
            Insecure::Loopback if serializer.is_human_readable() => serializer.serialize_bool(true),
            Insecure::Off => serializer.serialize_str(""),
            Insecure::Loopback => serializer.serialize_str("true"),
            Insecure::Host(host) => serializer.serialize_str(host),
        }
    }
}

impl<'de> Deserialize<'de> for Insecure {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Spelled {
            Flag(bool),
            Host(String),
        }
        if !deserializer.is_human_readable() {
            let text = String::deserialize(deserializer)?;
            return Ok(match text.as_str() {
                "" => Insecure::Off,
                "true" => Insecure::Loopback,
                _ => Insecure::Host(text),
            });
        }
        Ok(match Spelled::deserialize(deserializer)? {
            Spelled::Flag(false) => Insecure::Off,
            Spelled::Flag(true) => Insecure::Loopback,
            Spelled::Host(host) => Insecure::Host(host),
        })
    }
}

impl RegistryKind {
    /// The value as written in `git-release.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            RegistryKind::Ecr => "ecr",
            RegistryKind::None => "none",
            RegistryKind::Oci => "oci",
            RegistryKind::S3 => "s3",
        }
    }

    /// Whether the store holds images (tags in repositories) rather than objects.
    pub fn holds_images(self) -> bool {
        !matches!(self, RegistryKind::S3)
    }
}

/// `[registry]` and each `[registries.<name>]`: one store.
///
/// One struct for every kind (rather than a table per kind) because the parsed copy of
/// the configuration is kept in postcard's form, which cannot read serde's tagged enums;
/// [`Config::parse`] refuses the keys a store's kind does not use.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RegistryConfig {
    /// The backend.
    #[serde(default)]
    pub kind: RegistryKind,
    /// Image repository template; `{service}` is its placeholder.
    #[serde(default = "default_repository")]
    pub repository: String,
    /// The tag CI gives each built image; `{commit}` or `{sha}` (40 hex), `{short_commit}`
    /// or `{short_sha}` (7 hex).
    #[serde(default = "default_image_tag")]
    pub image_tag: String,
    /// AWS region; preferred over the environment so nothing waits on instance metadata.
    #[serde(default)]
    pub region: Option<String>,
    /// AWS account id that owns the repositories, when it is not the caller's.
    #[serde(default)]
    pub registry_id: Option<String>,
    /// Upper bound, in seconds, on a whole registry check.
    #[serde(default = "default_registry_timeout")]
    pub timeout_seconds: u64,
    /// Upper bound, in seconds, on opening a connection to the registry.
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_seconds: u64,
    /// `kind = "oci"`: the registry's host (and port), like `ghcr.io` or `docker.io`.
    #[serde(default)]
    pub host: Option<String>,
    /// `kind = "oci"`: plain http instead of https (see [`Insecure`]).
    #[serde(default)]
    pub insecure: Insecure,
    /// `kind = "s3"`: the bucket that holds the objects.
    #[serde(default)]
    pub bucket: Option<String>,
    /// `kind = "s3"`: a literal prefix put before both key templates (like `lambda/`).
    #[serde(default)]
    pub prefix: Option<String>,
    /// `kind = "s3"`: the key of the commit's object; `{service}`, `{commit}` (40 hex) and
    /// `{short_commit}` (7 hex). Default [`DEFAULT_OBJECT_KEY`].
    #[serde(default)]
    pub key: Option<String>,
    /// `kind = "s3"`: the key of the promoted object; `{service}`, `{tag}` and `{version}`.
    /// Default [`DEFAULT_RELEASE_KEY`].
    #[serde(default)]
    pub release_key: Option<String>,
}

/// The default `key` of an S3 store: the layout CI uploads (`service-a-<sha>`).
pub const DEFAULT_OBJECT_KEY: &str = "{service}-{commit}";
/// The default `release-key` of an S3 store: the release tag itself.
pub const DEFAULT_RELEASE_KEY: &str = "{tag}";
/// The placeholders of an S3 store's `key`.
pub const OBJECT_KEY_PLACEHOLDERS: &[&str] = &[
    "{service}",
    "{commit}",
    "{short_commit}",
    "{sha}",
    "{short_sha}",
];
/// The placeholders of an image store's `image-tag`: `{commit}` and `{sha}` are the same
/// full commit id (`{sha}` was the first spelling and stays), `{short_commit}` and
/// `{short_sha}` its first 7 hex digits. S3's `key` uses the `{commit}` spelling too.
pub const IMAGE_TAG_PLACEHOLDERS: &[&str] = &["{commit}", "{short_commit}", "{sha}", "{short_sha}"];
/// The placeholders of an S3 store's `release-key`.
pub const RELEASE_KEY_PLACEHOLDERS: &[&str] = &["{service}", "{tag}", "{version}"];

/// Fills the commit placeholders of a template (an image tag, an S3 key) with `commit`
/// (40 hex): `{commit}` and its older spelling `{sha}` with all of it, `{short_commit}` and
/// `{short_sha}` with its first 7 hex digits. The one place these placeholders mean
/// something, so every template agrees.
pub fn render_commit(template: &str, commit: &str) -> String {
    let short = &commit[..commit.len().min(7)];
    template
        .replace("{commit}", commit)
        .replace("{sha}", commit)
        .replace("{short_commit}", short)
        .replace("{short_sha}", short)
}

impl RegistryConfig {
    /// Returns the key of the object CI uploaded for `commit` (40 hex) of `service`.
    pub fn object_key(&self, service: &str, commit: &str) -> String {
        let template = self.key.as_deref().unwrap_or(DEFAULT_OBJECT_KEY);
        format!(
            "{}{}",
            self.prefix.as_deref().unwrap_or_default(),
            render_commit(&template.replace("{service}", service), commit)
        )
    }

    /// Returns the key of the object promoted as release `tag` (version `version`).
    pub fn release_object_key(&self, service: &str, tag: &str, version: &str) -> String {
        let template = self.release_key.as_deref().unwrap_or(DEFAULT_RELEASE_KEY);
        format!(
            "{}{}",
            self.prefix.as_deref().unwrap_or_default(),
            template
                .replace("{service}", service)
                .replace("{tag}", tag)
                .replace("{version}", version)
        )
    }

    /// Checks the keys of one store; `key` is where it lives (`registry`,
    /// `registries.lambda`). Returns the dotted key that breaks a rule, and the rule.
    fn validate(&self, key: &str) -> Result<(), (String, String)> {
        let at = |name: &str| format!("{key}.{name}");
        for (name, value, range) in [
            (
                "timeout-seconds",
                self.timeout_seconds,
                REGISTRY_TIMEOUT_RANGE,
            ),
            (
                "connect-timeout-seconds",
                self.connect_timeout_seconds,
                CONNECT_TIMEOUT_RANGE,
            ),
        ] {
            if !range.contains(&value) {
                return Err((
                    at(name),
                    format!(
                        "{value} is out of range; use {} to {} seconds",
                        range.start(),
                        range.end()
                    ),
                ));
            }
        }
        check_placeholders(&self.repository, &["{service}"]).map_err(|m| (at("repository"), m))?;
        check_placeholders(&self.image_tag, IMAGE_TAG_PLACEHOLDERS)
            .map_err(|m| (at("image-tag"), m))?;
        check_oci(self, key)?;
        if let Some(region) = &self.region {
            crate::text::check_name(region).map_err(|rule| (at("region"), rule))?;
        }
        let kind = self.kind.as_str();
        let s3_keys = [
            ("bucket", self.bucket.is_some()),
            ("prefix", self.prefix.is_some()),
            ("key", self.key.is_some()),
            ("release-key", self.release_key.is_some()),
        ];
        match self.kind {
            RegistryKind::S3 => {
                if self.registry_id.is_some() {
                    return Err((
                        at("registry-id"),
                        format!("`registry-id` is a key of kind = \"ecr\", not of kind = \"{kind}\"; remove it"),
                    ));
                }
                for (name, changed) in [
                    ("repository", self.repository != default_repository()),
                    ("image-tag", self.image_tag != default_image_tag()),
                ] {
                    if changed {
                        return Err((
                            at(name),
                            format!("`{name}` names images, but this store is kind = \"s3\" (objects); remove it, or use `key` and `release-key`"),
                        ));
                    }
                }
                let Some(bucket) = &self.bucket else {
                    return Err((
                        at("bucket"),
                        "kind = \"s3\" needs a bucket; add bucket = \"<the bucket CI uploads to>\""
                            .into(),
                    ));
                };
                check_bucket(bucket).map_err(|rule| (at("bucket"), rule))?;
                let prefix = self.prefix.as_deref().unwrap_or_default();
                if !prefix.is_empty() {
                    check_object_key(&format!("{prefix}x")).map_err(|rule| (at("prefix"), rule))?;
                }
                let key_template = self.key.as_deref().unwrap_or(DEFAULT_OBJECT_KEY);
                check_placeholders(key_template, OBJECT_KEY_PLACEHOLDERS)
                    .map_err(|m| (at("key"), m))?;
                if !["{commit}", "{short_commit}", "{sha}", "{short_sha}"]
                    .iter()
                    .any(|p| key_template.contains(p))
                {
                    return Err((
                        at("key"),
                        format!("`{}` has no {{commit}} or {{short_commit}}, so every commit would name the same object; add one", crate::text::line(key_template)),
                    ));
                }
                check_object_key(&self.object_key("service-a", &"0".repeat(40)))
                    .map_err(|rule| (at("key"), rule))?;
                let release_template = self.release_key.as_deref().unwrap_or(DEFAULT_RELEASE_KEY);
                check_placeholders(release_template, RELEASE_KEY_PLACEHOLDERS)
                    .map_err(|m| (at("release-key"), m))?;
                let names_release = release_template.contains("{tag}")
                    || (release_template.contains("{service}")
                        && release_template.contains("{version}"));
                if !names_release {
                    return Err((
                        at("release-key"),
                        format!("`{}` must contain {{tag}}, or {{service}} and {{version}}, so that each release has its own object", crate::text::line(release_template)),
                    ));
                }
                check_object_key(&self.release_object_key(
                    "service-a",
                    "service-a-v1.2.3",
                    "1.2.3",
                ))
                .map_err(|rule| (at("release-key"), rule))?;
            }
            RegistryKind::Oci if self.registry_id.is_some() => {
                return Err((
                    at("registry-id"),
                    "`registry-id` is a key of kind = \"ecr\", not of kind = \"oci\"; remove it"
                        .into(),
                ));
            }
            RegistryKind::Ecr | RegistryKind::Oci | RegistryKind::None => {
                if let Some((name, _)) = s3_keys.iter().find(|(_, set)| *set) {
                    return Err((
                        at(name),
                        format!("`{name}` is a key of kind = \"s3\", not of kind = \"{kind}\"; remove it, or set kind = \"s3\""),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Checks an S3 bucket name: what S3 accepts (3 to 63 lowercase letters, digits, dots
/// and hyphens; legacy us-east-1 buckets also have capitals and underscores).
fn check_bucket(bucket: &str) -> Result<(), String> {
    let shown = crate::text::line(bucket);
    if !(3..=255).contains(&bucket.len())
        || !bucket
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
        || !bucket.starts_with(|c: char| c.is_ascii_alphanumeric())
    {
        return Err(format!(
            "`{shown}` is not an S3 bucket name (3 to 63 letters, digits, `.` and `-`, starting with a letter or digit)"
        ));
    }
    Ok(())
}

/// Checks a rendered S3 key: at most 1,024 bytes of the characters AWS calls safe
/// (letters, digits, `!-_.*'()` and `/`), no leading `/`, no empty, `.` or `..` segment.
/// Keys end up in messages, tag messages, Terraform files and suggested commands, so
/// nothing that needs escaping is allowed in.
pub fn check_object_key(key: &str) -> Result<(), String> {
    let shown = crate::text::line(key);
    if key.is_empty() || key.len() > 1024 {
        return Err(format!(
            "`{shown}` is not a usable S3 key: it must be 1 to 1,024 bytes"
        ));
    }
    if let Some(bad) = key.chars().find(|c| {
        !(c.is_ascii_alphanumeric()
            || matches!(c, '!' | '-' | '_' | '.' | '*' | '\'' | '(' | ')' | '/'))
    }) {
        return Err(format!(
            "`{shown}` is not a usable S3 key: {bad:?} is not one of the safe characters (letters, digits, `!-_.*'()` and `/`)"
        ));
    }
    if key.split('/').enumerate().any(|(i, segment)| {
        matches!(segment, "." | "..") || (segment.is_empty() && i + 1 < key.split('/').count())
    }) {
        return Err(format!(
            "`{shown}` is not a usable S3 key: no leading `/`, `//`, `.` or `..` segment"
        ));
    }
    if key.ends_with('/') {
        return Err(format!(
            "`{shown}` is not a usable S3 key: it ends with `/`, which names a folder"
        ));
    }
    Ok(())
}

impl Default for RegistryConfig {
    fn default() -> Self {
        RegistryConfig {
            kind: RegistryKind::default(),
            repository: default_repository(),
            image_tag: default_image_tag(),
            region: None,
            registry_id: None,
            timeout_seconds: default_registry_timeout(),
            connect_timeout_seconds: default_connect_timeout(),
            host: None,
            insecure: Insecure::Off,
            bucket: None,
            prefix: None,
            key: None,
            release_key: None,
        }
    }
}

/// Checks the `kind = "oci"` keys: a host, and plain http only where [`Insecure`] allows.
fn check_oci(registry: &RegistryConfig, key: &str) -> Result<(), (String, String)> {
    let at = |name: &str| format!("{key}.{name}");
    if registry.kind != RegistryKind::Oci {
        if registry.host.is_some() {
            return Err((
                at("host"),
                "only `kind = \"oci\"` uses a host; remove it or set kind = \"oci\"".into(),
            ));
        }
        if registry.insecure != Insecure::Off {
            return Err((
                at("insecure"),
                "only `kind = \"oci\"` uses insecure; remove it".into(),
            ));
        }
        return Ok(());
    }
    let Some(host) = registry.host.as_deref() else {
        return Err((
            at("host"),
            "`kind = \"oci\"` needs the registry's host, like host = \"ghcr.io\"".into(),
        ));
    };
    let valid = !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    if !valid {
        return Err((
            at("host"),
            format!(
                "`{}` is not a registry host; write the host and optional port only, like \"ghcr.io\" or \"harbor.example.com:8443\" (no scheme, no path)",
                crate::text::line(host)
            ),
        ));
    }
    match &registry.insecure {
        Insecure::Off => Ok(()),
        Insecure::Loopback if is_loopback_host(host) => Ok(()),
        Insecure::Loopback => Err((
            at("insecure"),
            format!(
                "`insecure = true` allows plain http for localhost only, and {} is not; to send credentials in the clear to it anyway, write insecure = \"{}\"",
                crate::text::line(host),
                crate::text::line(host)
            ),
        )),
        Insecure::Host(named) if named == host => Ok(()),
        Insecure::Host(named) => Err((
            at("insecure"),
            format!(
                "insecure = \"{}\" does not name the registry's host {}; write insecure = \"{}\" (or true for localhost)",
                crate::text::line(named),
                crate::text::line(host),
                crate::text::line(host)
            ),
        )),
    }
}

/// Whether `host` (with an optional port) is `localhost`, in `127.0.0.0/8`, or `::1`.
pub fn is_loopback_host(host: &str) -> bool {
    if host
        .parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
    {
        return true;
    }
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map_or(host, |(name, _)| name)
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn default_repository() -> String {
    "{service}-image".into()
}
fn default_image_tag() -> String {
    "{sha}".into()
}
fn default_registry_timeout() -> u64 {
    15
}
fn default_connect_timeout() -> u64 {
    2
}

/// What the hook does when the registry cannot be asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnRegistryError {
    /// Refuse the push (the safe default).
    #[default]
    Block,
    /// Let the push through with a warning.
    Warn,
}

/// `[hook]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct HookConfig {
    /// Allow a release below the service's highest when it is the highest of its `major.minor`.
    #[serde(default)]
    pub allow_maintenance: bool,
    /// Allow moving or deleting release tags that already exist on the remote.
    #[serde(default)]
    pub allow_rewrite: bool,
    /// What to do when the registry cannot be reached.
    #[serde(default)]
    pub on_registry_error: OnRegistryError,
}

/// `[services.<name>]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ServiceConfig {
    /// The directory, relative to the repository root, whose commits belong to the service.
    pub path: String,
    /// Overrides `[registry] repository` for this service.
    #[serde(default)]
    pub repository: Option<String>,
    /// Overrides `[registry] image-tag` for this service.
    #[serde(default)]
    pub image_tag: Option<String>,
    /// The name of the store (`[registries.<name>]`) that holds this service's
    /// artifacts; `[registry]` when unset.
    #[serde(default)]
    pub registry: Option<String>,
    /// Shared paths (or globs, see [`is_glob`]) whose commits also belong to the service:
    /// the code its image is built from besides `path` (`libs/common`, `proto`). They
    /// count toward its suggestion, notes, `list` and `status`; `path` keeps its meaning.
    #[serde(default)]
    pub also: Vec<String>,
    /// Per-environment names in live (`ecs`, `lambda`) environments.
    #[serde(default)]
    pub environments: BTreeMap<String, EnvironmentOverride>,
}

/// The paths whose commits belong to one service: its `path`, `[defaults] also` and its
/// own `also`, split into plain prefixes and globs. Returned by [`Config::paths_of`], the
/// one place that assembles them, so no history question can forget the shared paths.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServicePaths {
    /// Literal paths: each matches itself and everything under it.
    pub prefixes: Vec<String>,
    /// Glob patterns (git's `:(glob)` wildmatch: `*` and `?` stay inside one component,
    /// `**` crosses them, `[...]` is a class); each matches what it names and everything
    /// under it.
    pub globs: Vec<String>,
}

/// Whether an `also` entry is a glob: it contains `*`, `?` or `[`. `path` is always
/// literal.
pub fn is_glob(entry: &str) -> bool {
    entry.contains(['*', '?', '['])
}

/// Checks an `also` entry: a relative path like `path`, and, for a glob, brackets that
/// close (an unclosed `[` matches nothing in git, which would silently drop the entry).
fn check_also(entry: &str) -> Result<(), String> {
    crate::text::check_relative_path(entry)?;
    if !is_glob(entry) {
        return Ok(());
    }
    let mut chars = entry.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '[' {
            continue;
        }
        // As in git's wildmatch, a class may start with `!` or `^`, and a `]` right
        // after that is a member, not the end.
        if matches!(chars.peek(), Some('!' | '^')) {
            chars.next();
        }
        if chars.peek() == Some(&']') {
            chars.next();
        }
        loop {
            match chars.next() {
                Some(']') => break,
                Some('/') => {
                    return Err(format!(
                        "`{}` has a `[...]` class with a `/` in it, which never matches a path; remove the class",
                        crate::text::line(entry)
                    ))
                }
                Some(_) => {}
                None => {
                    return Err(format!(
                        "`{}` has a `[` that is never closed; close the class or remove the `[`",
                        crate::text::line(entry)
                    ))
                }
            }
        }
    }
    Ok(())
}

/// What an environment is: where `deploy` puts a release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EnvironmentKind {
    /// A Terraform root module whose variables file pins the release (applied by the team).
    #[default]
    Terraform,
    /// A SAM template (`template`) whose function (`resource`) gets the promoted object as
    /// its `CodeUri`.
    Sam,
    /// An ECS service: `deploy` registers a task-definition revision with the release's
    /// image by digest and rolls the service out to it.
    Ecs,
    /// A Lambda function: `deploy` publishes a version with the release's code and moves
    /// an alias to it.
    Lambda,
}

impl EnvironmentKind {
    /// The name as written in `git-release.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            EnvironmentKind::Terraform => "terraform",
            EnvironmentKind::Sam => "sam",
            EnvironmentKind::Ecs => "ecs",
            EnvironmentKind::Lambda => "lambda",
        }
    }

    /// The keys an environment of this kind takes besides `kind` (for the refusal of a
    /// key that belongs to another kind).
    pub fn keys(self) -> &'static [&'static str] {
        match self {
            // A Terraform environment may name what its Terraform runs (an ECS service or a
            // Lambda alias) so that `status` reads it live and shows drift from the pin.
            EnvironmentKind::Terraform => &[
                "dir",
                "file",
                "variable",
                "cluster",
                "service",
                "container",
                "function",
                "alias",
                "region",
            ],
            EnvironmentKind::Sam => &["template", "resource"],
            EnvironmentKind::Ecs => &["cluster", "service", "container", "region"],
            EnvironmentKind::Lambda => &["function", "alias", "region"],
        }
    }
}

/// `[environments.<name>]`.
///
/// One flat table for every kind, so the file reads the same whatever the kind; keys of
/// another kind are refused by [`Config::parse`] with the kind they belong to. (No
/// `skip_serializing_if` here: the config cache is postcard, which needs every field.)
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct EnvironmentConfig {
    /// How the environment is deployed; `terraform` unless said otherwise, so every
    /// configuration written before SAM support keeps its meaning.
    #[serde(default)]
    pub kind: EnvironmentKind,
    /// The Terraform root module of the environment, relative to the repository root.
    /// Required for `kind = "terraform"` (checked by [`Config::parse`], so a SAM
    /// environment need not invent one).
    #[serde(default)]
    pub dir: String,
    /// `kind = "sam"`: the template, relative to the repository root.
    #[serde(default)]
    pub template: Option<String>,
    /// `kind = "sam"`: the function's logical id; `{service}`, `{service_snake}`,
    /// `{service_pascal}` and `{env}` are its placeholders.
    #[serde(default = "default_env_resource")]
    pub resource: String,
    /// The variables file each service's pin is written to.
    #[serde(default = "default_env_file")]
    pub file: String,
    /// The variable that holds the release tag; see [`EnvironmentConfig::variable_for`]
    /// for its default, which depends on the service's artifact.
    #[serde(default)]
    pub variable: Option<String>,
    /// ECS: the cluster (name or ARN); required for `kind = "ecs"`.
    #[serde(default)]
    pub cluster: Option<String>,
    /// ECS: the service's name template (default `{service}`).
    #[serde(default)]
    pub service: Option<String>,
    /// ECS: the container whose image is the release (default `{service}`).
    #[serde(default)]
    pub container: Option<String>,
    /// ECS and Lambda: the AWS region, else the AWS chain's.
    #[serde(default)]
    pub region: Option<String>,
    /// Lambda: the function's name template (default `{service}`).
    #[serde(default)]
    pub function: Option<String>,
    /// Lambda: the alias that is moved to the new version (default `{env}`).
    #[serde(default)]
    pub alias: Option<String>,
}

/// `[services.<svc>.environments.<env>]`: one service's own names in one live
/// environment (its ECS service, container, Lambda function, …), over the environment's.
///
/// Its keys repeat the live keys of [`EnvironmentConfig`] on purpose: sharing them through
/// one `#[serde(flatten)]` struct would switch off `deny_unknown_fields` (serde does not
/// support both; a misspelt key would then be ignored, not refused) and cannot be read
/// back from the postcard config cache. The test `override_keys_are_the_live_keys` keeps
/// the two lists the same.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct EnvironmentOverride {
    /// ECS cluster.
    #[serde(default)]
    pub cluster: Option<String>,
    /// ECS service name.
    #[serde(default)]
    pub service: Option<String>,
    /// ECS container name.
    #[serde(default)]
    pub container: Option<String>,
    /// AWS region.
    #[serde(default)]
    pub region: Option<String>,
    /// Lambda function name.
    #[serde(default)]
    pub function: Option<String>,
    /// Lambda alias.
    #[serde(default)]
    pub alias: Option<String>,
}

impl EnvironmentOverride {
    fn set_keys(&self) -> Vec<&'static str> {
        [
            ("cluster", self.cluster.is_some()),
            ("service", self.service.is_some()),
            ("container", self.container.is_some()),
            ("region", self.region.is_some()),
            ("function", self.function.is_some()),
            ("alias", self.alias.is_some()),
        ]
        .into_iter()
        .filter_map(|(k, set)| set.then_some(k))
        .collect()
    }
}

/// Where one service runs in one live environment, every template rendered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum LiveTarget {
    /// An ECS service.
    Ecs {
        /// The cluster.
        cluster: String,
        /// The ECS service.
        service: String,
        /// The container whose image is the release.
        container: String,
        /// The region, when configured.
        region: Option<String>,
    },
    /// A Lambda function's alias.
    Lambda {
        /// The function.
        function: String,
        /// The alias.
        alias: String,
        /// The region, when configured.
        region: Option<String>,
    },
}

/// The placeholders of live-environment templates.
pub const LIVE_PLACEHOLDERS: &[&str] =
    &["{service}", "{service_snake}", "{service_pascal}", "{env}"];

/// Renders a live-environment template: `{service}`, `{service_snake}` (`-` → `_`),
/// `{service_pascal}` (`web-api` → `WebApi`), `{env}`.
pub fn render_live(template: &str, service: &str, env: &str) -> String {
    let pascal: String = service
        .split(['-', '_', '.'])
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect::<String>(),
                None => String::new(),
            }
        })
        .collect();
    template
        .replace("{service_snake}", &service.replace('-', "_"))
        .replace("{service_pascal}", &pascal)
        .replace("{service}", service)
        .replace("{env}", env)
}

fn default_env_file() -> String {
    "{service}.auto.tfvars.json".into()
}
/// The default release-tag variable of an image service.
pub const IMAGE_TAG_VARIABLE: &str = "{service_snake}_image_tag";
/// The default release-tag variable of a service whose artifact is an object (S3).
pub const RELEASE_TAG_VARIABLE: &str = "{service_snake}_release_tag";
fn default_env_resource() -> String {
    "{service_pascal}Function".into()
}

impl EnvironmentConfig {
    /// Returns the template of the release-tag variable: `variable` when set, else
    /// `{service_snake}_image_tag` for an image service and `{service_snake}_release_tag`
    /// for an object (S3) service, whose tag names no image.
    pub fn variable_for(&self, object: bool) -> &str {
        match (&self.variable, object) {
            (Some(variable), _) => variable,
            (None, false) => IMAGE_TAG_VARIABLE,
            (None, true) => RELEASE_TAG_VARIABLE,
        }
    }
}

/// The error returned by [`Config::load`] and [`Config::parse`].
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file does not exist.
    #[error("no {FILE_NAME} at {}; run `git release init` to write a starter file", .0.display())]
    NotFound(PathBuf),
    /// The file exists but could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// TOML syntax or schema error, with its position.
    #[error("{file}:{line}:{column}: {message}")]
    Syntax {
        /// The file, as shown to the user.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong, on one line.
        message: String,
    },
    /// A value that parsed but breaks a rule.
    #[error("{file}: {key}: {message}")]
    Invalid {
        /// The file, as shown to the user.
        file: String,
        /// The dotted key.
        key: String,
        /// The rule and the fix.
        message: String,
    },
}

impl Config {
    /// Reads and validates `git-release.toml` in `root`.
    pub fn load(root: &Path) -> Result<Config, ConfigError> {
        Config::load_cached(root, None)
    }

    /// Like [`Config::load`], but answers from `cache` when it holds a copy of this very
    /// text, and leaves one there after parsing.
    pub fn load_cached(root: &Path, cache: Option<&ConfigCache>) -> Result<Config, ConfigError> {
        let path = root.join(FILE_NAME);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ConfigError::NotFound(root.to_path_buf()))
            }
            Err(source) => return Err(ConfigError::Read { path, source }),
        };
        if let Some(config) = cache.and_then(|cache| cache.get(&text)) {
            return Ok(config);
        }
        let config = Config::parse(&text, FILE_NAME)?;
        if let Some(cache) = cache {
            cache.put(&text, &config);
        }
        Ok(config)
    }

    /// Parses and validates configuration text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Config, ConfigError> {
        let mut config: Config = toml::from_str(text).map_err(|e| {
            let (line, column) = e
                .span()
                .map(|span| line_column(text, span.start))
                .unwrap_or((1, 1));
            ConfigError::Syntax {
                file: file.to_string(),
                line,
                column,
                message: with_closest_field(&one_line(e.message())),
            }
        })?;
        // An OCI repository is named like the service (`ghcr.io/acme/{service}`), an ECR
        // one `{service}-image`: the default depends on the kind, so look whether the file
        // set it.
        let table = toml::from_str::<toml::Table>(text).ok();
        let written = |path: &[&str]| {
            let mut value = table.as_ref()?.get(path[0])?;
            for part in &path[1..] {
                value = value.get(part)?;
            }
            value.get("repository").map(|_| ())
        };
        if config.registry.kind == RegistryKind::Oci && written(&["registry"]).is_none() {
            config.registry.repository = "{service}".into();
        }
        for (name, store) in &mut config.registries {
            if store.kind == RegistryKind::Oci && written(&["registries", name.as_str()]).is_none()
            {
                store.repository = "{service}".into();
            }
        }
        config.validate(file)?;
        Ok(config)
    }

    /// Applies `GIT_RELEASE_*` environment overrides (the layer between file and flags).
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) {
        if let Some(remote) = var("GIT_RELEASE_REMOTE") {
            self.defaults.remote = remote;
        }
        if let Some(region) = var("GIT_RELEASE_REGION") {
            self.registry.region = Some(region);
        }
        match var("GIT_RELEASE_REGISTRY").as_deref() {
            Some("none") => self.registry.kind = RegistryKind::None,
            Some("ecr") => self.registry.kind = RegistryKind::Ecr,
            Some("oci") => self.registry.kind = RegistryKind::Oci,
            _ => {}
        }
    }

    /// Returns the tag template, already validated by [`Config::parse`].
    pub fn tag_template(&self) -> TagTemplate {
        TagTemplate::parse(&self.defaults.tag).expect("the tag template was validated on load")
    }

    /// Returns the named service, or an error that suggests the closest configured name.
    pub fn service(&self, name: &str) -> Result<&ServiceConfig, UnknownService> {
        self.services.get(name).ok_or_else(|| UnknownService {
            name: name.to_string(),
            suggestion: closest_name(name, self.services.keys().map(String::as_str)),
            known: self.services.keys().cloned().collect(),
        })
    }

    /// Returns the store that holds `service`'s artifacts: its name (`None` for
    /// `[registry]`) and its configuration. An unknown name (refused on load) falls
    /// back to `[registry]`.
    pub fn store_of(&self, service: &str) -> (Option<&str>, &RegistryConfig) {
        match self
            .services
            .get(service)
            .and_then(|s| s.registry.as_deref())
            .and_then(|name| self.registries.get_key_value(name))
        {
            Some((name, store)) => (Some(name.as_str()), store),
            None => (None, &self.registry),
        }
    }

    /// Whether any store checks artifacts (some store's kind is not `none`).
    pub fn checks_artifacts(&self) -> bool {
        self.registry.kind != RegistryKind::None
            || self
                .registries
                .values()
                .any(|s| s.kind != RegistryKind::None)
    }

    /// Returns the image repository of `service`.
    pub fn image_repository(&self, service: &str) -> String {
        let template = self
            .services
            .get(service)
            .and_then(|s| s.repository.as_deref())
            .unwrap_or(&self.store_of(service).1.repository);
        template.replace("{service}", service)
    }

    /// Returns the image tag CI gave the build of `commit` (40 hex) for `service`.
    pub fn image_tag(&self, service: &str, commit: &str) -> String {
        let template = self
            .services
            .get(service)
            .and_then(|s| s.image_tag.as_deref())
            .unwrap_or(&self.store_of(service).1.image_tag);
        render_commit(template, commit)
    }

    /// Returns where `service` runs in environment `env` when that environment is live
    /// (`ecs` or `lambda`), every template rendered and the service's overrides applied;
    /// `None` for a Terraform environment or an unknown one.
    pub fn live_target(&self, service: &str, env: &str) -> Option<LiveTarget> {
        let kind = self.environments.get(env)?.kind;
        self.live_as(kind, service, env)
    }

    fn live_as(&self, kind: EnvironmentKind, service: &str, env: &str) -> Option<LiveTarget> {
        let environment = self.environments.get(env)?;
        let over = self
            .services
            .get(service)
            .and_then(|s| s.environments.get(env))
            .cloned()
            .unwrap_or_default();
        let pick = |own: &Option<String>, shared: &Option<String>, default: &str| {
            let template = own.as_deref().or(shared.as_deref()).unwrap_or(default);
            render_live(template, service, env)
        };
        let region = over.region.clone().or_else(|| environment.region.clone());
        match kind {
            EnvironmentKind::Terraform | EnvironmentKind::Sam => None,
            EnvironmentKind::Ecs => Some(LiveTarget::Ecs {
                cluster: pick(&over.cluster, &environment.cluster, ""),
                service: pick(&over.service, &environment.service, "{service}"),
                container: pick(&over.container, &environment.container, "{service}"),
                region,
            }),
            EnvironmentKind::Lambda => Some(LiveTarget::Lambda {
                function: pick(&over.function, &environment.function, "{service}"),
                alias: pick(&over.alias, &environment.alias, "{env}"),
                region,
            }),
        }
    }

    /// Returns what `status` reads live for `service` in `env`: the deploy target of a
    /// live environment, or, for a Terraform environment that names a `cluster` (ECS) or
    /// a `function` (Lambda), what its Terraform runs, to compare with the pin.
    pub fn live_read(&self, service: &str, env: &str) -> Option<LiveTarget> {
        let environment = self.environments.get(env)?;
        if environment.kind != EnvironmentKind::Terraform {
            return self.live_target(service, env);
        }
        let over = self
            .services
            .get(service)
            .and_then(|s| s.environments.get(env));
        let has = |own: Option<&Option<String>>, shared: &Option<String>| {
            own.is_some_and(Option::is_some) || shared.is_some()
        };
        let as_kind = |kind| self.live_as(kind, service, env);
        if has(over.map(|o| &o.cluster), &environment.cluster) {
            as_kind(EnvironmentKind::Ecs)
        } else if has(over.map(|o| &o.function), &environment.function) {
            as_kind(EnvironmentKind::Lambda)
        } else {
            None
        }
    }

    /// Returns the paths whose commits belong to `service`: its `path`, then
    /// `[defaults] also`, then its own `also` (duplicates dropped). Every history question
    /// (suggestion, notes, `list`, `status`) is built from this.
    pub fn paths_of(&self, service: &ServiceConfig) -> ServicePaths {
        let mut paths = ServicePaths {
            prefixes: vec![service.path.clone()],
            globs: Vec::new(),
        };
        for entry in self.defaults.also.iter().chain(&service.also) {
            let list = if is_glob(entry) {
                &mut paths.globs
            } else {
                &mut paths.prefixes
            };
            if !list.contains(entry) {
                list.push(entry.clone());
            }
        }
        paths
    }

    fn validate(&self, file: &str) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: String| ConfigError::Invalid {
            file: file.to_string(),
            key: key.to_string(),
            message,
        };
        TagTemplate::parse(&self.defaults.tag)
            .map_err(|e: TemplateError| invalid("defaults.tag", e.to_string()))?;
        if !self.defaults.initial_version.build.is_empty() {
            return Err(invalid(
                "defaults.initial-version",
                "build metadata (`+…`) cannot be an image tag; remove it".into(),
            ));
        }
        for (key, value, range) in [(
            "defaults.remote-timeout-seconds",
            self.defaults.remote_timeout_seconds,
            REMOTE_TIMEOUT_RANGE,
        )] {
            if !range.contains(&value) {
                return Err(invalid(
                    key,
                    format!(
                        "{value} is out of range; use {} to {} seconds",
                        range.start(),
                        range.end()
                    ),
                ));
            }
        }
        self.registry
            .validate("registry")
            .map_err(|(key, rule)| invalid(&key, rule))?;
        for (name, store) in &self.registries {
            // Store names end up in messages, JSON and suggested commands.
            let key = format!("registries.{}", crate::text::line(name));
            crate::text::check_name(name)
                .map_err(|rule| invalid(&key, format!("{rule}; rename the store")))?;
            store
                .validate(&key)
                .map_err(|(key, rule)| invalid(&key, rule))?;
        }
        for (i, entry) in self.defaults.also.iter().enumerate() {
            check_also(entry).map_err(|rule| invalid(&format!("defaults.also[{i}]"), rule))?;
        }
        for (name, service) in &self.services {
            let key = format!("services.{}", crate::text::line(name));
            for (i, entry) in service.also.iter().enumerate() {
                check_also(entry).map_err(|rule| invalid(&format!("{key}.also[{i}]"), rule))?;
            }
            if RESERVED_NAMES.contains(&name.as_str()) {
                return Err(invalid(
                    &key,
                    format!("`{name}` is a git-release subcommand and cannot name a service; rename the service"),
                ));
            }
            if let Err(rule) = crate::tag::check_service_name(name) {
                return Err(invalid(&key, rule));
            }
            // Paths are shown, put in pathspecs and joined to the root: relative, no `..`,
            // nothing that needs escaping. Whether it exists at HEAD is `doctor`'s question.
            crate::text::check_relative_path(&service.path)
                .map_err(|rule| invalid(&format!("{key}.path"), rule))?;
            if let Some(repository) = &service.repository {
                check_placeholders(repository, &["{service}"])
                    .map_err(|m| invalid(&format!("{key}.repository"), m))?;
            }
            if let Some(tag) = &service.image_tag {
                check_placeholders(tag, IMAGE_TAG_PLACEHOLDERS)
                    .map_err(|m| invalid(&format!("{key}.image-tag"), m))?;
            }
            if let Some(store) = &service.registry {
                if !self.registries.contains_key(store) {
                    let known: Vec<&str> = self.registries.keys().map(String::as_str).collect();
                    return Err(invalid(
                        &format!("{key}.registry"),
                        format!(
                            "no store `{}`{}; stores are [registries.<name>] tables ({})",
                            crate::text::line(store),
                            suggestion_text(&closest_name(store, known.iter().copied())),
                            if known.is_empty() {
                                "there are none".to_string()
                            } else {
                                format!("configured: {}", known.join(", "))
                            }
                        ),
                    ));
                }
            }
            if !self.store_of(name).1.kind.holds_images() {
                for (field, set) in [
                    ("repository", service.repository.is_some()),
                    ("image-tag", service.image_tag.is_some()),
                ] {
                    if set {
                        return Err(invalid(
                            &format!("{key}.{field}"),
                            format!("`{field}` names images, but the service's store is kind = \"s3\" (objects); remove it"),
                        ));
                    }
                }
            }
        }
        for (name, env) in &self.environments {
            // Environment names end up in file names, variables, commit messages and
            // suggested commands: one safe charset, refused with its rule.
            crate::text::check_name(name).map_err(|rule| {
                invalid(
                    &format!("environments.{}", crate::text::line(name)),
                    format!("{rule}; rename the environment"),
                )
            })?;
            check_placeholders(&env.file, &["{service}", "{service_snake}", "{env}"])
                .map_err(|m| invalid(&format!("environments.{name}.file"), m))?;
            if let Some(variable) = &env.variable {
                check_placeholders(variable, &["{service}", "{service_snake}", "{env}"])
                    .map_err(|m| invalid(&format!("environments.{name}.variable"), m))?;
            }
            validate_kind(name, env).map_err(|(key, m)| invalid(&key, m))?;
        }
        for (service_name, service) in &self.services {
            for (env_name, over) in &service.environments {
                let key = format!(
                    "services.{}.environments.{}",
                    crate::text::line(service_name),
                    crate::text::line(env_name)
                );
                let Some(env) = self.environments.get(env_name) else {
                    return Err(invalid(
                        &key,
                        format!(
                            "there is no [environments.{}]{}; add it or remove this table",
                            crate::text::line(env_name),
                            suggestion_text(&closest_name(
                                env_name,
                                self.environments.keys().map(String::as_str)
                            ))
                        ),
                    ));
                };
                for set in over.set_keys() {
                    if !env.kind.keys().contains(&set) {
                        return Err(invalid(
                            &format!("{key}.{set}"),
                            format!(
                                "`{set}` does not apply to a `kind = \"{}\"` environment (its keys: {}); remove it",
                                env.kind.as_str(),
                                env.kind.keys().join(", ")
                            ),
                        ));
                    }
                }
                for (field, value) in [
                    ("cluster", &over.cluster),
                    ("service", &over.service),
                    ("container", &over.container),
                    ("function", &over.function),
                    ("alias", &over.alias),
                ] {
                    if let Some(value) = value {
                        check_placeholders(value, LIVE_PLACEHOLDERS)
                            .map_err(|m| invalid(&format!("{key}.{field}"), m))?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// A service name that is not configured.
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown service `{name}`{}; services are configured under [services] in {FILE_NAME}", suggestion_text(.suggestion))]
pub struct UnknownService {
    /// The name that was asked for.
    pub name: String,
    /// The closest configured name, if one is close.
    pub suggestion: Option<String>,
    /// Every configured name.
    pub known: Vec<String>,
}

fn suggestion_text(suggestion: &Option<String>) -> String {
    match suggestion {
        Some(s) => format!(" (did you mean `{s}`?)"),
        None => String::new(),
    }
}

/// Returns the candidate closest to `name` when it is close enough to be a typo.
pub fn closest_name<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(name, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c.to_string())
}

fn check_placeholders(template: &str, allowed: &[&str]) -> Result<(), String> {
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let end = rest[start..]
            .find('}')
            .map(|e| start + e + 1)
            .ok_or_else(|| format!("`{template}` has an unclosed `{{`"))?;
        let placeholder = &rest[start..end];
        if !allowed.contains(&placeholder) {
            return Err(format!(
                "`{template}` uses unknown placeholder {placeholder}; allowed: {}",
                allowed.join(", ")
            ));
        }
        rest = &rest[end..];
    }
    if template.trim().is_empty() {
        return Err("must not be empty".into());
    }
    Ok(())
}

/// Checks the keys of one environment against its kind: the kind's required keys are
/// there, keys of another kind are not, and every template is valid.
fn validate_kind(name: &str, env: &EnvironmentConfig) -> Result<(), (String, String)> {
    let key = |k: &str| format!("environments.{}.{k}", crate::text::line(name));
    let set: Vec<&str> = [
        ("dir", !env.dir.is_empty()),
        ("file", env.file != default_env_file()),
        ("variable", env.variable.is_some()),
        ("template", env.template.is_some()),
        ("resource", env.resource != default_env_resource()),
        ("cluster", env.cluster.is_some()),
        ("service", env.service.is_some()),
        ("container", env.container.is_some()),
        ("region", env.region.is_some()),
        ("function", env.function.is_some()),
        ("alias", env.alias.is_some()),
    ]
    .into_iter()
    .filter_map(|(k, set)| set.then_some(k))
    .collect();
    for k in set {
        if !env.kind.keys().contains(&k) {
            return Err((
                key(k),
                format!(
                    "`{k}` does not apply to a `kind = \"{}\"` environment (its keys: {}); remove it or change `kind`",
                    env.kind.as_str(),
                    env.kind.keys().join(", ")
                ),
            ));
        }
    }
    match env.kind {
        EnvironmentKind::Terraform if env.dir.trim().is_empty() => Err((
            key("dir"),
            "a Terraform environment needs `dir`, its root module (like dir = \"infra/stg\")"
                .into(),
        )),
        EnvironmentKind::Sam => {
            let Some(template) = &env.template else {
                return Err((
                    key("template"),
                    "missing; a SAM environment names its template, like `template = \"infra/stg/template.yaml\"`".into(),
                ));
            };
            crate::text::check_relative_path(template).map_err(|rule| (key("template"), rule))?;
            check_placeholders(&env.resource, LIVE_PLACEHOLDERS).map_err(|m| (key("resource"), m))
        }
        EnvironmentKind::Ecs if env.cluster.as_deref().is_none_or(|c| c.trim().is_empty()) => {
            Err((
                key("cluster"),
                "an ECS environment needs `cluster` (like cluster = \"main\")".into(),
            ))
        }
        _ => {
            for (k, value) in [
                ("cluster", &env.cluster),
                ("service", &env.service),
                ("container", &env.container),
                ("function", &env.function),
                ("alias", &env.alias),
            ] {
                if let Some(value) = value {
                    check_placeholders(value, LIVE_PLACEHOLDERS).map_err(|m| (key(k), m))?;
                }
            }
            if let Some(region) = &env.region {
                crate::text::check_name(region).map_err(|rule| (key("region"), rule))?;
            }
            Ok(())
        }
    }
}

/// Turns serde's `unknown field `x`, expected one of `a`, `b`` into `unknown field `x`
/// (did you mean `a`?)` when one of the expected names is close, so a typo names its fix.
fn with_closest_field(message: &str) -> String {
    let Some(rest) = message.strip_prefix("unknown field `") else {
        return message.to_string();
    };
    let Some((field, expected)) = rest.split_once('`') else {
        return message.to_string();
    };
    let names: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    match closest_name(field, names.iter().copied()) {
        Some(close) => format!("{message} (did you mean `{close}`?)"),
        None => message.to_string(),
    }
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.len(), |nl| before.len() - nl - 1)
        + 1;
    (line, column)
}

fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_of_joins_path_defaults_and_own_also_without_duplicates() {
        let config = Config::parse(
            "[defaults]\nalso = [\"proto\", \"libs/*/src\"]\n\n[services.api]\npath = \"services/api\"\nalso = [\"libs/common\", \"proto\", \"libs/[ab]/x?\"]\n",
            "f",
        )
        .expect("valid");
        let paths = config.paths_of(&config.services["api"]);
        assert_eq!(paths.prefixes, ["services/api", "proto", "libs/common"]);
        assert_eq!(paths.globs, ["libs/*/src", "libs/[ab]/x?"]);
    }

    #[test]
    fn bad_also_entries_are_refused_with_their_key() {
        for (entry, key, rule) in [
            ("../x", "services.api.also[0]", "`..`"),
            ("/x", "services.api.also[0]", "absolute"),
            ("", "services.api.also[0]", "empty"),
            ("libs/[ab", "services.api.also[0]", "never closed"),
            ("libs/[a/b]", "services.api.also[0]", "`/`"),
            ("a\u{1b}[31m", "services.api.also[0]", "control"),
        ] {
            let text = format!(
                "[services.api]\npath = \"services/api\"\nalso = [{}]\n",
                serde_json::Value::String(entry.into())
            );
            let err = Config::parse(&text, "f").expect_err(entry).to_string();
            assert!(err.contains(key) && err.contains(rule), "{entry:?}: {err}");
        }
        let err = Config::parse("[defaults]\nalso = [\"ok\", \"../no\"]\n", "f")
            .expect_err("defaults")
            .to_string();
        assert!(err.contains("defaults.also[1]"), "{err}");
        // Classes as git reads them: `[]a]` and `[!]]` close.
        Config::parse(
            "[services.api]\npath = \"a\"\nalso = [\"x/[]a]\", \"y/[!]]z\", \"**/gen\"]\n",
            "f",
        )
        .expect("valid classes");
    }

    #[test]
    fn defaults_apply_to_an_almost_empty_file() {
        let config =
            Config::parse("[services.api]\npath = \"services/api\"\n", "t").expect("valid");
        assert_eq!(config.defaults.tag, "{service}-v{version}");
        assert_eq!(config.defaults.initial_version.to_string(), "0.1.0");
        assert_eq!(config.registry.kind, RegistryKind::Ecr);
        assert_eq!(config.image_repository("api"), "api-image");
        assert_eq!(
            config.image_tag("api", "0123456789abcdef0123456789abcdef01234567"),
            "0123456789abcdef0123456789abcdef01234567"
        );
    }

    #[test]
    fn unknown_key_names_line_and_key() {
        let err = Config::parse(
            "[defaults]\nremote = \"origin\"\ntagg = \"x\"\n",
            "git-release.toml",
        )
        .expect_err("typo");
        let text = err.to_string();
        assert!(
            text.starts_with("git-release.toml:3:1: unknown field `tagg`"),
            "{text}"
        );
        assert!(!text.contains('\n'));
    }

    #[test]
    fn reserved_service_names_are_rejected() {
        let err = Config::parse("[services.list]\npath = \"x\"\n", "f").expect_err("reserved");
        assert!(
            err.to_string()
                .contains("`list` is a git-release subcommand"),
            "{err}"
        );
    }

    #[test]
    fn bad_templates_are_rejected() {
        let err =
            Config::parse("[registry]\nimage-tag = \"{hash}\"\n", "f").expect_err("placeholder");
        assert!(err.to_string().contains("registry.image-tag"), "{err}");
        let err = Config::parse("[defaults]\ntag = \"v{version}\"\n", "f").expect_err("no service");
        assert!(err.to_string().contains("defaults.tag"), "{err}");
    }

    #[test]
    fn closest_name_suggests_typos_only() {
        let names = ["service-a", "service-b", "billing"];
        assert_eq!(
            closest_name("servce-a", names).as_deref(),
            Some("service-a")
        );
        assert_eq!(closest_name("zzz", names), None);
    }

    #[test]
    fn timeouts_out_of_range_are_refused_with_their_range() {
        for (text, key, range) in [
            (
                "[defaults]\nremote-timeout-seconds = 0\n",
                "defaults.remote-timeout-seconds",
                "use 1 to 3600 seconds",
            ),
            (
                "[registry]\ntimeout-seconds = 9223372036854775807\n",
                "registry.timeout-seconds",
                "use 1 to 3600 seconds",
            ),
            (
                "[registry]\nconnect-timeout-seconds = 601\n",
                "registry.connect-timeout-seconds",
                "use 1 to 600 seconds",
            ),
        ] {
            let err = Config::parse(text, "f").expect_err(text).to_string();
            assert!(err.contains(key) && err.contains(range), "{err}");
        }
        let max = Config::parse("[defaults]\nremote-timeout-seconds = 3600\n", "f");
        assert_eq!(max.expect("in range").defaults.remote_timeout_seconds, 3600);
    }

    const STORES: &str = "[registries.lambda]\nkind = \"s3\"\nbucket = \"acme-zips\"\nregion = \"eu-west-1\"\n\n[services.api]\npath = \"api\"\n\n[services.fn-a]\npath = \"fn-a\"\nregistry = \"lambda\"\n";

    #[test]
    fn services_pick_named_stores_and_default_to_registry() {
        let config = Config::parse(STORES, "f").expect("valid");
        let (name, store) = config.store_of("fn-a");
        assert_eq!(name, Some("lambda"));
        assert_eq!(store.kind, RegistryKind::S3);
        assert_eq!(config.store_of("api").0, None);
        let sha = "0123456789abcdef0123456789abcdef01234567";
        assert_eq!(store.object_key("fn-a", sha), format!("fn-a-{sha}"));
        assert_eq!(
            store.release_object_key("fn-a", "fn-a-v1.2.0", "1.2.0"),
            "fn-a-v1.2.0"
        );
        let prefixed = Config::parse(
            &STORES.replace(
                "region = \"eu-west-1\"",
                "prefix = \"lambda/\"\nkey = \"{service}/{short_commit}.zip\"\nrelease-key = \"{service}/{version}.zip\"",
            ),
            "f",
        )
        .expect("valid");
        let store = prefixed.store_of("fn-a").1;
        assert_eq!(store.object_key("fn-a", sha), "lambda/fn-a/0123456.zip");
        assert_eq!(
            store.release_object_key("fn-a", "fn-a-v1.2.0", "1.2.0"),
            "lambda/fn-a/1.2.0.zip"
        );
    }

    const LIVE: &str = "[services.web-api]\npath = \"a\"\n\n[environments.stg]\nkind = \"ecs\"\ncluster = \"c-{env}\"\n\n[environments.fn]\nkind = \"lambda\"\nfunction = \"{service_pascal}Fn\"\n\n[environments.tf]\ndir = \"infra\"\ncluster = \"main\"\n";

    #[test]
    fn live_targets_render_defaults_templates_and_overrides() {
        let config = Config::parse(LIVE, "f").expect("valid");
        assert_eq!(
            config.live_target("web-api", "stg"),
            Some(LiveTarget::Ecs {
                cluster: "c-stg".into(),
                service: "web-api".into(),
                container: "web-api".into(),
                region: None,
            })
        );
        assert_eq!(
            config.live_target("web-api", "fn"),
            Some(LiveTarget::Lambda {
                function: "WebApiFn".into(),
                alias: "fn".into(),
                region: None,
            })
        );
        // Terraform deploys pin; status reads the named service live.
        assert_eq!(config.live_target("web-api", "tf"), None);
        assert!(matches!(
            config.live_read("web-api", "tf"),
            Some(LiveTarget::Ecs { .. })
        ));
        let text = format!(
            "{LIVE}\n[services.web-api.environments.stg]\ncontainer = \"app\"\nregion = \"eu-west-1\"\n"
        );
        let config = Config::parse(&text, "f").expect("valid");
        assert_eq!(
            config.live_target("web-api", "stg"),
            Some(LiveTarget::Ecs {
                cluster: "c-stg".into(),
                service: "web-api".into(),
                container: "app".into(),
                region: Some("eu-west-1".into()),
            })
        );
    }

    #[test]
    fn unknown_store_names_are_refused_with_the_closest() {
        let err = Config::parse(
            &STORES.replace("registry = \"lambda\"", "registry = \"lamda\""),
            "f",
        )
        .expect_err("unknown store")
        .to_string();
        assert!(err.contains("services.fn-a.registry"), "{err}");
        assert!(err.contains("did you mean `lambda`"), "{err}");
        let err = Config::parse(
            &STORES.replace("[registries.lambda]", "[registries.\"la mbda\"]"),
            "f",
        )
        .expect_err("bad name")
        .to_string();
        assert!(err.contains("registries.la mbda"), "{err}");
    }

    #[test]
    fn store_keys_must_fit_the_kind() {
        for (from, to, key, rule) in [
            (
                "bucket = \"acme-zips\"\n",
                "",
                "registries.lambda.bucket",
                "needs a bucket",
            ),
            (
                "kind = \"s3\"",
                "kind = \"ecr\"",
                "registries.lambda.bucket",
                "key of kind = \"s3\"",
            ),
            (
                "bucket = \"acme-zips\"",
                "bucket = \"a b\"",
                "registries.lambda.bucket",
                "not an S3 bucket name",
            ),
            (
                "region = \"eu-west-1\"",
                "key = \"{service}\"",
                "registries.lambda.key",
                "every commit would name the same object",
            ),
            (
                "region = \"eu-west-1\"",
                "key = \"{service}-{hash}\"",
                "registries.lambda.key",
                "unknown placeholder {hash}",
            ),
            (
                "region = \"eu-west-1\"",
                "key = \"/{service}-{commit}\"",
                "registries.lambda.key",
                "leading `/`",
            ),
            (
                "region = \"eu-west-1\"",
                "key = \"{service} {commit}\"",
                "registries.lambda.key",
                "safe characters",
            ),
            (
                "region = \"eu-west-1\"",
                "key = \"../{service}-{commit}\"",
                "registries.lambda.key",
                "`..`",
            ),
            (
                "region = \"eu-west-1\"",
                "release-key = \"latest.zip\"",
                "registries.lambda.release-key",
                "must contain {tag}",
            ),
            (
                "region = \"eu-west-1\"",
                "release-key = \"{version}.zip\"",
                "registries.lambda.release-key",
                "must contain {tag}",
            ),
            (
                "region = \"eu-west-1\"",
                "prefix = \"a//\"",
                "registries.lambda.prefix",
                "`//`",
            ),
            (
                "region = \"eu-west-1\"",
                "repository = \"x-{service}\"",
                "registries.lambda.repository",
                "names images",
            ),
            (
                "region = \"eu-west-1\"",
                "timeout-seconds = 0",
                "registries.lambda.timeout-seconds",
                "out of range",
            ),
        ] {
            let text = STORES.replace(from, to);
            let err = Config::parse(&text, "f").expect_err(&text).to_string();
            assert!(err.contains(key) && err.contains(rule), "{text}\n=> {err}");
        }
        let err = Config::parse(&format!("{STORES}repository = \"x\"\n"), "f")
            .expect_err("image key on an object service")
            .to_string();
        assert!(err.contains("services.fn-a.repository"), "{err}");
    }

    #[test]
    fn object_keys_are_checked() {
        assert!(check_object_key("lambda/fn-a-0123.zip").is_ok());
        assert!(check_object_key("fn-a-v1.0.0-rc.1").is_ok());
        for bad in [
            "",
            "a/",
            "/a",
            "a//b",
            "./a",
            "a/../b",
            "a\u{1b}b",
            "a b",
            "a?b",
            &"a".repeat(1025),
        ] {
            assert!(check_object_key(bad).is_err(), "{bad:?}");
        }
    }

    /// A service may override exactly the live keys of ECS and Lambda environments: a key
    /// added to one struct and not the other fails here.
    #[test]
    fn override_keys_are_the_live_keys() {
        let mut live: Vec<&str> = [EnvironmentKind::Ecs, EnvironmentKind::Lambda]
            .iter()
            .flat_map(|kind| kind.keys().iter().copied())
            .collect();
        live.sort_unstable();
        live.dedup();
        let all: String = live.iter().map(|k| format!("{k} = \"x\"\n")).collect();
        let every: EnvironmentOverride = toml::from_str(&all).expect("every live key");
        let mut set = every.set_keys();
        set.sort_unstable();
        assert_eq!(set, live);
        for key in &live {
            let env: EnvironmentConfig =
                toml::from_str(&format!("{key} = \"x\"")).expect("an environment key");
            assert!(format!("{env:?}").contains("\"x\""), "{key} was not read");
        }
    }

    #[test]
    fn live_keys_are_checked_against_the_kind() {
        for (text, needle) in [
            (
                "[environments.stg]\nkind = \"ecs\"\n",
                "environments.stg.cluster: an ECS environment needs `cluster`",
            ),
            (
                "[environments.stg]\nkind = \"ecs\"\ncluster = \"c\"\nfunction = \"f\"\n",
                "environments.stg.function: `function` does not apply to a `kind = \"ecs\"` environment",
            ),
            (
                "[environments.stg]\nkind = \"lambda\"\ndir = \"x\"\n",
                "environments.stg.dir: `dir` does not apply",
            ),
            (
                "[environments.stg]\nfile = \"x.tfvars\"\n",
                "environments.stg.dir: a Terraform environment needs `dir`",
            ),
            (
                "[environments.stg]\nkind = \"ecs\"\ncluster = \"{cluster}\"\n",
                "unknown placeholder {cluster}",
            ),
            (
                "[environments.stg]\nkind = \"ecs\"\nclustr = \"c\"\n",
                "unknown field `clustr`",
            ),
            (
                "[environments.stg]\nkind = \"ecs\"\ncluster = \"c\"\n[services.a]\npath = \"a\"\n[services.a.environments.stage]\ncontainer = \"x\"\n",
                "there is no [environments.stage] (did you mean `stg`?)",
            ),
            (
                "[environments.stg]\nkind = \"lambda\"\n[services.a]\npath = \"a\"\n[services.a.environments.stg]\ncontainer = \"x\"\n",
                "services.a.environments.stg.container: `container` does not apply to a `kind = \"lambda\"`",
            ),
        ] {
            let err = Config::parse(text, "f").expect_err(text).to_string();
            assert!(err.contains(needle), "{text}: {err}");
        }
        let err = Config::parse("[environments.stg]\nkind = \"ecs\"\nclustr = \"c\"\n", "f")
            .expect_err("typo")
            .to_string();
        assert!(err.ends_with("(did you mean `cluster`?)"), "{err}");
    }

    #[test]
    fn environment_kinds_check_their_own_keys() {
        let svc = "[services.lambda-a]\npath = \"a\"\n";
        let config = Config::parse(
            &format!("{svc}[environments.stg]\nkind = \"sam\"\ntemplate = \"infra/stg/template.yaml\"\n[environments.prod]\ndir = \"infra/prod\"\n"),
            "f",
        )
        .expect("valid");
        let stg = &config.environments["stg"];
        assert_eq!(stg.kind, EnvironmentKind::Sam);
        assert_eq!(stg.resource, "{service_pascal}Function");
        assert_eq!(config.environments["prod"].kind, EnvironmentKind::Terraform);
        assert_eq!(
            config.environments["prod"].variable_for(false),
            "{service_snake}_image_tag"
        );
        assert_eq!(
            config.environments["prod"].variable_for(true),
            "{service_snake}_release_tag"
        );
        for (env, key, rule) in [
            ("kind = \"sam\"\n", "environments.e.template", "missing"),
            (
                "kind = \"sam\"\ntemplate = \"../t.yaml\"\n",
                "environments.e.template",
                "`..`",
            ),
            (
                "kind = \"sam\"\ntemplate = \"t.yaml\"\ndir = \"x\"\n",
                "environments.e.dir",
                "does not apply to a `kind = \"sam\"` environment",
            ),
            (
                "kind = \"sam\"\ntemplate = \"t.yaml\"\nresource = \"{svc}\"\n",
                "environments.e.resource",
                "unknown placeholder",
            ),
            ("file = \"x.tfvars\"\n", "environments.e.dir", "needs `dir`"),
            (
                "dir = \"x\"\ntemplate = \"t.yaml\"\n",
                "environments.e.template",
                "does not apply to a `kind = \"terraform\"` environment",
            ),
            (
                "dir = \"x\"\nresource = \"F\"\n",
                "environments.e.resource",
                "does not apply to a `kind = \"terraform\"` environment",
            ),
        ] {
            let err = Config::parse(&format!("{svc}[environments.e]\n{env}"), "f")
                .expect_err(env)
                .to_string();
            assert!(err.contains(key) && err.contains(rule), "{env:?}: {err}");
        }
        let err = Config::parse(
            &format!("{svc}[environments.e]\nkind = \"sam\"\ntemplat = \"t\"\n"),
            "f",
        )
        .expect_err("typo")
        .to_string();
        assert!(
            err.contains("unknown field `templat`") && err.contains("`template`"),
            "{err}"
        );
        let err = Config::parse(
            &format!("{svc}[environments.e]\nkind = \"lambda-zip\"\n"),
            "f",
        )
        .expect_err("kind")
        .to_string();
        assert!(
            err.contains("`terraform`") && err.contains("`sam`"),
            "{err}"
        );
    }

    #[test]
    fn commit_is_an_alias_of_sha_in_image_tags_and_object_keys() {
        let sha = "0123456789abcdef0123456789abcdef01234567";
        for template in ["{commit}", "{sha}"] {
            let config = Config::parse(&format!("[registry]\nimage-tag = \"{template}\"\n"), "f")
                .expect("valid");
            assert_eq!(config.image_tag("svc", sha), sha);
        }
        for template in ["git-{short_commit}", "git-{short_sha}"] {
            let config = Config::parse(&format!("[registry]\nimage-tag = \"{template}\"\n"), "f")
                .expect("valid");
            assert_eq!(config.image_tag("svc", sha), "git-0123456");
        }
        let config = Config::parse(
            "[registry]\nkind = \"s3\"\nbucket = \"acme-zips\"\nkey = \"{service}/{sha}.zip\"\n",
            "f",
        )
        .expect("valid");
        assert_eq!(
            config.registry.object_key("fn", sha),
            format!("fn/{sha}.zip")
        );
    }

    #[test]
    fn oci_works_as_a_named_store_with_its_own_default_repository() {
        let config = Config::parse(
            "[registries.ghcr]\nkind = \"oci\"\nhost = \"ghcr.io\"\n\n[registries.lab]\nkind = \"oci\"\nhost = \"lab:5000\"\ninsecure = true\nrepository = \"acme/{service}\"\n\n[services.a]\npath = \"a\"\nregistry = \"ghcr\"\n\n[services.b]\npath = \"b\"\nregistry = \"lab\"\n",
            "f",
        );
        // `lab:5000` is not loopback: insecure = true is refused there, under its own key.
        let err = config.expect_err("insecure").to_string();
        assert!(err.contains("registries.lab.insecure"), "{err}");
        let config = Config::parse(
            "[registries.ghcr]\nkind = \"oci\"\nhost = \"ghcr.io\"\n\n[registries.lab]\nkind = \"oci\"\nhost = \"localhost:5000\"\ninsecure = true\nrepository = \"acme/{service}\"\n\n[services.a]\npath = \"a\"\nregistry = \"ghcr\"\n\n[services.b]\npath = \"b\"\nregistry = \"lab\"\n",
            "f",
        )
        .expect("valid");
        assert_eq!(config.image_repository("a"), "a");
        assert_eq!(config.image_repository("b"), "acme/b");
        assert_eq!(config.image_repository("c"), "c-image");
    }

    #[test]
    fn short_sha_placeholder() {
        let config =
            Config::parse("[registry]\nimage-tag = \"git-{short_sha}\"\n", "f").expect("valid");
        assert_eq!(
            config.image_tag("x", "0123456789abcdef0123456789abcdef01234567"),
            "git-0123456"
        );
    }

    #[test]
    fn oci_registries_need_a_host_and_allow_plain_http_only_where_spelled_out() {
        let parse = |registry: &str| Config::parse(&format!("[registry]\n{registry}"), "f");
        let config = parse("kind = \"oci\"\nhost = \"ghcr.io\"\n").expect("valid");
        assert_eq!(config.registry.kind, RegistryKind::Oci);
        // The OCI default repository is the service's name; ECR's stays `-image`.
        assert_eq!(config.image_repository("api"), "api");
        assert_eq!(
            Config::parse("", "f")
                .expect("valid")
                .image_repository("api"),
            "api-image"
        );
        let named = parse("kind = \"oci\"\nhost = \"ghcr.io\"\nrepository = \"acme/{service}\"\n")
            .expect("valid");
        assert_eq!(named.image_repository("api"), "acme/api");

        let err = parse("kind = \"oci\"\n").expect_err("no host");
        assert!(err.to_string().contains("registry.host"), "{err}");
        let err = parse("kind = \"oci\"\nhost = \"https://ghcr.io/x\"\n").expect_err("url");
        assert!(err.to_string().contains("no scheme"), "{err}");
        let err = parse("host = \"ghcr.io\"\n").expect_err("host without oci");
        assert!(err.to_string().contains("registry.host"), "{err}");

        for host in [
            "localhost:5000",
            "127.0.0.1:5000",
            "127.1.2.3",
            "[::1]:5000",
            "::1",
        ] {
            let config = parse(&format!(
                "kind = \"oci\"\nhost = \"{host}\"\ninsecure = true\n"
            ))
            .unwrap_or_else(|e| panic!("{host}: {e}"));
            assert_eq!(config.registry.insecure, Insecure::Loopback);
        }
        let err = parse("kind = \"oci\"\nhost = \"registry.lab:5000\"\ninsecure = true\n")
            .expect_err("not loopback");
        assert!(
            err.to_string()
                .contains("write insecure = \"registry.lab:5000\""),
            "{err}"
        );
        let spelled = parse(
            "kind = \"oci\"\nhost = \"registry.lab:5000\"\ninsecure = \"registry.lab:5000\"\n",
        )
        .expect("spelled out");
        assert_eq!(
            spelled.registry.insecure,
            Insecure::Host("registry.lab:5000".into())
        );
        parse("kind = \"oci\"\nhost = \"registry.lab:5000\"\ninsecure = \"other:5000\"\n")
            .expect_err("another host");
    }

    #[test]
    fn oci_settings_survive_the_binary_cache_format() {
        let config = Config::parse(
            "[registry]\nkind = \"oci\"\nhost = \"lab:5000\"\ninsecure = \"lab:5000\"\n",
            "f",
        )
        .expect("valid");
        let bytes = postcard::to_stdvec(&config).expect("encode");
        let back: Config = postcard::from_bytes(&bytes).expect("decode");
        assert_eq!(back.registry.insecure, Insecure::Host("lab:5000".into()));
        assert_eq!(back.registry.host.as_deref(), Some("lab:5000"));
        assert_eq!(back.registry.repository, "{service}");
    }
}
