//! ECS services: deploy a release as a new task-definition revision, by image digest.
//!
//! Since mid-2024 ECS resolves an image tag to a digest when a deployment starts and
//! reuses that digest for replacement tasks, so pushing a new `:latest` and stopping a
//! task can bring the *old* build back (FACTS.md). A deploy therefore registers a new
//! revision that is the running one copied field by field (every input of
//! `RegisterTaskDefinition` that `DescribeTaskDefinition` returns, tags included), with
//! one container's image set to `<repository>@sha256:<digest>` and the release recorded
//! as the tag `git-release-tag`; then it points the service at it and follows the
//! rollout (`rollout.rs`). The calls, in order: `DescribeServices`,
//! `DescribeTaskDefinition` (include TAGS), `RegisterTaskDefinition`, `UpdateService`,
//! then `DescribeServices` per poll. A refusal happens before `RegisterTaskDefinition`,
//! so it leaves nothing behind.

use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use aws_sdk_ecs::error::SdkError;
use aws_sdk_ecs::types::{Service, Tag, TaskDefinition, TaskDefinitionField};
use aws_sdk_ecs::Client;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::rollout::{self, Answer, DeploymentSnapshot, End, ServiceSnapshot, SystemClock};
use super::target::aws_failure;
use super::target::{
    AwsFailure, Change, Code, Deployed, Observer, Options, Request, Running, Target, TargetError,
    RELEASE_TAG_KEY,
};
use crate::aws::{Loaded, Session, Settings};
use crate::config::LiveTarget;
use crate::text;

/// How often a followed rollout is polled (ECS's own waiters poll every 15 s).
const POLL_INTERVAL: Duration = Duration::from_secs(5);

/// The bound on one ECS call, retries included.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// One ECS service in one environment.
#[derive(Debug)]
pub struct Ecs {
    cluster: String,
    service: String,
    container: String,
    session: Session,
    client: OnceLock<Client>,
}

/// What `DescribeTaskDefinition` answered: the revision and its tags.
struct Current {
    definition: TaskDefinition,
    tags: Vec<Tag>,
    label: String,
}

impl Ecs {
    /// Prepares the target; nothing is loaded or called until the first operation.
    pub fn new(env: &str, live: &LiveTarget) -> Ecs {
        let (cluster, service, container, region) = match live {
            LiveTarget::Ecs {
                cluster,
                service,
                container,
                region,
            } => (cluster, service, container, region.clone()),
            LiveTarget::Lambda { function, .. } => (function, function, function, None),
        };
        Ecs {
            cluster: cluster.clone(),
            service: service.clone(),
            container: container.clone(),
            session: Session::new(Settings {
                service: "ECS",
                endpoint_env: "ECS",
                region,
                region_key: format!("[environments.{}] region", text::line(env)),
                timeout: CALL_TIMEOUT,
                connect_timeout: Duration::from_secs(2),
            }),
            client: OnceLock::new(),
        }
    }

    fn what(&self) -> String {
        format!(
            "ECS service `{}` in cluster `{}`",
            text::line(&self.service),
            text::line(&self.cluster)
        )
    }

    fn backend(&self) -> Result<(&Loaded, &Client), TargetError> {
        let loaded = self
            .session
            .load(self.session.deadline())
            .map_err(|e| TargetError::Aws {
                kind: AwsFailure::Unavailable,
                message: e.to_string(),
                hint: e.hint(),
            })?;
        Ok((loaded, self.client.get_or_init(|| Client::new(&loaded.sdk))))
    }

    /// Runs one call on the session's runtime, bounded by the call timeout.
    fn call<T, E, F>(
        &self,
        operation: &str,
        make: impl FnOnce(&Client) -> F,
    ) -> Result<T, TargetError>
    where
        F: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let (loaded, client) = self.backend()?;
        match self
            .session
            .block_on(loaded, self.session.deadline(), make(client))
        {
            Ok(Ok(out)) => Ok(out),
            Ok(Err(e)) => Err(self.failure(operation, &e)),
            Err(_) => Err(TargetError::Aws {
                kind: AwsFailure::Unavailable,
                message: format!(
                    "ECS {operation} for {} did not answer within {} s",
                    self.what(),
                    self.session.timeout().as_secs()
                ),
                hint: "check the network and AWS_ENDPOINT_URL, then retry".into(),
            }),
        }
    }

    fn failure<E>(&self, operation: &str, err: &SdkError<E, HttpResponse>) -> TargetError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let region = self.session.region_name().unwrap_or_else(|| "?".into());
        aws_failure(
            &format!("ECS {operation} for {} ({region})", self.what()),
            err,
            &["ClusterNotFoundException", "ServiceNotFoundException"],
            &self.what(),
            &region,
        )
    }

    /// `DescribeServices` for this service: the service, or NotFound.
    fn describe_service(&self) -> Result<Service, TargetError> {
        let out = self.call("DescribeServices", |c| {
            c.describe_services()
                .cluster(&self.cluster)
                .services(&self.service)
                .send()
        })?;
        match out.services().first() {
            Some(service) if service.status() == Some("ACTIVE") => Ok(service.clone()),
            _ => Err(TargetError::NotFound {
                what: self.what(),
                where_: format!(
                    " in {} (or it is no longer ACTIVE)",
                    self.session.region_name().unwrap_or_else(|| "?".into())
                ),
            }),
        }
    }

    /// `DescribeTaskDefinition` with its tags.
    fn describe_task_definition(&self, arn: &str) -> Result<Current, TargetError> {
        let out = self.call("DescribeTaskDefinition", |c| {
            c.describe_task_definition()
                .task_definition(arn)
                .include(TaskDefinitionField::Tags)
                .send()
        })?;
        let definition = out.task_definition().cloned().ok_or_else(|| {
            TargetError::Malformed(format!(
                "ECS answered DescribeTaskDefinition for {} without a task definition",
                text::line(arn)
            ))
        })?;
        let label = format!(
            "{}:{}",
            definition.family().unwrap_or("?"),
            definition.revision()
        );
        Ok(Current {
            definition,
            tags: out.tags().to_vec(),
            label,
        })
    }

    fn running_of(&self, current: &Current) -> Result<Running, TargetError> {
        let container = self.container_of(current)?;
        Ok(Running {
            revision: current.label.clone(),
            code: container.image.clone().map(|uri| Code::Image { uri }),
            recorded_tag: recorded_tag(&current.tags),
            code_sha256: None,
        })
    }

    fn container_of<'a>(
        &self,
        current: &'a Current,
    ) -> Result<&'a aws_sdk_ecs::types::ContainerDefinition, TargetError> {
        current
            .definition
            .container_definitions()
            .iter()
            .find(|c| c.name.as_deref() == Some(self.container.as_str()))
            .ok_or_else(|| TargetError::ContainerMissing {
                container: text::line(&self.container).into_owned(),
                task_definition: text::line(&current.label).into_owned(),
                containers: current
                    .definition
                    .container_definitions()
                    .iter()
                    .map(|c| text::line(c.name.as_deref().unwrap_or("?")).into_owned())
                    .collect(),
            })
    }

    /// `RegisterTaskDefinition`: the current revision's inputs, one image and the release
    /// tag changed. Read-only fields (ARN, revision, status, requiresAttributes,
    /// compatibilities, registeredAt/By, deregisteredAt) are not inputs and stay behind;
    /// so do inference accelerators, an input ECS no longer accepts (the SDK deprecates it).
    fn register(&self, current: &Current, image: &str, tag: &str) -> Result<String, TargetError> {
        let td = &current.definition;
        let mut containers = td.container_definitions().to_vec();
        for c in &mut containers {
            if c.name.as_deref() == Some(self.container.as_str()) {
                c.image = Some(image.to_string());
            }
        }
        let mut tags: Vec<Tag> = current
            .tags
            .iter()
            .filter(|t| t.key() != Some(RELEASE_TAG_KEY))
            .cloned()
            .collect();
        tags.push(Tag::builder().key(RELEASE_TAG_KEY).value(tag).build());
        let out = self.call("RegisterTaskDefinition", |c| {
            c.register_task_definition()
                .set_family(td.family().map(str::to_string))
                .set_task_role_arn(td.task_role_arn().map(str::to_string))
                .set_execution_role_arn(td.execution_role_arn().map(str::to_string))
                .set_network_mode(td.network_mode().cloned())
                .set_container_definitions(Some(containers))
                .set_volumes(non_empty(td.volumes()))
                .set_placement_constraints(non_empty(td.placement_constraints()))
                .set_requires_compatibilities(non_empty(td.requires_compatibilities()))
                .set_cpu(td.cpu().map(str::to_string))
                .set_memory(td.memory().map(str::to_string))
                .set_tags(Some(tags))
                .set_pid_mode(td.pid_mode().cloned())
                .set_ipc_mode(td.ipc_mode().cloned())
                .set_proxy_configuration(td.proxy_configuration().cloned())
                .set_ephemeral_storage(td.ephemeral_storage().cloned())
                .set_runtime_platform(td.runtime_platform().cloned())
                .set_enable_fault_injection(td.enable_fault_injection())
                .send()
        })?;
        out.task_definition()
            .and_then(|t| t.task_definition_arn())
            .map(str::to_string)
            .ok_or_else(|| {
                TargetError::Malformed(
                    "ECS answered RegisterTaskDefinition without the new revision's ARN".into(),
                )
            })
    }
}

/// A list input as the API wants it: absent when the revision had none.
fn non_empty<T: Clone>(items: &[T]) -> Option<Vec<T>> {
    (!items.is_empty()).then(|| items.to_vec())
}

/// The release tag recorded on a revision.
fn recorded_tag(tags: &[Tag]) -> Option<String> {
    tags.iter()
        .find(|t| t.key() == Some(RELEASE_TAG_KEY))
        .and_then(|t| t.value())
        .map(str::to_string)
}

/// The poller's view of an SDK service.
pub fn snapshot(service: &Service) -> ServiceSnapshot {
    ServiceSnapshot {
        status: service.status().unwrap_or_default().to_string(),
        desired_count: service.desired_count(),
        running_count: service.running_count(),
        pending_count: service.pending_count(),
        deployments: service
            .deployments()
            .iter()
            .map(|d| DeploymentSnapshot {
                id: d.id().unwrap_or_default().to_string(),
                status: d.status().unwrap_or_default().to_string(),
                task_definition: d.task_definition().unwrap_or_default().to_string(),
                desired_count: d.desired_count(),
                running_count: d.running_count(),
                pending_count: d.pending_count(),
                failed_tasks: d.failed_tasks(),
                rollout_state: d.rollout_state().map(|s| s.as_str().to_string()),
                rollout_state_reason: d.rollout_state_reason().map(str::to_string),
            })
            .collect(),
    }
}

/// The live source of the poller: `DescribeServices` per poll.
struct Live<'a>(&'a Ecs);

impl rollout::Source for Live<'_> {
    fn describe(&mut self) -> Result<Answer, TargetError> {
        let ecs = self.0;
        let out = ecs.call("DescribeServices", |c| {
            c.describe_services()
                .cluster(&ecs.cluster)
                .services(&ecs.service)
                .send()
        })?;
        if let Some(service) = out.services().first() {
            return Ok(Answer::Service(snapshot(service)));
        }
        if out.failures().iter().any(|f| f.reason() == Some("MISSING")) {
            return Ok(Answer::Missing);
        }
        Err(TargetError::Malformed(format!(
            "ECS answered DescribeServices for {} with neither the service nor a failure",
            ecs.what()
        )))
    }
}

impl Target for Ecs {
    fn describe(&self) -> String {
        match self.session.region_name() {
            Some(region) => format!("{} ({})", self.what(), text::line(&region)),
            None => self.what(),
        }
    }

    fn deploy(
        &self,
        request: &Request,
        options: Options,
        observer: &mut dyn Observer,
    ) -> Result<Deployed, TargetError> {
        let Code::Image { uri } = &request.code else {
            return Err(TargetError::Malformed(format!(
                "{} runs container images; the release's artifact {} is not one",
                self.what(),
                text::line(&request.code.to_string())
            )));
        };
        observer.step(&format!("reading {}", self.describe()));
        let service = self.describe_service()?;
        let arn = service.task_definition().ok_or_else(|| {
            TargetError::Malformed(format!("{} has no task definition", self.what()))
        })?;
        let current = self.describe_task_definition(arn)?;
        let previous = self.running_of(&current)?;
        let wanted = request.code.digest();
        let unchanged = |previous: Running| Deployed {
            changed: false,
            dry_run: options.dry_run,
            previous,
            revision: None,
            changes: Vec::new(),
            waited: false,
        };
        if wanted.is_some() && previous.digest() == wanted {
            return Ok(unchanged(previous));
        }
        if let Some(d) = snapshot(&service).in_progress() {
            if !options.force {
                return Err(TargetError::InProgress {
                    what: self.what(),
                    detail: format!(
                        "deployment {} of {} is {}",
                        text::line(&d.id),
                        text::line(short_arn(&d.task_definition)),
                        d.rollout_state.as_deref().unwrap_or("IN_PROGRESS")
                    ),
                });
            }
        }
        let old_image = previous
            .code
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_else(|| "-".into());
        let changes = vec![
            Change {
                what: format!(
                    "task definition {} (new revision), container {}, image",
                    current.label,
                    text::line(&self.container)
                ),
                from: text::line(&old_image).into_owned(),
                to: text::line(uri).into_owned(),
            },
            Change {
                what: format!("task definition tag {RELEASE_TAG_KEY}"),
                from: previous
                    .recorded_tag
                    .as_deref()
                    .map(|t| text::line(t).into_owned())
                    .unwrap_or_else(|| "-".into()),
                to: text::line(&request.tag).into_owned(),
            },
            Change {
                what: format!("{}, task definition", self.what()),
                from: current.label.clone(),
                to: format!(
                    "{}:<next revision>",
                    current.definition.family().unwrap_or("?")
                ),
            },
        ];
        if options.dry_run {
            return Ok(Deployed {
                changed: true,
                dry_run: true,
                previous,
                revision: None,
                changes,
                waited: false,
            });
        }
        observer.step(&format!(
            "registering a revision of {} with {}",
            current.definition.family().unwrap_or("?"),
            text::line(uri)
        ));
        let new_arn = self.register(&current, uri, &request.tag)?;
        let revision = short_arn(&new_arn).to_string();
        observer.step(&format!("updating {} to {revision}", self.what()));
        self.call("UpdateService", |c| {
            c.update_service()
                .cluster(&self.cluster)
                .service(&self.service)
                .task_definition(&new_arn)
                .send()
        })?;
        let Some(timeout) = options.wait else {
            return Ok(Deployed {
                changed: true,
                dry_run: false,
                previous,
                revision: Some(revision),
                changes,
                waited: false,
            });
        };
        observer.step(&format!("following the rollout of {revision}"));
        let end = rollout::follow(
            &mut Live(self),
            &mut SystemClock::default(),
            &new_arn,
            timeout,
            POLL_INTERVAL,
            &mut |p| observer.progress(p),
        )?;
        let previous = Box::new(previous);
        match end {
            End::Completed => Ok(Deployed {
                changed: true,
                dry_run: false,
                previous: *previous,
                revision: Some(revision),
                changes,
                waited: true,
            }),
            End::Failed(reason) => Err(TargetError::Failed {
                what: self.what(),
                revision,
                reason: text::line(&reason).into_owned(),
                previous,
            }),
            End::TimedOut(last) => Err(TargetError::TimedOut {
                what: self.what(),
                revision,
                seconds: timeout.as_secs(),
                last: last.to_string(),
                previous,
            }),
            End::Gone(status) => Err(TargetError::Gone {
                what: self.what(),
                revision,
                status,
                previous,
            }),
        }
    }

    fn running(&self) -> Result<Running, TargetError> {
        let service = self.describe_service()?;
        let arn = service.task_definition().ok_or_else(|| {
            TargetError::Malformed(format!("{} has no task definition", self.what()))
        })?;
        let current = self.describe_task_definition(arn)?;
        self.running_of(&current)
    }
}

/// `family:revision` from a task definition ARN.
fn short_arn(arn: &str) -> &str {
    arn.rsplit_once('/').map_or(arn, |(_, tail)| tail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_arns_are_family_and_revision() {
        assert_eq!(
            short_arn("arn:aws:ecs:eu-west-1:1:task-definition/web:8"),
            "web:8"
        );
        assert_eq!(short_arn("web:8"), "web:8");
    }

    #[test]
    fn new_does_not_initialise_the_sdk() {
        let ecs = Ecs::new(
            "stg",
            &LiveTarget::Ecs {
                cluster: "main".into(),
                service: "web".into(),
                container: "web".into(),
                region: Some("eu-west-1".into()),
            },
        );
        assert!(!ecs.session.initialised());
        assert_eq!(
            ecs.describe(),
            "ECS service `web` in cluster `main` (eu-west-1)"
        );
    }
}
