//! Pinning environments to a release in Terraform variable files.
//!
//! Each environment (`[environments.stg]`) is a Terraform root module; a service's pin is
//! two variables in one file of that module: the release tag (what people read) and the
//! image digest (what makes the deployment immutable). By default every service has its
//! own file (`{service}.auto.tfvars.json`), so two releases deployed at the same time
//! touch different files and never conflict in a merge.
//!
//! Two formats are written, and behave the same:
//! - JSON (`*.tfvars.json`, the default): edited in place (`deploy/json.rs`), so every other
//!   value (big numbers included), the key order and the layout stay as they were; a new
//!   file is written with sorted keys (stable diffs) and a trailing newline.
//! - HCL (`*.tfvars`), for teams that keep a hand-written variables file: the value is
//!   replaced in place through `hcl-edit`, and every byte outside the changed value —
//!   comments, alignment, blank lines — is kept. A file is never rewritten wholesale.
//!
//! In both, a pin without a digest removes the old digest variable, and a UTF-8
//! byte-order mark (which Terraform accepts) is accepted and kept. Files are written
//! through [`crate::safe_write`]: under `<file>.lock`, read again under the lock, renamed
//! into place, never through a symbolic link that leaves the repository.

use std::path::{Component, Path, PathBuf};

use hcl_edit::expr::Expression;
use hcl_edit::{Decorate, Span};

use crate::config::{Config, EnvironmentConfig, EnvironmentKind};
use crate::safe_write::{self, Lock, Policy, WriteError};

#[cfg(feature = "ecs")]
pub mod ecs;
mod json;
#[cfg(feature = "lambda")]
pub mod lambda;
pub mod rollout;
pub mod sam;
pub mod target;

/// The UTF-8 byte-order mark, which some Windows editors put at the start of a file.
const BOM: &str = "\u{feff}";

/// How a pin file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PinFormat {
    /// Terraform's JSON variables syntax (`*.tfvars.json`).
    Json,
    /// Terraform's native HCL variables syntax (`*.tfvars`).
    Hcl,
}

/// Where and under which names one service's pin lives in one environment.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PinTarget {
    /// The environment's name.
    pub env: String,
    /// The file, relative to the repository root, with `/` separators.
    pub file: String,
    /// The file's absolute path.
    #[serde(skip)]
    pub path: PathBuf,
    /// The repository root, which the file (and any link it is) must stay inside.
    #[serde(skip)]
    pub root: PathBuf,
    /// The variable that holds the release tag.
    pub variable: String,
    /// The variable that holds the image digest.
    pub digest_variable: String,
    /// The variables that hold a promoted object's location (S3 services).
    pub object_variables: ObjectVariables,
    /// The file's syntax.
    pub format: PinFormat,
}

/// The variables of an S3 service's pin, named after the service (`lambda-a` →
/// `lambda_a_s3_bucket`, ...) so that an `aws_lambda_function` takes them as they are.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ObjectVariables {
    /// `<service_snake>_s3_bucket`.
    pub bucket: String,
    /// `<service_snake>_s3_key`.
    pub key: String,
    /// `<service_snake>_s3_object_version`, written when the bucket is versioned.
    pub version: String,
    /// `<service_snake>_source_code_hash`, written when S3 has the object's SHA-256.
    pub source_code_hash: String,
}

impl ObjectVariables {
    /// Returns the variables of `service`.
    pub fn of(service: &str) -> ObjectVariables {
        let snake = service.replace('-', "_");
        ObjectVariables {
            bucket: format!("{snake}_s3_bucket"),
            key: format!("{snake}_s3_key"),
            version: format!("{snake}_s3_object_version"),
            source_code_hash: format!("{snake}_source_code_hash"),
        }
    }
}

/// The error returned by the functions of this module.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// The environment is not configured.
    #[error("unknown environment `{name}`; {}", known_text(.known))]
    UnknownEnvironment {
        /// The name asked for.
        name: String,
        /// The configured names.
        known: Vec<String>,
    },
    /// The environment is not a Terraform one (`kind = "sam"`): it has no variables file.
    #[error("[environments.{env}] is kind = \"{kind}\", which has no Terraform variables file")]
    NotTerraform {
        /// The environment.
        env: String,
        /// Its kind.
        kind: &'static str,
    },
    /// A rendered file name leaves the environment's directory or is not a tfvars file.
    #[error("[environments.{env}] file renders to `{file}`, which {rule}; fix `file` in git-release.toml")]
    BadFile {
        /// The environment.
        env: String,
        /// The rendered name.
        file: String,
        /// The rule it breaks.
        rule: &'static str,
    },
    /// A rendered variable name is not a valid Terraform identifier.
    #[error("[environments.{env}] variable renders to `{variable}`, which is not a Terraform variable name (letters, digits, `_`, `-`; not starting with a digit); fix `variable` in git-release.toml")]
    BadVariable {
        /// The environment.
        env: String,
        /// The rendered name.
        variable: String,
    },
    /// The file could not be read or written.
    #[error("cannot {action} {}: {source}", .path.display())]
    Io {
        /// `read` or `write`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file exists but is not what its name says.
    #[error("{} is not a valid {what}: {message}; fix or remove it, then deploy again", .path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// `JSON object` or `HCL variables file`.
        what: &'static str,
        /// The parser's message, on one line.
        message: String,
    },
    /// The environment is live (`ecs`, `lambda`): it has no Terraform pin.
    #[error("environment `{env}` is kind = \"{kind}\", which has no Terraform pin")]
    LiveEnvironment {
        /// The environment.
        env: String,
        /// Its kind.
        kind: &'static str,
    },
    /// The file could not be written safely (a link out of the repository, a held lock,
    /// a full disk); it was left as it was.
    #[error(transparent)]
    Write(#[from] WriteError),
}

fn known_text(known: &[String]) -> String {
    if known.is_empty() {
        "no environment is configured; add one like `[environments.stg]` with `dir = \"infra/stg\"` to git-release.toml".into()
    } else {
        format!(
            "configured environments: {}; add it under [environments] in git-release.toml",
            known.join(", ")
        )
    }
}

/// Renders an environment template: `{service}`, `{service_snake}` (`-` → `_`),
/// `{service_pascal}` (`lambda-a` → `LambdaA`), `{env}`.
pub fn render(template: &str, service: &str, env: &str) -> String {
    template
        .replace("{service_snake}", &service.replace('-', "_"))
        .replace("{service_pascal}", &pascal(service))
        .replace("{service}", service)
        .replace("{env}", env)
}

/// Returns `service` in PascalCase: each run of letters and digits between `-`, `_` or
/// `.` starts with a capital (`lambda-a` → `LambdaA`, `api_v2` → `ApiV2`).
pub fn pascal(service: &str) -> String {
    service
        .split(['-', '_', '.'])
        .flat_map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase())
                .into_iter()
                .chain(chars)
        })
        .collect()
}

/// Returns the digest variable that goes with the tag variable `variable`.
///
/// `service_a_image_tag` becomes `service_a_image_digest`; any other name gets `_digest`
/// appended, so the pair always sorts and reads together.
pub fn digest_variable(variable: &str) -> String {
    match variable.strip_suffix("_image_tag") {
        Some(stem) => format!("{stem}_image_digest"),
        None => format!("{variable}_digest"),
    }
}

/// Returns where `service`'s pin lives in environment `env`, for an image service.
pub fn target(
    config: &Config,
    root: &Path,
    service: &str,
    env: &str,
) -> Result<PinTarget, DeployError> {
    target_for(config, root, service, env, false)
}

/// Returns where `service`'s pin lives in environment `env`; `object` says whether the
/// service's artifact is an object (S3), whose release-tag variable defaults to
/// `{service_snake}_release_tag` rather than `{service_snake}_image_tag`.
pub fn target_for(
    config: &Config,
    root: &Path,
    service: &str,
    env: &str,
    object: bool,
) -> Result<PinTarget, DeployError> {
    let environment =
        config
            .environments
            .get(env)
            .ok_or_else(|| DeployError::UnknownEnvironment {
                name: env.to_string(),
                known: config.environments.keys().cloned().collect(),
            })?;
    if matches!(
        environment.kind,
        crate::config::EnvironmentKind::Ecs | crate::config::EnvironmentKind::Lambda
    ) {
        return Err(DeployError::LiveEnvironment {
            env: env.to_string(),
            kind: environment.kind.as_str(),
        });
    }
    target_of(environment, root, service, env, object)
}

fn target_of(
    environment: &EnvironmentConfig,
    root: &Path,
    service: &str,
    env: &str,
    object: bool,
) -> Result<PinTarget, DeployError> {
    if environment.kind == EnvironmentKind::Sam {
        return Err(DeployError::NotTerraform {
            env: env.to_string(),
            kind: "sam",
        });
    }
    let name = render(&environment.file, service, env);
    let bad = |rule| DeployError::BadFile {
        env: env.to_string(),
        file: name.clone(),
        rule,
    };
    let relative = Path::new(environment.dir.trim_matches('/')).join(&name);
    if relative
        .components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(bad("leaves the repository (no `..` or absolute paths)"));
    }
    let format = if name.ends_with(".tfvars.json") {
        PinFormat::Json
    } else if name.ends_with(".tfvars") {
        PinFormat::Hcl
    } else {
        return Err(bad("does not end in `.tfvars.json` or `.tfvars`"));
    };
    let variable = render(environment.variable_for(object), service, env);
    let valid_ident = variable
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && variable
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !valid_ident {
        return Err(DeployError::BadVariable {
            env: env.to_string(),
            variable,
        });
    }
    Ok(PinTarget {
        env: env.to_string(),
        file: relative.to_string_lossy().replace('\\', "/"),
        path: root.join(&relative),
        root: root.to_path_buf(),
        digest_variable: digest_variable(&variable),
        object_variables: ObjectVariables::of(service),
        variable,
        format,
    })
}

/// What to pin: a release tag and, when the registry was asked, the image digest or
/// the promoted object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    /// The release tag, like `service-a-v1.2.0`.
    pub tag: String,
    /// The image's manifest digest; `None` with `[registry] kind = "none"`.
    pub digest: Option<String>,
    /// The promoted object of an S3 service; `None` for an image service.
    pub object: Option<ObjectLocation>,
}

/// Where a promoted object lives, as a deployment names it: what a Lambda function's
/// code location needs, and nothing a deployment cannot use.
///
/// Kept this small so that any store's identity of an object maps onto it field by field.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ObjectLocation {
    /// The bucket.
    pub bucket: String,
    /// The object's key (the release key, like `lambda-a-v1.2.0`).
    pub key: String,
    /// The object's version id, when the bucket is versioned.
    pub version_id: Option<String>,
    /// The base64 SHA-256 of the object's bytes, when S3 has it (what Terraform's
    /// `source_code_hash` compares).
    pub checksum_sha256_base64: Option<String>,
}

impl PinTarget {
    /// Returns the file's text, or `None` when it does not exist yet.
    ///
    /// A link is followed only where a write would follow it: inside the repository.
    fn read(&self) -> Result<Option<String>, DeployError> {
        let resolved = safe_write::resolve(&self.root, &self.path, Policy::DATA.symlinks)?;
        if !resolved.exists {
            return Ok(None);
        }
        self.text(
            std::fs::read(&resolved.file).map_err(|source| DeployError::Io {
                action: "read",
                path: self.path.clone(),
                source,
            })?,
        )
        .map(Some)
    }

    fn text(&self, bytes: Vec<u8>) -> Result<String, DeployError> {
        String::from_utf8(bytes).map_err(|e| DeployError::Io {
            action: "read",
            path: self.path.clone(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        })
    }

    fn malformed(&self, what: &'static str, message: String) -> DeployError {
        DeployError::Malformed {
            path: self.path.clone(),
            what,
            message,
        }
    }
}

/// Writes `pin` into the target's file, creating it (and its directory) if needed.
///
/// Returns whether the file changed. Only that file is touched.
///
/// The file is locked first and read under the lock, so two deploys into one shared file
/// both land. Nothing is written when the text would not change.
pub fn write_pin(target: &PinTarget, pin: &Pin) -> Result<bool, DeployError> {
    let lock = Lock::acquire(&target.root, &target.path, Policy::DATA)?;
    let old = lock.read()?.map(|b| target.text(b)).transpose()?;
    let (bom, body) = split_bom(old.as_deref().unwrap_or(""));
    let body = (old.is_some() && !body.trim().is_empty()).then_some(body);
    let malformed = |what, message| target.malformed(what, message);
    let new = match target.format {
        PinFormat::Json => {
            update_json(body, target, pin).map_err(|m| malformed("JSON object", m))?
        }
        PinFormat::Hcl => update_hcl(body.unwrap_or(""), target, pin)
            .map_err(|m| malformed("HCL variables file", m))?,
    };
    let new = format!("{bom}{new}");
    if old.as_deref() == Some(new.as_str()) {
        return Ok(false);
    }
    lock.commit(new.as_bytes())?;
    Ok(true)
}

/// Splits a leading byte-order mark off `text`.
fn split_bom(text: &str) -> (&'static str, &str) {
    match text.strip_prefix(BOM) {
        Some(rest) => (BOM, rest),
        None => ("", text),
    }
}

/// Returns the release tag pinned in the target's file, or `None` when there is no file
/// or no such variable.
pub fn read_pin(target: &PinTarget) -> Result<Option<String>, DeployError> {
    let Some(text) = target.read()? else {
        return Ok(None);
    };
    let (_, text) = split_bom(&text);
    let malformed = |what, message| target.malformed(what, message);
    match target.format {
        PinFormat::Json if text.trim().is_empty() => Ok(None),
        PinFormat::Json => {
            json::get_string(text, &target.variable).map_err(|m| malformed("JSON object", m))
        }
        PinFormat::Hcl => {
            let body = hcl_edit::parser::parse_body(text)
                .map_err(|e| malformed("HCL variables file", one_line(&e.to_string())))?;
            Ok(body
                .get_attribute(&target.variable)
                .and_then(|a| a.value.as_str())
                .map(str::to_string))
        }
    }
}

/// Reads the pins of many targets, reading and parsing each file once.
///
/// `status` asks for every service in every environment; when an environment keeps all
/// its pins in one shared file, reading it per service would parse it once per service.
/// A file that cannot be read or parsed is left to [`read_pin`], so the errors are the
/// same.
pub fn read_pins(targets: &[PinTarget]) -> Vec<Result<Option<String>, DeployError>> {
    enum Parsed {
        Missing,
        Json(String),
        Hcl(hcl_edit::structure::Body),
    }
    let mut files: std::collections::HashMap<(&Path, PinFormat), Option<Parsed>> =
        std::collections::HashMap::new();
    targets
        .iter()
        .map(|target| {
            let parsed = files
                .entry((target.path.as_path(), target.format))
                .or_insert_with(|| match target.read() {
                    Ok(None) => Some(Parsed::Missing),
                    Ok(Some(text)) => {
                        let (_, text) = split_bom(&text);
                        match target.format {
                            PinFormat::Json => Some(Parsed::Json(text.to_string())),
                            PinFormat::Hcl => {
                                hcl_edit::parser::parse_body(text).ok().map(Parsed::Hcl)
                            }
                        }
                    }
                    Err(_) => None,
                });
            match parsed {
                None => read_pin(target),
                Some(Parsed::Missing) => Ok(None),
                Some(Parsed::Json(text)) if text.trim().is_empty() => Ok(None),
                // The same scanner as `read_pin`; its errors come from `read_pin` itself.
                Some(Parsed::Json(text)) => {
                    json::get_string(text, &target.variable).or_else(|_| read_pin(target))
                }
                Some(Parsed::Hcl(body)) => Ok(body
                    .get_attribute(&target.variable)
                    .and_then(|a| a.value.as_str())
                    .map(str::to_string)),
            }
        })
        .collect()
}

/// Returns the new text of a JSON variables file with the pin's values set in place.
///
/// A stale digest is removed when no digest is known, so the file never pairs a tag with
/// another release's digest; likewise a stale object version or code hash.
pub fn update_json(old: Option<&str>, target: &PinTarget, pin: &Pin) -> Result<String, String> {
    let values = assignments(target, pin);
    let Some(old) = old.filter(|text| !text.trim().is_empty()) else {
        let pairs: Vec<(&str, &str)> = values
            .iter()
            .filter_map(|(k, v)| v.map(|v| (*k, v)))
            .collect();
        return json::new_file(&pairs);
    };
    let mut text = old.to_string();
    for (key, value) in values {
        text = match value {
            Some(value) => json::set_string(&text, key, value)?,
            None => json::remove(&text, key)?,
        };
    }
    Ok(text)
}

/// Returns every variable of the pin in the order they are written, each with its value,
/// or `None` for a variable that must not be there (a stale digest, object version or
/// code hash).
fn assignments<'a>(target: &'a PinTarget, pin: &'a Pin) -> Vec<(&'a str, Option<&'a str>)> {
    let mut values = vec![
        (target.variable.as_str(), Some(pin.tag.as_str())),
        (target.digest_variable.as_str(), pin.digest.as_deref()),
    ];
    if let Some(object) = &pin.object {
        let names = &target.object_variables;
        values.extend([
            (names.bucket.as_str(), Some(object.bucket.as_str())),
            (names.key.as_str(), Some(object.key.as_str())),
            (names.version.as_str(), object.version_id.as_deref()),
            (
                names.source_code_hash.as_str(),
                object.checksum_sha256_base64.as_deref(),
            ),
        ]);
    }
    values
}

/// Returns the new text of an HCL variables file with the pin's values set in place.
///
/// An existing attribute keeps its key, its `=` alignment and its comments: only the
/// value expression changes. A missing attribute is appended at the end of the file. As
/// in JSON, a stale digest (or object version, or code hash) is removed.
pub fn update_hcl(old: &str, target: &PinTarget, pin: &Pin) -> Result<String, String> {
    let mut text = old.to_string();
    for (key, value) in assignments(target, pin) {
        text = match value {
            Some(value) => set_hcl_string(&text, key, value)?,
            None => remove_hcl_attribute(&text, key)?,
        };
    }
    Ok(text)
}

/// Removes top-level attribute `key` from HCL text `old`: its line, with a comment that
/// ends the line, when it stands alone on it; every other byte is kept.
fn remove_hcl_attribute(old: &str, key: &str) -> Result<String, String> {
    let mut body = hcl_edit::parser::parse_body(old).map_err(|e| one_line(&e.to_string()))?;
    let Some(attribute) = body.get_attribute(key) else {
        return Ok(old.to_string());
    };
    let Some(span) = attribute.span() else {
        body.remove_attribute(key);
        return Ok(body.to_string());
    };
    let line_start = old[..span.start].rfind('\n').map_or(0, |i| i + 1);
    let alone = old[line_start..span.start].trim().is_empty();
    let start = if alone { line_start } else { span.start };
    let rest = &old[span.end..];
    let line_end = rest.find('\n').map_or(old.len(), |i| span.end + i + 1);
    let tail = old[span.end..line_end].trim();
    let end = if alone && (tail.is_empty() || tail.starts_with('#') || tail.starts_with("//")) {
        line_end
    } else {
        span.end
    };
    Ok(format!("{}{}", &old[..start], &old[end..]))
}

/// Sets top-level attribute `key` to the string `value` in HCL text `old`.
fn set_hcl_string(old: &str, key: &str, value: &str) -> Result<String, String> {
    let mut body = hcl_edit::parser::parse_body(old).map_err(|e| one_line(&e.to_string()))?;
    let new_value = Expression::from(value);
    let Some(mut attribute) = body.get_attribute_mut(key) else {
        // Appended as text so that the rest of the file stays exactly as it was.
        let mut text = old.to_string();
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&format!("{key} = {new_value}\n"));
        return Ok(text);
    };
    let value_expr = attribute.value_mut();
    if value_expr.as_str() == Some(value) {
        return Ok(old.to_string());
    }
    let span = value_expr.span();
    let decor = value_expr.decor().clone();
    *value_expr = new_value.clone();
    value_expr.decorate(decor);
    let edited = body.to_string();
    // hcl-edit keeps the layout it parsed, but the guarantee we give is "every byte
    // outside the value is unchanged": check it, and splice by the parsed span if the
    // encoder ever normalised something elsewhere.
    let Some(span) = span else {
        return Ok(edited);
    };
    let spliced = format!("{}{}{}", &old[..span.start], new_value, &old[span.end..]);
    Ok(if edited == spliced { edited } else { spliced })
}

fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(envs: &str) -> Config {
        Config::parse(
            &format!("[services.service-a]\npath = \"services/service-a\"\n{envs}"),
            "t",
        )
        .expect("valid config")
    }

    fn hcl_target(dir: &Path) -> PinTarget {
        let config = config(
            "[environments.prod]\ndir = \"infra/prod\"\nfile = \"terraform.tfvars\"\nvariable = \"{service_snake}_image_tag\"\n",
        );
        target(&config, dir, "service-a", "prod").expect("target")
    }

    #[test]
    fn defaults_render_per_service_json() {
        let config = config("[environments.stg]\ndir = \"infra/stg\"\n");
        let t = target(&config, Path::new("/r"), "service-a", "stg").expect("target");
        assert_eq!(t.file, "infra/stg/service-a.auto.tfvars.json");
        assert_eq!(t.variable, "service_a_image_tag");
        assert_eq!(t.digest_variable, "service_a_image_digest");
        assert_eq!(t.format, PinFormat::Json);
    }

    #[test]
    fn digest_variable_names() {
        assert_eq!(digest_variable("api_image_tag"), "api_image_digest");
        assert_eq!(digest_variable("api_release"), "api_release_digest");
    }

    #[test]
    fn unknown_environment_lists_known_ones() {
        let config = config("[environments.stg]\ndir = \"infra/stg\"\n");
        let err = target(&config, Path::new("/r"), "service-a", "prd").expect_err("unknown");
        assert!(
            err.to_string().contains("configured environments: stg"),
            "{err}"
        );
    }

    #[test]
    fn file_outside_the_repository_is_refused() {
        let config = config("[environments.stg]\ndir = \"../infra\"\n");
        let err = target(&config, Path::new("/r"), "service-a", "stg").expect_err("outside");
        assert!(err.to_string().contains("leaves the repository"), "{err}");
    }

    #[test]
    fn json_keeps_other_keys_in_place() {
        let config = config("[environments.stg]\ndir = \"infra/stg\"\n");
        let t = target(&config, Path::new("/r"), "service-a", "stg").expect("target");
        let pin = Pin {
            tag: "service-a-v1.0.0".into(),
            digest: Some("sha256:abc".into()),
            object: None,
        };
        let new = update_json(None, &t, &pin).expect("json");
        assert_eq!(
            new,
            "{\n  \"service_a_image_digest\": \"sha256:abc\",\n  \"service_a_image_tag\": \"service-a-v1.0.0\"\n}\n"
        );
        let text = update_json(Some("{\"zz\": 1, \"aa\": [\"x\"]}"), &t, &pin).expect("json");
        assert_eq!(
            text,
            "{\"zz\": 1, \"aa\": [\"x\"], \"service_a_image_tag\": \"service-a-v1.0.0\", \"service_a_image_digest\": \"sha256:abc\"}"
        );
        let no_digest = Pin {
            tag: "service-a-v1.1.0".into(),
            digest: None,
            object: None,
        };
        let text = update_json(Some(&text), &t, &no_digest).expect("json");
        assert!(!text.contains("digest"), "{text}");
        assert!(update_json(Some("[1]"), &t, &pin).is_err());
    }

    #[test]
    fn hcl_edit_keeps_every_other_byte() {
        let dir = Path::new("/r");
        let t = hcl_target(dir);
        let old = "# Production pins.\nregion = \"eu-west-1\" # where\n\nservice_a_image_tag    = \"service-a-v1.0.0\" # deployed by CI\nservice_a_image_digest = \"sha256:old\"\n/* trailer */\n";
        let pin = Pin {
            tag: "service-a-v1.10.0".into(),
            digest: Some("sha256:new".into()),
            object: None,
        };
        let new = update_hcl(old, &t, &pin).expect("edit");
        assert_eq!(
            new,
            old.replace("service-a-v1.0.0", "service-a-v1.10.0")
                .replace("sha256:old", "sha256:new")
        );
    }

    #[test]
    fn hcl_removes_a_stale_digest_like_json() {
        let t = hcl_target(Path::new("/r"));
        let old = "a = 1\nservice_a_image_tag = \"service-a-v1.0.0\"\n  service_a_image_digest = \"sha256:old\" # by CI\nb = 2 # keep\n";
        let pin = Pin {
            tag: "service-a-v1.0.1".into(),
            digest: None,
            object: None,
        };
        let new = update_hcl(old, &t, &pin).expect("edit");
        assert_eq!(
            new,
            "a = 1\nservice_a_image_tag = \"service-a-v1.0.1\"\nb = 2 # keep\n"
        );
        assert_eq!(update_hcl(&new, &t, &pin).expect("again"), new);
    }

    #[test]
    fn a_byte_order_mark_is_accepted_and_kept() {
        let tmp = tempfile::tempdir().expect("tmp");
        let config = config("[environments.stg]\ndir = \"infra/stg\"\n");
        let t = target(&config, tmp.path(), "service-a", "stg").expect("target");
        std::fs::create_dir_all(t.path.parent().expect("dir")).expect("mkdir");
        std::fs::write(&t.path, "\u{feff}{\"service_a_image_tag\": \"old\"}\n").expect("w");
        assert_eq!(read_pin(&t).expect("read").as_deref(), Some("old"));
        let pin = Pin {
            tag: "service-a-v1.0.0".into(),
            digest: None,
            object: None,
        };
        assert!(write_pin(&t, &pin).expect("write"));
        assert_eq!(
            std::fs::read_to_string(&t.path).expect("read"),
            "\u{feff}{\"service_a_image_tag\": \"service-a-v1.0.0\"}\n"
        );
    }

    #[test]
    fn hcl_appends_missing_digest() {
        let t = hcl_target(Path::new("/r"));
        let old = "service_a_image_tag = \"service-a-v1.0.0\"";
        let pin = Pin {
            tag: "service-a-v1.0.1".into(),
            digest: Some("sha256:d".into()),
            object: None,
        };
        let new = update_hcl(old, &t, &pin).expect("edit");
        assert_eq!(
            new,
            "service_a_image_tag = \"service-a-v1.0.1\"\nservice_a_image_digest = \"sha256:d\"\n"
        );
    }

    #[test]
    fn write_then_read_back() {
        let tmp = tempfile::tempdir().expect("tmp");
        let config = config("[environments.stg]\ndir = \"infra/stg\"\n");
        let t = target(&config, tmp.path(), "service-a", "stg").expect("target");
        assert_eq!(read_pin(&t).expect("read"), None);
        let pin = Pin {
            tag: "service-a-v0.1.0".into(),
            digest: None,
            object: None,
        };
        assert!(write_pin(&t, &pin).expect("write"));
        assert!(!write_pin(&t, &pin).expect("same again"));
        assert_eq!(
            read_pin(&t).expect("read").as_deref(),
            Some("service-a-v0.1.0")
        );
        let h = hcl_target(tmp.path());
        std::fs::create_dir_all(h.path.parent().expect("dir")).expect("mkdir");
        std::fs::write(&h.path, "service_a_image_tag = \"service-a-v0.0.9\" # hi\n").expect("w");
        assert_eq!(
            read_pin(&h).expect("read").as_deref(),
            Some("service-a-v0.0.9")
        );
    }

    #[test]
    fn read_pins_reads_a_shared_file_once_and_answers_as_read_pin() {
        let tmp = tempfile::tempdir().expect("tmp");
        let config = config(
            "[environments.prod]\ndir = \"infra/prod\"\nfile = \"shared.tfvars\"\nvariable = \"{service_snake}_release\"\n\n[environments.stg]\ndir = \"infra/stg\"\nfile = \"bad.tfvars.json\"\n",
        );
        let targets: Vec<PinTarget> = ["service-a", "service-b", "service-c"]
            .iter()
            .flat_map(|s| {
                ["prod", "stg"].map(|e| target(&config, tmp.path(), s, e).expect("target"))
            })
            .collect();
        std::fs::create_dir_all(tmp.path().join("infra/prod")).expect("mkdir");
        std::fs::create_dir_all(tmp.path().join("infra/stg")).expect("mkdir");
        std::fs::write(
            tmp.path().join("infra/prod/shared.tfvars"),
            "service_a_release = \"service-a-v1.0.0\"\nservice_c_release = \"service-c-v2.0.0\"\n",
        )
        .expect("write");
        std::fs::write(tmp.path().join("infra/stg/bad.tfvars.json"), "{not json").expect("write");
        let batch: Vec<String> = read_pins(&targets)
            .into_iter()
            .map(|r| format!("{r:?}"))
            .collect();
        let one_by_one: Vec<String> = targets
            .iter()
            .map(|t| format!("{:?}", read_pin(t)))
            .collect();
        assert_eq!(batch, one_by_one);
        assert!(batch[0].contains("service-a-v1.0.0") && batch[1].contains("Malformed"));
    }
}
