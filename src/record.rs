//! The record of a run: the facts that the script's status lines tell, and where each
//! service stands. A fact is recorded once ([`crate::report::Report::fact`]); its line, its
//! part of the JSON result and the "where things stand" sentence are all rendered from it.

use crate::report::{Outcome, RollbackOutcome, RolledBackBy};

/// Something that happened, as the bash script told it on stdout.
#[derive(Debug, Clone, PartialEq)]
pub enum Fact {
    UsingImage(String),
    CurrentDefinition(String),
    Registered(String),
    /// `-d` without `--run-task`: the new revision is all there is to do.
    DefinitionUpdated,
    ForcingNewDeployment,
    NewTaskCheckSkipped,
    NewTaskRunning,
    WaitingForSingleDeployment,
    DeploymentDone,
    /// Phase 1 ran out of time (seconds).
    NotRunningWithin(f64),
    RollingBack(String),
    Deregistering(String),
    /// A one-off task of this definition is asked for.
    RunTask(String),
    /// The one-off task started.
    ExecutedTask(String),
    TaskStopped,
    TaskSucceeded(String),
    /// A one-off task's first failed essential container's exit code (`null` when none).
    TaskFailed(String),
    /// The one-off task outlived the wait (seconds).
    TaskTookLonger(f64),
}

impl Fact {
    /// The script's line, word for word.
    pub fn line(&self) -> String {
        match self {
            Fact::UsingImage(image) => format!("Using image name: {image}"),
            Fact::CurrentDefinition(arn) => format!("Current task definition: {arn}"),
            Fact::Registered(arn) => format!("New task definition: {arn}"),
            Fact::DefinitionUpdated => "Task definition updated successfully".into(),
            Fact::ForcingNewDeployment => "Force a new deployment of the service".into(),
            Fact::NewTaskCheckSkipped => {
                "Skipping check for running task definition, as desired-count <= 0".into()
            }
            Fact::NewTaskRunning => {
                "Service updated successfully, new task definition running.".into()
            }
            Fact::WaitingForSingleDeployment => {
                "Waiting for service deployment to complete...".into()
            }
            Fact::DeploymentDone => "Service deployment successful.".into(),
            Fact::NotRunningWithin(seconds) => {
                format!("ERROR: New task definition not running within {seconds} seconds")
            }
            Fact::RollingBack(arn) => format!("Rolling back to {arn}"),
            Fact::Deregistering(arn) => format!("Deregistering outdated task revision: {arn}"),
            Fact::RunTask(arn) => format!("Run task: {arn}"),
            Fact::ExecutedTask(arn) => format!("Executed task: {arn}"),
            Fact::TaskStopped => "Task finished with status: STOPPED".into(),
            Fact::TaskSucceeded(arn) => format!("Task {arn} executed successfully!"),
            Fact::TaskFailed(code) => format!("Task execution failed with exit code: {code}"),
            Fact::TaskTookLonger(seconds) => {
                format!("ERROR: New task run took longer than {seconds} seconds")
            }
        }
    }

    /// What the fact adds to the result.
    pub fn apply(&self, outcome: &mut Outcome) {
        match self {
            Fact::UsingImage(image) if !outcome.images.contains(image) => {
                outcome.images.push(image.clone());
            }
            Fact::Registered(arn) => {
                outcome
                    .new_task_definition
                    .get_or_insert_with(|| arn.clone());
                outcome.stage.reach(Stage::Registered);
            }
            Fact::ExecutedTask(arn) => {
                outcome.task_arn = Some(arn.clone());
                outcome.stage.reach(Stage::TaskStarted);
            }
            _ => {}
        }
    }
}

/// How far the run went with one service (or with the task definition of `-d`): what the
/// "where things stand" sentence says after a failure or an interruption.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    #[default]
    Unchanged,
    /// The new revision is registered; no service uses it.
    Registered,
    /// A one-off task of the new revision was started.
    TaskStarted,
    /// update-service is out: whether ECS applied it is not known.
    UpdateSent,
    /// The service points at the new revision (or runs a new deployment).
    Updated,
    /// Its rollback is being asked for.
    RollbackAsked,
    /// It was pointed back at its previous revision.
    PointedBack,
}

impl Stage {
    /// Move on to `stage` (a stage is never undone, except by [`Stage::back_to`]).
    pub fn reach(&mut self, stage: Stage) {
        *self = (*self).max(stage);
    }

    /// An update known not to have been applied leaves the stage before it.
    pub fn back_to(&mut self, stage: Stage) {
        *self = stage;
    }
}

/// Where things stand, from the record: the run's result, and with several services each
/// one's. `None` when nothing was changed.
pub fn standing(run: &Outcome, services: &[Outcome]) -> Option<String> {
    match services {
        [] => one(run),
        _ => several(services),
    }
}

/// The sentence for one service, or for `-d`.
fn one(o: &Outcome) -> Option<String> {
    let new = o
        .new_task_definition
        .as_deref()
        .unwrap_or("the new revision");
    let previous = o
        .previous_task_definition
        .as_deref()
        .unwrap_or("its previous revision");
    let service = o.service.as_deref().unwrap_or("the service");
    let by_controller = o.rollback.as_ref().and_then(|r| match r.by {
        RolledBackBy::Ecs => Some(("ECS", r.outcome)),
        RolledBackBy::CodeDeploy => Some(("CodeDeploy", r.outcome)),
        RolledBackBy::EcsDeploy => None,
    });
    if let Some((who, outcome)) = by_controller
        && o.stage < Stage::RollbackAsked
    {
        return Some(match outcome {
            RollbackOutcome::Succeeded => format!("{who} rolled the service back to {previous}"),
            RollbackOutcome::InProgress => {
                format!("{who} is rolling the service back to {previous}")
            }
            RollbackOutcome::Failed => {
                format!("{who}'s rollback failed; the service may run either revision")
            }
        });
    }
    let codedeploy = o.codedeploy.as_ref();
    Some(match o.stage {
        Stage::Unchanged => return None,
        Stage::Registered if o.service.is_none() => format!("registered {new}"),
        Stage::Registered => {
            format!("{new} is registered but unused; the service still runs {previous}")
        }
        Stage::TaskStarted => format!(
            "registered {new} and started task {}",
            o.task_arn.as_deref().unwrap_or("?")
        ),
        Stage::UpdateSent => in_flight(o),
        Stage::Updated if codedeploy.is_some_and(|cd| cd.deployment_id.is_some()) => {
            let id = codedeploy
                .and_then(|cd| cd.deployment_id.as_deref())
                .unwrap_or("?");
            format!(
                "CodeDeploy deployment {id} of {new} is under way; follow it with: \
                 aws deploy get-deployment --deployment-id {id}"
            )
        }
        Stage::Updated if o.new_task_definition == o.previous_task_definition => {
            format!("a new deployment of {new} was started")
        }
        Stage::Updated => format!("the service now runs {new}"),
        Stage::RollbackAsked => {
            format!("{service} runs {new}; its rollback to {previous} is being asked for")
        }
        Stage::PointedBack => format!("the service was pointed back at {previous}"),
    })
}

/// update-service (or create-deployment) of `o`'s service is out.
fn in_flight(o: &Outcome) -> String {
    let service = o.service.as_deref().unwrap_or("the service");
    if let Some(cd) = &o.codedeploy {
        return format!(
            "create-deployment of {} for {service} was sent and may have started; \
             check with: aws deploy list-deployments --application-name {} --deployment-group-name {}",
            o.new_task_definition
                .as_deref()
                .unwrap_or("the new revision"),
            cd.application,
            cd.deployment_group
        );
    }
    format!(
        "update-service of {service} to {} was sent and may have been applied; \
         check with: aws ecs describe-services --cluster {} --services {service}",
        o.new_task_definition
            .as_deref()
            .unwrap_or("the new revision"),
        o.cluster.as_deref().unwrap_or("CLUSTER"),
    )
}

/// The sentence for the services of a release.
fn several(services: &[Outcome]) -> Option<String> {
    let name = |o: &Outcome| o.service.clone().unwrap_or_default();
    if services.iter().any(|o| o.stage >= Stage::RollbackAsked) {
        let each: Vec<String> = services
            .iter()
            .map(|o| format!("{}: {}", name(o), rollback_state(o)))
            .collect();
        return Some(each.join(", "));
    }
    let names = |wanted: &dyn Fn(Stage) -> bool| -> Vec<String> {
        services
            .iter()
            .filter(|o| wanted(o.stage))
            .map(name)
            .collect()
    };
    let updated = names(&|stage| stage == Stage::Updated);
    let not_updated = names(&|stage| stage < Stage::UpdateSent);
    if let Some(out) = services.iter().find(|o| o.stage == Stage::UpdateSent) {
        let so_far = match updated.as_slice() {
            [] => format!("not updated: {}", not_updated.join(", ")),
            _ => updated_so_far(&updated, &not_updated),
        };
        return Some(format!("{so_far}; {}", in_flight(out)));
    }
    if !updated.is_empty() {
        return Some(updated_so_far(&updated, &not_updated));
    }
    let mut registered: Vec<&str> = services
        .iter()
        .filter(|o| o.stage == Stage::Registered)
        .filter_map(|o| o.new_task_definition.as_deref())
        .collect();
    registered.dedup();
    match registered.as_slice() {
        [] => None,
        arns => Some(format!(
            "{} registered but unused; the services still run their previous revisions",
            arns.join(", ")
        )),
    }
}

fn updated_so_far(updated: &[String], not_updated: &[String]) -> String {
    match not_updated {
        [] => format!("every service was updated: {}", updated.join(", ")),
        _ => format!(
            "updated: {}; not updated: {}",
            updated.join(", "),
            not_updated.join(", ")
        ),
    }
}

/// Where one service of a release stands in the rollbacks.
fn rollback_state(o: &Outcome) -> &'static str {
    match o.rollback.as_ref().map(|r| r.outcome) {
        Some(RollbackOutcome::Succeeded) => "rolled back",
        Some(RollbackOutcome::InProgress) => "rolling back",
        Some(RollbackOutcome::Failed) => "rollback failed",
        None if o.stage == Stage::RollbackAsked => "its rollback is being asked for",
        None => "not rolled back",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NEW: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:2";

    #[test]
    fn the_script_lines_word_for_word() {
        let facts = [
            Fact::UsingImage("web-app:2.0.0".into()),
            Fact::CurrentDefinition("td/web:1".into()),
            Fact::Registered(NEW.into()),
            Fact::NewTaskCheckSkipped,
            Fact::NewTaskRunning,
            Fact::WaitingForSingleDeployment,
            Fact::DeploymentDone,
            Fact::NotRunningWithin(90.0),
            Fact::RollingBack("td/web:1".into()),
            Fact::ForcingNewDeployment,
            Fact::Deregistering("td/web:0".into()),
            Fact::DefinitionUpdated,
            Fact::RunTask("td/migrate:2".into()),
            Fact::ExecutedTask("task/abc".into()),
            Fact::TaskStopped,
            Fact::TaskFailed("3".into()),
            Fact::TaskSucceeded("task/abc".into()),
            Fact::TaskTookLonger(1.5),
        ];
        let lines: Vec<String> = facts.iter().map(Fact::line).collect();
        assert_eq!(
            lines,
            [
                "Using image name: web-app:2.0.0",
                "Current task definition: td/web:1",
                &format!("New task definition: {NEW}"),
                "Skipping check for running task definition, as desired-count <= 0",
                "Service updated successfully, new task definition running.",
                "Waiting for service deployment to complete...",
                "Service deployment successful.",
                "ERROR: New task definition not running within 90 seconds",
                "Rolling back to td/web:1",
                "Force a new deployment of the service",
                "Deregistering outdated task revision: td/web:0",
                "Task definition updated successfully",
                "Run task: td/migrate:2",
                "Executed task: task/abc",
                "Task finished with status: STOPPED",
                "Task execution failed with exit code: 3",
                "Task task/abc executed successfully!",
                "ERROR: New task run took longer than 1.5 seconds",
            ]
        );
    }

    #[test]
    fn facts_build_the_result() {
        let mut outcome = Outcome::default();
        for fact in [
            Fact::UsingImage("web-app:2.0.0".into()),
            Fact::UsingImage("web-app:2.0.0".into()),
            Fact::Registered(NEW.into()),
            Fact::ExecutedTask("task/abc".into()),
        ] {
            fact.apply(&mut outcome);
        }
        let json = serde_json::to_value(&outcome).unwrap();
        assert_eq!(json["images"], serde_json::json!(["web-app:2.0.0"]));
        assert_eq!(json["new_task_definition"], NEW);
        assert_eq!(json["task_arn"], "task/abc");
        assert_eq!(outcome.stage, Stage::TaskStarted);
    }

    fn service(name: &str, stage: Stage) -> Outcome {
        Outcome {
            cluster: Some("prod".into()),
            service: Some(name.into()),
            previous_task_definition: Some("td/web:1".into()),
            new_task_definition: Some("td/web:2".into()),
            stage,
            ..Outcome::default()
        }
    }

    #[test]
    fn where_one_service_stands() {
        let say = |stage| standing(&service("web", stage), &[]);
        assert_eq!(say(Stage::Unchanged), None);
        assert_eq!(
            say(Stage::Registered).unwrap(),
            "td/web:2 is registered but unused; the service still runs td/web:1"
        );
        assert_eq!(
            say(Stage::UpdateSent).unwrap(),
            "update-service of web to td/web:2 was sent and may have been applied; \
             check with: aws ecs describe-services --cluster prod --services web"
        );
        assert_eq!(
            say(Stage::Updated).unwrap(),
            "the service now runs td/web:2"
        );
        assert_eq!(
            say(Stage::PointedBack).unwrap(),
            "the service was pointed back at td/web:1"
        );
        let mut by_ecs = service("web", Stage::Updated);
        by_ecs.rollback = Some(crate::report::Rollback {
            by: RolledBackBy::Ecs,
            outcome: RollbackOutcome::Succeeded,
        });
        assert_eq!(
            standing(&by_ecs, &[]).unwrap(),
            "ECS rolled the service back to td/web:1"
        );
        let definition_only = Outcome {
            service: None,
            ..service("", Stage::Registered)
        };
        assert_eq!(
            standing(&definition_only, &[]).unwrap(),
            "registered td/web:2"
        );
    }

    #[test]
    fn where_each_service_of_a_release_stands() {
        let run = Outcome::default();
        let say = |services: &[Outcome]| standing(&run, services).unwrap_or_default();
        let registered = [
            service("web", Stage::Registered),
            service("worker", Stage::Registered),
        ];
        assert_eq!(
            say(&registered),
            "td/web:2 registered but unused; the services still run their previous revisions"
        );
        let halfway = [
            service("web", Stage::Updated),
            service("worker", Stage::UpdateSent),
            service("api", Stage::Registered),
        ];
        assert_eq!(
            say(&halfway),
            "updated: web; not updated: api; update-service of worker to td/web:2 was sent and \
             may have been applied; check with: aws ecs describe-services --cluster prod \
             --services worker"
        );
        let all = [
            service("web", Stage::Updated),
            service("worker", Stage::Updated),
        ];
        assert_eq!(say(&all), "every service was updated: web, worker");
        let mut back = service("web", Stage::PointedBack);
        back.rollback = Some(crate::report::Rollback {
            by: RolledBackBy::EcsDeploy,
            outcome: RollbackOutcome::Succeeded,
        });
        let rollbacks = [
            back,
            service("worker", Stage::RollbackAsked),
            service("api", Stage::Updated),
        ];
        assert_eq!(
            say(&rollbacks),
            "web: rolled back, worker: its rollback is being asked for, api: not rolled back"
        );
    }

    #[test]
    fn stages_only_move_on() {
        let mut stage = Stage::Updated;
        stage.reach(Stage::Registered);
        assert_eq!(stage, Stage::Updated);
        stage.back_to(Stage::Registered);
        assert_eq!(stage, Stage::Registered);
    }
}
