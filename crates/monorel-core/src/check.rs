//! The release-tag rules shared by the pre-push hook and `git release check`.
//!
//! The hook sees what git is about to push (tag name, local object, remote object); CI's
//! `git release check` sees named local tags. Both reduce to a list of [`TagUpdate`]s and
//! get one [`Verdict`] per tag from [`check_tags`]. Every rule is evaluated and every
//! failure reported, so one push tells the developer everything to fix at once. The
//! registry is asked last and once, for the images of every tag that passed the other
//! rules, because that is the only step that may cost a network round trip.

use std::collections::{BTreeMap, BTreeSet};

use semver::Version;
use serde::Serialize;

use crate::config::{closest_name, Config, OnRegistryError, RegistryKind};
use crate::registry::{
    self, ArtifactRef, ArtifactStatus, FailureKind, Identity, ObjectIdentity, Stores, Wanted,
};
use crate::repo::{Repo, RepoError, TagTarget};
use crate::tag::{check_image_tag, check_ref_format, ParsedTag, TagTemplate};
use crate::version::VersionError;

/// A rule a release tag must follow. The kebab-case names are stable (JSON, docs/hook.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// 1. The name renders from the tag template for a configured service and a semver.
    Naming,
    /// 2. The name is also a valid image tag (charset, length, no build metadata).
    ImageTag,
    /// 3. The tag is annotated.
    Annotated,
    /// 4. The tag points at a commit.
    Commit,
    /// 5. The version is above the service's highest release not in this push.
    Newer,
    /// 6. A release tag on the remote is never moved or deleted.
    NoRewrite,
    /// 7. The commit's image exists in the registry.
    Image,
}

impl Rule {
    /// Returns the rule's stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Naming => "naming",
            Rule::ImageTag => "image-tag",
            Rule::Annotated => "annotated",
            Rule::Commit => "commit",
            Rule::Newer => "newer",
            Rule::NoRewrite => "no-rewrite",
            Rule::Image => "image",
        }
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One broken rule: which, and a one-line message that names the tag and the fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// The rule.
    pub rule: Rule,
    /// What is wrong with which tag, and what to do.
    pub message: String,
}

/// The local side of a tag update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Local {
    /// The tag names this object (the tag object for annotated tags).
    Object(gix::ObjectId),
    /// The push deletes the tag (git's zero id on the left).
    Delete,
    /// `git release check` was given a tag that does not exist locally.
    Missing,
}

/// One tag to judge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagUpdate {
    /// The tag name, without `refs/tags/`.
    pub tag: String,
    /// What the tag will name.
    pub local: Local,
    /// What the remote's tag names now; `None` when the remote has no such tag (or it is
    /// unknown, as for `git release check`).
    pub remote: Option<gix::ObjectId>,
}

/// The judgement of one tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// The tag name.
    pub tag: String,
    /// The service, when the name parses.
    pub service: Option<String>,
    /// The version, when the name parses.
    pub version: Option<Version>,
    /// The commit the tag points at (full hex), when it does.
    pub commit: Option<String>,
    /// Whether the update deletes the tag.
    pub delete: bool,
    /// The image's digest, when the registry confirmed it.
    pub digest: Option<String>,
    /// The commit's artifact (image or object), when rule 7 asked about it.
    pub artifact: Option<ArtifactRef>,
    /// The object's identity (ETag, checksum, version, size), when S3 confirmed it.
    pub object: Option<ObjectIdentity>,
    /// Every broken rule; empty when the tag passes.
    pub failures: Vec<Failure>,
    /// True when the only failure is that the registry could not be asked (rule 7 runs
    /// only for tags that passed every other rule): nothing is known to be wrong with the
    /// tag, so the exit code is 4 (unavailable), not 1 (refused).
    pub registry_unavailable: bool,
}

impl Verdict {
    /// Whether the tag passes every rule.
    pub fn ok(&self) -> bool {
        self.failures.is_empty()
    }

    fn fail(&mut self, rule: Rule, message: String) {
        // Messages quote tag names and registry answers: they leave through the gate.
        let message = crate::text::line(&message).into_owned();
        self.failures.push(Failure { rule, message });
    }
}

/// The judgement of a whole push (or of the tags named to `git release check`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// One verdict per tag, in the order given.
    pub verdicts: Vec<Verdict>,
    /// False when `[registry] kind = "none"` (or no tag reached the registry step).
    pub images_checked: bool,
    /// Registry failures let through by `[hook] on-registry-error = "warn"`.
    pub warnings: Vec<String>,
}

impl Report {
    /// Whether every tag passes.
    pub fn ok(&self) -> bool {
        self.verdicts.iter().all(Verdict::ok)
    }

    /// Whether the report fails only because the registry could not be asked: no tag
    /// breaks a rule, but some could not be checked. The hook, `check` and
    /// `git release <service>` all exit 4 then, and 1 when any tag breaks a rule.
    pub fn only_unavailable(&self) -> bool {
        !self.ok()
            && self
                .verdicts
                .iter()
                .all(|v| v.ok() || v.registry_unavailable)
    }
}

/// What the image rule makes of a registry failure, the same for the hook, `check` and
/// `git release <service>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistryVerdict {
    /// The answer means there is no artifact (repository or image missing): refused by
    /// the rule (exit 1), whatever `[hook] on-registry-error` says.
    Absent,
    /// The registry could not be asked and the failure is not let through: refused as
    /// unavailable (exit 4).
    Unavailable,
    /// The registry could not be asked right now and `[hook] on-registry-error = "warn"`:
    /// let through with a warning.
    Warn,
}

/// Judges a registry failure by its kind and `[hook] on-registry-error`.
///
/// `warn` covers only "could not ask right now" ([`FailureKind::is_transient`]); an answer
/// that means "there is no artifact" always refuses, and so does any failure that cannot
/// be told apart from one (access denied, unclassified answers): a safety check that
/// cannot tell must not say yes.
pub fn judge_registry_failure(config: &Config, kind: FailureKind) -> RegistryVerdict {
    if kind.means_absent() {
        RegistryVerdict::Absent
    } else if kind.is_transient() && config.hook.on_registry_error == OnRegistryError::Warn {
        RegistryVerdict::Warn
    } else {
        RegistryVerdict::Unavailable
    }
}

/// The error returned by [`check_tags`]: the repository could not be read (a broken rule
/// is not an error, it is a [`Failure`]).
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// Listing a service's releases failed.
    #[error(transparent)]
    Repo(#[from] RepoError),
}

/// What the name says, for the rules that need a parsed name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameCheck {
    /// Service and version, when the name is a release tag of a configured service.
    pub release: Option<(String, Version)>,
    /// The naming and image-tag failures.
    pub failures: Vec<Failure>,
}

/// Applies rules 1 (naming) and 2 (image tag) to a tag name; reads no repository.
pub fn check_name(config: &Config, tag: &str) -> NameCheck {
    let mut failures = Vec::new();
    let mut release = None;
    let shown = crate::text::line(tag);
    let delete_args = crate::text::operands(&["git", "tag", "-d"], &[tag]);
    let delete = crate::text::suggest_lazily(&delete_args);
    let template = config.tag_template();
    let services = candidate_services(config, &template, tag);
    let ref_format = check_ref_format(tag);
    if let Err(rule) = &ref_format {
        failures.push(Failure {
            rule: Rule::Naming,
            message: format!(
                "`{shown}` {rule}; delete it with {delete} and create the release with `git release <service>`"
            ),
        });
    }
    match template.parse_tag(tag, services) {
        ParsedTag::Release { service, version } => release = Some((service, version)),
        // Build metadata is valid semver; it breaks rule 2, which says so below.
        ParsedTag::BadVersion {
            error: VersionError::BuildMetadata(_),
            ..
        } => {}
        ParsedTag::BadVersion { service, error } if ref_format.is_ok() => {
            failures.push(Failure {
                rule: Rule::Naming,
                message: format!(
                    "`{shown}` looks like a tag of {service} but {error}; delete it with {delete} and run `git release {service}`"
                ),
            });
        }
        ParsedTag::BadVersion { .. } => {}
        ParsedTag::UnknownService { guess } if ref_format.is_ok() => {
            let suggestion = guess.as_deref().and_then(|g| {
                closest_name(g, config.services.keys().map(String::as_str))
                    .map(|s| (g.to_string(), s))
            });
            let example = template.render("<service>", &Version::new(1, 2, 3));
            let message = match suggestion {
                Some((guess, closest)) => format!(
                    "`{shown}` names no configured service: `{}` is not under [services] (did you mean `{closest}`?); delete it with {delete} and run `git release {closest}`",
                    crate::text::line(&guess)
                ),
                None => format!(
                    "`{shown}` is not a release tag: release tags are named like `{example}` for a service under [services] ({}); delete it with {delete}",
                    some_services(config)
                ),
            };
            failures.push(Failure {
                rule: Rule::Naming,
                message,
            });
        }
        ParsedTag::UnknownService { .. } => {}
    }
    if let Err(rule) = check_image_tag(tag) {
        failures.push(Failure {
            rule: Rule::ImageTag,
            message: format!(
                "`{shown}` cannot become an image tag: {rule}; delete it with {delete} and create the release with `git release <service>`"
            ),
        });
    }
    for failure in &mut failures {
        failure.message = crate::text::line(&failure.message).into_owned();
    }
    NameCheck { release, failures }
}

/// Returns the configured services whose tag prefix `tag` starts with.
///
/// They are found from the separators in the tag rather than by trying every service, so
/// checking a tag costs the same in a monorepo of 1,000 services as in one of 2.
fn candidate_services<'c>(config: &'c Config, template: &TagTemplate, tag: &str) -> Vec<&'c str> {
    let marker = template.prefix("\0");
    let (before, between) = marker
        .split_once('\0')
        .expect("a tag prefix contains the service name");
    let Some(rest) = tag.strip_prefix(before) else {
        return Vec::new();
    };
    (1..rest.len())
        .filter(|&i| rest.is_char_boundary(i) && rest[i..].starts_with(between))
        .filter_map(|i| config.services.get_key_value(&rest[..i]))
        .map(|(name, _)| name.as_str())
        .collect()
}

/// Returns the first few service names, for a message.
fn some_services(config: &Config) -> String {
    const SHOWN: usize = 5;
    let mut names: Vec<&str> = config
        .services
        .keys()
        .map(String::as_str)
        .take(SHOWN)
        .collect();
    if config.services.len() > SHOWN {
        names.push("…");
    }
    names.join(", ")
}

/// What each update's local object is (`None` for deletions and missing tags), in order.
fn read_targets(repo: &Repo, updates: &[TagUpdate]) -> Vec<Option<Result<TagTarget, String>>> {
    updates
        .iter()
        .map(|update| match update.local {
            Local::Object(id) => Some(repo.object_target(id).map_err(|e| e.to_string())),
            Local::Missing | Local::Delete => None,
        })
        .collect()
}

/// Judges every tag update against every rule; asks the registry once for all images.
///
/// Rule 5 compares each version with the highest release of its service that is *not* one
/// of `updates`, so several new tags of one service can be pushed together, in any order.
pub fn check_tags(
    config: &Config,
    repo: &Repo,
    updates: &[TagUpdate],
    stores: &Stores<'_>,
) -> Result<Report, CheckError> {
    let names: Vec<NameCheck> = updates
        .iter()
        .map(|update| check_name(config, &update.tag))
        .collect();
    let targets = read_targets(repo, updates);
    let others = existing_releases(config, repo, updates, &names)?;
    let mut verdicts = Vec::with_capacity(updates.len());
    for ((update, target), names) in updates.iter().zip(targets).zip(names) {
        let mut verdict = Verdict {
            tag: update.tag.clone(),
            service: names.release.as_ref().map(|(s, _)| s.clone()),
            version: names.release.as_ref().map(|(_, v)| v.clone()),
            commit: None,
            delete: update.local == Local::Delete,
            digest: None,
            artifact: None,
            object: None,
            failures: Vec::new(),
            registry_unavailable: false,
        };
        let shown = crate::text::line(&update.tag).into_owned();
        if update.local == Local::Delete {
            // Deleting a tag that is no release (a typo that slipped through) is the fix,
            // so only release tags are protected.
            if names.release.is_some() && !config.hook.allow_rewrite {
                verdict.fail(
                    Rule::NoRewrite,
                    format!(
                        "`{shown}` is a release on the remote and release tags are never deleted; set [hook] allow-rewrite = true in git-release.toml if you really must"
                    ),
                );
            }
            verdicts.push(verdict);
            continue;
        }
        verdict.failures = names.failures;

        match target {
            // A name git cannot store was never looked up: its naming failure says it all,
            // and "fetch it" would be a hint that can never work.
            None if check_ref_format(&update.tag).is_err() => {}
            None => verdict.fail(
                Rule::Commit,
                format!(
                    "`{shown}` does not exist in this repository; fetch it with {}",
                    crate::text::suggest(&crate::text::operands(
                        &["git", "fetch"],
                        &[&config.defaults.remote, "tag", &update.tag]
                    ))
                ),
            ),
            Some(Err(error)) => {
                verdict.fail(Rule::Commit, format!("`{shown}` cannot be read: {error}"))
            }
            Some(Ok(target)) => {
                check_target(&mut verdict, &shown, &target);
            }
        }

        if let (Some(remote), Local::Object(local)) = (update.remote, update.local) {
            if remote != local && !config.hook.allow_rewrite {
                verdict.fail(
                    Rule::NoRewrite,
                    format!(
                        "`{shown}` already exists on the remote as another tag (object {}): someone released this version first, or the tag was recreated locally; release tags are never moved: delete yours with `git tag -d {shown}`, run `git fetch --tags`, then release the next version (to move it on purpose, set [hook] allow-rewrite = true and push with --force)",
                        &remote.to_hex_with_len(12)
                    ),
                );
            }
        }

        if let Some((service, version)) = &names.release {
            let releases = &others[service];
            if let Some(failure) = check_newer(config, &shown, service, version, releases) {
                verdict.failures.push(failure);
            }
        }
        verdicts.push(verdict);
    }

    // Rule 7, once for every tag that passed everything else.
    let candidates: Vec<usize> = verdicts
        .iter()
        .enumerate()
        .filter(|(_, v)| v.ok() && !v.delete && v.service.is_some() && v.commit.is_some())
        .map(|(i, _)| i)
        .collect();
    let mut warnings = Vec::new();
    let mut images_checked = false;
    // Tags of services whose store is `kind = "none"` are not asked about.
    let candidates: Vec<usize> = candidates
        .into_iter()
        .filter(|&i| {
            let service = verdicts[i].service.as_deref().unwrap_or_default();
            config.store_of(service).1.kind != RegistryKind::None
        })
        .collect();
    if !candidates.is_empty() {
        let wanted: Vec<Wanted> = candidates
            .iter()
            .map(|&i| {
                let v = &verdicts[i];
                let service = v.service.as_deref().unwrap_or_default();
                Wanted {
                    service: service.to_string(),
                    artifact: registry::commit_artifact(
                        config,
                        service,
                        v.commit.as_deref().unwrap_or_default(),
                    ),
                }
            })
            .collect();
        let statuses = stores.check(&wanted);
        images_checked = true;
        for ((&i, wanted), status) in candidates.iter().zip(&wanted).zip(statuses) {
            let verdict = &mut verdicts[i];
            let artifact = &wanted.artifact;
            let noun = artifact.noun();
            let store = stores.of(&wanted.service).describe();
            verdict.artifact = Some(artifact.clone());
            let shown = crate::text::line(&verdict.tag).into_owned();
            match status {
                ArtifactStatus::Present(Identity::Image { digest }) => {
                    verdict.digest = Some(digest)
                }
                ArtifactStatus::Present(Identity::Object(object)) => verdict.object = Some(object),
                ArtifactStatus::Unchecked => images_checked = false,
                ArtifactStatus::Missing => {
                    let commit = verdict.commit.as_deref().unwrap_or_default();
                    let commit = commit[..commit.len().min(12)].to_string();
                    let wait = match artifact {
                        ArtifactRef::Image(_) => "wait for CI to push the image",
                        ArtifactRef::Object(_) => "wait for CI to upload the object",
                    };
                    verdict.fail(
                        Rule::Image,
                        format!(
                            "`{shown}`: no {noun} {artifact} in {store}: CI has not built commit {commit} yet; {wait}, or tag a commit that has one",
                        ),
                    )
                }
                ArtifactStatus::Failed(failure) => {
                    let judged = judge_registry_failure(config, failure.kind);
                    let what = if judged == RegistryVerdict::Absent {
                        format!("no {noun}")
                    } else {
                        format!("cannot check {noun}")
                    };
                    let message = format!(
                        "`{shown}`: {what} {artifact} in {store}: {}; {}",
                        failure.message, failure.hint
                    );
                    let warn = config.hook.on_registry_error == OnRegistryError::Warn;
                    match judged {
                        RegistryVerdict::Warn => warnings.push(format!(
                            "{message} (let through: [hook] on-registry-error = \"warn\")"
                        )),
                        RegistryVerdict::Absent if warn => verdict.fail(
                            Rule::Image,
                            format!("{message} (refused although [hook] on-registry-error = \"warn\": the registry answered that there is no {noun})"),
                        ),
                        RegistryVerdict::Absent => verdict.fail(Rule::Image, message),
                        RegistryVerdict::Unavailable => {
                            let message = if warn {
                                format!("{message} (refused although [hook] on-registry-error = \"warn\": that covers only an unreachable, slow or throttling registry and missing credentials, not this)")
                            } else {
                                message
                            };
                            verdict.fail(Rule::Image, message);
                            verdict.registry_unavailable = true;
                        }
                    }
                }
            }
        }
    }
    Ok(Report {
        verdicts,
        images_checked,
        warnings,
    })
}

/// Rules 3 and 4: annotated, and pointing at a commit.
fn check_target(verdict: &mut Verdict, shown: &str, target: &TagTarget) {
    let is_commit = target.peeled_kind == gix::object::Kind::Commit;
    if is_commit {
        verdict.commit = Some(target.peeled.to_string());
    }
    if !target.annotated {
        let message = match (&verdict.service, &verdict.version) {
            (Some(service), Some(version)) => format!("{service} version {version}"),
            _ => "release".to_string(),
        };
        verdict.fail(
            Rule::Annotated,
            format!(
                "`{shown}` is a lightweight tag; release tags must be annotated: recreate it with {}",
                crate::text::suggest(&crate::text::operands(
                    &["git", "tag", "-a", "-f", "-m", &message],
                    &[&verdict.tag, &target.peeled.to_hex_with_len(12).to_string()],
                ))
            ),
        );
    }
    if !is_commit {
        verdict.fail(
            Rule::Commit,
            format!(
                "`{shown}` points at a {}, not a commit; delete it with {} and tag a commit",
                target.peeled_kind,
                crate::text::suggest(&crate::text::operands(
                    &["git", "tag", "-d"],
                    &[&verdict.tag]
                ))
            ),
        );
    }
}

/// What rule 5 needs about the releases of each service named by a pushed tag, leaving
/// out the pushed tags themselves. Tag names are read once for all services.
fn existing_releases(
    config: &Config,
    repo: &Repo,
    updates: &[TagUpdate],
    names: &[NameCheck],
) -> Result<BTreeMap<String, Releases>, RepoError> {
    let template = config.tag_template();
    let pushed: BTreeSet<&str> = updates.iter().map(|u| u.tag.as_str()).collect();
    let mut others: BTreeMap<String, Releases> = BTreeMap::new();
    let mut tag_names = None;
    for (update, names) in updates.iter().zip(names) {
        let Some((service, _)) = &names.release else {
            continue;
        };
        if update.local == Local::Delete || others.contains_key(service) {
            continue;
        }
        // The versions of this service's tags in the push: usually one, so a list beats a
        // lookup in `pushed` for each of the service's (possibly hundreds of) releases.
        let prefix = template.prefix(service);
        let pushed_here: Vec<&[u8]> = pushed
            .iter()
            .filter_map(|tag| {
                tag.strip_prefix(prefix.as_str())?
                    .strip_suffix(template.suffix())
            })
            .map(str::as_bytes)
            .collect();
        let tag_names = match &mut tag_names {
            Some(tag_names) => tag_names,
            None => tag_names.insert(repo.tag_names()?),
        };
        let mut releases = Releases::default();
        tag_names.scan_releases(&template, service, |text, version| {
            if !pushed_here.contains(&text) {
                releases.add(version, config.hook.allow_maintenance);
            }
        })?;
        others.insert(service.clone(), releases);
    }
    Ok(others)
}

/// What rule 5 needs to know about a service's existing releases.
///
/// A service can have hundreds of releases; only the highest (and, for maintenance
/// releases, the highest of each `major.minor` line) decide, so the rest are not kept.
#[derive(Debug, Default)]
struct Releases {
    highest: Option<Version>,
    /// The highest release of each `major.minor` line; filled only when
    /// `[hook] allow-maintenance` is set.
    line_highest: BTreeMap<(u64, u64), Version>,
}

impl Releases {
    fn add(&mut self, version: Version, per_line: bool) {
        if per_line {
            let line = self
                .line_highest
                .entry((version.major, version.minor))
                .or_insert_with(|| version.clone());
            if *line < version {
                *line = version.clone();
            }
        }
        if self
            .highest
            .as_ref()
            .is_none_or(|highest| *highest < version)
        {
            self.highest = Some(version);
        }
    }
}

/// Rule 5: above the highest other release, or a permitted maintenance release.
fn check_newer(
    config: &Config,
    shown: &str,
    service: &str,
    version: &Version,
    others: &Releases,
) -> Option<Failure> {
    let highest = others.highest.as_ref()?;
    if version > highest {
        return None;
    }
    let tag_of = |v: &Version| config.tag_template().render(service, v);
    if version == highest {
        return Some(Failure {
            rule: Rule::Newer,
            message: format!(
                "`{shown}` has the same version as {}; release the next version with `git release {service}`",
                tag_of(highest)
            ),
        });
    }
    if !config.hook.allow_maintenance {
        return Some(Failure {
            rule: Rule::Newer,
            message: format!(
                "`{shown}` is not greater than {}, the highest release of {service}; release the next version with `git release {service}` (for maintenance releases set [hook] allow-maintenance = true)",
                tag_of(highest)
            ),
        });
    }
    match others.line_highest.get(&(version.major, version.minor)) {
        Some(line) if line >= version => Some(Failure {
            rule: Rule::Newer,
            message: format!(
                "`{shown}` is a maintenance release but not the highest of the {}.{} line ({} exists); tag a version above {line}",
                version.major,
                version.minor,
                tag_of(line)
            ),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
