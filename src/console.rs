//! Links to the AWS console page of what failed: a service's deployments, or a one-off
//! task. Partition, region and cluster come from the ARN, so the link is right whatever
//! the local configuration says.

/// The parts of an ECS ARN a console link needs.
struct Arn<'a> {
    partition: &'a str,
    region: &'a str,
    /// `service/CLUSTER/NAME` or `task/CLUSTER/ID` (the older forms lack the cluster).
    path: Vec<&'a str>,
}

fn parse(arn: &str) -> Option<Arn<'_>> {
    let parsed = crate::arn::parse(arn)?;
    if parsed.region.is_empty() || parsed.partition.is_empty() {
        return None;
    }
    Some(Arn {
        partition: parsed.partition,
        region: parsed.region,
        path: parsed.resource.split('/').collect(),
    })
}

fn host(partition: &str, region: &str) -> String {
    match partition {
        "aws-cn" => "https://console.amazonaws.cn".to_string(),
        "aws-us-gov" => "https://console.amazonaws-us-gov.com".to_string(),
        _ => format!("https://{region}.console.aws.amazon.com"),
    }
}

/// A cluster given as a name or as a cluster ARN: its name.
fn cluster_name(cluster: &str) -> &str {
    cluster.rsplit('/').next().unwrap_or(cluster)
}

/// The deployments page of the service `service_arn` in `cluster`.
pub fn service_deployments(service_arn: &str, cluster: &str) -> Option<String> {
    let arn = parse(service_arn)?;
    let (cluster, name) = match arn.path.as_slice() {
        ["service", cluster, name] => (*cluster, *name),
        ["service", name] => (cluster_name(cluster), *name),
        _ => return None,
    };
    Some(format!(
        "{}/ecs/v2/clusters/{cluster}/services/{name}/deployments?region={}",
        host(arn.partition, arn.region),
        arn.region
    ))
}

/// The page of CodeDeploy deployment `id` of the service `service_arn` (its region).
pub fn codedeploy_deployment(service_arn: &str, id: &str) -> Option<String> {
    let arn = parse(service_arn)?;
    Some(format!(
        "{}/codesuite/codedeploy/deployments/{id}?region={}",
        host(arn.partition, arn.region),
        arn.region
    ))
}

/// The page of the one-off task `task_arn` in `cluster`.
pub fn task(task_arn: &str, cluster: &str) -> Option<String> {
    let arn = parse(task_arn)?;
    let (cluster, id) = match arn.path.as_slice() {
        ["task", cluster, id] => (*cluster, *id),
        ["task", id] => (cluster_name(cluster), *id),
        _ => return None,
    };
    Some(format!(
        "{}/ecs/v2/clusters/{cluster}/tasks/{id}/configuration?region={}",
        host(arn.partition, arn.region),
        arn.region
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_codedeploy_deployment_links_to_its_page_in_the_services_region() {
        assert_eq!(
            codedeploy_deployment(
                "arn:aws:ecs:eu-west-1:123456789012:service/prod/web",
                "d-ABC"
            )
            .as_deref(),
            Some(
                "https://eu-west-1.console.aws.amazon.com/codesuite/codedeploy/deployments/d-ABC?region=eu-west-1"
            )
        );
    }

    #[test]
    fn a_service_links_to_its_deployments() {
        assert_eq!(
            service_deployments("arn:aws:ecs:eu-west-1:123456789012:service/prod/web", "x")
                .unwrap(),
            "https://eu-west-1.console.aws.amazon.com/ecs/v2/clusters/prod/services/web/deployments?region=eu-west-1"
        );
        assert_eq!(
            service_deployments(
                "arn:aws:ecs:us-east-1:1:service/web",
                "arn:aws:ecs:us-east-1:1:cluster/prod"
            )
            .unwrap(),
            "https://us-east-1.console.aws.amazon.com/ecs/v2/clusters/prod/services/web/deployments?region=us-east-1"
        );
        assert_eq!(service_deployments("web", "prod"), None);
    }

    #[test]
    fn a_task_links_to_its_page_in_its_partition() {
        assert_eq!(
            task("arn:aws-cn:ecs:cn-north-1:1:task/ci/0123abcd", "ci").unwrap(),
            "https://console.amazonaws.cn/ecs/v2/clusters/ci/tasks/0123abcd/configuration?region=cn-north-1"
        );
        assert_eq!(
            task("arn:aws:ecs:us-east-1:1:task/0123abcd", "ci").unwrap(),
            "https://us-east-1.console.aws.amazon.com/ecs/v2/clusters/ci/tasks/0123abcd/configuration?region=us-east-1"
        );
        assert_eq!(task("arn:aws:s3:::bucket", "ci"), None);
    }
}
