//! Every jq program the tool runs, as named constants, and the jaq engine that runs them.
//!
//! Rust decides what to do; these filters only pull facts out of (or reshape) the JSON that
//! the AWS CLI prints. Each filter is compiled once per process and cached.

use std::cell::RefCell;
use std::collections::HashMap;

use jaq_core::load::{Arena, File, Loader};
use jaq_core::{Compiler, Ctx, Vars, data, unwrap_valr};
use jaq_json::Val;
use serde::Deserialize;
use serde_json::Value;

/// A jq program and the names of the global variables (`$name`) it expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Jq {
    pub name: &'static str,
    pub code: &'static str,
    pub vars: &'static [&'static str],
}

const fn jq(name: &'static str, code: &'static str) -> Jq {
    Jq {
        name,
        code,
        vars: &[],
    }
}

/// The definition inside a `describe-task-definition` answer, or a bare definition.
pub const TASK_DEFINITION: Jq = jq(
    "task definition",
    r#"if type == "object" and has("taskDefinition") then .taskDefinition else . end"#,
);

/// Tags next to the definition (`describe-task-definition --include TAGS`), or `[]`.
pub const TASK_DEFINITION_TAGS: Jq = jq("task definition tags", r#".tags // []"#);

/// The keys `register-task-definition` accepts, in the input's own order, with nulls
/// dropped at every depth, array items included (the AWS CLI rejects a null anywhere in
/// its input, e.g. `"command": ["run", null]`). `tags` is one of them: a definition that
/// carries its own tags (a `--task-definition-file`) keeps them; `describe-task-definition`
/// puts tags next to the definition, never inside, so a described definition has none.
pub const REGISTRABLE_FIELDS: Jq = jq(
    "registrable fields",
    r#"with_entries(select(.value != null and (.key as $k | [
        "family", "taskRoleArn", "executionRoleArn", "networkMode", "containerDefinitions",
        "volumes", "placementConstraints", "requiresCompatibilities", "cpu", "memory",
        "tags", "pidMode", "ipcMode", "proxyConfiguration", "inferenceAccelerators",
        "ephemeralStorage", "runtimePlatform", "enableFaultInjection"] | any(. == $k))))
      | walk(if type == "object" then with_entries(select(.value != null))
             elif type == "array" then map(select(. != null)) else . end)"#,
);

/// `[{name, image}]` of every container, in order (image is null when missing).
pub const CONTAINER_IMAGES: Jq = jq(
    "container images",
    r#"[(.containerDefinitions // [])[] | {name: (.name // ""), image: .image}]"#,
);

/// Replace the image of container `i` by `$images[i]` wherever that entry is a string.
pub const SET_CONTAINER_IMAGES: Jq = Jq {
    name: "set container images",
    code: r#"reduce range(0; $images | length) as $i (.;
        if ($images[$i] | type) == "string"
        then .containerDefinitions[$i].image = $images[$i] else . end)"#,
    vars: &["$images"],
};

/// Whether an essential container defines a health check (then we wait for HEALTHY).
pub const HAS_ESSENTIAL_HEALTH_CHECK: Jq = jq(
    "health check",
    r#"any((.containerDefinitions // [])[]; (.essential != false) and .healthCheck != null)"#,
);

/// The ARN in a `describe-task-definition` answer or a bare definition (null if none).
pub const DESCRIBED_ARN: Jq = jq(
    "task definition ARN",
    r#"(if type == "object" and has("taskDefinition") then .taskDefinition else . end)
       | if type == "object" then .taskDefinitionArn else null end"#,
);

/// The services of a `describe-services` answer, and the failures (e.g. "MISSING") of
/// those it did not find.
pub const SERVICES: Jq = jq(
    "services",
    r#"{services: [(.services // [])[] | {
           name: (.serviceName // ""), arn: (.serviceArn // ""),
           status: (.status // "ACTIVE"), taskDefinition: (.taskDefinition // ""),
           controller: (.deploymentController.type // "ECS"),
           loadBalancers: [(.loadBalancers // [])[]
                           | select(.containerName != null and .containerPort != null)
                           | {containerName, containerPort}],
           eventIds: [(.events // [])[] | .id // empty],
           primary: ([(.deployments // [])[] | select(.status == "PRIMARY")][0]
                     | if . == null then null else {id, desiredCount} end),
           serviceDeployment: .currentServiceDeployment,
           strategy: (.deploymentConfiguration.strategy // "ROLLING")}],
       missing: [(.failures // [])[] | {arn: (.arn // ""), reason: (.reason // "")}]}"#,
);

/// The ARN that `register-task-definition` gave the new revision.
pub const REGISTERED_ARN: Jq = jq("registered ARN", r#".taskDefinition.taskDefinitionArn"#);

/// What `update-service` says of the deployment it started.
pub const UPDATED_SERVICE: Jq = jq(
    "update-service answer",
    r#".service | {
        serviceDeployment: .currentServiceDeployment,
        strategy: (.deploymentConfiguration.strategy // "ROLLING"),
        desiredCount,
        deploymentId: ([(.deployments // [])[] | select(.status == "PRIMARY")][0].id),
        eventIds: [(.events // [])[] | .id // empty]
    }"#,
);

/// The one service deployment of a `describe-service-deployments` answer (null if none),
/// reduced to what the watch reads.
pub const SERVICE_DEPLOYMENT: Jq = jq(
    "service deployment",
    r#"(.serviceDeployments // [])[0] | if . == null then null else {
        arn: (.serviceDeploymentArn // ""), status: (.status // ""), statusReason,
        lifecycleStage, triggeredAlarms: (.alarms.triggeredAlarmNames // []),
        rollbackReason: .rollback.reason,
        hooks: [(.lifecycleHookDetails // [])[] | {
            id: (.hookId // ""), targetType: (.targetType // ""), targetArn,
            status: (.status // ""), timeoutAction,
            expiresAt: (.expiresAt | if . == null then null
                         elif type == "number" then (floor | todate) else tostring end)}]
    } end"#,
);

/// Why a describe-service-deployments answer has no service deployment: ECS's reason for
/// the ARN asked (MISSING), if it gave one.
pub const SERVICE_DEPLOYMENT_MISSING: Jq = jq(
    "service deployment failure",
    r#"[(.failures // [])[] | .reason // empty] | .[0] // "not in the answer""#,
);

/// Every service deployment of a `describe-service-deployments` answer, each as in
/// [`SERVICE_DEPLOYMENT`] (those ECS could not find are left out).
pub const SERVICE_DEPLOYMENTS: Jq = jq(
    "service deployments",
    r#"[(.serviceDeployments // [])[] | {
        arn: (.serviceDeploymentArn // ""), status: (.status // ""), statusReason,
        lifecycleStage, triggeredAlarms: (.alarms.triggeredAlarmNames // []),
        rollbackReason: .rollback.reason,
        hooks: [(.lifecycleHookDetails // [])[] | {
            id: (.hookId // ""), targetType: (.targetType // ""), targetArn,
            status: (.status // ""), timeoutAction,
            expiresAt: (.expiresAt | if . == null then null
                         elif type == "number" then (floor | todate) else tostring end)}]
    }]"#,
);

/// One poll of `describe-services`: each service's name and ARN, its deployments and its
/// events, oldest event first.
pub const ROLLOUT_SNAPSHOTS: Jq = jq(
    "rollout snapshots",
    r#"[.services[] | {
        name: (.serviceName // ""), arn: (.serviceArn // ""),
        deployments: [(.deployments // [])[] | {
            id: (.id // ""), status: (.status // ""), taskDefinition: (.taskDefinition // ""),
            desiredCount: (.desiredCount // 0), pendingCount: (.pendingCount // 0),
            runningCount: (.runningCount // 0), failedTasks: (.failedTasks // 0),
            rolloutState, rolloutStateReason}],
        events: [(.events // [])[] | {id: (.id // ""), message: (.message // "")}] | reverse,
        circuitBreaker: (.deploymentConfiguration.deploymentCircuitBreaker.enable == true)
    }]"#,
);

/// Task ARNs of one `list-tasks` page, and the token of the next page if any.
pub const TASK_ARN_PAGE: Jq = jq(
    "list-tasks page",
    r#"{arns: (.taskArns // []), next: (.nextToken // .NextToken)}"#,
);

/// The tasks of a `describe-tasks` answer (see `task::Task`), and ECS's reason for each
/// ARN it did not find (e.g. MISSING right after run-task).
pub const DESCRIBED_TASKS: Jq = jq(
    "describe-tasks answer",
    r#"{
        tasks: [(.tasks // [])[] | {
            taskArn: (.taskArn // ""), taskDefinitionArn: (.taskDefinitionArn // ""),
            lastStatus: (.lastStatus // ""), healthStatus: (.healthStatus // ""),
            stoppedReason: (.stoppedReason // ""), stopCode: (.stopCode // ""),
            containers: [(.containers // [])[] |
                {name: (.name // ""), exitCode, reason: (.reason // "")}]}],
        missing: [(.failures // [])[] | .reason // ""]
    }"#,
);

/// Credentials from `sts assume-role`.
pub const ASSUMED_CREDENTIALS: Jq = jq(
    "assumed credentials",
    r#".Credentials | [.AccessKeyId, .SecretAccessKey, .SessionToken]"#,
);

/// What `configure export-credentials --format process` answered, when it is version 1 of
/// that format (else null).
pub const EXPORTED_CREDENTIALS: Jq = jq(
    "exported credentials",
    r#"if type == "object" and .Version == 1 then
        {access_key: .AccessKeyId, secret_key: .SecretAccessKey,
         session_token: .SessionToken, expires: .Expiration}
    else null end"#,
);

/// ARNs of `list-task-definitions`.
pub const TASK_DEFINITION_ARNS: Jq = jq("task definition ARNs", r#".taskDefinitionArns // []"#);

/// What `run-task` answered: the first task started (if any) and every failure.
pub const RUN_TASK_STARTED: Jq = jq(
    "run-task answer",
    r#"{
        taskArn: ((.tasks // [])[0].taskArn),
        lastStatus: ((.tasks // [])[0].lastStatus // ""),
        failures: [(.failures // [])[] | {arn: (.arn // ""), reason: (.reason // ""), detail: (.detail // "")}]
    }"#,
);

/// Every environment entry of every container of a definition, as `[name, value]`.
pub const ENVIRONMENT_ENTRIES: Jq = jq(
    "environment entries",
    r#"[(.containerDefinitions // [])[] | (.environment // [])[]
        | select((.name | type) == "string" and (.value | type) == "string")
        | [.name, .value]]"#,
);

/// Every environment value of a definition's containers.
pub const ENVIRONMENT_VALUES: Jq = jq(
    "environment values",
    r#"[(.containerDefinitions // [])[] | (.environment // [])[] | .value | strings]"#,
);

/// Names of the essential containers of a definition (`essential` defaults to true).
pub const ESSENTIAL_CONTAINER_NAMES: Jq = jq(
    "essential containers",
    r#"[(.containerDefinitions // [])[] | select(.essential != false) | .name // ""]"#,
);

/// Each image of an `ecr describe-images` answer: its digest and tags.
pub const ECR_IMAGES: Jq = jq(
    "describe-images answer",
    r#"[(.imageDetails // [])[] | {digest: .imageDigest, tags: (.imageTags // [])}]"#,
);

/// The tags of an `ecr list-images` answer.
pub const ECR_IMAGE_TAGS: Jq = jq(
    "list-images answer",
    r#"[(.imageIds // [])[] | .imageTag | strings]"#,
);

/// How each container of a definition logs (a bare definition or a
/// `describe-task-definition` answer): its log driver, and the awslogs options.
pub const CONTAINER_LOG_CONFIGS: Jq = jq(
    "container log configurations",
    r#"(if type == "object" and has("taskDefinition") then .taskDefinition else . end)
       | [(.containerDefinitions // [])[] | {
           name: (.name // ""), essential: (.essential != false),
           driver: .logConfiguration.logDriver,
           group: .logConfiguration.options["awslogs-group"],
           region: .logConfiguration.options["awslogs-region"],
           prefix: .logConfiguration.options["awslogs-stream-prefix"]}]"#,
);

/// The messages of a `logs get-log-events` answer, oldest first, and the forward token.
pub const LOG_EVENTS: Jq = jq(
    "get-log-events answer",
    r#"{messages: [(.events // [])[] | .message | strings], next: .nextForwardToken}"#,
);

/// One page of a CodeDeploy list operation (`list-applications`, `list-deployment-groups`,
/// `list-deployments`, `list-deployment-targets`): the names under the key `$list`, and
/// the token of the next page, if any (`nextToken` of a raw page; `NextToken` when the CLI
/// paginated and stopped at `--max-items`).
pub const CODEDEPLOY_PAGE: Jq = Jq {
    name: "CodeDeploy list page",
    code: r#"{items: [(.[$list] // [])[] | strings],
              next: ((.nextToken // .NextToken) | if . == "" then null else . end)}"#,
    vars: &["$list"],
};

/// The deployment groups of a `batch-get-deployment-groups` answer, reduced to what
/// deploying to them needs (see `codedeploy::Group`; `$application` is the application
/// asked, for an answer that leaves it out), and CodeDeploy's `errorMessage` ("" if none).
pub const CODEDEPLOY_GROUPS: Jq = Jq {
    name: "batch-get-deployment-groups answer",
    code: r#"{groups: [(.deploymentGroupsInfo // [])[] | {
                application: (.applicationName // $application),
                name: (.deploymentGroupName // ""),
                ecsServices: [(.ecsServices // [])[]
                    | {cluster: (.clusterName // ""), service: (.serviceName // "")}],
                rollsBackOnFailure: ((.autoRollbackConfiguration.enabled // false) == true
                    and any((.autoRollbackConfiguration.events // [])[]; . == "DEPLOYMENT_FAILURE")),
                waitsForReroute: (.blueGreenDeploymentConfiguration.deploymentReadyOption
                    .actionOnTimeout == "STOP_DEPLOYMENT"),
                lastAttempted: .lastAttemptedDeployment.deploymentId}],
              error: (.errorMessage // "")}"#,
    vars: &["$application"],
};

/// The id of the deployment `create-deployment` started (null if the answer has none).
pub const CODEDEPLOY_CREATED: Jq = jq(
    "create-deployment answer",
    r#"if type == "object" and (.deploymentId | type) == "string" then .deploymentId else null end"#,
);

/// The deployments of a `batch-get-deployments` answer (see `codedeploy::Deployment`).
pub const CODEDEPLOY_DEPLOYMENTS: Jq = jq(
    "batch-get-deployments answer",
    r#"[(.deploymentsInfo // [])[] | {
        id: (.deploymentId // ""), status: (.status // "Unknown"),
        error: (.errorInformation
            | if . == null then null else {code: (.code // ""), message: (.message // "")} end),
        rollback: (.rollbackInfo
            | if . == null then null else {rollbackDeploymentId, rollbackTriggeringDeploymentId,
                                           rollbackMessage} end)
    }]"#,
);

/// The ECS target of a `get-deployment-target` answer (null if it has none; see
/// `codedeploy::Target`): its lifecycle events in CodeDeploy's order, and its task sets,
/// with the traffic weight rounded to a whole percent. `identifer` is the API's spelling.
pub const CODEDEPLOY_TARGET: Jq = jq(
    "get-deployment-target answer",
    r#".deploymentTarget.ecsTarget | if . == null then null else {
        id: (.targetId // ""), status: (.status // ""),
        events: [(.lifecycleEvents // [])[] | {
            name: (.lifecycleEventName // ""), status: (.status // "Unknown"),
            diagnostics: (.diagnostics | if . == null then null else
                {errorCode, scriptName, message, logTail} end)}],
        taskSets: [(.taskSetsInfo // [])[] | {
            id: (.identifer // .identifier // ""), label: .taskSetLabel, status,
            trafficWeight: (.trafficWeight | if type == "number" then round else null end),
            desiredCount: (.desiredCount | if type == "number" then round else null end),
            runningCount: (.runningCount | if type == "number" then round else null end)}]
    } end"#,
);

/// The same value with the keys of every object sorted (arrays keep their order), so that
/// a diff shows changes of value, not of key order.
pub const SORTED_KEYS: Jq = jq(
    "sorted keys",
    r#"walk(if type == "object" then to_entries | sort_by(.key) | from_entries else . end)"#,
);

thread_local! {
    static CACHE: RefCell<HashMap<&'static str, jaq_core::Filter<data::JustLut<Val>>>> =
        RefCell::new(HashMap::new());
}

/// A filter that would not compile or that failed on its input; a bug or unexpected JSON.
#[derive(Debug)]
pub struct FilterError {
    pub filter: &'static str,
    pub message: String,
}

impl std::fmt::Display for FilterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "jq filter '{}': {}", self.filter, self.message)
    }
}

fn compile(jq: &Jq) -> Result<jaq_core::Filter<data::JustLut<Val>>, FilterError> {
    let fail = |message: String| FilterError {
        filter: jq.name,
        message,
    };
    let defs = jaq_core::defs()
        .chain(jaq_std::defs())
        .chain(jaq_json::defs());
    let funs = jaq_core::funs()
        .chain(jaq_std::funs())
        .chain(jaq_json::funs());
    let loader = Loader::new(defs);
    let arena = Arena::default();
    let modules = loader
        .load(
            &arena,
            File {
                code: jq.code,
                path: (),
            },
        )
        .map_err(|errs| fail(format!("does not parse: {errs:?}")))?;
    Compiler::default()
        .with_funs(funs)
        .with_global_vars(jq.vars.iter().copied())
        .compile(modules)
        .map_err(|errs| fail(format!("does not compile: {errs:?}")))
}

fn to_val(value: &Value) -> Val {
    // serde_json's Value is a Deserializer; this cannot fail for a JSON value.
    Val::deserialize(value).unwrap_or(Val::Null)
}

fn from_val(val: &Val) -> Result<Value, String> {
    serde_json::from_str(&val.to_string()).map_err(|e| e.to_string())
}

/// Run `jq` on `input` with the given values for its variables; every output value.
pub fn run_all(jq: &Jq, input: &Value, vars: &[Value]) -> Result<Vec<Value>, FilterError> {
    let fail = |message: String| FilterError {
        filter: jq.name,
        message,
    };
    if vars.len() != jq.vars.len() {
        return Err(fail(format!("expects {} variable(s)", jq.vars.len())));
    }
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if !cache.contains_key(jq.code) {
            cache.insert(jq.code, compile(jq)?);
        }
        let filter = &cache[jq.code];
        let ctx = Ctx::<data::JustLut<Val>>::new(&filter.lut, Vars::new(vars.iter().map(to_val)));
        filter
            .id
            .run((ctx, to_val(input)))
            .map(unwrap_valr)
            .map(|out| {
                out.map_err(|e| fail(e.to_string()))
                    .and_then(|v| from_val(&v).map_err(fail))
            })
            .collect()
    })
}

/// Run `jq` and keep its first output (null when it printed nothing).
pub fn run(jq: &Jq, input: &Value) -> Result<Value, FilterError> {
    run_with(jq, input, &[])
}

/// Like [`run`], with values for the filter's variables.
pub fn run_with(jq: &Jq, input: &Value, vars: &[Value]) -> Result<Value, FilterError> {
    Ok(run_all(jq, input, vars)?
        .into_iter()
        .next()
        .unwrap_or(Value::Null))
}

/// Run `jq` and read its first output as `T` (the shapes the flow works with).
pub fn extract<T: serde::de::DeserializeOwned>(
    jq: &Jq,
    input: &Value,
    vars: &[Value],
) -> Result<T, FilterError> {
    let value = run_with(jq, input, vars)?;
    serde_json::from_value(value).map_err(|e| FilterError {
        filter: jq.name,
        message: format!("unexpected shape of the AWS CLI's answer: {e}"),
    })
}

/// Every filter of this module, so a test can compile them all.
#[cfg(test)]
pub const ALL: &[Jq] = &[
    TASK_DEFINITION,
    TASK_DEFINITION_TAGS,
    REGISTRABLE_FIELDS,
    CONTAINER_IMAGES,
    SET_CONTAINER_IMAGES,
    HAS_ESSENTIAL_HEALTH_CHECK,
    DESCRIBED_ARN,
    SERVICES,
    REGISTERED_ARN,
    UPDATED_SERVICE,
    SERVICE_DEPLOYMENT,
    SERVICE_DEPLOYMENT_MISSING,
    SERVICE_DEPLOYMENTS,
    ROLLOUT_SNAPSHOTS,
    TASK_ARN_PAGE,
    DESCRIBED_TASKS,
    ASSUMED_CREDENTIALS,
    EXPORTED_CREDENTIALS,
    TASK_DEFINITION_ARNS,
    RUN_TASK_STARTED,
    ESSENTIAL_CONTAINER_NAMES,
    ENVIRONMENT_VALUES,
    ENVIRONMENT_ENTRIES,
    SORTED_KEYS,
    ECR_IMAGES,
    ECR_IMAGE_TAGS,
    CONTAINER_LOG_CONFIGS,
    LOG_EVENTS,
    CODEDEPLOY_PAGE,
    CODEDEPLOY_GROUPS,
    CODEDEPLOY_CREATED,
    CODEDEPLOY_DEPLOYMENTS,
    CODEDEPLOY_TARGET,
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_filter_compiles() {
        for jq in ALL {
            compile(jq).unwrap_or_else(|e| panic!("{e}"));
        }
    }

    #[test]
    fn registrable_fields_keep_order_and_drop_nulls() {
        let input = json!({"revision": 3, "family": "web", "cpu": null, "volumes": [{"name": "v", "host": null}], "pidMode": "host", "status": "ACTIVE", "containerDefinitions": []});
        let out = run(&REGISTRABLE_FIELDS, &input).unwrap();
        assert_eq!(
            serde_json::to_string(&out).unwrap(),
            r#"{"family":"web","volumes":[{"name":"v"}],"pidMode":"host","containerDefinitions":[]}"#
        );
    }

    #[test]
    fn registrable_fields_keep_a_definitions_own_tags() {
        let input = json!({"family": "web", "tags": [{"key": "team", "value": "a"}],
            "registeredBy": "me", "containerDefinitions": [], "tagz": 1});
        let out = run(&REGISTRABLE_FIELDS, &input).unwrap();
        assert_eq!(
            serde_json::to_string(&out).unwrap(),
            r#"{"family":"web","tags":[{"key":"team","value":"a"}],"containerDefinitions":[]}"#
        );
        // A null is dropped like any other.
        let out = run(&REGISTRABLE_FIELDS, &json!({"family": "web", "tags": null})).unwrap();
        assert_eq!(out, json!({"family": "web"}));
    }

    #[test]
    fn set_images_by_index() {
        let input = json!({"containerDefinitions": [{"image": "a", "name": "x"}, {"name": "y", "image": "b"}]});
        let out = run_with(&SET_CONTAINER_IMAGES, &input, &[json!([null, "c:1"])]).unwrap();
        assert_eq!(
            out,
            json!({"containerDefinitions": [{"image": "a", "name": "x"}, {"name": "y", "image": "c:1"}]})
        );
        assert_eq!(
            serde_json::to_string(&out["containerDefinitions"][0]).unwrap(),
            r#"{"image":"a","name":"x"}"#
        );
    }

    #[test]
    fn unwraps_describe_answer_or_bare_definition() {
        assert_eq!(
            run(
                &TASK_DEFINITION,
                &json!({"taskDefinition": {"family": "a"}})
            )
            .unwrap(),
            json!({"family": "a"})
        );
        assert_eq!(
            run(&TASK_DEFINITION, &json!({"family": "a"})).unwrap(),
            json!({"family": "a"})
        );
    }

    #[test]
    fn large_numbers_and_unicode_survive() {
        let input = json!({"family": "é\"\n", "memory": 123456789012u64, "f": 0.5});
        assert_eq!(run(&TASK_DEFINITION, &input).unwrap(), input);
    }
}
