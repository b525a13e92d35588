//! What `status` reads live: for every service in every environment that names where it
//! runs (ECS, Lambda), what runs now, mapped back to a release tag.
//!
//! Every read of one run goes out at once, bounded ([`LIVE_READS`] at a time), so a
//! status over 50 services in two environments costs about as much as over one. A
//! running image is named by the tag recorded on its revision, else by matching its
//! digest against the digests of the service's release tags (one batched registry
//! check for all services); a running zip (a Lambda function from S3) by matching its
//! `CodeSha256` against the SHA-256 checksums S3 keeps for the release objects.

use std::collections::{BTreeMap, HashMap};

use monorel_core::deploy::target::{self, Running, Target};
use monorel_core::registry::{self, ArtifactStatus, Identity, Wanted};

use super::Context;

/// How many live reads run at once: enough for 50 services in two environments in one
/// wave (issue 14's benchmark; 32 took four waves of two round trips each), still a
/// bound on threads and connections for hundreds of services.
const LIVE_READS: usize = 100;

/// What runs in one cell.
pub struct Found {
    /// The release tag that runs, if it could be named.
    pub tag: Option<String>,
    /// The revision that runs.
    pub revision: String,
    /// The image digest that runs.
    pub digest: Option<String>,
}

/// Reads every live cell; the key is `(service, env)`, the error is one line.
pub fn read_all(
    ctx: &Context,
    environments: &[String],
) -> HashMap<(String, String), Result<Found, String>> {
    let mut cells = Vec::new();
    let mut lives = Vec::new();
    for service in ctx.config.services.keys() {
        for env in environments {
            if let Some(live) = ctx.config.live_read(service, env) {
                cells.push((service.clone(), env.clone()));
                lives.push((env.clone(), live));
            }
        }
    }
    if lives.is_empty() {
        return HashMap::new();
    }
    let targets = target::open_all(&lives);
    let refs: Vec<&(dyn Target + Sync)> = targets
        .iter()
        .map(|t| t.as_ref() as &(dyn Target + Sync))
        .collect();
    let reads = target::running_all(&refs, LIVE_READS);
    // Name running code that no revision recorded a tag for: one batched check of every
    // release tag of the services concerned.
    let unnamed: Vec<&str> = cells
        .iter()
        .zip(&reads)
        .filter_map(|((service, _), read)| match read {
            Ok(r) if r.recorded_tag.is_none() && identity_of(r).is_some() => Some(service.as_str()),
            _ => None,
        })
        .collect();
    let by_identity = release_identities(ctx, &unnamed);
    cells
        .into_iter()
        .zip(reads)
        .map(|((service, env), read)| {
            let found = read
                .map(|r: Running| {
                    let digest = r.digest().map(str::to_string);
                    let tag = r.recorded_tag.clone().or_else(|| {
                        identity_of(&r).and_then(|id| {
                            by_identity.get(&(service.clone(), id.to_string())).cloned()
                        })
                    });
                    Found {
                        tag,
                        revision: r.revision,
                        digest,
                    }
                })
                .map_err(|e| e.to_string());
            ((service, env), found)
        })
        .collect()
}

/// What names running code back as a release: its image digest, else its zip's SHA-256.
fn identity_of(running: &Running) -> Option<&str> {
    running.digest().or(running.code_sha256.as_deref())
}

/// `(service, identity) -> release tag` for the release tags of `services`: the image
/// digest of each release image, the SHA-256 checksum (base64, as S3 and Lambda write
/// it) of each release object. A composite checksum (`…-<parts>`, a multipart upload)
/// is not the whole object's and names nothing.
fn release_identities(ctx: &Context, services: &[&str]) -> BTreeMap<(String, String), String> {
    let template = ctx.config.tag_template();
    let mut owners = Vec::new();
    let mut images = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for service in services {
        if !seen.insert(*service) {
            continue;
        }
        let Ok(releases) = ctx.repo.releases(&template, service) else {
            continue;
        };
        for release in releases {
            owners.push(release.tag.clone());
            images.push(Wanted {
                service: service.to_string(),
                artifact: registry::release_artifact(
                    &ctx.config,
                    service,
                    &release.tag,
                    &release.version,
                ),
            });
        }
    }
    if images.is_empty() {
        return BTreeMap::new();
    }
    let statuses = registry::Stores::open(&ctx.config).check(&images);
    owners
        .into_iter()
        .zip(images)
        .zip(statuses)
        .filter_map(|((tag, wanted), status)| match status {
            ArtifactStatus::Present(Identity::Image { digest }) => {
                Some(((wanted.service, digest), tag))
            }
            ArtifactStatus::Present(Identity::Object(object)) => object
                .checksum_sha256
                .filter(|sum| !sum.contains('-'))
                .map(|sum| ((wanted.service, sum), tag)),
            _ => None,
        })
        .collect()
}
