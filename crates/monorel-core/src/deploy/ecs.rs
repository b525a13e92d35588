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

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::rollout::{self, Answer, End, ServiceSnapshot, SystemClock};
use super::target::{aws_failure, json_call};
use super::target::{
    Change, Code, Deployed, Observer, Options, Request, Running, Target, TargetError,
    RELEASE_TAG_KEY,
};
use crate::aws::json::{Call, Service as AwsService};
use crate::aws::{Session, Settings};
use crate::config::LiveTarget;
use crate::text;

/// How often a followed rollout is polled (ECS's own waiters poll every 15 s).
const POLL_INTERVAL: Duration = Duration::from_secs(5);

/// The bound on one ECS call, retries included.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// The keys of `DescribeTaskDefinition`'s answer that are not inputs of
/// `RegisterTaskDefinition` (read-only, set by ECS), plus inference accelerators, an input
/// ECS no longer accepts. Everything else is copied as it was read.
const NOT_INPUTS: [&str; 9] = [
    "taskDefinitionArn",
    "revision",
    "status",
    "requiresAttributes",
    "compatibilities",
    "registeredAt",
    "registeredBy",
    "deregisteredAt",
    "inferenceAccelerators",
];

/// One ECS service in one environment.
#[derive(Debug)]
pub struct Ecs {
    cluster: String,
    service: String,
    container: String,
    session: Session,
    /// The services of the same cluster read with this one (`status`), if any.
    batch: Option<Arc<ServiceBatch>>,
}

/// How many services one `DescribeServices` call may name (the API's limit).
const DESCRIBE_LIMIT: usize = 10;

/// Services of one cluster that `status` reads together: `DescribeServices` takes up to
/// ten per call, so the fifty services of an environment cost five calls, not fifty. The
/// first member to read asks for all of them; the others wait for that one answer. A
/// deploy never uses a batch: it reads its one service afresh.
#[derive(Debug)]
pub struct ServiceBatch {
    names: Vec<String>,
    answer: OnceLock<Result<Vec<Service>, TargetError>>,
}

/// Groups the ECS cells among `cells` (environment, where it runs) by environment and
/// cluster, ten at most per group, and returns each cell's group by index.
pub fn batches(cells: &[(String, LiveTarget)]) -> BTreeMap<usize, Arc<ServiceBatch>> {
    let mut groups: BTreeMap<(&str, &str, Option<&str>), Vec<usize>> = BTreeMap::new();
    for (index, (env, live)) in cells.iter().enumerate() {
        if let LiveTarget::Ecs {
            cluster, region, ..
        } = live
        {
            groups
                .entry((env.as_str(), cluster.as_str(), region.as_deref()))
                .or_default()
                .push(index);
        }
    }
    let mut out = BTreeMap::new();
    for members in groups.values() {
        for chunk in members.chunks(DESCRIBE_LIMIT) {
            let names = chunk
                .iter()
                .filter_map(|&i| match &cells[i].1 {
                    LiveTarget::Ecs { service, .. } => Some(service.clone()),
                    LiveTarget::Lambda { .. } => None,
                })
                .collect();
            let batch = Arc::new(ServiceBatch {
                names,
                answer: OnceLock::new(),
            });
            for &i in chunk {
                out.insert(i, Arc::clone(&batch));
            }
        }
    }
    out
}

/// One service of a `DescribeServices` answer: what the deploy reads, and what the
/// poller reads. Unknown fields are ignored.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Service {
    /// Its name, which tells the services of one answer apart.
    pub service_name: Option<String>,
    /// Its ARN, for a service configured by ARN.
    pub service_arn: Option<String>,
    /// The task definition's ARN the service runs.
    pub task_definition: Option<String>,
    /// Status, counts and deployments.
    #[serde(flatten)]
    pub snapshot: ServiceSnapshot,
}

/// A failure of a `DescribeServices` answer (`reason: MISSING` for a deleted service).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct Failure {
    reason: Option<String>,
}

/// A `DescribeServices` answer.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct DescribeServices {
    services: Vec<Service>,
    failures: Vec<Failure>,
}

/// A `DescribeTaskDefinition` answer: the definition is kept whole, to be copied.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct DescribeTaskDefinition {
    task_definition: Option<Map<String, Value>>,
    tags: Vec<Tag>,
}

/// A resource tag.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(default)]
struct Tag {
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<String>,
}

/// One container of a task definition, as far as it is read.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct Container {
    name: Option<String>,
    image: Option<String>,
}

/// What `DescribeTaskDefinition` answered: the revision and its tags.
struct Current {
    definition: Map<String, Value>,
    tags: Vec<Tag>,
    label: String,
    family: String,
    containers: Vec<Container>,
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
            batch: None,
        }
    }

    /// Reads this service with the others of `batch` (see [`ServiceBatch`]).
    pub fn in_batch(mut self, batch: Arc<ServiceBatch>) -> Ecs {
        self.batch = Some(batch);
        self
    }

    /// Whether `service` (one of a `DescribeServices` answer) is this one, named as the
    /// configuration names it: by name or by ARN.
    fn is_this(&self, service: &Service) -> bool {
        service.service_name.as_deref() == Some(self.service.as_str())
            || service.service_arn.as_deref() == Some(self.service.as_str())
    }

    fn what(&self) -> String {
        format!(
            "ECS service `{}` in cluster `{}`",
            text::line(&self.service),
            text::line(&self.cluster)
        )
    }

    /// Runs one call on the session's runtime, bounded by the call timeout, and reads
    /// its answer. `mutating` calls are not retried once sent (aws/json.rs).
    fn call<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        input: Value,
        mutating: bool,
    ) -> Result<T, TargetError> {
        let call = Call::ecs(operation, input, mutating);
        let answer = json_call(&self.session, AwsService::Ecs, &self.what(), &call)?
            .map_err(|diagnosis| self.failure(operation, diagnosis))?;
        serde_json::from_value(answer).map_err(|e| {
            TargetError::Malformed(format!(
                "ECS answered {operation} for {} with an answer that cannot be read ({})",
                self.what(),
                text::line(&e.to_string())
            ))
        })
    }

    fn failure(&self, operation: &str, diagnosis: crate::aws::Diagnosis) -> TargetError {
        let region = self.session.region_name().unwrap_or_else(|| "?".into());
        aws_failure(
            &format!("ECS {operation} for {} ({region})", self.what()),
            diagnosis,
            &["ClusterNotFoundException", "ServiceNotFoundException"],
            &self.what(),
            &region,
        )
    }

    /// `DescribeServices` of this service.
    fn describe_services(&self) -> Result<DescribeServices, TargetError> {
        self.call(
            "DescribeServices",
            json!({"cluster": self.cluster, "services": [self.service]}),
            false,
        )
    }

    /// `DescribeServices` for this service: the service, or NotFound.
    fn describe_service(&self) -> Result<Service, TargetError> {
        let found = match &self.batch {
            None => self.describe_services()?.services.into_iter().next(),
            Some(batch) => batch
                .answer
                .get_or_init(|| {
                    self.call(
                        "DescribeServices",
                        json!({"cluster": self.cluster, "services": batch.names}),
                        false,
                    )
                    .map(|out: DescribeServices| out.services)
                })
                .clone()?
                .into_iter()
                .find(|s| self.is_this(s)),
        };
        match found {
            Some(service) if service.snapshot.status == "ACTIVE" => Ok(service),
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
        let out: DescribeTaskDefinition = self.call(
            "DescribeTaskDefinition",
            json!({"taskDefinition": arn, "include": ["TAGS"]}),
            false,
        )?;
        let definition = out.task_definition.ok_or_else(|| {
            TargetError::Malformed(format!(
                "ECS answered DescribeTaskDefinition for {} without a task definition",
                text::line(arn)
            ))
        })?;
        let family = definition
            .get("family")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string();
        let revision = definition
            .get("revision")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let containers: Vec<Container> = match definition.get("containerDefinitions") {
            Some(list) => serde_json::from_value(list.clone()).map_err(|e| {
                TargetError::Malformed(format!(
                    "ECS answered DescribeTaskDefinition for {} with unreadable container definitions ({})",
                    text::line(arn),
                    text::line(&e.to_string())
                ))
            })?,
            None => Vec::new(),
        };
        Ok(Current {
            label: format!("{family}:{revision}"),
            family,
            definition,
            tags: out.tags,
            containers,
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

    fn container_of<'a>(&self, current: &'a Current) -> Result<&'a Container, TargetError> {
        current
            .containers
            .iter()
            .find(|c| c.name.as_deref() == Some(self.container.as_str()))
            .ok_or_else(|| TargetError::ContainerMissing {
                container: text::line(&self.container).into_owned(),
                task_definition: text::line(&current.label).into_owned(),
                containers: current
                    .containers
                    .iter()
                    .map(|c| text::line(c.name.as_deref().unwrap_or("?")).into_owned())
                    .collect(),
            })
    }

    /// `RegisterTaskDefinition`: the current revision's inputs, one image and the release
    /// tag changed (see [`register_input`]).
    fn register(&self, current: &Current, image: &str, tag: &str) -> Result<String, TargetError> {
        let input = register_input(current, &self.container, image, tag);
        let out: Value = self.call("RegisterTaskDefinition", input, true)?;
        out.get("taskDefinition")
            .and_then(|t| t.get("taskDefinitionArn"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| {
                TargetError::Malformed(
                    "ECS answered RegisterTaskDefinition without the new revision's ARN".into(),
                )
            })
    }
}

/// The `RegisterTaskDefinition` input: the described revision with its read-only keys
/// ([`NOT_INPUTS`]) removed, absent values and empty lists left out (as the API wants an
/// input it does not use), `container`'s image set to `image`, and the revision's tags
/// with the release tag replaced. Copying the answer whole, rather than a list of known
/// fields, keeps a field this code has never heard of.
fn register_input(current: &Current, container: &str, image: &str, tag: &str) -> Value {
    let mut input = current.definition.clone();
    for key in NOT_INPUTS {
        input.remove(key);
    }
    input.retain(|_, v| !v.is_null() && v.as_array().is_none_or(|a| !a.is_empty()));
    if let Some(Value::Array(containers)) = input.get_mut("containerDefinitions") {
        for c in containers.iter_mut() {
            if c.get("name").and_then(Value::as_str) == Some(container) {
                if let Some(c) = c.as_object_mut() {
                    c.insert("image".into(), Value::String(image.to_string()));
                }
            }
        }
    }
    let mut tags: Vec<Tag> = current
        .tags
        .iter()
        .filter(|t| t.key.as_deref() != Some(RELEASE_TAG_KEY))
        .cloned()
        .collect();
    tags.push(Tag {
        key: Some(RELEASE_TAG_KEY.into()),
        value: Some(tag.into()),
    });
    input.insert("tags".into(), json!(tags));
    Value::Object(input)
}

/// The release tag recorded on a revision.
fn recorded_tag(tags: &[Tag]) -> Option<String> {
    tags.iter()
        .find(|t| t.key.as_deref() == Some(RELEASE_TAG_KEY))
        .and_then(|t| t.value.clone())
}

/// The poller's view of a described service.
pub fn snapshot(service: &Service) -> ServiceSnapshot {
    service.snapshot.clone()
}

/// The live source of the poller: `DescribeServices` per poll.
struct Live<'a>(&'a Ecs);

impl rollout::Source for Live<'_> {
    fn describe(&mut self) -> Result<Answer, TargetError> {
        let ecs = self.0;
        let out = ecs.describe_services()?;
        if let Some(service) = out.services.first() {
            return Ok(Answer::Service(snapshot(service)));
        }
        if out
            .failures
            .iter()
            .any(|f| f.reason.as_deref() == Some("MISSING"))
        {
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
        let arn = service.task_definition.as_deref().ok_or_else(|| {
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
                to: format!("{}:<next revision>", current.family),
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
            current.family,
            text::line(uri)
        ));
        let new_arn = self.register(&current, uri, &request.tag)?;
        let revision = short_arn(&new_arn).to_string();
        observer.step(&format!("updating {} to {revision}", self.what()));
        let _: Value = self.call(
            "UpdateService",
            json!({"cluster": self.cluster, "service": self.service, "taskDefinition": new_arn}),
            true,
        )?;
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
        let arn = service.task_definition.as_deref().ok_or_else(|| {
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
    fn status_reads_the_services_of_a_cluster_ten_at_a_time() {
        let ecs = |cluster: &str, service: String| LiveTarget::Ecs {
            cluster: cluster.into(),
            service,
            container: "app".into(),
            region: None,
        };
        let mut cells: Vec<(String, LiveTarget)> = (0..23)
            .map(|i| ("stg".to_string(), ecs("main", format!("svc-{i}"))))
            .collect();
        cells.push(("stg".into(), ecs("other", "lonely".into())));
        cells.push((
            "prod".into(),
            LiveTarget::Lambda {
                function: "fn".into(),
                alias: "prod".into(),
                region: None,
            },
        ));
        let batches = batches(&cells);
        assert_eq!(batches.len(), 24, "every ECS cell, no Lambda cell");
        let sizes: Vec<usize> = [0, 10, 20, 23]
            .iter()
            .map(|i| batches[i].names.len())
            .collect();
        assert_eq!(sizes, [10, 10, 3, 1]);
        assert!(Arc::ptr_eq(&batches[&0], &batches[&9]));
        assert!(!Arc::ptr_eq(&batches[&9], &batches[&10]));
        assert_eq!(batches[&23].names, ["lonely"]);
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

    /// Every recorded `DescribeServices` answer of the rollout tests reads into the same
    /// snapshot through the deploy's types as through the poller's parser.
    #[test]
    fn recorded_services_read_into_the_pollers_snapshot() {
        for file in [
            include_str!("fixtures/rollout_completes.json"),
            include_str!("fixtures/rollout_circuit_breaker.json"),
            include_str!("fixtures/rollout_stalls.json"),
            include_str!("fixtures/rollout_rolled_back.json"),
        ] {
            let answers: Vec<Value> = serde_json::from_str(file).expect("fixture");
            for answer in answers {
                let ours: DescribeServices = serde_json::from_value(answer.clone()).expect("reads");
                let service = ours.services.first().expect("a service");
                assert!(service.task_definition.is_some());
                let theirs =
                    rollout::parse_describe_services(&answer.to_string()).expect("poller reads it");
                assert_eq!(Answer::Service(snapshot(service)), theirs);
            }
        }
    }

    /// A `DescribeTaskDefinition` answer in the API's JSON shape (fields per the ECS API
    /// reference, plus one this code does not know) becomes a `RegisterTaskDefinition`
    /// input: read-only keys gone, empty lists left out, every other field copied, one
    /// container's image set, the release tag replaced.
    #[test]
    fn the_register_input_is_the_described_revision_with_one_image_and_the_tag() {
        let answer = json!({
            "taskDefinition": {
                "taskDefinitionArn": "arn:aws:ecs:eu-west-1:1:task-definition/web:7",
                "family": "web",
                "revision": 7,
                "status": "ACTIVE",
                "taskRoleArn": "arn:aws:iam::1:role/web",
                "networkMode": "awsvpc",
                "containerDefinitions": [
                    {"name": "web", "image": "r/web:latest", "cpu": 0, "essential": true,
                     "environment": [{"name": "A", "value": "1"}]},
                    {"name": "envoy", "image": "envoy:v1", "essential": false}
                ],
                "volumes": [],
                "placementConstraints": [],
                "requiresAttributes": [{"name": "com.amazonaws.ecs.capability.task-iam-role"}],
                "compatibilities": ["EC2", "FARGATE"],
                "requiresCompatibilities": ["FARGATE"],
                "cpu": "512",
                "memory": "1024",
                "inferenceAccelerators": [{"deviceName": "x", "deviceType": "eia2.medium"}],
                "registeredAt": 1732960000.123,
                "registeredBy": "arn:aws:iam::1:user/ci",
                "runtimePlatform": {"cpuArchitecture": "ARM64"},
                "enableFaultInjection": false,
                "aFieldFrom2030": {"kept": true}
            },
            "tags": [
                {"key": "team", "value": "payments"},
                {"key": "git-release-tag", "value": "web-v1.0.0"}
            ]
        });
        let out: DescribeTaskDefinition = serde_json::from_value(answer).expect("reads");
        let definition = out.task_definition.expect("definition");
        let current = Current {
            label: "web:7".into(),
            family: "web".into(),
            containers: serde_json::from_value(definition["containerDefinitions"].clone())
                .expect("containers"),
            definition,
            tags: out.tags,
        };
        assert_eq!(recorded_tag(&current.tags).as_deref(), Some("web-v1.0.0"));
        let input = register_input(&current, "web", "r/web@sha256:abc", "web-v1.1.0");
        assert_eq!(
            input,
            json!({
                "family": "web",
                "taskRoleArn": "arn:aws:iam::1:role/web",
                "networkMode": "awsvpc",
                "containerDefinitions": [
                    {"name": "web", "image": "r/web@sha256:abc", "cpu": 0, "essential": true,
                     "environment": [{"name": "A", "value": "1"}]},
                    {"name": "envoy", "image": "envoy:v1", "essential": false}
                ],
                "requiresCompatibilities": ["FARGATE"],
                "cpu": "512",
                "memory": "1024",
                "runtimePlatform": {"cpuArchitecture": "ARM64"},
                "enableFaultInjection": false,
                "aFieldFrom2030": {"kept": true},
                "tags": [
                    {"key": "team", "value": "payments"},
                    {"key": "git-release-tag", "value": "web-v1.1.0"}
                ]
            })
        );
    }
}
