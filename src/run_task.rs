//! One-off tasks: `--run-task` (with `-d`), optionally waiting for success.
//!
//! The new revision is started once with `run-task`, every option a separate argument (no
//! shell ever sees them). With `--wait-for-success` the task is polled until it stops, and
//! it succeeded only when every essential container of the registered definition exited 0.

use std::collections::HashSet;
use std::time::Instant;

use serde_json::Value;

use crate::cadence::Pace;
use crate::ecs::{Ecs, RunFailure, RunTaskRequest};
use crate::error::{Error, Result};
use crate::logs::{self, Follower, LogReader};
use crate::options::RunTask;
use crate::poll::{Outcome, Poller, Start, Stop, Timing};
use crate::record::Fact;
use crate::report::{Report, Status};
use crate::signals;
use crate::task::{Container, StoppedTask, Task, TaskStatus};
use crate::{console, taskdef};

fn describe_failures(failures: &[RunFailure]) -> String {
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

struct OneOff<'a> {
    ecs: &'a dyn Ecs,
    logs: Option<(LogReader<'a>, Follower)>,
    report: &'a Report,
    settings: Timing,
    cluster: &'a str,
    task_arn: String,
    /// The last status shown.
    last_status: Option<TaskStatus>,
    missing_reported: bool,
}

/// Start the registered revision `task_definition` once; with `--wait-for-success`,
/// follow it until it stops and judge its essential containers' exit codes.
pub fn run(
    ecs: &dyn Ecs,
    logs: LogReader,
    report: &Report,
    settings: Timing,
    task_definition: &str,
    definition: &Value,
    options: &RunTask,
) -> Result<()> {
    // Which containers must exit 0 is a property of the definition that runs (describe-tasks
    // does not say which containers are essential).
    let essential: Option<HashSet<String>> = if options.wait_for_success {
        Some(
            taskdef::essential_containers(definition)?
                .into_iter()
                .collect(),
        )
    } else {
        None
    };

    let cluster = options.cluster.as_str();
    report.record(|o| o.cluster = Some(cluster.to_string()));
    if signals::interrupted() {
        return Err(Error::Interrupted(format!(
            "interrupted before run-task; registered {task_definition}, started no task"
        )));
    }
    report.fact(Fact::RunTask(task_definition.to_string()));
    let started = ecs.run_task(&RunTaskRequest {
        cluster,
        task_definition,
        launch_type: options.launch_type.as_deref(),
        platform_version: options.platform_version.as_deref(),
        network_configuration: options.network_configuration.as_deref(),
    })?;
    let Some(task_arn) = started.task_arn.filter(|arn| !arn.is_empty()) else {
        let why = describe_failures(&started.failures);
        report.fail(Status::Failed, why.clone());
        return Err(Error::Failed(why));
    };
    report.fact(Fact::ExecutedTask(task_arn.clone()));
    for failure in &started.failures {
        report.progress(format!(
            "note: run-task also reported a failure: {} {}",
            failure.reason, failure.arn
        ));
    }

    let Some(essential) = essential else {
        report.fact(Fact::TaskSucceeded(task_arn));
        return Ok(());
    };

    let follower = follow_logs(report, logs, definition, &task_arn)?;
    let mut one_off = OneOff {
        ecs,
        logs: follower.map(|follower| (logs, follower)),
        report,
        settings,
        cluster,
        task_arn,
        last_status: None,
        missing_reported: false,
    };
    one_off.observe_status(&started.last_status);
    let waited = one_off.wait_until_stopped();
    one_off.last_log_lines();
    match waited {
        Ok(task) => one_off.judge(&task, &essential),
        Err(stop) => Err(one_off.stopped_waiting(stop)),
    }
}

/// A follower of the essential containers' logs, unless log reading is off; a note for
/// each container whose logs cannot be found.
fn follow_logs(
    report: &Report,
    logs: LogReader,
    definition: &Value,
    task_arn: &str,
) -> Result<Option<Follower>> {
    if logs.lines == 0 {
        return Ok(None);
    }
    let (targets, notes) = logs::essential_targets(definition, task_arn)?;
    for note in notes {
        report.progress(format!("note: {note}"));
    }
    Ok((!targets.is_empty()).then(|| Follower::new(targets)))
}

impl OneOff<'_> {
    fn show_console_link(&self) {
        if let Some(url) = console::task(&self.task_arn, self.cluster) {
            self.report.progress(format!("console: {url}"));
            self.report.record(|o| o.console_url = Some(url));
        }
    }

    /// Print what the followed containers logged since the last look; the reads end by
    /// `until` (`None`: within their budget, and a poll before `deadline`).
    fn stream_logs(&mut self, deadline: Instant, until: Option<Instant>) {
        let Some((reader, follower)) = &mut self.logs else {
            return;
        };
        let interval = self.settings.poll_interval;
        let until = until.unwrap_or_else(|| reader.budget.until(deadline, interval));
        let polled = follower.poll(reader.source, until);
        for line in polled.lines {
            self.report
                .progress(format!("{} | {}", line.container, line.text));
        }
        for note in polled.notes {
            self.report.progress(format!("note: {note}"));
        }
    }

    /// After the wait: the lines logged since the last poll, and a note for each
    /// container whose stream never appeared.
    fn last_log_lines(&mut self) {
        if signals::interrupted() {
            return;
        }
        let Some((reader, _)) = &self.logs else {
            return;
        };
        let until = reader.budget.from_now();
        self.stream_logs(until, Some(until));
        if let Some((_, follower)) = &self.logs {
            for note in follower.never_found() {
                self.report.progress(format!("note: {note}"));
            }
        }
    }

    /// Show a new status of the task; how it moved the task on.
    fn observe_status(&mut self, status: &TaskStatus) -> Pace {
        if *status == TaskStatus::Unreported || self.last_status.as_ref() == Some(status) {
            return Pace::Quiet;
        }
        match &self.last_status {
            None => self.report.progress(format!("Task status: {status}")),
            Some(last) => self
                .report
                .progress(format!("Task status: {last} -> {status}")),
        }
        self.last_status = Some(status.clone());
        match status.is_stopping() {
            true => Pace::Near,
            false => Pace::Moving,
        }
    }

    fn wait_until_stopped(&mut self) -> std::result::Result<Task, Stop> {
        let deadline = Instant::now() + self.settings.timeout;
        let mut poller = Poller::new(self.report, self.settings.poll_interval, Start::AfterChange);
        poller.until(deadline, || {
            let arns = [self.task_arn.clone()];
            let described = self.ecs.describe_tasks(self.cluster, &arns, deadline)?;
            let Some(task) = described
                .tasks
                .into_iter()
                .find(|task| task.task_arn == self.task_arn)
            else {
                // Right after run-task, ECS may not list the task yet (eventual consistency).
                if !self.missing_reported {
                    self.missing_reported = true;
                    self.report.progress(format!(
                        "describe-tasks does not show the task yet ({}); will retry",
                        described
                            .missing
                            .first()
                            .map_or("no task in the answer", String::as_str)
                    ));
                }
                return Ok(Outcome::Waiting(Pace::Quiet));
            };
            let pace = self.observe_status(&task.last_status);
            // Containers log once they run: no log is read while the task is still starting.
            if !task.is_stopped() && !task.last_status.is_starting() {
                self.stream_logs(deadline, None);
            }
            Ok(match task.is_stopped() {
                true => Outcome::Done(task, pace),
                false => Outcome::Waiting(pace),
            })
        })
    }

    /// The task stopped: it succeeded only if every essential container exited 0.
    fn judge(&self, task: &Task, essential: &HashSet<String>) -> Result<()> {
        let report = self.report;
        report.fact(Fact::TaskStopped);
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
            report.fact(Fact::TaskSucceeded(self.task_arn.clone()));
            return Ok(());
        }

        let code = failed
            .first()
            .and_then(|c| c.exit_code)
            .map_or_else(|| "null".to_string(), |c| c.to_string());
        report.fact(Fact::TaskFailed(code));
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
        report.fail(Status::Failed, why.clone());
        report.record(|o| o.stopped_tasks.push(StoppedTask::from(task)));
        self.show_console_link();
        Err(Error::Failed(why))
    }

    /// The wait ended without the task stopping: say so, and that the task goes on.
    fn stopped_waiting(&self, stop: Stop) -> Error {
        let report = self.report;
        let follow = format!(
            "aws ecs describe-tasks --cluster {} --tasks {}",
            self.cluster, self.task_arn
        );
        let (status, why, error) = match stop {
            Stop::Timeout => {
                let seconds = self.settings.timeout.as_secs_f64();
                report.fact(Fact::TaskTookLonger(seconds));
                let why = format!(
                    "task {} had not stopped within {seconds} seconds",
                    self.task_arn
                );
                (
                    Status::TimedOut,
                    why.clone(),
                    Error::Failed(format!("{why}; it keeps running in ECS")),
                )
            }
            Stop::Interrupted => {
                let why = "interrupted by a signal while waiting for the task".to_string();
                (
                    Status::Failed,
                    why,
                    Error::Interrupted(format!(
                        "stopped waiting; task {} keeps running in ECS. Follow it with: {follow}",
                        self.task_arn
                    )),
                )
            }
            Stop::Failed(why) => (Status::Failed, why.clone(), Error::Failed(why)),
            Stop::Aws(e) => {
                let error = Error::from(e);
                (Status::Failed, error.to_string(), error)
            }
        };
        if status == Status::TimedOut || !signals::interrupted() {
            report.progress(format!(
                "the task keeps running in ECS: {} (follow it with: {follow})",
                self.task_arn
            ));
            self.show_console_link();
        }
        report.fail(status, why);
        error
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::ecs::DescribedTasks;
    use crate::ecs::scripted::{self, ScriptedEcs};
    use serde_json::json;

    const ARN: &str = "arn:aws:ecs:us-east-1:1:task/prod/t1";

    fn one_off<'a>(ecs: &'a ScriptedEcs, report: &'a Report, timeout_ms: u64) -> OneOff<'a> {
        OneOff {
            ecs,
            logs: None,
            report,
            settings: Timing {
                timeout: Duration::from_millis(timeout_ms),
                poll_interval: Duration::ZERO,
            },
            cluster: "prod",
            task_arn: ARN.into(),
            last_status: None,
            missing_reported: false,
        }
    }

    fn seen(status: &str, exit_codes: &[(&str, Option<i64>)]) -> DescribedTasks {
        let mut task = scripted::task(ARN, "td/migrate:2", status, "UNKNOWN");
        task.containers = exit_codes
            .iter()
            .map(|(name, exit_code)| Container {
                name: name.to_string(),
                exit_code: *exit_code,
                reason: String::new(),
            })
            .collect();
        DescribedTasks {
            tasks: vec![task],
            missing: vec![],
        }
    }

    fn essential(names: &[&str]) -> HashSet<String> {
        names.iter().map(|name| name.to_string()).collect()
    }

    #[test]
    fn the_wait_follows_the_task_until_it_stops() {
        let ecs = ScriptedEcs::default();
        ecs.described.lock().unwrap().extend([
            Ok(DescribedTasks {
                tasks: vec![],
                missing: vec!["MISSING".into()],
            }),
            Err(scripted::throttled("describe-tasks")),
            Ok(seen("PENDING", &[])),
            Ok(seen("RUNNING", &[])),
            Ok(seen("STOPPED", &[("app", Some(0))])),
        ]);
        let report = Report::captured();
        let mut waiting = one_off(&ecs, &report, 5_000);
        let task = waiting.wait_until_stopped().unwrap();
        assert!(task.is_stopped());
        assert_eq!(ecs.calls().len(), 5);
        assert_eq!(
            report.lines(),
            [
                "> describe-tasks does not show the task yet (MISSING); will retry",
                "> describe-tasks failed (transient), will retry: An error occurred (ThrottlingException): Rate exceeded",
                "> Task status: PENDING",
                "> Task status: PENDING -> RUNNING",
                "> Task status: RUNNING -> STOPPED",
            ]
        );
    }

    #[test]
    fn every_essential_container_must_exit_0() {
        let ecs = ScriptedEcs::default();
        let report = Report::captured();
        let waiting = one_off(&ecs, &report, 5_000);
        let done = seen("STOPPED", &[("app", Some(0)), ("log", Some(1))]);
        assert!(waiting.judge(&done.tasks[0], &essential(&["app"])).is_ok());
        let failed = waiting
            .judge(&done.tasks[0], &essential(&["app", "log"]))
            .unwrap_err();
        assert!(
            failed
                .to_string()
                .contains("container log (essential): exit code 1")
        );
        assert_eq!(
            report.outcome().stopped_tasks,
            [StoppedTask {
                task_arn: ARN.into(),
                stopped_reason: "no reason given".into(),
                containers: vec!["app: exit code 0".into(), "log: exit code 1".into()],
            }]
        );
        assert!(
            report
                .lines()
                .contains(&"Task execution failed with exit code: 1".to_string())
        );
    }

    #[test]
    fn a_task_that_never_ran_a_container_failed() {
        let ecs = ScriptedEcs::default();
        let report = Report::captured();
        let never_ran = seen("STOPPED", &[]);
        let error = one_off(&ecs, &report, 5_000)
            .judge(&never_ran.tasks[0], &essential(&["app"]))
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("stopped without reporting any container")
        );
    }

    #[test]
    fn a_timeout_says_the_task_keeps_running() {
        let ecs = ScriptedEcs::default();
        ecs.described
            .lock()
            .unwrap()
            .push_back(Ok(seen("RUNNING", &[])));
        let report = Report::captured();
        let mut waiting = one_off(&ecs, &report, 20);
        let stop = waiting.wait_until_stopped().unwrap_err();
        let error = waiting.stopped_waiting(stop);
        assert_eq!(error.exit_code(), 1);
        assert_eq!(report.outcome().status, Status::TimedOut);
        assert!(
            report
                .lines()
                .contains(&"ERROR: New task run took longer than 0.02 seconds".to_string())
        );
    }

    #[test]
    fn run_task_failures_are_named() {
        let failures = [RunFailure {
            arn: "arn:ci/x".into(),
            reason: "RESOURCE:MEMORY".into(),
            detail: String::new(),
        }];
        assert_eq!(
            describe_failures(&failures),
            "run-task started no task: RESOURCE:MEMORY on arn:ci/x"
        );
        assert_eq!(
            describe_failures(&[]),
            "run-task started no task and gave no reason"
        );
    }

    #[test]
    fn essential_containers_come_from_the_definition() {
        let definition =
            json!({"containerDefinitions": [{"name": "a"}, {"name": "b", "essential": false}]});
        assert_eq!(taskdef::essential_containers(&definition).unwrap(), ["a"]);
    }
}
