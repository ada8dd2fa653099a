//! An ECS task as `describe-tasks` reports it, and the one way a stopped task is told to
//! the user (stderr and `--output json`), for service deploys and one-off tasks alike.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    pub task_arn: String,
    pub task_definition_arn: String,
    pub last_status: String,
    pub health_status: String,
    #[serde(deserialize_with = "crate::secrets::masked")]
    pub stopped_reason: String,
    pub stop_code: String,
    pub containers: Vec<Container>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    pub name: String,
    pub exit_code: Option<i64>,
    #[serde(deserialize_with = "crate::secrets::masked")]
    pub reason: String,
}

impl Task {
    pub fn is_stopped(&self) -> bool {
        self.last_status == "STOPPED"
    }

    pub fn is_healthy(&self) -> bool {
        self.health_status == "HEALTHY"
    }

    /// The last part of the ARN, as the console and ECS's events show a task.
    pub fn short_id(&self) -> &str {
        self.task_arn.rsplit('/').next().unwrap_or(&self.task_arn)
    }
}

impl Container {
    /// "exit code N", or "no exit code" when the container never ran (e.g. a pull error).
    pub fn exit_text(&self) -> String {
        self.exit_code.map_or_else(
            || "no exit code".to_string(),
            |code| format!("exit code {code}"),
        )
    }
}

/// A stopped task as reported to the user.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct StoppedTask {
    pub task_arn: String,
    /// ECS's stoppedReason, else its stopCode, else "no reason given".
    pub stopped_reason: String,
    /// `NAME: exit code N (REASON)` for each container.
    pub containers: Vec<String>,
}

impl From<&Task> for StoppedTask {
    fn from(task: &Task) -> StoppedTask {
        let containers = task
            .containers
            .iter()
            .map(|c| {
                let exit = c.exit_text();
                if c.reason.is_empty() {
                    format!("{}: {exit}", c.name)
                } else {
                    format!("{}: {exit} ({})", c.name, c.reason)
                }
            })
            .collect();
        let stopped_reason = [&task.stopped_reason, &task.stop_code]
            .into_iter()
            .find(|text| !text.is_empty())
            .map_or_else(|| "no reason given".to_string(), String::clone);
        StoppedTask {
            task_arn: task.task_arn.clone(),
            stopped_reason,
            containers,
        }
    }
}

impl StoppedTask {
    /// The stderr line: `task ID stopped: REASON [NAME: exit code N; ...]`.
    pub fn line(&self) -> String {
        let id = self.task_arn.rsplit('/').next().unwrap_or(&self.task_arn);
        let containers = if self.containers.is_empty() {
            String::new()
        } else {
            format!(" [{}]", self.containers.join("; "))
        };
        format!("task {id} stopped: {}{containers}", self.stopped_reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(stopped_reason: &str, stop_code: &str, containers: Vec<Container>) -> Task {
        Task {
            task_arn: "arn:aws:ecs:us-east-1:1:task/prod/abc123".into(),
            task_definition_arn: "arn:aws:ecs:us-east-1:1:task-definition/web:2".into(),
            last_status: "STOPPED".into(),
            health_status: "UNKNOWN".into(),
            stopped_reason: stopped_reason.into(),
            stop_code: stop_code.into(),
            containers,
        }
    }

    #[test]
    fn a_stopped_task_names_its_reason_and_every_container() {
        let containers = vec![
            Container {
                name: "app".into(),
                exit_code: Some(1),
                reason: String::new(),
            },
            Container {
                name: "sidecar".into(),
                exit_code: None,
                reason: "CannotPullContainerError".into(),
            },
        ];
        let stopped =
            StoppedTask::from(&task("Essential container in task exited", "", containers));
        assert_eq!(
            stopped.line(),
            "task abc123 stopped: Essential container in task exited \
             [app: exit code 1; sidecar: no exit code (CannotPullContainerError)]"
        );
    }

    #[test]
    fn the_reason_falls_back_to_the_stop_code() {
        let by_code = StoppedTask::from(&task("", "TaskFailedToStart", vec![]));
        assert_eq!(by_code.stopped_reason, "TaskFailedToStart");
        assert_eq!(by_code.line(), "task abc123 stopped: TaskFailedToStart");
        let nothing = StoppedTask::from(&task("", "", vec![]));
        assert_eq!(nothing.stopped_reason, "no reason given");
    }
}
