//! The deploy flow, in the spec's five steps: find the current task definition, build the
//! new one, register it, point the service at it, wait. Also `-d` mode (steps 1–3 only)
//! and `--force-new-deployment` (steps 4–5 only).

use serde_json::Value;

use crate::aws::Aws;
use crate::error::{Error, Result};
use crate::filters;
use crate::options::{ImageChange, Options, Target};
use crate::report::Report;
use crate::run_task;
use crate::taskdef;
use crate::watch::{self, Rollout};

pub struct Deploy<'a> {
    pub options: &'a Options,
    pub aws: &'a Aws,
    pub report: &'a Report,
}

/// The service as `describe-services` shows it, reduced to what the flow needs.
#[derive(Debug, Clone)]
pub struct Service {
    pub cluster: String,
    pub name: String,
    pub task_definition: String,
    /// Ids of the events the service showed before the update: not news to the user.
    pub known_events: Vec<String>,
}

/// A registered revision: its ARN and the definition it was registered from.
pub struct Registered {
    pub arn: String,
    pub definition: Value,
}

fn arg(text: &str) -> String {
    text.to_string()
}

/// `arn:aws:ecs:...:task-definition/FAMILY:REV`, `FAMILY:REV` or `FAMILY` → FAMILY.
pub fn family_of(task_definition: &str) -> &str {
    let name = task_definition
        .rsplit_once("task-definition/")
        .map_or(task_definition, |(_, rest)| rest);
    match name.rsplit_once(':') {
        Some((family, revision)) if revision.chars().all(|c| c.is_ascii_digit()) => family,
        _ => name,
    }
}

/// ECS says "Cluster not found." without naming it; say which one, and what to check.
fn name_missing_cluster(error: Error, cluster: &str) -> Error {
    match error {
        Error::Aws {
            step,
            code,
            message,
        } if message.contains("ClusterNotFound") => Error::Aws {
            step,
            code,
            message: format!(
                "cluster '{cluster}' was not found; check -c (and the region): {message}"
            ),
        },
        other => other,
    }
}

/// A SIGINT/SIGTERM that arrived before the service was touched ends the run there.
fn stop_if_interrupted(what: &str) -> Result<()> {
    if crate::signals::interrupted() {
        return Err(Error::Interrupted(format!(
            "interrupted before update-service; {what}"
        )));
    }
    Ok(())
}

impl Deploy<'_> {
    pub fn run(&self) -> Result<()> {
        let started = std::time::Instant::now();
        let result = match &self.options.target {
            Target::TaskDefinition {
                task_definition, ..
            } => self.update_task_definition(task_definition),
            Target::Service { cluster, service } if self.options.images == ImageChange::None => {
                self.force_new_deployment(cluster, service)
            }
            Target::Service { cluster, service } => self.deploy_service(cluster, service),
        };
        self.report.record(|o| {
            o.duration_seconds = (started.elapsed().as_secs_f64() * 10.0).round() / 10.0;
            o.aws_calls = self.aws.call_count();
        });
        result
    }

    fn announce_images(&self) {
        let shown: Vec<String> = match &self.options.images {
            ImageChange::Images(images) => images.iter().map(ToString::to_string).collect(),
            ImageChange::TagOnly(tag) => vec![tag.clone()],
            ImageChange::None => Vec::new(),
        };
        for image in &shown {
            self.report.status(format!("Using image name: {image}"));
        }
        self.report.record(|o| o.images = shown);
    }

    // Step 1 ---------------------------------------------------------------------------

    fn describe_service(&self, cluster: &str, service: &str) -> Result<Service> {
        let answer = self
            .aws
            .ecs(
                "describe-services",
                &[
                    arg("--cluster"),
                    arg(cluster),
                    arg("--services"),
                    arg(service),
                ],
            )
            .map_err(|e| name_missing_cluster(e, cluster))?;
        let found = filters::run(&filters::FIRST_SERVICE, &answer)?;
        if found.is_null() {
            let reason = filters::run(&filters::SERVICE_FAILURE_REASON, &answer)?;
            let reason = reason.as_str().unwrap_or("not found");
            return Err(Error::Failed(format!(
                "service '{service}' was not found in cluster '{cluster}' ({reason}); check -n and -c (and the region)"
            )));
        }
        let facts = filters::run(&filters::SERVICE_FACTS, &found)?;
        let status = facts["status"].as_str().unwrap_or("ACTIVE");
        if status != "ACTIVE" {
            return Err(Error::Failed(format!(
                "service '{service}' in cluster '{cluster}' is {status}, not ACTIVE; nothing was changed"
            )));
        }
        let controller = facts["controller"].as_str().unwrap_or("ECS");
        if controller != "ECS" {
            return Err(Error::Failed(format!(
                "service '{service}' uses the {controller} deployment controller; ecs-deploy only does ECS rolling updates \
                 (deploy it through CodeDeploy or your {controller} tooling); nothing was changed"
            )));
        }
        let known_events = filters::run(&filters::SERVICE_EVENT_IDS, &found)?
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|id| id.as_str().map(str::to_string))
            .collect();
        Ok(Service {
            cluster: cluster.to_string(),
            name: service.to_string(),
            task_definition: facts["taskDefinition"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            known_events,
        })
    }

    fn describe_task_definition(&self, task_definition: &str) -> Result<Value> {
        let mut args = vec![arg("--task-definition"), arg(task_definition)];
        if self.options.copy_task_definition_tags {
            args.extend([arg("--include"), arg("TAGS")]);
        }
        self.aws.ecs("describe-task-definition", &args)
    }

    /// The definition the new revision is based on: the service's (or, with
    /// `--use-latest-task-def`, the family's newest) and its ARN.
    fn current_definition(&self, task_definition: &str) -> Result<(Value, String)> {
        let wanted = if self.options.use_latest_task_def {
            family_of(task_definition)
        } else {
            task_definition
        };
        let described = self.describe_task_definition(wanted)?;
        let definition = filters::run(&filters::TASK_DEFINITION, &described)?;
        let arn = filters::run(&filters::TASK_DEFINITION_ARN, &definition)?;
        let arn = arn
            .as_str()
            .map_or_else(|| wanted.to_string(), str::to_string);
        Ok((described, arn))
    }

    // Steps 2 and 3 ----------------------------------------------------------------------

    /// Build the new definition and register it; `None` on a dry run.
    fn register_new_revision(&self, described: &Value) -> Result<Option<Registered>> {
        let base = self.options.base_definition.as_ref().unwrap_or(described);
        let new = taskdef::rebuild(base, &self.options.images)?;
        for change in &new.changes {
            self.report.progress(format!(
                "  {}: {} -> {}",
                change.container, change.old_image, change.new_image
            ));
        }
        if let ImageChange::TagOnly(_) = self.options.images {
            let images = new.changes.iter().map(|c| c.new_image.clone()).collect();
            self.report.record(|o| o.images = images);
        }
        let mut input = new.input;
        if self.options.copy_task_definition_tags {
            input = taskdef::with_tags(input, &taskdef::tags_of(described)?);
        }
        if self.options.dry_run {
            crate::dry_run::show(self.report, described, &input, self.options.show_env_values);
            return Ok(None);
        }
        let answer = self
            .aws
            .ecs_with_input("register-task-definition", &input, &[])?;
        let arn = filters::run(&filters::REGISTERED_ARN, &answer)?;
        let arn = arn.as_str().ok_or_else(|| Error::Aws {
            step: "register-task-definition".into(),
            code: 255,
            message: "the answer holds no taskDefinitionArn".into(),
        })?;
        self.report
            .record(|o| o.new_task_definition = Some(arn.to_string()));
        Ok(Some(Registered {
            arn: arn.to_string(),
            definition: input,
        }))
    }

    // -d mode --------------------------------------------------------------------------

    fn update_task_definition(&self, task_definition: &str) -> Result<()> {
        self.announce_images();
        let (described, current_arn) = self.current_definition(task_definition)?;
        self.report
            .status(format!("Current task definition: {current_arn}"));
        self.report
            .record(|o| o.previous_task_definition = Some(current_arn.clone()));
        let Some(new) = self.register_new_revision(&described)? else {
            return Ok(());
        };
        self.report
            .status(format!("New task definition: {}", new.arn));
        if let (
            Some(run),
            Target::TaskDefinition {
                cluster: Some(cluster),
                ..
            },
        ) = (&self.options.run_task, &self.options.target)
        {
            run_task::run(self, cluster, &new, run)?;
            return self.prune_old_revisions(&new.arn);
        }
        self.report.status("Task definition updated successfully");
        self.prune_old_revisions(&new.arn)
    }

    // The service flow -------------------------------------------------------------------

    fn deploy_service(&self, cluster: &str, service: &str) -> Result<()> {
        self.report.record(|o| {
            o.cluster = Some(cluster.to_string());
            o.service = Some(service.to_string());
        });
        self.announce_images();
        let current = self.describe_service(cluster, service)?;
        let (described, base_arn) = self.current_definition(&current.task_definition)?;
        self.report
            .status(format!("Current task definition: {base_arn}"));
        self.report
            .record(|o| o.previous_task_definition = Some(current.task_definition.clone()));
        let Some(new) = self.register_new_revision(&described)? else {
            return Ok(());
        };
        let new_arn = new.arn;
        self.report
            .status(format!("New task definition: {new_arn}"));
        let health_checked = filters::run(&filters::HAS_ESSENTIAL_HEALTH_CHECK, &new.definition)?
            .as_bool()
            .unwrap_or(false);

        stop_if_interrupted(&format!(
            "the service was not changed ({new_arn} is registered but unused)"
        ))?;
        let rollout = self.update_service(&current, Some(&new_arn), health_checked)?;
        watch::Watch::new(self, &current, rollout).wait()?;
        self.prune_old_revisions(&new_arn)
    }

    /// Step 4: point the service at the new revision (or force a new deployment).
    fn update_service(
        &self,
        service: &Service,
        new_arn: Option<&str>,
        health_checked: bool,
    ) -> Result<Rollout> {
        let mut args = vec![
            arg("--cluster"),
            arg(&service.cluster),
            arg("--service"),
            arg(&service.name),
        ];
        match new_arn {
            Some(arn) => args.extend([arg("--task-definition"), arg(arn)]),
            None => args.push(arg("--force-new-deployment")),
        }
        if let Some(count) = self.options.desired_count {
            args.extend([arg("--desired-count"), count.to_string()]);
        }
        let config: Vec<String> = [
            ("maximumPercent", self.options.max_percent),
            ("minimumHealthyPercent", self.options.min_healthy_percent),
        ]
        .iter()
        .filter_map(|(key, value)| value.map(|v| format!("{key}={v}")))
        .collect();
        if !config.is_empty() {
            args.extend([arg("--deployment-configuration"), config.join(",")]);
        }
        let answer = self.aws.ecs("update-service", &args)?;
        let rollout = watch::Rollout::from_update(
            &answer,
            new_arn.unwrap_or(&service.task_definition),
            health_checked,
        )?;
        self.report
            .record(|o| o.deployment_id = rollout.deployment_id.clone());
        Ok(rollout)
    }

    fn force_new_deployment(&self, cluster: &str, service: &str) -> Result<()> {
        self.report.record(|o| {
            o.cluster = Some(cluster.to_string());
            o.service = Some(service.to_string());
        });
        if !self.options.ignored_images.is_empty() {
            self.report.progress(format!(
                "note: --force-new-deployment redeploys the current task definition; ignoring -i {}",
                self.options.ignored_images.join(", -i ")
            ));
        }
        let current = self.describe_service(cluster, service)?;
        if self.options.dry_run {
            self.report.progress(format!(
                "dry run: would force a new deployment of {} on {}",
                service, current.task_definition
            ));
            return Ok(());
        }
        self.report.status("Force a new deployment of the service");
        self.report.record(|o| {
            o.previous_task_definition = Some(current.task_definition.clone());
            o.new_task_definition = Some(current.task_definition.clone());
        });
        stop_if_interrupted("the service was not changed")?;
        let rollout = self.update_service(&current, None, false)?;
        watch::Watch::new(self, &current, rollout).wait_for_forced()
    }

    // After success ---------------------------------------------------------------------

    /// `--max-definitions N` after a success. The deployment already succeeded, so a
    /// failure here is a warning, not a failed run.
    fn prune_old_revisions(&self, new_arn: &str) -> Result<()> {
        if let Err(e) = self.deregister_outdated(new_arn) {
            self.report.progress(format!(
                "warning: old revisions were not all deregistered: {e}"
            ));
        }
        Ok(())
    }

    /// Deregister the oldest ACTIVE revisions of the family beyond N, never the one just
    /// deployed, and never another family that merely shares the prefix.
    fn deregister_outdated(&self, new_arn: &str) -> Result<()> {
        let keep = self.options.max_definitions as usize;
        if keep == 0 {
            return Ok(());
        }
        let family = family_of(new_arn);
        let args = [
            arg("--family-prefix"),
            arg(family),
            arg("--status"),
            arg("ACTIVE"),
            arg("--sort"),
            arg("ASC"),
        ];
        let answer = self.aws.ecs("list-task-definitions", &args)?;
        let listed = filters::run(&filters::TASK_DEFINITION_ARNS, &answer)?;
        let arns: Vec<&str> = listed
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter(|arn| family_of(arn) == family)
            .collect();
        let outdated = arns.len().saturating_sub(keep);
        for arn in arns.iter().take(outdated).filter(|arn| **arn != new_arn) {
            self.report
                .status(format!("Deregistering outdated task revision: {arn}"));
            self.aws.ecs(
                "deregister-task-definition",
                &[arg("--task-definition"), arg(arn)],
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::family_of;

    #[test]
    fn family_from_any_form() {
        assert_eq!(
            family_of("arn:aws:ecs:us-east-1:123456789012:task-definition/web:12"),
            "web"
        );
        assert_eq!(family_of("web:3"), "web");
        assert_eq!(family_of("web"), "web");
        assert_eq!(family_of("my-app-v2"), "my-app-v2");
    }
}
