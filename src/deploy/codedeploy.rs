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
use crate::codedeploy::{CodeDeploy, Created, Group, NewDeployment};
use crate::controller::Controller;
use crate::error::{Error, Result};
use crate::record::Stage;
use crate::report::CodeDeployRecord;
use crate::watch::Failure;

/// A CODE_DEPLOY service whose deployment group is to be found.
struct Sought<'t> {
    cluster: &'t str,
    service: &'t str,
}

/// The group of each service sought (`None` where none is), in order, found one after
/// another in one catalog (each listing read once); the first that cannot be found ends
/// the list with its error.
fn find_groups(
    codedeploy: &dyn CodeDeploy,
    sought: &[Option<Sought>],
    application: Option<&str>,
    group: Option<&str>,
) -> Vec<Result<Option<Group>>> {
    let catalog = discover::Catalog::new(codedeploy);
    let mut found = Vec::with_capacity(sought.len());
    for service in sought {
        let one = match service {
            None => Ok(None),
            Some(s) => catalog
                .find(s.cluster, s.service, application, group)
                .map(Some),
        };
        let failed = one.is_err();
        found.push(one);
        if failed {
            break;
        }
    }
    found
}

impl Deploy<'_> {
    /// The deployment group of each CODE_DEPLOY service (`None` for the others), found
    /// before anything changes; an error names what is missing or ambiguous.
    pub(super) fn codedeploy_groups(&self, targets: &[Target]) -> Result<Vec<Option<Group>>> {
        let find = self.group_finder(targets);
        self.announced_groups(targets, find())
    }

    /// [`Self::codedeploy_groups`], found on a thread of their own while `read` runs on
    /// this one: the groups depend only on the services as described, so the reads that
    /// come next need not wait for them. Both answers are in when this returns, and
    /// nothing is shown before then, so the lines come in the same order either way.
    pub(super) fn codedeploy_groups_beside<T>(
        &self,
        targets: &[Target],
        read: impl FnOnce() -> T,
    ) -> (Result<Vec<Option<Group>>>, T) {
        let codedeploy = |t: &Target| t.current.controller() == Controller::CodeDeploy;
        if !targets.iter().any(codedeploy) {
            let answer = read();
            return (self.codedeploy_groups(targets), answer);
        }
        let find = self.group_finder(targets);
        std::thread::scope(|scope| {
            let finding = scope.spawn(find);
            let answer = read();
            let found = finding
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (self.announced_groups(targets, found), answer)
        })
    }

    /// What finds the groups of `targets`, holding only what it needs of `self`, so that
    /// it can run on a thread of its own.
    fn group_finder<'s>(
        &'s self,
        targets: &'s [Target],
    ) -> impl FnOnce() -> Vec<Result<Option<Group>>> + Send + 's {
        let sought: Vec<Option<Sought>> = targets
            .iter()
            .map(|target| {
                (target.current.controller() == Controller::CodeDeploy).then(|| Sought {
                    cluster: &target.cluster,
                    service: target.name(),
                })
            })
            .collect();
        let codedeploy = self.clients.codedeploy;
        let options = &self.options.codedeploy;
        let (application, group) = (options.application.as_deref(), options.group.as_deref());
        move || find_groups(codedeploy, &sought, application, group)
    }

    /// The groups `found`, each shown unless the user named it (and, for a service of
    /// another controller, a note when `--codedeploy-*` options were given); the first
    /// error ends the list, and is the answer.
    fn announced_groups(
        &self,
        targets: &[Target],
        found: Vec<Result<Option<Group>>>,
    ) -> Result<Vec<Option<Group>>> {
        let options = &self.options.codedeploy;
        let explicit = options.application.is_some() && options.group.is_some();
        targets
            .iter()
            .zip(found)
            .map(|(target, found)| {
                let group = found?;
                match &group {
                    None if options.application.is_some() || options.appspec.is_some() => {
                        target.report.progress(format!(
                            "note: service '{}' uses the {} deployment controller; the --codedeploy-* options do not apply to it",
                            target.name(),
                            target.current.controller().as_str()
                        ));
                    }
                    Some(group) if !explicit => {
                        target.report.progress(format!(
                            "CodeDeploy deployment group of {}: {}/{}",
                            target.name(),
                            group.application,
                            group.name
                        ));
                    }
                    None | Some(_) => {}
                }
                Ok(group)
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
