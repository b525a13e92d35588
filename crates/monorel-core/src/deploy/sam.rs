//! Deploying a Lambda release into a SAM template: rewriting one function's `CodeUri`.
//!
//! A SAM template belongs to the team: comments, anchors, key order, quoting style, line
//! endings. Loading it into a YAML tree and dumping it again would change all of those, so
//! the template is only *read* by a real YAML parser (yaml-rust2's event parser, which
//! reports where each node starts) to find where the function's `CodeUri` is, and the new
//! location is spliced into the text at those offsets. Every other byte stays as it was.
//!
//! The location is written as SAM's map form, `{Bucket, Key, Version}`, never as an
//! `s3://bucket/key` string: only the map can carry the object's version id, and the
//! version is what makes a deployment of a versioned bucket immutable (the key could be
//! overwritten; the version cannot). Without a version id the map has no `Version`.
//!
//! The editor fails closed. Whatever it cannot edit with certainty is refused with the
//! reason, and nothing is written: a JSON template, several YAML documents, a flow-style
//! resource or `Properties`, a merge key (`<<`), a `CodeUri` given by an alias, an anchor
//! (other nodes may share it), an intrinsic (`!Ref`, `!Sub`, `Fn::If`) or a multi-line
//! scalar, a function that is missing or not an `AWS::Serverless::Function`, or one that
//! uses `InlineCode` or an image. After splicing, the new text is parsed again and its
//! events must equal the old ones everywhere but in that one `CodeUri`: if they do not,
//! the edit is refused rather than written.
//!
//! A function without `CodeUri` (one that inherits it from `Globals`) gets one, inserted
//! as the first key of its `Properties` at their indentation: SAM reads a function's own
//! `CodeUri` before the global one, and the first key is where SAM's own examples put it.

use std::path::{Path, PathBuf};

use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::{render, split_bom, ObjectLocation};
use crate::config::{Config, EnvironmentKind};
use crate::safe_write::{Lock, Policy, WriteError};

pub mod pins;

/// The resource type whose code location is edited.
const FUNCTION_TYPE: &str = "AWS::Serverless::Function";

/// Where one service's function lives in one SAM environment.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SamTarget {
    /// The environment's name.
    pub env: String,
    /// The template, relative to the repository root, with `/` separators.
    pub file: String,
    /// The template's absolute path.
    #[serde(skip)]
    pub path: PathBuf,
    /// The repository root, which the template (and any link it is) must stay inside.
    #[serde(skip)]
    pub root: PathBuf,
    /// The function's logical id in the template.
    pub resource: String,
}

/// The error returned by the functions of this module.
#[derive(Debug, thiserror::Error)]
pub enum SamError {
    /// The environment is not configured, or is not a SAM environment.
    #[error("[environments.{env}] is not a SAM environment (kind = \"{kind}\"); set `kind = \"sam\"` and `template` in git-release.toml")]
    NotSam {
        /// The environment.
        env: String,
        /// Its kind.
        kind: &'static str,
    },
    /// A rendered logical id is not one CloudFormation accepts.
    #[error("[environments.{env}] resource renders to `{resource}`, which is not a CloudFormation logical id (letters and digits only); fix `resource` in git-release.toml")]
    BadResource {
        /// The environment.
        env: String,
        /// The rendered id.
        resource: String,
    },
    /// The template does not exist.
    #[error("{file} does not exist; fix `template` in [environments.{env}] of git-release.toml")]
    Missing {
        /// The environment.
        env: String,
        /// The template, relative to the root.
        file: String,
    },
    /// The template could not be read.
    #[error("cannot read {}: {source}", .path.display())]
    Read {
        /// The template.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The template cannot be edited with certainty; nothing was written.
    #[error("cannot set the CodeUri of {resource} in {file}: {reason}; nothing was written")]
    Refused {
        /// The template, relative to the root.
        file: String,
        /// The function's logical id.
        resource: String,
        /// Why, and what to do, on one line.
        reason: String,
    },
    /// The template could not be parsed to read its code locations.
    #[error("cannot read the code locations of {file}: {reason}")]
    Unparsable {
        /// The template, relative to the root.
        file: String,
        /// Why, on one line.
        reason: String,
    },
    /// The template could not be written safely; it was left as it was.
    #[error(transparent)]
    Write(#[from] WriteError),
}

/// Returns where `service`'s function lives in SAM environment `env`.
pub fn target(
    config: &Config,
    root: &Path,
    service: &str,
    env: &str,
) -> Result<SamTarget, SamError> {
    let not_sam = |kind| SamError::NotSam {
        env: env.to_string(),
        kind,
    };
    let environment = config.environments.get(env).ok_or(not_sam("unset"))?;
    let template = match (environment.kind, &environment.template) {
        (EnvironmentKind::Sam, Some(template)) => template.trim_end_matches('/'),
        (EnvironmentKind::Sam, None) => return Err(not_sam("sam")),
        (kind, _) => return Err(not_sam(kind.as_str())),
    };
    let resource = render(&environment.resource, service, env);
    if !is_logical_id(&resource) {
        return Err(SamError::BadResource {
            env: env.to_string(),
            resource: crate::text::line(&resource).into_owned(),
        });
    }
    Ok(SamTarget {
        env: env.to_string(),
        file: template.to_string(),
        path: root.join(template),
        root: root.to_path_buf(),
        resource,
    })
}

/// Whether `id` is a CloudFormation logical id: ASCII letters and digits, 1 to 255.
fn is_logical_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 255 && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Sets the target function's `CodeUri` to `object` in the template.
///
/// Returns whether the template changed: a template that already points at this very
/// object (bucket, key and version) is not written. The template is locked and read under
/// the lock, edited as [`set_code_uri`] does, and renamed into place.
pub fn write_code_uri(target: &SamTarget, object: &ObjectLocation) -> Result<bool, SamError> {
    let lock = Lock::acquire(&target.root, &target.path, Policy::DATA)?;
    let Some(bytes) = lock.read()? else {
        return Err(SamError::Missing {
            env: target.env.clone(),
            file: crate::text::line(&target.file).into_owned(),
        });
    };
    let refused = |reason: String| SamError::Refused {
        file: crate::text::line(&target.file).into_owned(),
        resource: target.resource.clone(),
        reason,
    };
    let old = String::from_utf8(bytes).map_err(|_| refused("it is not UTF-8".into()))?;
    let new = set_code_uri(&old, &target.resource, object).map_err(refused)?;
    if new == old {
        return Ok(false);
    }
    lock.commit(new.as_bytes())?;
    Ok(true)
}

/// Returns `text` with function `resource`'s `CodeUri` set to `object`, every other byte
/// unchanged; `text` itself when it already points there. Returns the reason when the
/// template cannot be edited with certainty.
pub fn set_code_uri(text: &str, resource: &str, object: &ObjectLocation) -> Result<String, String> {
    check_object(object)?;
    let (bom, body) = split_bom(text);
    let doc = Document::parse(body)?;
    let properties = doc.function_properties(resource)?;
    let nl = if body.contains("\r\n") { "\r\n" } else { "\n" };
    let edit = doc.plan_edit(properties, object, nl)?;
    let Some((range, replacement)) = edit else {
        return Ok(text.to_string());
    };
    let new_body = format!(
        "{}{}{}",
        &body[..range.start],
        replacement,
        &body[range.end..]
    );
    verify(&doc, &new_body, resource, object)?;
    Ok(format!("{bom}{new_body}"))
}

/// A function of a template, as `git release init --sam-template` reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    /// Its logical id, like `LambdaAFunction`.
    pub logical_id: String,
    /// Its local `CodeUri` (a directory relative to the template), or the template's
    /// `Globals.Function.CodeUri`; `None` when the code is not a local directory (an S3
    /// location, an image, inline code).
    pub code_uri: Option<String>,
}

/// Lists the `AWS::Serverless::Function` resources of a template with their local code
/// directory, in the template's order. Read only: nothing here edits.
pub fn functions(text: &str) -> Result<Vec<Function>, String> {
    let (_, body) = split_bom(text);
    let doc = Document::parse(body)?;
    let scalar = |node: Option<&Node>| match node {
        Some(Node::Scalar {
            value,
            tagged: false,
            ..
        }) => Some(value.clone()),
        _ => None,
    };
    let global = match doc.root.get("Globals", "the template")? {
        Some(globals) => match globals.get("Function", "Globals")? {
            Some(function) => scalar(function.get("CodeUri", "Globals.Function")?),
            None => None,
        },
        None => None,
    };
    let Some(Node::Map { entries, .. }) = doc.root.get("Resources", "the template")? else {
        return Ok(Vec::new());
    };
    let mut found = Vec::new();
    for (key, resource) in entries {
        let Some(id) = key.plain_key() else { continue };
        if scalar(resource.get("Type", id)?).as_deref() != Some(FUNCTION_TYPE) {
            continue;
        }
        let properties = resource.get("Properties", id)?;
        let own = match properties {
            Some(p) => p.get("CodeUri", id)?,
            None => None,
        };
        let image = match properties {
            Some(p) => {
                p.get("ImageUri", id)?.is_some()
                    || p.get("InlineCode", id)?.is_some()
                    || scalar(p.get("PackageType", id)?).as_deref() == Some("Image")
            }
            None => false,
        };
        let code_uri = match own {
            Some(node) => scalar(Some(node)),
            None if !image => global.clone(),
            None => None,
        }
        .filter(|uri| !uri.starts_with("s3://") && !image);
        found.push(Function {
            logical_id: id.to_string(),
            code_uri,
        });
    }
    Ok(found)
}

/// Where a function's code is, as its template says (read by [`code_uris`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeUri {
    /// An object in S3: the `{Bucket, Key, Version}` map or an `s3://bucket/key` string.
    Object(ObjectLocation),
    /// A local path, which `sam build` packages: the code is not a release yet.
    Local(String),
    /// Something that names no object git-release can read, and why, on one line with
    /// every piece of template text already escaped: an intrinsic, an alias, an image,
    /// inline code, no `CodeUri` at all.
    Unknown(String),
}

/// Returns the code location of every `AWS::Serverless::Function` of a template, by
/// logical id; a function without its own `CodeUri` has `Globals.Function.CodeUri`.
///
/// Read only, and parsed once, so `status` can ask for every service of a shared
/// template at the cost of one parse. A problem with one function (a duplicate key, an
/// intrinsic) is that function's [`CodeUri::Unknown`], never another's; only a template
/// that cannot be parsed at all is an error. A logical id that appears twice is unknown
/// for both: which one SAM would read depends on the reader.
pub fn code_uris(text: &str) -> Result<std::collections::BTreeMap<String, CodeUri>, String> {
    let (_, body) = split_bom(text);
    let doc = Document::parse(body)?;
    let global = match doc.root.get("Globals", "the template") {
        Err(e) => Err(e),
        Ok(None) => Ok(None),
        Ok(Some(globals)) => match globals.get("Function", "Globals") {
            Err(e) => Err(e),
            Ok(None) => Ok(None),
            Ok(Some(function)) => function
                .get("CodeUri", "Globals.Function")
                .map(|node| node.map(code_uri_of)),
        },
    };
    let Some(Node::Map { entries, .. }) = doc.root.get("Resources", "the template")? else {
        return Ok(std::collections::BTreeMap::new());
    };
    let mut found = std::collections::BTreeMap::new();
    let mut twice = Vec::new();
    for (key, resource) in entries {
        let Some(id) = key.plain_key() else { continue };
        let code = match resource.get("Type", id) {
            Ok(Some(Node::Scalar {
                value,
                tagged: false,
                ..
            })) if value == FUNCTION_TYPE => function_code(resource, id, &global),
            Ok(_) => continue,
            Err(e) => CodeUri::Unknown(crate::text::line(&e).into_owned()),
        };
        if found.insert(id.to_string(), code).is_some() {
            twice.push(id.to_string());
        }
    }
    for id in twice {
        let reason = format!("the template defines `{}` twice", crate::text::line(&id));
        found.insert(id, CodeUri::Unknown(reason));
    }
    Ok(found)
}

/// Returns the code location of one function: its own `CodeUri`, else the global one.
fn function_code(resource: &Node, id: &str, global: &Result<Option<CodeUri>, String>) -> CodeUri {
    let unknown = |e: String| CodeUri::Unknown(crate::text::line(&e).into_owned());
    let properties = match resource.get("Properties", id) {
        Ok(p) => p,
        Err(e) => return unknown(e),
    };
    if let Some(properties) = properties {
        for (key, what) in [("ImageUri", "an image"), ("InlineCode", "inline code")] {
            match properties.get(key, id) {
                Ok(Some(_)) => {
                    return CodeUri::Unknown(format!(
                        "its code is {what} (`{key}`), not a zip in S3"
                    ))
                }
                Ok(None) => {}
                Err(e) => return unknown(e),
            }
        }
        match properties.get("PackageType", id) {
            Ok(Some(Node::Scalar { value, .. })) if value == "Image" => {
                return CodeUri::Unknown(
                    "its code is an image (`PackageType: Image`), not a zip in S3".into(),
                )
            }
            Ok(_) => {}
            Err(e) => return unknown(e),
        }
        match properties.get("CodeUri", id) {
            Ok(Some(node)) => return code_uri_of(node),
            Ok(None) => {}
            Err(e) => return unknown(e),
        }
    }
    match global {
        Ok(Some(code)) => code.clone(),
        Ok(None) => CodeUri::Unknown("it has no `CodeUri`, nor does `Globals.Function`".into()),
        Err(e) => unknown(e.clone()),
    }
}

/// Returns what one `CodeUri` node names.
fn code_uri_of(node: &Node) -> CodeUri {
    const INTRINSIC: &str = "its `CodeUri` is an intrinsic function (`!Ref`, `!Sub`, ...), which git-release cannot evaluate";
    match node {
        Node::Scalar { tagged: true, .. } | Node::Map { tagged: true, .. } => {
            CodeUri::Unknown(INTRINSIC.into())
        }
        Node::Scalar { value, .. } if value.starts_with("s3://") => match current_location(node) {
            Some(object) if !object.bucket.is_empty() && !object.key.is_empty() => {
                CodeUri::Object(object)
            }
            _ => CodeUri::Unknown(format!(
                "its `CodeUri` `{}` is not an `s3://bucket/key` location",
                crate::text::line(value)
            )),
        },
        Node::Scalar { value, .. } => CodeUri::Local(value.clone()),
        Node::Map { entries, .. } => {
            let intrinsic = entries.len() == 1
                && entries[0]
                    .0
                    .plain_key()
                    .is_some_and(|k| k == "Ref" || k.starts_with("Fn::"));
            if intrinsic {
                return CodeUri::Unknown(INTRINSIC.into());
            }
            match current_location(node) {
                Some(object) if !object.bucket.is_empty() && !object.key.is_empty() => {
                    CodeUri::Object(object)
                }
                _ => CodeUri::Unknown(
                    "its `CodeUri` mapping is not one plain `Bucket`, `Key` and optional `Version`"
                        .into(),
                ),
            }
        }
        Node::Alias { .. } => CodeUri::Unknown(
            "its `CodeUri` is an alias (`*name`), which git-release does not follow".into(),
        ),
        Node::Seq { .. } => CodeUri::Unknown("its `CodeUri` is a list".into()),
    }
}

/// Refuses a location whose text YAML or a terminal could not carry as is.
fn check_object(object: &ObjectLocation) -> Result<(), String> {
    for (what, value) in [
        ("bucket", Some(object.bucket.as_str())),
        ("key", Some(object.key.as_str())),
        ("version id", object.version_id.as_deref()),
    ] {
        match value {
            Some("") => return Err(format!("the object's {what} is empty")),
            Some(v) if !crate::text::is_displayable(v) => {
                return Err(format!(
                    "the object's {what} `{}` contains control or bidi characters",
                    crate::text::line(v)
                ))
            }
            _ => {}
        }
    }
    Ok(())
}

/// One node of the template, with where it starts (a byte offset into the text).
#[derive(Debug)]
enum Node {
    Scalar {
        value: String,
        style: TScalarStyle,
        anchor: usize,
        tagged: bool,
        start: usize,
    },
    Map {
        entries: Vec<(Node, Node)>,
        anchor: usize,
        tagged: bool,
        flow: bool,
        /// For a flow map, the offset of its `{`; for a block map, the parser puts it at
        /// the first key's `:`, so it is not used for editing.
        start: usize,
        /// For a flow map, the offset of its `}`.
        end: usize,
        /// The index of its `MappingStart` event.
        first_event: usize,
        /// The index of its `MappingEnd` event.
        last_event: usize,
    },
    Seq {
        start: usize,
    },
    Alias {
        start: usize,
    },
}

impl Node {
    fn start(&self) -> usize {
        match self {
            Node::Scalar { start, .. }
            | Node::Map { start, .. }
            | Node::Seq { start }
            | Node::Alias { start } => *start,
        }
    }

    fn plain_key(&self) -> Option<&str> {
        match self {
            Node::Scalar {
                value,
                tagged: false,
                ..
            } => Some(value),
            _ => None,
        }
    }

    /// Returns the value of `key`; refuses a duplicate key or a merge key, which make
    /// "the value of `key`" depend on the reader.
    fn get(&self, key: &str, what: &str) -> Result<Option<&Node>, String> {
        let Node::Map { entries, .. } = self else {
            return Ok(None);
        };
        let mut found = None;
        for (k, v) in entries {
            match k.plain_key() {
                Some("<<") => {
                    return Err(format!(
                        "{what} uses a merge key (`<<`); write its keys out in place"
                    ))
                }
                Some(name) if name == key => {
                    if found.is_some() {
                        return Err(format!("{what} has `{key}` twice"));
                    }
                    found = Some(v);
                }
                _ => {}
            }
        }
        Ok(found)
    }

    fn is_block_map(&self) -> bool {
        matches!(self, Node::Map { flow: false, .. })
    }
}

/// A parsed template: its text, its events (with offsets) and its root node.
struct Document<'a> {
    text: &'a str,
    events: Vec<(Event, usize)>,
    root: Node,
}

impl<'a> Document<'a> {
    fn parse(text: &'a str) -> Result<Document<'a>, String> {
        if text.trim_start().starts_with(['{', '[']) {
            return Err(
                "it is a JSON template, which git-release does not edit; keep the template in YAML"
                    .into(),
            );
        }
        let events = events(text)?;
        let documents = events
            .iter()
            .filter(|(e, _)| *e == Event::DocumentStart)
            .count();
        if documents != 1 {
            return Err(format!(
                "it holds {documents} YAML documents; a template is exactly one"
            ));
        }
        let mut at = events
            .iter()
            .position(|(e, _)| *e == Event::DocumentStart)
            .map_or(0, |i| i + 1);
        let root = build(text, &events, &mut at)?;
        Ok(Document { text, events, root })
    }

    /// Returns the `Properties` map of function `resource`, checked for editing.
    fn function_properties(&self, resource: &str) -> Result<&Node, String> {
        if !self.root.is_block_map() {
            return Err("its top level is not a block mapping".into());
        }
        let resources = self
            .root
            .get("Resources", "the template")?
            .ok_or("it has no `Resources`")?;
        if !resources.is_block_map() {
            return Err("its `Resources` are not a block mapping (flow style `{...}` is not edited); write them in block style".into());
        }
        let Some(function) = resources.get(resource, "Resources")? else {
            let functions = self.functions(resources);
            let known = if functions.is_empty() {
                format!("it has no {FUNCTION_TYPE}")
            } else {
                format!("its functions are {}", functions.join(", "))
            };
            return Err(format!(
                "the template has no resource `{resource}` ({known}); fix `resource` in git-release.toml"
            ));
        };
        if !function.is_block_map() {
            return Err(format!("`{resource}` is not a block mapping (flow style `{{...}}` is not edited); write it in block style"));
        }
        match function.get("Type", resource)? {
            Some(Node::Scalar {
                value,
                tagged: false,
                ..
            }) if value == FUNCTION_TYPE => {}
            Some(Node::Scalar { value, .. }) => {
                return Err(format!(
                    "`{resource}` is a {}, not an {FUNCTION_TYPE}",
                    crate::text::line(value)
                ))
            }
            _ => return Err(format!("`{resource}` has no plain `Type: {FUNCTION_TYPE}`")),
        }
        let properties = function.get("Properties", resource)?.ok_or_else(|| {
            format!("`{resource}` has no `Properties`; add them with its `Handler` and `Runtime`")
        })?;
        if !properties.is_block_map() {
            return Err(format!("the `Properties` of `{resource}` are not a block mapping (flow style `{{...}}` is not edited); write them in block style"));
        }
        let what = format!("the `Properties` of `{resource}`");
        for key in ["InlineCode", "ImageUri"] {
            if properties.get(key, &what)?.is_some() {
                return Err(format!(
                    "`{resource}` has `{key}`, so its code is not a zip in S3; remove `{key}` or deploy another function"
                ));
            }
        }
        if let Some(Node::Scalar { value, .. }) = properties.get("PackageType", &what)? {
            if value == "Image" {
                return Err(format!(
                    "`{resource}` has `PackageType: Image`, so its code is not a zip in S3"
                ));
            }
        }
        Ok(properties)
    }

    /// Returns the logical ids of the template's functions, to name them in an error.
    fn functions(&self, resources: &Node) -> Vec<String> {
        let Node::Map { entries, .. } = resources else {
            return Vec::new();
        };
        entries
            .iter()
            .filter(|(_, v)| {
                matches!(v.get("Type", ""), Ok(Some(Node::Scalar { value, .. })) if value == FUNCTION_TYPE)
            })
            .filter_map(|(k, _)| k.plain_key().map(|k| crate::text::line(k).into_owned()))
            .collect()
    }

    /// Returns the byte range to replace and its new text, or `None` when `CodeUri`
    /// already names `object`.
    fn plan_edit(
        &self,
        properties: &Node,
        object: &ObjectLocation,
        nl: &str,
    ) -> Result<Option<(std::ops::Range<usize>, String)>, String> {
        let Node::Map { entries, .. } = properties else {
            return Err("its `Properties` are not a mapping".into());
        };
        let Some((first_key, _)) = entries.first() else {
            return Err("its `Properties` are empty".into());
        };
        let indent = self.column(first_key.start());
        let what = "the function's `Properties`";
        let Some(entry) = entries
            .iter()
            .find(|(k, _)| k.plain_key() == Some("CodeUri"))
        else {
            // Insert as the first key, at the indentation of the others.
            let at = first_key.start();
            if !self.alone_before(at) {
                return Err("its first property does not start its line".into());
            }
            let step = self.indent_step(properties);
            let pad = " ".repeat(indent);
            let inner = " ".repeat(indent + step);
            let text = format!(
                "CodeUri:{nl}{inner}{}{nl}{pad}",
                block_map(object, &inner, nl)
            );
            return Ok(Some((at..at, text)));
        };
        properties.get("CodeUri", what)?;
        let (key, value) = entry;
        if names(value, object) {
            return Ok(None);
        }
        match value {
            Node::Alias { .. } => Err("its `CodeUri` is an alias (`*name`); write the location in place".into()),
            Node::Seq { .. } => Err("its `CodeUri` is a list".into()),
            Node::Scalar { anchor, .. } | Node::Map { anchor, .. } if *anchor != 0 => Err(
                "its `CodeUri` has an anchor (`&name`) that other nodes may share; remove the anchor".into(),
            ),
            Node::Scalar { tagged: true, .. } | Node::Map { tagged: true, .. } => Err(
                "its `CodeUri` is an intrinsic function (`!Ref`, `!Sub`, ...), which git-release cannot evaluate; write a plain location".into(),
            ),
            Node::Scalar { style: TScalarStyle::Literal | TScalarStyle::Folded, .. } => {
                Err("its `CodeUri` is a block scalar (`|` or `>`)".into())
            }
            Node::Scalar { start, style, value: decoded, .. } => {
                let end = self.scalar_end(*start, *style, decoded)?;
                if self.line_of(*start) != self.line_of(key.start()) {
                    return Err("its `CodeUri` value is not on the line of its key".into());
                }
                // From just after the colon, so no trailing blank is left behind.
                let from = self.text[..*start].trim_end_matches([' ', '\t']).len();
                let step = self.indent_step(properties);
                let inner = " ".repeat(indent + step);
                Ok(Some((from..end, format!("{nl}{inner}{}", block_map(object, &inner, nl)))))
            }
            Node::Map { flow: true, start, end, entries, .. } => {
                check_location_map(entries)?;
                Ok(Some((*start..*end + 1, flow_map(object))))
            }
            Node::Map { flow: false, entries, .. } => {
                check_location_map(entries)?;
                let (Some((first, _)), Some((_, last))) = (entries.first(), entries.last()) else {
                    return Err("its `CodeUri` is an empty mapping".into());
                };
                let Node::Scalar { start, style, value: decoded, .. } = last else {
                    return Err("its `CodeUri` mapping holds a nested value".into());
                };
                let end = self.scalar_end(*start, *style, decoded)?;
                let inner = " ".repeat(self.column(first.start()));
                Ok(Some((first.start()..end, block_map(object, &inner, nl))))
            }
        }
    }

    /// Returns the column (in characters) of byte offset `at`.
    fn column(&self, at: usize) -> usize {
        let line_start = self.text[..at].rfind('\n').map_or(0, |i| i + 1);
        self.text[line_start..at].chars().count()
    }

    fn line_of(&self, at: usize) -> usize {
        self.text[..at].matches('\n').count()
    }

    /// Whether only blanks stand between the start of `at`'s line and `at`.
    fn alone_before(&self, at: usize) -> bool {
        let line_start = self.text[..at].rfind('\n').map_or(0, |i| i + 1);
        self.text[line_start..at].bytes().all(|b| b == b' ')
    }

    /// Returns the template's indentation step, as the function's keys show it: the
    /// column of its properties minus that of the `Properties` key (2 when unclear).
    fn indent_step(&self, properties: &Node) -> usize {
        let Node::Map {
            first_event,
            entries,
            ..
        } = properties
        else {
            return 2;
        };
        // A block mapping's own marker is at its first key's `:`; the key is exact.
        let Some((first_key, _)) = entries.first() else {
            return 2;
        };
        // The key `Properties` is the scalar event just before the map starts.
        let key_at = first_event
            .checked_sub(1)
            .and_then(|i| self.events.get(i))
            .map(|(_, at)| *at);
        let Some(key_at) = key_at else { return 2 };
        let inner = self.column(first_key.start());
        let outer = self.column(key_at);
        inner.checked_sub(outer).filter(|s| *s > 0).unwrap_or(2)
    }

    /// Returns where a one-line scalar starting at `start` ends, checking that the text
    /// found there decodes to `decoded`.
    fn scalar_end(
        &self,
        start: usize,
        style: TScalarStyle,
        decoded: &str,
    ) -> Result<usize, String> {
        let rest = &self.text[start..];
        let line = &rest[..rest.find(['\n', '\r']).unwrap_or(rest.len())];
        let len = match style {
            TScalarStyle::Plain => {
                let mut end = line.len();
                for (i, _) in line.match_indices('#') {
                    if i > 0 && line[..i].ends_with([' ', '\t']) {
                        end = i;
                        break;
                    }
                }
                let text = line[..end].trim_end_matches([' ', '\t']);
                (text == decoded).then_some(text.len())
            }
            TScalarStyle::SingleQuoted => {
                let mut chars = line.char_indices().skip(1).peekable();
                let mut out = None;
                while let Some((i, c)) = chars.next() {
                    if c == '\'' {
                        if chars.peek().map(|(_, c)| *c) == Some('\'') {
                            chars.next();
                        } else {
                            out = Some(i + 1);
                            break;
                        }
                    }
                }
                out.filter(|&e| line[1..e - 1].replace("''", "'") == decoded)
            }
            TScalarStyle::DoubleQuoted => {
                let mut escaped = false;
                let mut out = None;
                for (i, c) in line.char_indices().skip(1) {
                    match (escaped, c) {
                        (true, _) => escaped = false,
                        (false, '\\') => escaped = true,
                        (false, '"') => {
                            out = Some(i + 1);
                            break;
                        }
                        _ => {}
                    }
                }
                out
            }
            TScalarStyle::Literal | TScalarStyle::Folded => None,
        };
        len.map(|l| start + l)
            .ok_or_else(|| "a value in its `CodeUri` spans several lines".into())
    }
}

/// Refuses a `CodeUri` mapping with keys other than SAM's location keys or values that
/// are not plain text.
fn check_location_map(entries: &[(Node, Node)]) -> Result<(), String> {
    for (k, v) in entries {
        let key = k.plain_key().unwrap_or("");
        if !matches!(key, "Bucket" | "Key" | "Version") {
            return Err(format!(
                "its `CodeUri` mapping has `{}`, not only `Bucket`, `Key` and `Version`; write a plain location",
                crate::text::line(key)
            ));
        }
        match v {
            Node::Scalar {
                tagged: false,
                anchor: 0,
                style,
                ..
            } if !matches!(style, TScalarStyle::Literal | TScalarStyle::Folded) => {}
            _ => {
                return Err(format!(
                    "its `CodeUri.{key}` is not a plain one-line value (an alias, anchor, intrinsic or block)"
                ))
            }
        }
    }
    Ok(())
}

/// Returns the location a `CodeUri` node names, when it is a plain one.
fn current_location(node: &Node) -> Option<ObjectLocation> {
    match node {
        Node::Scalar {
            value,
            tagged: false,
            anchor: 0,
            ..
        } => {
            let (bucket, key) = value.strip_prefix("s3://")?.split_once('/')?;
            Some(ObjectLocation {
                bucket: bucket.into(),
                key: key.into(),
                version_id: None,
                checksum_sha256_base64: None,
            })
        }
        Node::Map {
            entries,
            tagged: false,
            anchor: 0,
            ..
        } => {
            let mut location = ObjectLocation::default();
            let (mut bucket, mut key) = (false, false);
            for (k, v) in entries {
                let Node::Scalar {
                    value,
                    tagged: false,
                    ..
                } = v
                else {
                    return None;
                };
                match k.plain_key()? {
                    "Bucket" if !bucket => (bucket, location.bucket) = (true, value.clone()),
                    "Key" if !key => (key, location.key) = (true, value.clone()),
                    "Version" if location.version_id.is_none() => {
                        location.version_id = Some(value.clone())
                    }
                    _ => return None,
                }
            }
            (bucket && key).then_some(location)
        }
        _ => None,
    }
}

/// Whether `node` names exactly `object` (bucket, key and version; the checksum is not
/// part of a code location).
fn names(node: &Node, object: &ObjectLocation) -> bool {
    current_location(node).is_some_and(|l| {
        (&l.bucket, &l.key, &l.version_id) == (&object.bucket, &object.key, &object.version_id)
    })
}

/// Returns `object` as a block mapping whose first line starts where the caller is and
/// whose other lines are indented by `indent`.
fn block_map(object: &ObjectLocation, indent: &str, nl: &str) -> String {
    let mut text = format!(
        "Bucket: {}{nl}{indent}Key: {}",
        scalar(&object.bucket),
        scalar(&object.key)
    );
    if let Some(version) = &object.version_id {
        text.push_str(&format!("{nl}{indent}Version: {}", scalar(version)));
    }
    text
}

/// Returns `object` as a one-line flow mapping.
fn flow_map(object: &ObjectLocation) -> String {
    let mut text = format!(
        "{{Bucket: {}, Key: {}",
        scalar(&object.bucket),
        scalar(&object.key)
    );
    if let Some(version) = &object.version_id {
        text.push_str(&format!(", Version: {}", scalar(version)));
    }
    text.push('}');
    text
}

/// Returns `value` as a YAML scalar that every YAML reader (1.1 and 1.2) reads as this
/// very string: plain when it is unmistakably text, double-quoted otherwise.
fn scalar(value: &str) -> String {
    let plain = value.starts_with(|c: char| c.is_ascii_alphabetic())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
        && !matches!(
            value.to_ascii_lowercase().as_str(),
            "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" | "null"
        );
    if plain {
        value.to_string()
    } else {
        // A JSON string is a YAML double-quoted scalar; the text passed `check_object`,
        // so no control character needs an escape YAML lacks.
        serde_json::Value::String(value.to_string()).to_string()
    }
}

/// Parses `text` into its events, each with its byte offset.
fn events(text: &str) -> Result<Vec<(Event, usize)>, String> {
    let offsets = LineOffsets::new(text);
    let mut parser = Parser::new_from_str(text);
    let mut out = Vec::new();
    loop {
        let (event, mark) = parser.next_token().map_err(|e| {
            format!(
                "it is not valid YAML ({} at line {} column {})",
                e.info(),
                e.marker().line(),
                e.marker().col() + 1
            )
        })?;
        let end = event == Event::StreamEnd;
        out.push((event, offsets.byte(text, &mark)));
        if end {
            return Ok(out);
        }
    }
}

/// Turns the parser's (line, column) markers into byte offsets.
///
/// The line numbers are exact and the column counts characters on its line, so the
/// offset is found from them rather than from the marker's running index.
struct LineOffsets(Vec<usize>);

impl LineOffsets {
    fn new(text: &str) -> LineOffsets {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineOffsets(starts)
    }

    fn byte(&self, text: &str, mark: &Marker) -> usize {
        let Some(&line_start) = mark.line().checked_sub(1).and_then(|l| self.0.get(l)) else {
            return text.len();
        };
        text[line_start..]
            .char_indices()
            .nth(mark.col())
            .map_or(text.len(), |(i, _)| line_start + i)
    }
}

/// Builds the node whose first event is `events[*at]`, leaving `*at` after its last.
fn build(text: &str, events: &[(Event, usize)], at: &mut usize) -> Result<Node, String> {
    let Some((event, start)) = events.get(*at) else {
        return Err("it ends in the middle of a node".into());
    };
    let start = *start;
    let first_event = *at;
    *at += 1;
    match event {
        Event::Scalar(value, style, anchor, tag) => Ok(Node::Scalar {
            value: value.clone(),
            style: *style,
            anchor: *anchor,
            tagged: tag.is_some(),
            start,
        }),
        Event::Alias(_) => Ok(Node::Alias { start }),
        Event::SequenceStart(..) => {
            let mut depth = 1usize;
            while depth > 0 {
                match events.get(*at).map(|(e, _)| e) {
                    Some(Event::SequenceStart(..) | Event::MappingStart(..)) => depth += 1,
                    Some(Event::SequenceEnd | Event::MappingEnd) => depth -= 1,
                    Some(_) => {}
                    None => return Err("it ends in the middle of a list".into()),
                }
                *at += 1;
            }
            Ok(Node::Seq { start })
        }
        Event::MappingStart(anchor, tag) => {
            let flow = text.as_bytes().get(start) == Some(&b'{');
            let mut entries = Vec::new();
            loop {
                match events.get(*at) {
                    Some((Event::MappingEnd, end)) => {
                        let end = *end;
                        let last_event = *at;
                        *at += 1;
                        if flow && text.as_bytes().get(end) != Some(&b'}') {
                            return Err("a flow mapping's end could not be located".into());
                        }
                        return Ok(Node::Map {
                            entries,
                            anchor: *anchor,
                            tagged: tag.is_some(),
                            flow,
                            start,
                            end,
                            first_event,
                            last_event,
                        });
                    }
                    Some(_) => {
                        let key = build(text, events, at)?;
                        let value = build(text, events, at)?;
                        entries.push((key, value));
                    }
                    None => return Err("it ends in the middle of a mapping".into()),
                }
            }
        }
        _ => Err("it has an unexpected structure".into()),
    }
}

/// Checks an edit: the new text parses, its events equal the old ones outside the
/// function's `CodeUri`, and its `CodeUri` names `object`.
fn verify(
    old: &Document<'_>,
    new_text: &str,
    resource: &str,
    object: &ObjectLocation,
) -> Result<(), String> {
    let uncertain = |why: &str| {
        format!("the edited template would not read back as expected ({why}); please report this with the template")
    };
    let new = Document::parse(new_text).map_err(|e| uncertain(&e))?;
    let new_properties = new
        .function_properties(resource)
        .map_err(|e| uncertain(&e))?;
    let old_properties = old
        .function_properties(resource)
        .map_err(|e| uncertain(&e))?;
    let new_code = new_properties
        .get("CodeUri", "")
        .ok()
        .flatten()
        .ok_or_else(|| uncertain("no CodeUri"))?;
    if !names(new_code, object) {
        return Err(uncertain("another CodeUri"));
    }
    let without = |doc: &Document<'_>, properties: &Node| -> Vec<Event> {
        let skip = code_uri_events(doc, properties);
        doc.events
            .iter()
            .enumerate()
            .filter(|(i, _)| !skip.contains(i))
            .map(|(_, (e, _))| e.clone())
            .collect()
    };
    if without(old, old_properties) != without(&new, new_properties) {
        return Err(uncertain("other nodes changed"));
    }
    Ok(())
}

/// Returns the event indices of the `CodeUri` entry (key and value) of `properties`.
fn code_uri_events(doc: &Document<'_>, properties: &Node) -> std::ops::Range<usize> {
    let Node::Map {
        first_event,
        last_event,
        ..
    } = properties
    else {
        return 0..0;
    };
    let mut i = first_event + 1;
    while i < *last_event {
        let is_code_uri =
            matches!(&doc.events[i].0, Event::Scalar(v, _, _, None) if v == "CodeUri");
        let key = i;
        let mut at = i;
        // Skip the key, then the value.
        if build(doc.text, &doc.events, &mut at).is_err()
            || build(doc.text, &doc.events, &mut at).is_err()
        {
            return 0..0;
        }
        if is_code_uri {
            return key..at;
        }
        i = at;
    }
    0..0
}

#[cfg(test)]
mod tests;
