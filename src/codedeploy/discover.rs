//! Finding the deployment group that deploys a service: the one the user named, or the one
//! whose `ecsServices` holds the service. CodeDeploy has no lookup by service, so the
//! applications and their groups are listed, read and matched here; the calls go through
//! the [`CodeDeploy`] trait, so this is pure but for them.
//!
//! What is searched, by what is given:
//! - `--codedeploy-application A --codedeploy-deployment-group G`: one
//!   `batch-get-deployment-groups`; G must deploy the service.
//! - the application alone: its groups (`list-deployment-groups`, then
//!   `batch-get-deployment-groups` in batches of 100).
//! - the group alone: every application's group of that name (`list-applications`, a
//!   `list-deployment-groups` per application, a `batch-get-deployment-groups` of G where
//!   an application has it). Naming the group is enough when its name is unique, which
//!   saves the user from looking up an application name that says nothing more.
//! - neither: every group of every application: `list-applications`, then per application
//!   one `list-deployment-groups` and one `batch-get-deployment-groups` (per 100 groups).
//!   Applications of other compute platforms have groups without `ecsServices`: they never
//!   match. Every call costs the CLI's start-up, so in an account with many applications
//!   naming the group (and its application) is much faster.
//!
//! Exactly one group must deploy the service; none, or several, is an error (exit 1) that
//! says what was searched, or lists the candidates as `application/group`. The services
//! of one release are looked up in one [`Catalog`], which reads each listing and group
//! once, however many services search it.

use std::cell::RefCell;
use std::collections::HashMap;

use crate::arn;
use crate::codedeploy::{CodeDeploy, Group};
use crate::error::{Error, Result};

/// How many names a message lists before it only says how many more there are.
const LISTED: usize = 10;

/// The service being deployed, by names (`-c` and `-n` may be ARNs).
struct Wanted<'a> {
    cluster: &'a str,
    service: &'a str,
}

impl Wanted<'_> {
    fn deployed_by(&self, group: &Group) -> bool {
        group.ecs_services.iter().any(|deployed| {
            arn::cluster_name(&deployed.cluster) == self.cluster
                && arn::service_name(&deployed.service).1 == self.service
        })
    }
}

impl std::fmt::Display for Wanted<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "service '{}' of cluster '{}'",
            self.service, self.cluster
        )
    }
}

/// `names` as a list for a message: at most [`LISTED`], then how many more.
fn listed(names: &[String]) -> String {
    let mut shown = names
        .iter()
        .take(LISTED)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > LISTED {
        shown.push_str(&format!(" and {} more", names.len() - LISTED));
    }
    shown
}

/// `N things: a, b` for a message.
fn counted(names: &[String], one: &str, many: &str) -> String {
    let noun = if names.len() == 1 { one } else { many };
    match names.len() {
        0 => format!("0 {many}"),
        n => format!("{n} {noun}: {}", listed(names)),
    }
}

/// What a group deploys, for a message.
fn deploys(group: &Group) -> String {
    let services: Vec<String> = group
        .ecs_services
        .iter()
        .map(|s| format!("service '{}' of cluster '{}'", s.service, s.cluster))
        .collect();
    if services.is_empty() {
        "deploys no ECS service".to_string()
    } else {
        format!("deploys {}", services.join(", "))
    }
}

/// `application/group`.
fn candidate(group: &Group) -> String {
    format!("{}/{}", group.application, group.name)
}

/// CodeDeploy's applications and deployment groups as far as they have been read: each
/// listing, and each group, is read once.
pub struct Catalog<'a> {
    cd: &'a dyn CodeDeploy,
    applications: RefCell<Option<Vec<String>>>,
    group_names: RefCell<HashMap<String, Vec<String>>>,
    groups: RefCell<HashMap<(String, String), Group>>,
}

impl<'a> Catalog<'a> {
    pub fn new(cd: &'a dyn CodeDeploy) -> Catalog<'a> {
        Catalog {
            cd,
            applications: RefCell::new(None),
            group_names: RefCell::new(HashMap::new()),
            groups: RefCell::new(HashMap::new()),
        }
    }

    /// The deployment group that deploys `service` (a name or an ARN) of `cluster` (a
    /// name or an ARN): the one named by `application` and `group`, or the only one found
    /// (see the module's documentation for what is searched).
    pub fn find(
        &self,
        cluster: &str,
        service: &str,
        application: Option<&str>,
        group: Option<&str>,
    ) -> Result<Group> {
        let wanted = Wanted {
            cluster: arn::cluster_name(cluster),
            service: arn::service_name(service).1,
        };
        match (application, group) {
            (Some(application), Some(group)) => named(self, &wanted, application, group),
            (Some(application), None) => of_application(self, &wanted, application),
            (None, Some(group)) => by_group_name(self, &wanted, group),
            (None, None) => anywhere(self, &wanted),
        }
    }

    fn list_applications(&self) -> Result<Vec<String>> {
        if let Some(known) = &*self.applications.borrow() {
            return Ok(known.clone());
        }
        let listed = self.cd.list_applications()?;
        *self.applications.borrow_mut() = Some(listed.clone());
        Ok(listed)
    }

    fn list_deployment_groups(&self, application: &str) -> Result<Vec<String>> {
        if let Some(known) = self.group_names.borrow().get(application) {
            return Ok(known.clone());
        }
        let listed = self.cd.list_deployment_groups(application)?;
        self.group_names
            .borrow_mut()
            .insert(application.to_string(), listed.clone());
        Ok(listed)
    }

    /// The groups `names` of `application`, in that order; only those not read before are
    /// asked for.
    fn deployment_groups(&self, application: &str, names: &[String]) -> Result<Vec<Group>> {
        let key = |name: &str| (application.to_string(), name.to_string());
        let unread: Vec<String> = {
            let groups = self.groups.borrow();
            names
                .iter()
                .filter(|name| !groups.contains_key(&key(name)))
                .cloned()
                .collect()
        };
        if !unread.is_empty() {
            let read = self.cd.deployment_groups(application, &unread)?;
            let mut groups = self.groups.borrow_mut();
            for group in read {
                groups.insert(key(&group.name), group);
            }
        }
        let groups = self.groups.borrow();
        Ok(names
            .iter()
            .filter_map(|name| groups.get(&key(name)).cloned())
            .collect())
    }
}

/// [`Catalog::find`] for one service.
pub fn find_group(
    cd: &dyn CodeDeploy,
    cluster: &str,
    service: &str,
    application: Option<&str>,
    group: Option<&str>,
) -> Result<Group> {
    Catalog::new(cd).find(cluster, service, application, group)
}

/// The group named, if it deploys the service.
fn named(cd: &Catalog, wanted: &Wanted, application: &str, name: &str) -> Result<Group> {
    let group = cd
        .deployment_groups(application, &[name.to_string()])?
        .into_iter()
        .next()
        .ok_or_else(|| {
            Error::Failed(format!(
                "CodeDeploy did not describe deployment group '{application}/{name}'"
            ))
        })?;
    if wanted.deployed_by(&group) {
        return Ok(group);
    }
    Err(Error::Failed(format!(
        "CodeDeploy deployment group '{application}/{name}' {}, not {wanted}; check \
         --codedeploy-application and --codedeploy-deployment-group (or leave both out to find \
         the group that deploys it)",
        deploys(&group)
    )))
}

/// The groups of `application` (those named `only`, when given) that deploy the service,
/// and the names of the groups searched.
fn matching_in(
    cd: &Catalog,
    wanted: &Wanted,
    application: &str,
    only: Option<&str>,
) -> Result<(Vec<Group>, Vec<Group>)> {
    let mut names = cd.list_deployment_groups(application)?;
    if let Some(only) = only {
        names.retain(|name| name == only);
    }
    if names.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let groups = cd.deployment_groups(application, &names)?;
    let matching = groups
        .iter()
        .filter(|g| wanted.deployed_by(g))
        .cloned()
        .collect();
    Ok((matching, groups))
}

/// The one group found, or an error listing the candidates; `none` says what was searched
/// when there is none.
fn the_one(found: Vec<Group>, wanted: &Wanted, none: impl FnOnce() -> String) -> Result<Group> {
    match <[Group; 1]>::try_from(found) {
        Ok([group]) => Ok(group),
        Err(found) if found.is_empty() => Err(Error::Failed(none())),
        Err(found) => {
            let candidates: Vec<String> = found.iter().map(candidate).collect();
            Err(Error::Failed(format!(
                "several CodeDeploy deployment groups deploy {wanted}: {}; name one with \
                 --codedeploy-application and --codedeploy-deployment-group",
                candidates.join(", ")
            )))
        }
    }
}

fn of_application(cd: &Catalog, wanted: &Wanted, application: &str) -> Result<Group> {
    let (found, searched) = matching_in(cd, wanted, application, None)?;
    let names: Vec<String> = searched.iter().map(|g| g.name.clone()).collect();
    the_one(found, wanted, || {
        format!(
            "no deployment group of CodeDeploy application '{application}' deploys {wanted} \
             (searched {}); name the group with --codedeploy-deployment-group, or check \
             --codedeploy-application",
            counted(&names, "group", "groups")
        )
    })
}

fn by_group_name(cd: &Catalog, wanted: &Wanted, name: &str) -> Result<Group> {
    let applications = cd.list_applications()?;
    let mut found = Vec::new();
    let mut seen = Vec::new();
    for application in &applications {
        let (matching, searched) = matching_in(cd, wanted, application, Some(name))?;
        found.extend(matching);
        seen.extend(searched);
    }
    the_one(found, wanted, || {
        if seen.is_empty() {
            return format!(
                "no CodeDeploy application has a deployment group named '{name}' (searched {}); \
                 check --codedeploy-deployment-group, or name its application with \
                 --codedeploy-application",
                counted(&applications, "application", "applications")
            );
        }
        let others: Vec<String> = seen
            .iter()
            .map(|g| format!("'{}' {}", candidate(g), deploys(g)))
            .collect();
        format!(
            "no CodeDeploy deployment group named '{name}' deploys {wanted}: {}; check \
             --codedeploy-deployment-group (or leave it out to find the group that deploys it)",
            others.join("; ")
        )
    })
}

fn anywhere(cd: &Catalog, wanted: &Wanted) -> Result<Group> {
    let applications = cd.list_applications()?;
    let mut found = Vec::new();
    for application in &applications {
        found.extend(matching_in(cd, wanted, application, None)?.0);
    }
    the_one(found, wanted, || {
        format!(
            "no CodeDeploy deployment group deploys {wanted} (searched {}); name one with \
             --codedeploy-application and --codedeploy-deployment-group",
            counted(&applications, "application", "applications")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codedeploy::EcsService;
    use crate::codedeploy::scripted::ScriptedCodeDeploy;

    fn group(application: &str, name: &str, deploys: &[(&str, &str)]) -> Group {
        Group {
            application: application.into(),
            name: name.into(),
            ecs_services: deploys
                .iter()
                .map(|(cluster, service)| EcsService {
                    cluster: cluster.to_string(),
                    service: service.to_string(),
                })
                .collect(),
            rolls_back_on_failure: true,
            waits_for_reroute: false,
            last_attempted: None,
        }
    }

    /// Two applications: `web-app` deploys prod/web and prod/api, `legacy` a Server
    /// fleet (no ECS service) and staging/web.
    fn account() -> ScriptedCodeDeploy {
        ScriptedCodeDeploy::with_groups(vec![
            group("web-app", "web-prod", &[("prod", "web")]),
            group("web-app", "api-prod", &[("prod", "api")]),
            group("legacy", "fleet", &[]),
            group("legacy", "web-staging", &[("staging", "web")]),
        ])
    }

    /// The calls that read every application's groups of [`account`].
    const EVERY_GROUP_READ: [&str; 5] = [
        "list-applications",
        "list-deployment-groups web-app",
        "batch-get-deployment-groups web-app web-prod api-prod",
        "list-deployment-groups legacy",
        "batch-get-deployment-groups legacy fleet web-staging",
    ];

    fn message(result: Result<Group>) -> String {
        let e = result.unwrap_err();
        assert_eq!(e.exit_code(), 1, "{e}");
        e.to_string()
    }

    #[test]
    fn the_one_group_that_deploys_the_service_is_found_in_every_application() {
        let cd = account();
        let found = find_group(&cd, "prod", "web", None, None).unwrap();
        assert_eq!(
            (found.application.as_str(), found.name.as_str()),
            ("web-app", "web-prod")
        );
        assert_eq!(cd.calls(), EVERY_GROUP_READ);
        let staging = find_group(&cd, "staging", "web", None, None).unwrap();
        assert_eq!(staging.name, "web-staging");
    }

    #[test]
    fn services_found_in_one_catalog_read_each_listing_and_group_once() {
        let cd = account();
        let catalog = Catalog::new(&cd);
        let web = catalog.find("prod", "web", None, None).unwrap();
        let api = catalog.find("prod", "api", None, None).unwrap();
        let staging = catalog
            .find("staging", "web", None, Some("web-staging"))
            .unwrap();
        let named = catalog
            .find("prod", "web", Some("web-app"), Some("web-prod"))
            .unwrap();
        assert_eq!(
            [web.name, api.name, staging.name, named.name],
            ["web-prod", "api-prod", "web-staging", "web-prod"]
        );
        assert_eq!(cd.calls(), EVERY_GROUP_READ);
    }

    #[test]
    fn a_cluster_and_a_service_given_as_arns_are_compared_by_name() {
        let cd = account();
        let found = find_group(
            &cd,
            "arn:aws:ecs:us-east-1:123456789012:cluster/prod",
            "arn:aws:ecs:us-east-1:123456789012:service/prod/web",
            None,
            None,
        )
        .unwrap();
        assert_eq!(found.name, "web-prod");
        let old_arn = find_group(
            &cd,
            "prod",
            "arn:aws:ecs:us-east-1:123456789012:service/api",
            Some("web-app"),
            None,
        )
        .unwrap();
        assert_eq!(old_arn.name, "api-prod");
    }

    #[test]
    fn none_found_says_what_was_searched() {
        let cd = account();
        assert_eq!(
            message(find_group(&cd, "prod", "worker", None, None)),
            "no CodeDeploy deployment group deploys service 'worker' of cluster 'prod' \
             (searched 2 applications: web-app, legacy); name one with \
             --codedeploy-application and --codedeploy-deployment-group"
        );
        let empty = ScriptedCodeDeploy::default();
        assert!(
            message(find_group(&empty, "prod", "web", None, None))
                .contains("(searched 0 applications)")
        );
        let many = ScriptedCodeDeploy::with_groups(
            (0..12)
                .map(|i| group(&format!("app-{i}"), "g", &[]))
                .collect(),
        );
        assert!(
            message(find_group(&many, "prod", "web", None, None)).contains(
                "(searched 12 applications: app-0, app-1, app-2, app-3, app-4, app-5, app-6, \
                 app-7, app-8, app-9 and 2 more)"
            )
        );
    }

    #[test]
    fn several_found_are_listed_as_application_and_group() {
        let mut cd = account();
        cd.groups
            .push(group("blue-green", "web-canary", &[("prod", "web")]));
        assert_eq!(
            message(find_group(&cd, "prod", "web", None, None)),
            "several CodeDeploy deployment groups deploy service 'web' of cluster 'prod': \
             web-app/web-prod, blue-green/web-canary; name one with --codedeploy-application \
             and --codedeploy-deployment-group"
        );
    }

    #[test]
    fn a_named_group_is_read_alone_and_must_deploy_the_service() {
        let cd = account();
        let found = find_group(&cd, "prod", "web", Some("web-app"), Some("web-prod")).unwrap();
        assert_eq!(found.name, "web-prod");
        assert_eq!(cd.calls(), ["batch-get-deployment-groups web-app web-prod"]);
        assert_eq!(
            message(find_group(
                &cd,
                "prod",
                "web",
                Some("web-app"),
                Some("api-prod")
            )),
            "CodeDeploy deployment group 'web-app/api-prod' deploys service 'api' of cluster \
             'prod', not service 'web' of cluster 'prod'; check --codedeploy-application and \
             --codedeploy-deployment-group (or leave both out to find the group that deploys it)"
        );
        assert!(
            message(find_group(
                &cd,
                "prod",
                "web",
                Some("legacy"),
                Some("fleet")
            ))
            .starts_with("CodeDeploy deployment group 'legacy/fleet' deploys no ECS service,")
        );
        // The same service name in another cluster is another service.
        assert!(
            message(find_group(
                &cd,
                "prod",
                "web",
                Some("legacy"),
                Some("web-staging")
            ))
            .contains(
                "deploys service 'web' of cluster 'staging', not service 'web' of cluster 'prod'"
            )
        );
        // A group CodeDeploy does not know: the trait's error, as it is.
        assert!(find_group(&cd, "prod", "web", Some("web-app"), Some("nope")).is_err());
    }

    #[test]
    fn an_application_alone_searches_its_groups_only() {
        let cd = account();
        let found = find_group(&cd, "prod", "api", Some("web-app"), None).unwrap();
        assert_eq!(found.name, "api-prod");
        assert_eq!(
            cd.calls(),
            [
                "list-deployment-groups web-app",
                "batch-get-deployment-groups web-app web-prod api-prod",
            ]
        );
        assert_eq!(
            message(find_group(&cd, "staging", "web", Some("web-app"), None)),
            "no deployment group of CodeDeploy application 'web-app' deploys service 'web' of \
             cluster 'staging' (searched 2 groups: web-prod, api-prod); name the group with \
             --codedeploy-deployment-group, or check --codedeploy-application"
        );
        assert!(
            message(find_group(&cd, "prod", "web", Some("empty-app"), None))
                .contains("(searched 0 groups)")
        );
    }

    #[test]
    fn a_group_alone_is_looked_for_in_every_application() {
        let mut cd = account();
        let found = find_group(&cd, "staging", "web", None, Some("web-staging")).unwrap();
        assert_eq!(found.application, "legacy");
        // Only applications that have a group of that name are read.
        assert_eq!(
            cd.calls(),
            [
                "list-applications",
                "list-deployment-groups web-app",
                "list-deployment-groups legacy",
                "batch-get-deployment-groups legacy web-staging",
            ]
        );
        assert_eq!(
            message(find_group(&cd, "prod", "web", None, Some("web-stagin"))),
            "no CodeDeploy application has a deployment group named 'web-stagin' (searched 2 \
             applications: web-app, legacy); check --codedeploy-deployment-group, or name its \
             application with --codedeploy-application"
        );
        assert_eq!(
            message(find_group(&cd, "prod", "web", None, Some("web-staging"))),
            "no CodeDeploy deployment group named 'web-staging' deploys service 'web' of \
             cluster 'prod': 'legacy/web-staging' deploys service 'web' of cluster 'staging'; \
             check --codedeploy-deployment-group (or leave it out to find the group that \
             deploys it)"
        );
        // One name in two applications, both deploying the service.
        cd.groups
            .push(group("other", "web-staging", &[("staging", "web")]));
        assert!(
            message(find_group(&cd, "staging", "web", None, Some("web-staging"))).contains(
                "deploy service 'web' of cluster 'staging': legacy/web-staging, other/web-staging"
            )
        );
    }
}
