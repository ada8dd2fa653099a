//! One-off tasks: `--run-task` (with `-d`), optionally waiting for success.
//!
//! The new revision is started once with `run-task`, every option a separate argument (no
//! shell ever sees them). With `--wait-for-success` the task is polled until it stops, and
//! it succeeded only when every essential container of the registered definition exited 0.

use std::collections::HashSet;
use std::time::Instant;

use serde::Deserialize;
use serde_json::Value;

use crate::deploy::{Deploy, Registered};
use crate::error::{Error, Result};
use crate::filters;
use crate::options::RunTask;
use crate::report::StoppedTask;
use crate::signals;
use crate::task::{Container, Task};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Started {
    task_arn: Option<String>,
    last_status: String,
    failures: Vec<Failure>,
}

#[derive(Debug, Deserialize)]
struct Failure {
    arn: String,
    reason: String,
    detail: String,
}

#[derive(Debug, Deserialize)]
struct Observation {
    task: Option<Task>,
    missing: Option<String>,
}

/// Why the wait ended without a stopped task.
enum Stop {
    Timeout,
    Interrupted,
    Failed(Error),
}

/// `run-task` arguments: each option and each value its own argv element, the network
/// configuration exactly as the user gave it (JSON, shorthand or `file://`).
fn run_task_args(cluster: &str, task_definition: &str, options: &RunTask) -> Vec<String> {
    let mut args = vec![
        "--cluster".to_string(),
        cluster.to_string(),
        "--task-definition".to_string(),
        task_definition.to_string(),
    ];
    let optional = [
        ("--launch-type", &options.launch_type),
        ("--platform-version", &options.platform_version),
        ("--network-configuration", &options.network_configuration),
    ];
    for (flag, value) in optional {
        if let Some(value) = value {
            args.extend([flag.to_string(), value.clone()]);
        }
    }
    args
}

fn describe_failures(failures: &[Failure]) -> String {
    if failures.is_empty() {
        return "run-task started no task and gave no reason".to_string();
    }
    let reasons: Vec<String> = failures
        .iter()
        .map(|f| {
            let mut text = if f.reason.is_empty() {
                "unknown reason".to_string()
            } else {
                f.reason.clone()
            };
            if !f.detail.is_empty() {
                text.push_str(&format!(" ({})", f.detail));
            }
            if !f.arn.is_empty() {
                text.push_str(&format!(" on {}", f.arn));
            }
            text
        })
        .collect();
    format!("run-task started no task: {}", reasons.join("; "))
}

/// How one container ended, for stderr and the JSON report.
fn container_line(container: &Container, essential: bool) -> String {
    let code = container.exit_text();
    let kind = if essential {
        "essential"
    } else {
        "non-essential"
    };
    let mut line = format!("{} ({kind}): {code}", container.name);
    if !container.reason.is_empty() {
        line.push_str(&format!(", reason: {}", container.reason));
    }
    line
}

struct OneOff<'a, 'b> {
    deploy: &'a Deploy<'b>,
    cluster: &'a str,
    task_arn: String,
    last_status: String,
    missing_reported: bool,
}

pub fn run(deploy: &Deploy, cluster: &str, new: &Registered, options: &RunTask) -> Result<()> {
    let task_definition = new.arn.as_str();
    // Which containers must exit 0 is a property of the definition that runs (describe-tasks
    // does not say which containers are essential).
    let essential = if options.wait_for_success {
        Some(essential_containers(&new.definition)?)
    } else {
        None
    };

    deploy
        .report
        .record(|o| o.cluster = Some(cluster.to_string()));
    deploy.report.status(format!("Run task: {task_definition}"));
    let answer = deploy.aws.ecs(
        "run-task",
        &run_task_args(cluster, task_definition, options),
    )?;
    let started: Started = filters::extract(&filters::RUN_TASK_STARTED, &answer, &[])?;
    let Some(task_arn) = started.task_arn.filter(|arn| !arn.is_empty()) else {
        let why = describe_failures(&started.failures);
        deploy.report.record(|o| {
            o.status = "failed";
            o.failure_reason = Some(why.clone());
        });
        return Err(Error::Failed(why));
    };
    deploy.report.status(format!("Executed task: {task_arn}"));
    deploy
        .report
        .record(|o| o.task_arn = Some(task_arn.clone()));
    for failure in &started.failures {
        deploy.report.progress(format!(
            "note: run-task also reported a failure: {} {}",
            failure.reason, failure.arn
        ));
    }

    let Some(essential) = essential else {
        deploy
            .report
            .status(format!("Task {task_arn} executed successfully!"));
        return Ok(());
    };

    let mut one_off = OneOff {
        deploy,
        cluster,
        task_arn,
        last_status: String::new(),
        missing_reported: false,
    };
    one_off.observe_status(&started.last_status);
    match one_off.wait_until_stopped() {
        Ok(task) => one_off.judge(&task, &essential),
        Err(stop) => Err(one_off.stopped_waiting(stop)),
    }
}

fn essential_containers(definition: &Value) -> Result<HashSet<String>> {
    let names: Vec<String> =
        filters::extract(&filters::ESSENTIAL_CONTAINER_NAMES, definition, &[])?;
    Ok(names.into_iter().collect())
}

impl OneOff<'_, '_> {
    fn observe_status(&mut self, status: &str) {
        if status.is_empty() || status == self.last_status {
            return;
        }
        if self.last_status.is_empty() {
            self.deploy
                .report
                .progress(format!("Task status: {status}"));
        } else {
            self.deploy
                .report
                .progress(format!("Task status: {} -> {status}", self.last_status));
        }
        self.last_status = status.to_string();
    }

    fn wait_until_stopped(&mut self) -> std::result::Result<Task, Stop> {
        let deadline = Instant::now() + self.deploy.options.timeout;
        loop {
            if let Some(task) = self.poll()?
                && task.last_status == "STOPPED"
            {
                return Ok(task);
            }
            if Instant::now() >= deadline {
                return Err(Stop::Timeout);
            }
            let next = Instant::now() + self.deploy.options.poll_interval;
            signals::sleep_until(next.min(deadline))?;
        }
    }

    /// One describe-tasks; a transient failure is reported and yields nothing.
    fn poll(&mut self) -> std::result::Result<Option<Task>, Stop> {
        if signals::interrupted() {
            return Err(Stop::Interrupted);
        }
        let args = [
            "--cluster".to_string(),
            self.cluster.to_string(),
            "--tasks".to_string(),
            self.task_arn.clone(),
        ];
        let answer = match self.deploy.aws.poll("describe-tasks", &args) {
            Ok(answer) => answer,
            Err(e) if e.interrupted => return Err(Stop::Interrupted),
            Err(e) if e.transient => {
                self.deploy
                    .report
                    .progress(format!("describe-tasks failed, will retry: {}", e.message));
                return Ok(None);
            }
            Err(e) => return Err(Stop::Failed(e.into_error("describe-tasks"))),
        };
        let seen: Observation = filters::extract(
            &filters::ONE_OFF_TASK,
            &answer,
            &[Value::String(self.task_arn.clone())],
        )
        .map_err(|e| Stop::Failed(e.into()))?;
        match seen.task {
            Some(task) => {
                self.observe_status(&task.last_status);
                Ok(Some(task))
            }
            None => {
                // Right after run-task, ECS may not list the task yet (eventual consistency).
                if !self.missing_reported {
                    self.missing_reported = true;
                    self.deploy.report.progress(format!(
                        "describe-tasks does not show the task yet ({}); will retry",
                        seen.missing.as_deref().unwrap_or("no task in the answer")
                    ));
                }
                Ok(None)
            }
        }
    }

    /// The task stopped: it succeeded only if every essential container exited 0.
    fn judge(&self, task: &Task, essential: &HashSet<String>) -> Result<()> {
        let report = self.deploy.report;
        report.status("Task finished with status: STOPPED");
        let is_essential = |c: &Container| essential.contains(&c.name);
        let failed: Vec<&Container> = task
            .containers
            .iter()
            .filter(|c| is_essential(c) && c.exit_code != Some(0))
            .collect();
        let lines: Vec<String> = task
            .containers
            .iter()
            .map(|c| container_line(c, is_essential(c)))
            .collect();
        let never_ran = task.containers.is_empty();
        if failed.is_empty() && !never_ran {
            for container in task
                .containers
                .iter()
                .filter(|c| !is_essential(c) && c.exit_code != Some(0))
            {
                report.progress(format!(
                    "note: non-essential container {}",
                    container_line(container, false)
                ));
            }
            report.status(format!("Task {} executed successfully!", self.task_arn));
            return Ok(());
        }

        let code = failed
            .first()
            .and_then(|c| c.exit_code)
            .map_or_else(|| "null".to_string(), |c| c.to_string());
        report.status(format!("Task execution failed with exit code: {code}"));
        for line in &lines {
            report.progress(format!("  container {line}"));
        }
        let mut stopped = if task.stopped_reason.is_empty() {
            "no reason given".to_string()
        } else {
            task.stopped_reason.clone()
        };
        if !task.stop_code.is_empty() {
            stopped.push_str(&format!(" (stopCode {})", task.stop_code));
        }
        report.progress(format!("  task stopped: {stopped}"));

        let why = match failed.first() {
            Some(first) => format!(
                "task {} failed: container {}; stopped: {stopped}",
                self.task_arn,
                container_line(first, true)
            ),
            None => format!(
                "task {} stopped without reporting any container; stopped: {stopped}",
                self.task_arn
            ),
        };
        report.record(|o| {
            o.status = "failed";
            o.failure_reason = Some(why.clone());
            o.stopped_tasks.push(StoppedTask {
                task_arn: self.task_arn.clone(),
                stopped_reason: task.stopped_reason.clone(),
                containers: lines.clone(),
            });
        });
        Err(Error::Failed(why))
    }

    /// The wait ended without the task stopping: say so, and that the task goes on.
    fn stopped_waiting(&self, stop: Stop) -> Error {
        let report = self.deploy.report;
        let follow = format!(
            "aws ecs describe-tasks --cluster {} --tasks {}",
            self.cluster, self.task_arn
        );
        let (status, why, error) = match stop {
            Stop::Timeout => {
                let seconds = self.deploy.options.timeout.as_secs_f64();
                report.status(format!(
                    "ERROR: New task run took longer than {seconds} seconds"
                ));
                let why = format!(
                    "task {} had not stopped within {seconds} seconds",
                    self.task_arn
                );
                (
                    "timed_out",
                    why.clone(),
                    Error::Failed(format!("{why}; it keeps running in ECS")),
                )
            }
            Stop::Interrupted => {
                let why = "interrupted by a signal while waiting for the task".to_string();
                (
                    "failed",
                    why,
                    Error::Interrupted(format!(
                        "stopped waiting; task {} keeps running in ECS. Follow it with: {follow}",
                        self.task_arn
                    )),
                )
            }
            Stop::Failed(error) => ("failed", error.to_string(), error),
        };
        if status == "timed_out" || !signals::interrupted() {
            report.progress(format!(
                "the task keeps running in ECS: {} (follow it with: {follow})",
                self.task_arn
            ));
        }
        report.record(|o| {
            o.status = status;
            o.failure_reason = Some(why);
        });
        error
    }
}

impl From<signals::Interrupted> for Stop {
    fn from(_: signals::Interrupted) -> Stop {
        Stop::Interrupted
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_option_is_its_own_argument() {
        let options = RunTask {
            launch_type: Some("FARGATE".into()),
            platform_version: Some("1.4.0".into()),
            network_configuration: Some(r#"{"a": "b c"} $(x)"#.into()),
            wait_for_success: false,
        };
        assert_eq!(
            run_task_args("prod", "arn:td/migrate:2", &options),
            [
                "--cluster",
                "prod",
                "--task-definition",
                "arn:td/migrate:2",
                "--launch-type",
                "FARGATE",
                "--platform-version",
                "1.4.0",
                "--network-configuration",
                r#"{"a": "b c"} $(x)"#,
            ]
        );
    }

    #[test]
    fn essential_defaults_to_true() {
        let definition = json!({"containerDefinitions": [
            {"name": "a"}, {"name": "b", "essential": false}, {"name": "c", "essential": true}]});
        let names: Vec<String> =
            filters::extract(&filters::ESSENTIAL_CONTAINER_NAMES, &definition, &[]).unwrap();
        assert_eq!(names, ["a", "c"]);
    }

    #[test]
    fn run_task_failures_are_named() {
        let answer =
            json!({"tasks": [], "failures": [{"arn": "arn:ci/x", "reason": "RESOURCE:MEMORY"}]});
        let started: Started = filters::extract(&filters::RUN_TASK_STARTED, &answer, &[]).unwrap();
        assert!(started.task_arn.is_none());
        assert_eq!(
            describe_failures(&started.failures),
            "run-task started no task: RESOURCE:MEMORY on arn:ci/x"
        );
    }

    #[test]
    fn a_task_not_yet_listed_is_missing() {
        let answer = json!({"tasks": [], "failures": [{"arn": "t", "reason": "MISSING"}]});
        let seen: Observation =
            filters::extract(&filters::ONE_OFF_TASK, &answer, &[json!("t")]).unwrap();
        assert!(seen.task.is_none());
        assert_eq!(seen.missing.as_deref(), Some("MISSING"));
    }
}
