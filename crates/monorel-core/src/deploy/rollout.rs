//! Following an ECS rollout until it completes, fails or runs out of time.
//!
//! The poller takes its answers from a [`Source`] and its time from a [`Clock`], so the
//! decision logic is tested on recorded `DescribeServices` answers without sleeping
//! (moto does not simulate rollouts: an updated service keeps its first deployment and
//! its rollout state is fixed at creation, FACTS.md). The live source is in `ecs.rs`.
//!
//! A rollout of task definition `T` is judged on the deployment whose `taskDefinition`
//! is `T`:
//! - `rolloutState = COMPLETED` while it is the PRIMARY deployment: done;
//! - `rolloutState = FAILED` (the deployment circuit breaker), or the deployment gone,
//!   after it was seen, while another task definition is PRIMARY (a circuit-breaker rollback, or someone
//!   else's deploy): failed;
//! - the service INACTIVE, DRAINING or missing: deleted under us;
//! - no `rolloutState` at all (services whose controller does not report one): done when
//!   it is the only deployment and runs its desired count with nothing pending.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::target::TargetError;

/// One service as `DescribeServices` reports it (the fields the poller reads).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ServiceSnapshot {
    /// `ACTIVE`, `DRAINING` or `INACTIVE`.
    pub status: String,
    /// Tasks the service wants.
    pub desired_count: i32,
    /// Tasks running.
    pub running_count: i32,
    /// Tasks starting.
    pub pending_count: i32,
    /// The deployments, PRIMARY first as ECS lists them.
    pub deployments: Vec<DeploymentSnapshot>,
}

/// One deployment of a service.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DeploymentSnapshot {
    /// `ecs-svc/…`.
    pub id: String,
    /// `PRIMARY`, `ACTIVE` or `INACTIVE`.
    pub status: String,
    /// The task definition's ARN.
    pub task_definition: String,
    /// Tasks wanted.
    pub desired_count: i32,
    /// Tasks running.
    pub running_count: i32,
    /// Tasks starting.
    pub pending_count: i32,
    /// Tasks that failed to start.
    pub failed_tasks: i32,
    /// `IN_PROGRESS`, `COMPLETED` or `FAILED`, when the controller reports one.
    pub rollout_state: Option<String>,
    /// Why, in ECS's words.
    pub rollout_state_reason: Option<String>,
}

impl ServiceSnapshot {
    /// The deployment that is still rolling out, if any (for the in-progress refusal).
    pub fn in_progress(&self) -> Option<&DeploymentSnapshot> {
        self.deployments
            .iter()
            .find(|d| d.rollout_state.as_deref() == Some("IN_PROGRESS"))
    }
}

/// One answer of the source: the service, or none (deleted and gone from the API).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The service.
    Service(ServiceSnapshot),
    /// `DescribeServices` listed it under `failures` with reason `MISSING`.
    Missing,
}

/// Reads a `DescribeServices` answer (the API's JSON) for its first service.
pub fn parse_describe_services(json: &str) -> Result<Answer, String> {
    #[derive(Deserialize)]
    struct Failure {
        reason: Option<String>,
    }
    #[derive(Deserialize)]
    struct Doc {
        #[serde(default)]
        services: Vec<ServiceSnapshot>,
        #[serde(default)]
        failures: Vec<Failure>,
    }
    let doc: Doc = serde_json::from_str(json).map_err(|e| e.to_string())?;
    if let Some(service) = doc.services.into_iter().next() {
        return Ok(Answer::Service(service));
    }
    match doc.failures.first() {
        Some(f) if f.reason.as_deref() == Some("MISSING") => Ok(Answer::Missing),
        Some(f) => Err(format!(
            "DescribeServices failed: {}",
            f.reason.as_deref().unwrap_or("no reason")
        )),
        None => Err("DescribeServices answered no service and no failure".into()),
    }
}

/// Where the poller's answers come from.
pub trait Source {
    /// Asks for the service once.
    fn describe(&mut self) -> Result<Answer, TargetError>;
}

/// Where the poller's time comes from.
pub trait Clock {
    /// Time since an arbitrary start.
    fn now(&self) -> Duration;
    /// Waits `duration` (a test clock only advances).
    fn sleep(&mut self, duration: Duration);
}

/// The real clock.
#[derive(Debug)]
pub struct SystemClock(std::time::Instant);

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock(std::time::Instant::now())
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.0.elapsed()
    }
    fn sleep(&mut self, duration: Duration) {
        std::thread::sleep(duration);
    }
}

/// What the rollout looks like now (what the progress display shows).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Progress {
    /// Tasks of the new revision running.
    pub running: i32,
    /// Tasks of the new revision starting.
    pub pending: i32,
    /// Tasks wanted.
    pub desired: i32,
    /// Tasks of the new revision that failed to start.
    pub failed: i32,
    /// The rollout state (`IN_PROGRESS`, …), or `WAITING` before ECS lists the deployment.
    pub state: String,
}

impl std::fmt::Display for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} running, {} pending of {} desired; {}",
            self.running, self.pending, self.desired, self.state
        )?;
        if self.failed > 0 {
            write!(f, "; {} failed", self.failed)?;
        }
        Ok(())
    }
}

/// How a followed rollout ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// The new revision runs everywhere.
    Completed,
    /// ECS gave up (circuit breaker) or another deployment replaced ours.
    Failed(String),
    /// The timeout passed; the last progress seen.
    TimedOut(Progress),
    /// The service was deleted; its last status.
    Gone(String),
}

/// Polls `source` every `interval` until the rollout of `task_definition` ends or
/// `timeout` passes, telling `on_progress` each time what it sees changes.
pub fn follow(
    source: &mut dyn Source,
    clock: &mut dyn Clock,
    task_definition: &str,
    timeout: Duration,
    interval: Duration,
    on_progress: &mut dyn FnMut(&Progress),
) -> Result<End, TargetError> {
    let start = clock.now();
    let mut last: Option<Progress> = None;
    // Until our deployment has been seen, another PRIMARY only means ECS has not listed
    // ours yet; after that, its absence means it was replaced.
    let mut seen_ours = false;
    loop {
        let answer = source.describe()?;
        let service = match answer {
            Answer::Missing => return Ok(End::Gone("MISSING".into())),
            Answer::Service(s) if s.status != "ACTIVE" => return Ok(End::Gone(s.status)),
            Answer::Service(s) => s,
        };
        let ours = service
            .deployments
            .iter()
            .find(|d| d.task_definition == task_definition);
        seen_ours |= ours.is_some();
        let progress = match ours {
            Some(d) => Progress {
                running: d.running_count,
                pending: d.pending_count,
                desired: d.desired_count,
                failed: d.failed_tasks,
                state: d.rollout_state.clone().unwrap_or_else(|| d.status.clone()),
            },
            None => Progress {
                desired: service.desired_count,
                state: "WAITING".into(),
                ..Progress::default()
            },
        };
        if last.as_ref() != Some(&progress) {
            on_progress(&progress);
            last = Some(progress.clone());
        }
        match ours {
            Some(d) => match d.rollout_state.as_deref() {
                Some("FAILED") => {
                    return Ok(End::Failed(
                        d.rollout_state_reason
                            .clone()
                            .unwrap_or_else(|| "ECS marked the deployment FAILED".into()),
                    ))
                }
                Some("COMPLETED") if d.status == "PRIMARY" => return Ok(End::Completed),
                None if d.status == "PRIMARY"
                    && service.deployments.len() == 1
                    && d.running_count >= d.desired_count
                    && d.pending_count == 0 =>
                {
                    return Ok(End::Completed)
                }
                _ => {}
            },
            None if seen_ours => {
                if let Some(primary) = service.deployments.iter().find(|d| d.status == "PRIMARY") {
                    return Ok(End::Failed(format!(
                        "the service's primary deployment is now {} ({}), not the new revision; ECS rolled back or another deploy replaced it",
                        crate::text::line(&primary.task_definition),
                        crate::text::line(&primary.id),
                    )));
                }
            }
            None => {}
        }
        let elapsed = clock.now().saturating_sub(start);
        if elapsed >= timeout {
            return Ok(End::TimedOut(progress));
        }
        clock.sleep(interval.min(timeout - elapsed));
    }
}

#[cfg(test)]
mod tests {
    //! The fixtures are `DescribeServices` answers in the API's JSON shape, as the AWS
    //! CLI prints them (`aws ecs describe-services --output json`, fields per the ECS API
    //! reference: `services[].deployments[]` with `rolloutState` and
    //! `rolloutStateReason`; `failures[]` with `reason: "MISSING"` for a deleted
    //! service). moto cannot produce these sequences, so they are recorded here.
    use super::*;

    const NEW: &str = "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:8";

    struct Recorded {
        answers: Vec<Answer>,
        asked: usize,
    }

    impl Recorded {
        fn new(file: &str) -> Recorded {
            let all: Vec<serde_json::Value> =
                serde_json::from_str(file).expect("fixture is a JSON array of answers");
            let answers = all
                .iter()
                .map(|a| parse_describe_services(&a.to_string()).expect("fixture parses"))
                .collect::<Vec<_>>();
            Recorded { answers, asked: 0 }
        }
    }

    impl Source for Recorded {
        fn describe(&mut self) -> Result<Answer, TargetError> {
            // The last answer repeats: a stalled rollout keeps answering the same.
            let i = self.asked.min(self.answers.len() - 1);
            self.asked += 1;
            Ok(self.answers[i].clone())
        }
    }

    #[derive(Default)]
    struct TestClock(Duration);

    impl Clock for TestClock {
        fn now(&self) -> Duration {
            self.0
        }
        fn sleep(&mut self, d: Duration) {
            self.0 += d;
        }
    }

    fn run(fixture: &str, timeout_s: u64) -> (Result<End, TargetError>, Vec<String>, Duration) {
        let mut source = Recorded::new(fixture);
        let mut clock = TestClock::default();
        let mut seen = Vec::new();
        let end = follow(
            &mut source,
            &mut clock,
            NEW,
            Duration::from_secs(timeout_s),
            Duration::from_secs(5),
            &mut |p| seen.push(p.to_string()),
        );
        (end, seen, clock.0)
    }

    #[test]
    fn a_rollout_that_completes() {
        let (end, seen, took) = run(include_str!("fixtures/rollout_completes.json"), 600);
        assert_eq!(end, Ok(End::Completed));
        assert_eq!(
            seen,
            [
                "0 running, 0 pending of 2 desired; WAITING",
                "0 running, 2 pending of 2 desired; IN_PROGRESS",
                "1 running, 1 pending of 2 desired; IN_PROGRESS",
                "2 running, 0 pending of 2 desired; IN_PROGRESS",
                "2 running, 0 pending of 2 desired; COMPLETED",
            ]
        );
        assert_eq!(took, Duration::from_secs(25));
    }

    #[test]
    fn a_rollout_the_circuit_breaker_stops() {
        let (end, seen, _) = run(include_str!("fixtures/rollout_circuit_breaker.json"), 600);
        assert_eq!(
            end,
            Ok(End::Failed(
                "ECS deployment circuit breaker: tasks failed to start.".into()
            ))
        );
        assert_eq!(
            seen.last().map(String::as_str),
            Some("0 running, 0 pending of 2 desired; FAILED; 3 failed")
        );
    }

    #[test]
    fn a_rollout_that_stalls_past_the_timeout() {
        let fixture = include_str!("fixtures/rollout_stalls.json");
        let (end, seen, took) = run(fixture, 12);
        assert_eq!(
            end,
            Ok(End::TimedOut(Progress {
                running: 1,
                pending: 1,
                desired: 2,
                failed: 0,
                state: "IN_PROGRESS".into()
            }))
        );
        // Answers that do not change are shown once.
        assert_eq!(seen, ["1 running, 1 pending of 2 desired; IN_PROGRESS"]);
        // Polled at 0, 5 and 10 s, then once more at the 12 s timeout.
        assert_eq!(took, Duration::from_secs(12));
    }

    #[test]
    fn a_service_deleted_mid_rollout() {
        let (end, _, _) = run(include_str!("fixtures/rollout_service_deleted.json"), 600);
        assert_eq!(end, Ok(End::Gone("INACTIVE".into())));
        let (end, _, _) = run(include_str!("fixtures/rollout_service_missing.json"), 600);
        assert_eq!(end, Ok(End::Gone("MISSING".into())));
    }

    #[test]
    fn a_deployment_replaced_by_a_rollback_fails() {
        let (end, _, _) = run(include_str!("fixtures/rollout_rolled_back.json"), 600);
        match end {
            Ok(End::Failed(reason)) => assert!(reason.contains("web:7"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn in_progress_is_found_for_the_refusal() {
        let answer = parse_describe_services(
            r#"{"services":[{"status":"ACTIVE","deployments":[{"id":"ecs-svc/1","status":"PRIMARY","taskDefinition":"x:2","rolloutState":"IN_PROGRESS"},{"id":"ecs-svc/0","status":"ACTIVE","taskDefinition":"x:1","rolloutState":"COMPLETED"}]}],"failures":[]}"#,
        )
        .expect("parses");
        let Answer::Service(service) = answer else {
            panic!("a service")
        };
        assert_eq!(
            service.in_progress().map(|d| d.id.as_str()),
            Some("ecs-svc/1")
        );
    }
}
