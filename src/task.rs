//! An ECS task as `describe-tasks` reports it (through `filters::TASKS_OF_REVISION` or
//! `filters::ONE_OFF_TASK`); shared by the service watch (stopped tasks of a rollout) and
//! one-off tasks (`--run-task`).

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    pub task_arn: String,
    pub last_status: String,
    pub health_status: String,
    pub stopped_reason: String,
    pub stop_code: String,
    pub containers: Vec<Container>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    pub name: String,
    pub exit_code: Option<i64>,
    pub reason: String,
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
