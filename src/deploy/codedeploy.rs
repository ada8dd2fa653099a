//! The CODE_DEPLOY driver's steps in a release: find each service's deployment group
//! (before anything is registered), start a CodeDeploy deployment of the new revision
//! (an AppSpec pointing the service's TargetService at it), find the deployment in
//! progress for `--wait-only`, and start a rollback. Watching is `codedeploy::watch`.

use std::time::Instant;

use super::Deploy;
use super::release::{Driven, Launched, Target, service_ref};
use crate::appspec::AppSpec;
use crate::codedeploy::discover;
use crate::codedeploy::rollback::{self, Started};
use crate::codedeploy::watch::Rollout;
use crate::codedeploy::{Created, Group, NewDeployment};
use crate::controller::Controller;
use crate::error::{Error, Result};
use crate::record::Stage;
use crate::report::CodeDeployRecord;
use crate::watch::Failure;

impl Deploy<'_> {
    /// The deployment group of each CODE_DEPLOY service (`None` for the others), found
    /// before anything changes; an error names what is missing or ambiguous.
    pub(super) fn codedeploy_groups(&self, targets: &[Target]) -> Result<Vec<Option<Group>>> {
        let options = &self.options.codedeploy;
        targets
            .iter()
            .map(|target| {
                if target.current.controller() != Controller::CodeDeploy {
                    if options.application.is_some() || options.appspec.is_some() {
                        target.report.progress(format!(
                            "note: service '{}' uses the {} deployment controller; the --codedeploy-* options do not apply to it",
                            target.name(),
                            target.current.controller().as_str()
                        ));
                    }
                    return Ok(None);
                }
                let group = discover::find_group(
                    self.clients.codedeploy,
                    &target.cluster,
                    target.name(),
                    options.application.as_deref(),
                    options.group.as_deref(),
                )?;
                let explicit = options.application.is_some() && options.group.is_some();
                if !explicit {
                    target.report.progress(format!(
                        "CodeDeploy deployment group of {}: {}/{}",
                        target.name(),
                        group.application,
                        group.name
                    ));
                }
                Ok(Some(group))
            })
            .collect()
    }

    /// The AppSpec that deploys `task_definition` to `target`: the user's, or one naming
    /// the container and port the service's load balancer sends traffic to.
    fn appspec(&self, target: &Target, task_definition: &str) -> Result<AppSpec> {
        if let Some(appspec) = &self.options.codedeploy.appspec {
            return Ok(appspec.clone().with_task_definition(task_definition));
        }
        let Some(lb) = target.current.load_balancers.first() else {
            return Err(Error::Failed(format!(
                "service '{}' has no load balancer container to route traffic to; \
                 give an AppSpec with --codedeploy-appspec",
                target.name()
            )));
        };
        Ok(AppSpec::for_service(
            task_definition,
            &lb.container_name,
            lb.container_port,
        ))
    }

    /// `--dry-run`: the AppSpec a CodeDeploy deployment would be created with.
    pub(super) fn show_codedeploy_plan(
        &self,
        target: &Target,
        group: &Group,
        task_definition: &str,
    ) -> Result<()> {
        let appspec = self.appspec(target, task_definition)?;
        let description = self.options.codedeploy.description.as_deref();
        crate::dry_run::codedeploy_plan(
            target.report,
            &group.application,
            &group.name,
            &appspec,
            description,
        );
        Ok(())
    }

    /// Step 4 for a CODE_DEPLOY service: a CodeDeploy deployment of `task_definition`.
    pub(super) fn create_deployment(
        &self,
        targets: &[Target],
        i: usize,
        group: &Group,
        task_definition: &str,
    ) -> Result<Launched> {
        let target = &targets[i];
        let report = target.report;
        // An AppSpec that cannot be made is an error before anything is sent.
        self.appspec(target, task_definition)?;
        report.record(|o| {
            o.stage.reach(Stage::UpdateSent);
            o.controller = Some(Controller::CodeDeploy.as_str().to_string());
            o.codedeploy = Some(CodeDeployRecord {
                application: group.application.clone(),
                deployment_group: group.name.clone(),
                ..CodeDeployRecord::default()
            });
        });
        let description = self.options.codedeploy.description.as_deref();
        let id = self
            .start_deployment(target, group, task_definition, description)
            .inspect_err(|_| report.record(|o| o.stage.back_to(Stage::Registered)))?;
        report.progress(format!(
            "CodeDeploy deployment {id} of {}/{} started",
            group.application, group.name
        ));
        report.record(|o| {
            o.stage.reach(Stage::Updated);
            o.deployment_id = Some(id.clone());
            if let Some(cd) = o.codedeploy.as_mut() {
                cd.deployment_id = Some(id.clone());
            }
        });
        Ok(Launched {
            target: i,
            driven: Driven::CodeDeploy(Rollout {
                service: service_ref(target),
                application: group.application.clone(),
                group: group.name.clone(),
                deployment_id: id,
                task_definition: task_definition.to_string(),
            }),
            seen: Vec::new(),
            definition: None,
        })
    }

    /// create-deployment of `task_definition` for `target` in `group`: the deployment's id,
    /// read back from the group when the answer was lost.
    fn start_deployment(
        &self,
        target: &Target,
        group: &Group,
        task_definition: &str,
        description: Option<&str>,
    ) -> Result<String> {
        let appspec = self.appspec(target, task_definition)?;
        let (content, sha256) = (appspec.content(), appspec.sha256());
        let new = NewDeployment {
            application: &group.application,
            group: &group.name,
            appspec: &content,
            sha256: &sha256,
            description,
        };
        match self.clients.codedeploy.create_deployment(&new)? {
            Created::Id(id) => Ok(id),
            Created::Lost(why) => self.find_lost_deployment(target, group, &why),
        }
    }

    /// create-deployment's answer was lost: the group's deployment in progress, read
    /// once, is the one it started (a group runs one deployment at a time).
    fn find_lost_deployment(&self, target: &Target, group: &Group, why: &str) -> Result<String> {
        let (application, name) = (&group.application, &group.name);
        let check = format!(
            "aws deploy list-deployments --application-name {application} --deployment-group-name {name} \
             --include-only-statuses Created Queued InProgress Ready Baking"
        );
        let until = Instant::now() + self.watch.side.per_call;
        let active = self
            .clients
            .codedeploy
            .active_deployments(application, name, until)
            .map_err(|e| Error::Aws {
                step: "create-deployment".into(),
                code: 255,
                message: format!(
                    "its answer was lost ({why}), and listing the group's deployments failed too ({e}): \
                     whether a deployment of {} started is unknown. Check with: {check}",
                    target.name()
                ),
            })?;
        let Some(id) = active.into_iter().next() else {
            target.report.record(|o| o.stage.back_to(Stage::Registered));
            return Err(Error::Aws {
                step: "create-deployment".into(),
                code: 255,
                message: format!(
                    "its answer was lost ({why}); read back, {application}/{name} has no deployment in progress"
                ),
            });
        };
        target.report.progress(format!(
            "note: create-deployment's answer was lost ({why}); read back, {application}/{name} runs deployment {id}: following it"
        ));
        Ok(id)
    }

    /// `--wait-only` on a CODE_DEPLOY service: its group's deployment in progress (else
    /// the one last attempted), followed without changing anything.
    pub(super) fn codedeploy_in_progress(
        &self,
        targets: &[Target],
        i: usize,
        group: &Group,
    ) -> Result<Launched> {
        let target = &targets[i];
        let until = Instant::now() + self.watch.side.per_call;
        let active =
            self.clients
                .codedeploy
                .active_deployments(&group.application, &group.name, until)?;
        let Some(id) = active
            .into_iter()
            .next()
            .or_else(|| group.last_attempted.clone())
        else {
            return Err(Error::Failed(format!(
                "CodeDeploy deployment group {}/{} of service '{}' has no deployment to follow",
                group.application,
                group.name,
                target.name()
            )));
        };
        let task_definition = target.current.task_definition.clone();
        target.report.progress(format!(
            "following CodeDeploy deployment {id} of {} ({}/{}); nothing will be changed",
            target.name(),
            group.application,
            group.name
        ));
        target.report.record(|o| {
            o.deployment_id = Some(id.clone());
            o.controller = Some(Controller::CodeDeploy.as_str().to_string());
        });
        Ok(Launched {
            target: i,
            driven: Driven::CodeDeploy(Rollout {
                service: service_ref(target),
                application: group.application.clone(),
                group: group.name.clone(),
                deployment_id: id,
                task_definition,
            }),
            seen: Vec::new(),
            definition: None,
        })
    }

    /// `--enable-rollback` for a CODE_DEPLOY service.
    pub(super) fn begin_codedeploy_rollback<'r>(
        &self,
        target: &Target<'r>,
        rollout: &Rollout,
        failure: Failure,
    ) -> std::result::Result<Started<'r>, Error> {
        let group = Group {
            application: rollout.application.clone(),
            name: rollout.group.clone(),
            ecs_services: Vec::new(),
            rolls_back_on_failure: false,
            waits_for_reroute: false,
            last_attempted: None,
        };
        let redeploy = |previous: &str| {
            self.start_deployment(target, &group, previous, Some("ecs-deploy rollback"))
        };
        let previous = target.current.task_definition.clone();
        rollback::begin(
            self.clients.codedeploy,
            target.report,
            rollout,
            &previous,
            failure,
            &redeploy,
        )
    }
}
