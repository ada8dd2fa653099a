//! The deploy flow, in five steps: find the current task definition, build the new one,
//! register it, point the service at it, wait. Also `-d` mode (steps 1–3, and maybe a
//! one-off task) and `--force-new-deployment` (steps 4–5 only).

use serde_json::Value;

use crate::ecs::{Ecs, NewRevision, Service, ServiceRef, ServiceUpdate, TaskDefinition};
use crate::error::{Error, Result};
use crate::image::ImageChange;
use crate::options::{Mode, Options, Revision, RunTask};
use crate::poll::Timing;
use crate::report::Report;
use crate::watch::{self, Failure, Rollout, Watch};
use crate::{dry_run, rollback, run_task, signals, taskdef};

pub struct Deploy<'a> {
    ecs: &'a dyn Ecs,
    report: &'a Report,
    options: &'a Options,
    watch: watch::Settings,
}

/// A registered revision: its ARN and the definition it was registered from.
struct Registered {
    arn: String,
    definition: Value,
}

/// After a SIGINT/SIGTERM no new change starts: the run ends before `step`.
fn stop_if_interrupted(step: &str) -> Result<()> {
    if signals::interrupted() {
        let standing = signals::standing().unwrap_or_else(|| "nothing was changed".into());
        return Err(Error::Interrupted(format!(
            "interrupted before {step}; {standing}"
        )));
    }
    Ok(())
}

impl<'a> Deploy<'a> {
    pub fn new(ecs: &'a dyn Ecs, report: &'a Report, options: &'a Options) -> Deploy<'a> {
        let watch = watch::Settings {
            timing: Timing {
                timeout: options.timeout,
                poll_interval: options.poll_interval,
            },
            skip_deployments_check: options.skip_deployments_check,
        };
        Deploy {
            ecs,
            report,
            options,
            watch,
        }
    }

    pub fn run(&self) -> Result<()> {
        let started = std::time::Instant::now();
        let result = match &self.options.mode {
            Mode::Deploy {
                cluster,
                service,
                revision,
            } => self.deploy_service(&service_ref(cluster, service), revision),
            Mode::Redeploy {
                cluster,
                service,
                ignored_images,
            } => self.force_new_deployment(&service_ref(cluster, service), ignored_images),
            Mode::WaitOnly { cluster, service } => self.wait_only(&service_ref(cluster, service)),
            Mode::Register {
                task_definition,
                revision,
                run,
            } => self.register(task_definition, revision, run.as_ref()),
        };
        self.report.record(|o| {
            o.duration_seconds = (started.elapsed().as_secs_f64() * 10.0).round() / 10.0;
        });
        result
    }

    fn announce_images(&self, images: &ImageChange) {
        let shown = images.shown();
        for image in &shown {
            self.report.status(format!("Using image name: {image}"));
        }
        self.report.record(|o| o.images = shown);
    }

    fn record_service(&self, service: &ServiceRef) {
        self.report.record(|o| {
            o.cluster = Some(service.cluster.clone());
            o.service = Some(service.name.clone());
        });
    }

    // Step 1 ---------------------------------------------------------------------------

    /// The service, if it can be deployed to: ACTIVE and on the ECS controller.
    fn deployable_service(&self, service: &ServiceRef) -> Result<Service> {
        let found = self.ecs.describe_service(service)?;
        let ServiceRef { cluster, name } = service;
        if found.status != "ACTIVE" {
            return Err(Error::Failed(format!(
                "service '{name}' in cluster '{cluster}' is {}, not ACTIVE; nothing was changed",
                found.status
            )));
        }
        if found.controller != "ECS" {
            let controller = &found.controller;
            return Err(Error::Failed(format!(
                "service '{name}' uses the {controller} deployment controller; ecs-deploy only does ECS rolling updates \
                 (deploy it through CodeDeploy or your {controller} tooling); nothing was changed"
            )));
        }
        Ok(found)
    }

    /// The definition the new revision is based on: the one given (or, with
    /// `--use-latest-task-def`, the family's newest).
    fn current_definition(
        &self,
        task_definition: &str,
        revision: &Revision,
    ) -> Result<TaskDefinition> {
        let wanted = if revision.use_latest_task_def {
            taskdef::family_of(task_definition)
        } else {
            task_definition
        };
        self.ecs
            .describe_task_definition(wanted, revision.copy_task_definition_tags)
    }

    // Steps 2 and 3 ----------------------------------------------------------------------

    /// Build the new definition and register it; `None` on a dry run.
    fn register_new_revision(
        &self,
        current: &TaskDefinition,
        revision: &Revision,
    ) -> Result<Option<Registered>> {
        let described = &current.answer;
        let base = revision.base_definition.as_ref().unwrap_or(described);
        let new = taskdef::rebuild(base, &revision.images)?;
        for change in &new.changes {
            self.report.progress(format!(
                "  {}: {} -> {}",
                change.container, change.old_image, change.new_image
            ));
        }
        if let ImageChange::TagOnly(_) = revision.images {
            let images = new.changes.iter().map(|c| c.new_image.clone()).collect();
            self.report.record(|o| o.images = images);
        }
        let mut input = new.input;
        if revision.copy_task_definition_tags {
            input = taskdef::with_tags(input, &taskdef::tags_of(described)?);
        }
        if self.options.dry_run {
            dry_run::show(self.report, described, &input, self.options.show_env_values);
            return Ok(None);
        }
        for value in taskdef::environment_values(&input) {
            crate::output::add_secret(&value);
        }
        stop_if_interrupted("register-task-definition")?;
        let arn = self.ecs.register_task_definition(&input)?;
        self.report
            .record(|o| o.new_task_definition = Some(arn.clone()));
        Ok(Some(Registered {
            arn,
            definition: input,
        }))
    }

    // -d mode --------------------------------------------------------------------------

    fn register(
        &self,
        task_definition: &str,
        revision: &Revision,
        run: Option<&RunTask>,
    ) -> Result<()> {
        self.announce_images(&revision.images);
        let current = self.current_definition(task_definition, revision)?;
        self.report
            .status(format!("Current task definition: {}", current.arn));
        self.report
            .record(|o| o.previous_task_definition = Some(current.arn.clone()));
        let Some(new) = self.register_new_revision(&current, revision)? else {
            return Ok(());
        };
        self.report
            .status(format!("New task definition: {}", new.arn));
        signals::set_standing(format!("registered {}", new.arn));
        match run {
            Some(run) => run_task::run(
                self.ecs,
                self.report,
                self.watch.timing,
                &new.arn,
                &new.definition,
                run,
            )?,
            None => self.report.status("Task definition updated successfully"),
        }
        self.prune_old_revisions(&new.arn);
        Ok(())
    }

    // The service flow -------------------------------------------------------------------

    fn deploy_service(&self, service: &ServiceRef, revision: &Revision) -> Result<()> {
        self.record_service(service);
        self.announce_images(&revision.images);
        let current = self.deployable_service(service)?;
        let base = self.current_definition(&current.task_definition, revision)?;
        self.report
            .status(format!("Current task definition: {}", base.arn));
        self.report
            .record(|o| o.previous_task_definition = Some(current.task_definition.clone()));
        let Some(new) = self.register_new_revision(&base, revision)? else {
            return Ok(());
        };
        self.report
            .status(format!("New task definition: {}", new.arn));
        signals::set_standing(format!(
            "{} is registered but unused; the service still runs {}",
            new.arn, current.task_definition
        ));
        let health_checked = taskdef::has_essential_health_check(&new.definition)?;

        stop_if_interrupted("update-service")?;
        let (rollout, seen) = self.update_service(
            service,
            &current,
            NewRevision::TaskDefinition(&new.arn),
            health_checked,
        )?;
        match Watch::new(self.ecs, self.report, self.watch, rollout.clone(), seen).new_revision() {
            Ok(()) => {
                self.prune_old_revisions(&new.arn);
                Ok(())
            }
            Err(failure) => Err(self.after_failure(failure, &current, &rollout)),
        }
    }

    /// Step 4: point the service at the new revision (or force a new deployment). The
    /// rollout to watch, and the ids of the events shown so far (no news to the user).
    fn update_service(
        &self,
        service: &ServiceRef,
        current: &Service,
        revision: NewRevision,
        health_checked: bool,
    ) -> Result<(Rollout, Vec<String>)> {
        let scaling = self.options.scaling;
        let task_definition = match revision {
            NewRevision::TaskDefinition(arn) => arn,
            NewRevision::Same => &current.task_definition,
        };
        let updated = self.ecs.update_service(&ServiceUpdate {
            service,
            revision,
            desired_count: scaling.desired_count,
            min_healthy_percent: scaling.min_healthy_percent,
            max_percent: scaling.max_percent,
        })?;
        signals::set_standing(match revision {
            NewRevision::TaskDefinition(arn) => format!("the service now runs {arn}"),
            NewRevision::Same => format!(
                "a new deployment of {} was started",
                current.task_definition
            ),
        });
        if let Some(why) = &updated.unreadable {
            self.report.progress(format!(
                "note: ECS accepted update-service, but its answer could not be read ({why}); \
                 watching the service as updated"
            ));
        }
        self.report.record(|o| {
            o.deployment_id = updated.deployment_id.clone();
            o.service_deployment_arn = updated.service_deployment.clone();
            o.strategy = Some(updated.strategy.as_str().to_string());
        });
        let seen = current
            .event_ids
            .iter()
            .chain(&updated.event_ids)
            .cloned()
            .collect();
        let rollout = Rollout::started(service, &updated, task_definition, health_checked);
        Ok((rollout, seen))
    }

    fn force_new_deployment(&self, service: &ServiceRef, ignored_images: &[String]) -> Result<()> {
        self.record_service(service);
        if !ignored_images.is_empty() {
            self.report.progress(format!(
                "note: --force-new-deployment redeploys the current task definition; ignoring -i {}",
                ignored_images.join(", -i ")
            ));
        }
        let current = self.deployable_service(service)?;
        if self.options.dry_run {
            self.report.progress(format!(
                "dry run: would force a new deployment of {} on {}",
                service.name, current.task_definition
            ));
            return Ok(());
        }
        self.report.status("Force a new deployment of the service");
        self.report.record(|o| {
            o.previous_task_definition = Some(current.task_definition.clone());
            o.new_task_definition = Some(current.task_definition.clone());
        });
        stop_if_interrupted("update-service")?;
        let (rollout, seen) = self.update_service(service, &current, NewRevision::Same, false)?;
        Watch::new(self.ecs, self.report, self.watch, rollout.clone(), seen)
            .redeploy()
            .map_err(|failure| self.after_failure(failure, &current, &rollout))
    }

    /// `--wait-only`: follow the service's newest deployment, however it was started, with
    /// the same watch as a deploy; change nothing.
    fn wait_only(&self, service: &ServiceRef) -> Result<()> {
        self.record_service(service);
        let current = self.deployable_service(service)?;
        let Some(primary) = current.primary.clone() else {
            return Err(Error::Failed(format!(
                "service '{}' in cluster '{}' has no deployment to follow",
                service.name, service.cluster
            )));
        };
        let described = self
            .ecs
            .describe_task_definition(&current.task_definition, false)?;
        let definition = &described.answer["taskDefinition"];
        let health_checked = taskdef::has_essential_health_check(definition)?;
        self.report.progress(format!(
            "following deployment {} of {} ({}); nothing will be changed",
            primary.id, service.name, current.task_definition
        ));
        self.report.record(|o| {
            o.new_task_definition = Some(current.task_definition.clone());
            o.deployment_id = Some(primary.id.clone());
            o.service_deployment_arn = current.service_deployment.clone();
            o.strategy = Some(current.strategy.as_str().to_string());
        });
        let rollout = Rollout {
            service: service.clone(),
            deployment_id: Some(primary.id),
            task_definition: current.task_definition.clone(),
            health_checked,
            desired_count: primary.desired_count,
            service_deployment: current.service_deployment.clone(),
            strategy: current.strategy,
        };
        Watch::new(
            self.ecs,
            self.report,
            self.watch,
            rollout,
            current.event_ids,
        )
        .new_revision()
        .map_err(|failure| failure.into_error(service))
    }

    /// Step 5 failed: roll back when asked, else end with the failure's own error.
    fn after_failure(&self, failure: Failure, current: &Service, rollout: &Rollout) -> Error {
        if !self.options.enable_rollback {
            return failure.into_error(&rollout.service);
        }
        rollback::roll_back(
            self.ecs,
            self.report,
            self.watch,
            &current.task_definition,
            rollout,
            failure,
        )
    }

    // After success ---------------------------------------------------------------------

    /// `--max-definitions N` after a success. The deployment already succeeded, so a
    /// failure here is a warning, not a failed run.
    fn prune_old_revisions(&self, new_arn: &str) {
        if let Err(e) = self.deregister_outdated(new_arn) {
            self.report.progress(format!(
                "warning: old revisions were not all deregistered: {e}"
            ));
        }
    }

    /// Deregister the oldest ACTIVE revisions of the family beyond N, never the one just
    /// deployed, and never another family that merely shares the prefix.
    fn deregister_outdated(&self, new_arn: &str) -> Result<()> {
        let keep = self.options.max_definitions as usize;
        if keep == 0 {
            return Ok(());
        }
        stop_if_interrupted("deregister-task-definition")?;
        let family = taskdef::family_of(new_arn);
        let listed = self.ecs.list_task_definitions(family)?;
        let arns: Vec<&String> = listed
            .iter()
            .filter(|arn| taskdef::family_of(arn) == family)
            .collect();
        let outdated = arns.len().saturating_sub(keep);
        for arn in arns
            .into_iter()
            .take(outdated)
            .filter(|arn| *arn != new_arn)
        {
            stop_if_interrupted("deregister-task-definition")?;
            self.report
                .status(format!("Deregistering outdated task revision: {arn}"));
            self.ecs.deregister_task_definition(arn)?;
        }
        Ok(())
    }
}

fn service_ref(cluster: &str, service: &str) -> ServiceRef {
    ServiceRef {
        cluster: cluster.to_string(),
        name: service.to_string(),
    }
}
