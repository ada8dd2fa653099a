//! An ECS task as `describe-tasks` reports it, and the one way a stopped task is told to
//! the user (stderr and `--output json`), for service deploys and one-off tasks alike.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    pub task_arn: String,
    pub task_definition_arn: String,
    pub last_status: TaskStatus,
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

/// Where a task is in its lifecycle (ECS's `lastStatus`). A status this tool does not know
/// is kept as ECS gave it, to be shown.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(from = "String")]
pub enum TaskStatus {
    /// ECS gave no status.
    #[default]
    Unreported,
    Provisioning,
    Pending,
    Activating,
    Running,
    Deactivating,
    Stopping,
    Deprovisioning,
    Stopped,
    Other(String),
}

impl TaskStatus {
    pub fn as_str(&self) -> &str {
        match self {
            TaskStatus::Unreported => "",
            TaskStatus::Provisioning => "PROVISIONING",
            TaskStatus::Pending => "PENDING",
            TaskStatus::Activating => "ACTIVATING",
            TaskStatus::Running => "RUNNING",
            TaskStatus::Deactivating => "DEACTIVATING",
            TaskStatus::Stopping => "STOPPING",
            TaskStatus::Deprovisioning => "DEPROVISIONING",
            TaskStatus::Stopped => "STOPPED",
            TaskStatus::Other(status) => status,
        }
    }

    /// On its way to RUNNING: its containers have not started (nor logged) yet.
    pub fn is_starting(&self) -> bool {
        matches!(
            self,
            TaskStatus::Provisioning | TaskStatus::Pending | TaskStatus::Activating
        )
    }

    /// On its way to STOPPED.
    pub fn is_stopping(&self) -> bool {
        matches!(
            self,
            TaskStatus::Deactivating | TaskStatus::Stopping | TaskStatus::Deprovisioning
        )
    }
}

impl From<String> for TaskStatus {
    fn from(status: String) -> TaskStatus {
        match status.as_str() {
            "" => TaskStatus::Unreported,
            "PROVISIONING" => TaskStatus::Provisioning,
            "PENDING" => TaskStatus::Pending,
            "ACTIVATING" => TaskStatus::Activating,
            "RUNNING" => TaskStatus::Running,
            "DEACTIVATING" => TaskStatus::Deactivating,
            "STOPPING" => TaskStatus::Stopping,
            "DEPROVISIONING" => TaskStatus::Deprovisioning,
            "STOPPED" => TaskStatus::Stopped,
            _ => TaskStatus::Other(status),
        }
    }
}

impl From<&str> for TaskStatus {
    fn from(status: &str) -> TaskStatus {
        TaskStatus::from(status.to_string())
    }
}

impl std::fmt::Display for TaskStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Task {
    pub fn is_stopped(&self) -> bool {
        self.last_status == TaskStatus::Stopped
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
            last_status: TaskStatus::Stopped,
            health_status: "UNKNOWN".into(),
            stopped_reason: stopped_reason.into(),
            stop_code: stop_code.into(),
            containers,
        }
    }

    #[test]
    fn a_status_reads_back_as_given_known_or_not() {
        for text in [
            "PENDING",
            "RUNNING",
            "STOPPED",
            "DEPROVISIONING",
            "HIBERNATING",
            "",
        ] {
            assert_eq!(TaskStatus::from(text).as_str(), text);
        }
        assert_eq!(TaskStatus::from("STOPPED"), TaskStatus::Stopped);
        assert!(TaskStatus::from("ACTIVATING").is_starting());
        assert!(TaskStatus::from("STOPPING").is_stopping());
        let unknown = TaskStatus::from("HIBERNATING");
        assert!(!unknown.is_starting() && !unknown.is_stopping());
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
