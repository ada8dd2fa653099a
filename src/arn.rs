//! ECS ARNs (`arn:PARTITION:ecs:REGION:ACCOUNT:RESOURCE`): their parts, and the names that
//! a cluster or a service given either as a name or as an ARN stands for.

/// The parts of an ECS ARN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EcsArn<'a> {
    pub partition: &'a str,
    pub region: &'a str,
    /// `service/CLUSTER/NAME`, `task/CLUSTER/ID`, `cluster/NAME`, ...
    pub resource: &'a str,
}

/// An ECS ARN's parts; `None` for anything else (a plain name, another service's ARN).
pub fn parse(arn: &str) -> Option<EcsArn<'_>> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(partition), Some("ecs"), Some(region), Some(_), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    Some(EcsArn {
        partition,
        region,
        resource,
    })
}

/// A cluster given as a name or as a cluster ARN (`arn:...:cluster/NAME`): its name.
pub fn cluster_name(cluster: &str) -> &str {
    parse(cluster)
        .and_then(|arn| arn.resource.strip_prefix("cluster/"))
        .unwrap_or(cluster)
}

/// A service given as a name or as a service ARN: (its cluster, if the ARN names one;
/// its name). `arn:aws:ecs:REGION:ACCOUNT:service/CLUSTER/NAME`, or the older
/// `arn:aws:ecs:REGION:ACCOUNT:service/NAME`.
pub fn service_name(service: &str) -> (Option<&str>, &str) {
    let Some(path) = parse(service).and_then(|arn| arn.resource.strip_prefix("service/")) else {
        return (None, service);
    };
    match path.split_once('/') {
        Some((cluster, name)) => (Some(cluster), name),
        None => (None, path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_names_and_arns() {
        let arn = "arn:aws:ecs:us-east-1:123456789012:service/prod/web";
        assert_eq!(service_name(arn), (Some("prod"), "web"));
        assert_eq!(
            service_name("arn:aws:ecs:us-east-1:123456789012:service/web"),
            (None, "web")
        );
        assert_eq!(service_name("web"), (None, "web"));
        assert_eq!(
            cluster_name("arn:aws-cn:ecs:cn-north-1:1:cluster/prod"),
            "prod"
        );
        assert_eq!(cluster_name("prod"), "prod");
        let parsed = parse(arn).unwrap();
        assert_eq!(
            (parsed.partition, parsed.region, parsed.resource),
            ("aws", "us-east-1", "service/prod/web")
        );
        assert_eq!(parse("arn:aws:s3:::bucket"), None);
    }
}
