"""A local Amazon ECS (and CodeDeploy) emulator for trying `ecs-deploy` without an AWS account.

It is moto's ECS backend, served by moto's own werkzeug application on 127.0.0.1,
with the parts that a deployment tool watches filled in: services really run tasks,
`update-service` starts a rolling update (a new PRIMARY deployment whose tasks go
PENDING -> RUNNING [-> HEALTHY], then the old deployment is drained and removed) or,
with a BLUE_GREEN / LINEAR / CANARY strategy, a staged deployment that walks ECS's
lifecycle stages with bake time; every deployment is also an ECS "service deployment"
(describe-service-deployments, list-service-deployments, stop-service-deployment), with
the deployment lifecycle hooks of the staged strategies (Lambda hooks, pause hooks and
continue-service-deployment). One-off tasks started by `run-task` run and stop with exit
codes, and failures, the deployment circuit breaker (with rollback), CloudWatch alarms
and the answers of lifecycle hooks' Lambda functions can be injected.
The same port answers CloudWatch Logs for the containers' awslogs streams (with lines a
test sets), ECR's DescribeImages for images made known to it, and CodeDeploy (`aws
deploy`) for services whose deployment controller is CODE_DEPLOY: blue/green
deployments that walk CodeDeploy's ECS lifecycle events, swapping the service's task
sets, with hooks that can be made to fail, Ready waits, stops and automatic rollbacks.

Point the real AWS CLI at it:

    python3 scripts/ecs_emulator.py --port 0 --port-file /tmp/ecs.port &
    export AWS_ENDPOINT_URL=http://127.0.0.1:$(cat /tmp/ecs.port)
    export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1
    aws ecs create-cluster --cluster-name demo

Timeline of a service (all delays are command-line flags, in seconds):

* create-service: the first deployment's tasks are RUNNING (and HEALTHY) at once and the
  deployment is COMPLETED at once, so a fresh service is steady immediately (only
  --fail-image applies to these tasks, not --fail-share), whatever its strategy. Its
  service deployment is SUCCESSFUL at once, with no source revision.
* update-service with a different task definition, or --force-new-deployment, on a
  ROLLING service (the default strategy): a new PRIMARY deployment (rolloutState
  IN_PROGRESS), the previous ones become ACTIVE. Its tasks are PENDING for
  --task-start-delay, then RUNNING; if an essential container has a healthCheck, the
  task is UNKNOWN for --healthy-delay more, then HEALTHY. Once all of them are up,
  --drain-delay later the tasks of every other deployment are STOPPED, those
  deployments are removed and the PRIMARY becomes COMPLETED.
* The same on a BLUE_GREEN, LINEAR or CANARY service (deploymentConfiguration.strategy):
  the new PRIMARY starts no task at first. Its service deployment stays in each
  lifecycleStage for --stage-seconds: RECONCILE_SERVICE, PRE_SCALE_UP, then SCALE_UP
  (the new tasks start and come up as above; the stage lasts until all are up),
  POST_SCALE_UP, TEST_TRAFFIC_SHIFT, POST_TEST_TRAFFIC_SHIFT, PRODUCTION_TRAFFIC_SHIFT
  (BLUE_GREEN: one step to 100%; LINEAR: steps of linearConfiguration.stepPercent, each
  held --stage-seconds plus stepBakeTimeInMinutes; CANARY: canaryPercent held
  --stage-seconds plus canaryBakeTimeInMinutes, then 100%), POST_PRODUCTION_TRAFFIC_SHIFT,
  BAKE_TIME (bakeTimeInMinutes), CLEAN_UP (the old tasks are stopped as it starts); at
  its end the old deployments are removed, the PRIMARY becomes COMPLETED and the service
  deployment SUCCESSFUL. The old deployment's tasks run until CLEAN_UP, so `deployments`
  lists two entries through bake time. Every minute of configuration (bake times) lasts
  --seconds-per-minute seconds.
* Tasks that fail (see --fail-share / --fail-image) go from PENDING straight to STOPPED
  (stopCode EssentialContainerExited, exit code 1) and are replaced by new tasks, like
  the ECS scheduler does. With the circuit breaker on, --failure-threshold failed tasks
  turn the deployment FAILED and no more of its tasks are launched (the previous
  deployment keeps running; the service deployment is STOPPED); with rollback on, the
  failed deployment is scaled to 0 and the service goes back to the task definition of
  the last COMPLETED deployment through a new PRIMARY deployment (the service deployment
  is ROLLBACK_IN_PROGRESS, then ROLLBACK_SUCCESSFUL when that deployment COMPLETED, or
  ROLLBACK_FAILED if it fails too). Rollback deployments are exempt from --fail-share
  (the old revision is assumed good) and are never rolled back themselves. --fail-share F
  makes the k-th task of a deployment (k = 1, 2, ...) fail when
  floor(k*F) > floor((k-1)*F): 0.5 fails every second task, 1 fails them all; the choice
  is deterministic.
* --trigger-alarm NAME: a service deployment whose deploymentConfiguration.alarms has
  enable=true and lists NAME sees it fire half-way through BAKE_TIME (rolling services:
  as soon as all the new tasks are up). Its alarms.status becomes TRIGGERED
  (triggeredAlarmNames [NAME]) and the deployment FAILED (rolloutStateReason naming the
  alarm). With alarms.rollback: ROLLBACK_REQUESTED, --stage-seconds later
  ROLLBACK_IN_PROGRESS (the new tasks are stopped and the source revision's task
  definition comes back through a new PRIMARY deployment, rolled out as a rolling
  update), then ROLLBACK_SUCCESSFUL once it COMPLETED. Without: STOPPED, and the
  previous deployment keeps running.
* stop-service-deployment on a PENDING or IN_PROGRESS service deployment: --stop-type
  ROLLBACK (the default) goes the same way as an alarm with rollback; ABORT turns the
  deployment FAILED (no more tasks, the previous one keeps running) and the service
  deployment STOP_REQUESTED, then STOPPED --stage-seconds later. On one that is already
  being stopped or rolled back the call changes nothing; on a finished one it fails
  with InvalidParameterException; an unknown ARN gives ServiceDeploymentNotFoundException.
* Lifecycle hooks (deploymentConfiguration.lifecycleHooks, on create-service and
  update-service): each is {targetType AWS_LAMBDA (the default) | PAUSE, hookTargetArn,
  roleArn, lifecycleStages, hookDetails, timeoutConfiguration {timeoutInMinutes, action
  ROLLBACK (the default) | CONTINUE}}. They are checked as ECS checks them
  (InvalidParameterException otherwise): stages among RECONCILE_SERVICE, PRE_SCALE_UP,
  POST_SCALE_UP, TEST_TRAFFIC_SHIFT, POST_TEST_TRAFFIC_SHIFT,
  PRE_PRODUCTION_TRAFFIC_SHIFT, PRODUCTION_TRAFFIC_SHIFT, POST_PRODUCTION_TRAFFIC_SHIFT,
  at least one, none twice; no PAUSE hook at TEST_TRAFFIC_SHIFT or
  PRODUCTION_TRAFFIC_SHIFT; an AWS_LAMBDA hook needs a Lambda function ARN as
  hookTargetArn, a PAUSE hook takes neither hookTargetArn nor roleArn; timeoutInMinutes
  1..1440 (Lambda) or 1..20160 (pause); at most 10 hooks of each type. They are stored
  and shown as given (describe-services, the service deployment's
  deploymentConfiguration); update-service replaces the whole list, and a service
  deployment runs the hooks it started with. Only the update deployments of BLUE_GREEN,
  LINEAR and CANARY services run them (a ROLLING service keeps them but never runs
  them). As a service deployment enters a stage, every hook of that stage starts (all
  together); the stage then lasts --stage-seconds and until all of them are done. Each
  start is a hook run in lifecycleHookDetails (describe-service-deployments, oldest
  first): hookId (new for every run: ecs-pause-... or ecs-lambda-... and 43 characters),
  targetType, targetArn (Lambda only), status, expiresAt (the start + timeoutInMinutes,
  default 1440, in emulated minutes of --seconds-per-minute) and timeoutAction. An
  AWS_LAMBDA run is IN_PROGRESS for --stage-seconds, then SUCCEEDED; --hook-result
  FUNCTION=FAILED makes that function's runs FAILED instead, --hook-result
  FUNCTION=TIMED_OUT makes them stay IN_PROGRESS until expiresAt, then TIMED_OUT
  (FUNCTION is the function's name, NAME:QUALIFIER or its ARN; the result is read when
  the run starts). A PAUSE run is AWAITING_ACTION until continue-service-deployment or
  its expiresAt (then TIMED_OUT). PRE_PRODUCTION_TRAFFIC_SHIFT is not a lifecycleStage
  of its own: its hooks run inside PRODUCTION_TRAFFIC_SHIFT before every traffic step
  (the step's weight applies once they are done), and the PRODUCTION_TRAFFIC_SHIFT hooks
  run at every step (the step is held while they run): LINEAR and CANARY deployments run
  them once per step. A run that is FAILED, or TIMED_OUT with timeoutAction ROLLBACK,
  rolls the service deployment back whatever the circuit breaker and alarms say, as an
  alarm with rollback does: ROLLBACK_REQUESTED, --stage-seconds later
  ROLLBACK_IN_PROGRESS (the previous revision back through a new deployment), then
  ROLLBACK_SUCCESSFUL; lifecycleStage stays the stage of the hook, statusReason and
  rollback.reason say "Service deployment rolled back because the lifecycle hook ARN
  failed at STAGE." (or "... the pause hook ID at STAGE was continued with action
  ROLLBACK." / "... timed out at STAGE (timeout action ROLLBACK).") and the failed
  deployment's rolloutStateReason names the hook too. TIMED_OUT with CONTINUE lets the
  stage end. When one hook of a stage rolls the deployment back, the others of the stage
  keep their state (a pause stays AWAITING_ACTION, a Lambda run still answers). As the
  rollback starts, the Lambda hooks of TEST_TRAFFIC_SHIFT and PRODUCTION_TRAFFIC_SHIFT
  get one more run each, if the deployment had shifted that traffic (ECS calls them
  again to shift it back): they succeed after --stage-seconds and the rollback does not
  wait for them.
* continue-service-deployment --service-deployment-arn ARN --hook-id ID [--action
  CONTINUE|ROLLBACK] (default CONTINUE) answers {serviceDeploymentArn}. CONTINUE: the
  pause run is SUCCEEDED and the stage ends once its other hooks are done (and its
  --stage-seconds passed); ROLLBACK: the run is FAILED and the service deployment rolls
  back as above. An unknown ARN is a ServiceDeploymentNotFoundException; a service
  deployment that is not IN_PROGRESS (finished, or being stopped or rolled back), a hook
  id it does not have, a hook that is not a PAUSE run AWAITING_ACTION, or an action other
  than CONTINUE and ROLLBACK are InvalidParameterException.
* A newer update-service deployment stops the service deployment it supersedes
  (STOPPED). update-service --desired-count alone scales the PRIMARY deployment (no new
  deployment, no new service deployment); --deployment-configuration is checked
  (strategy, bake and step ranges), stored (merged into the current one) and shown, and
  applies from the next deployment on.
* run-task: PROVISIONING, PENDING (after a quarter of --task-start-delay), RUNNING
  (after --task-start-delay), STOPPED (--run-task-duration later). Every container exits
  0, or N when its environment (or the run-task override) sets EMULATOR_EXIT_CODE=N, or 1
  when its image contains --fail-image.

Container logs (CloudWatch Logs, served on the same port: `aws logs get-log-events`):
a container whose logConfiguration uses the awslogs driver with awslogs-group and
awslogs-stream-prefix logs to stream PREFIX/CONTAINER/TASK_ID of that group, in the
region of awslogs-region (else the cluster's) and the emulator's account. The group
exists once a task using it was started; the stream once the container started. Its
lines are those given with --log-lines KEY=LINE|LINE... (repeatable; KEY is the
container's name or, when no name matches, text contained in its image; "KEY=" gives an
empty stream), or by default a start line and then "Ready" (a service container),
"Done" and "Exiting with code 0", or, for a container that fails (--fail-image,
--fail-share, EMULATOR_EXIT_CODE), an "Error: simulated failure: ..." line naming the
cause and "Exiting with code N". A run-task container writes its lines spread over its
running time (the last before it stops); a service container all of them as it starts;
a crashing one all of them at its crash; a task stopped from outside writes no more.
GetLogEvents pages with forward (f/N) and backward (b/N) tokens that are positions in
the stream: the forward token at the end comes back unchanged until newer lines arrive;
--limit N without --start-from-head gives the last N lines. A missing group or stream
is a ResourceNotFoundException ("The specified log group does not exist." / "The
specified log stream does not exist.").

ECR images (`aws ecr describe-images`, same port): --ecr-image REF (repeatable) or
POST /_emulator/ecr-images with a JSON list of REFs makes images known, REF being
[ACCOUNT.dkr.ecr.REGION.amazonaws.com/]REPO[:TAG][@sha256:DIGEST] (ACCOUNT must be the
emulator's, 123456789012 unless MOTO_ACCOUNT_ID says otherwise; REGION defaults to
us-east-1; no tag and no digest means :latest). The repository is created and an image
pushed with a made-up manifest; its digest is DIGEST or one derived from the reference.
DescribeImages then finds it by tag or digest; an unknown tag or digest is an
ImageNotFoundException, an unknown repository a RepositoryNotFoundException. Anything
else of ECR (and of CloudWatch Logs) is moto's own.

Service deployments: ARNs are arn:aws:ecs:REGION:ACCOUNT:service-deployment/CLUSTER/
SERVICE/ID; each deployment in `deployments` runs a service revision
arn:aws:ecs:REGION:ACCOUNT:service-revision/CLUSTER/SERVICE/N, where N is the number of
its id ecs-svc/N (a rollback deployment runs the source revision again). describe-services
and the create-service / update-service answers carry currentServiceDeployment and
currentServiceRevisions. describe-service-deployments (up to 20 ARNs; unknown ones come
back in failures with reason MISSING) returns the ServiceDeployment shape: createdAt,
startedAt, finishedAt (SUCCESSFUL and ROLLBACK_*) or stoppedAt (STOPPED), updatedAt,
sourceServiceRevisions and targetServiceRevision (task counts; for the staged strategies
also the requested test and production traffic weights), status, statusReason,
lifecycleStage (staged strategies only), lifecycleHookDetails (once a hook ran), the
deploymentConfiguration it started with,
rollback {reason, startedAt, serviceRevisionArn}, deploymentCircuitBreaker {status,
failureCount, threshold} (status DISABLED alone when off) and alarms {status,
alarmNames, triggeredAlarmNames} (status DISABLED alone when off).
list-service-deployments lists ServiceDeploymentBrief entries, newest first (status and
createdAt filters, maxResults / nextToken).

Services whose deployment controller is CODE_DEPLOY (`create-service
--deployment-controller type=CODE_DEPLOY`, normally with --load-balancers) have task
sets instead of deployments: `deployments` is an empty list, as ECS shows it for them,
and `taskSets` (describe-services, describe-task-sets) holds ECS's TaskSet shape: id
ecs-svc/N, taskSetArn ...:task-set/CLUSTER/SERVICE/ecs-svc/N, status PRIMARY (serves
production; the service's taskDefinition is always the PRIMARY's), ACTIVE or DRAINING,
taskDefinition, computedDesiredCount (the service's desiredCount times scale, 100
PERCENT), pendingCount, runningCount, createdAt / updatedAt, launchType,
platformVersion, networkConfiguration, loadBalancers, scale, stabilityStatus
(STEADY_STATE once every task is up, else STABILIZING) and stabilityStatusAt; the task
sets CodeDeploy creates also have startedBy "CodeDeploy" and externalId the deployment's
id. create-service makes one PRIMARY task set of the service's task definition whose
tasks are RUNNING (and HEALTHY) at once, like a new ECS service's (the emulator does not
insist on a load balancer; the target group of the first one names the task set's).
Task-set tasks are service tasks (group service:NAME, runningCount / pendingCount of the
service) whose startedBy is the task set's id; they start, crash (--fail-image, and
--fail-share for a CodeDeploy replacement), stop and are replaced like a deployment's,
with the same stop codes, reasons, exit codes and awslogs lines; service events name
them "(service S, taskSet ecs-svc/N) has started 2 tasks: ...", "... updated state to
STEADY_STATE." and "(service S) has reached a steady state.". A DRAINING task set's tasks
are stopped at once and the task set is gone --stage-seconds later. update-service
--desired-count rescales every task set; update-service --task-definition (or
--force-new-deployment) fails with InvalidParameterException "Unable to update task
definition on services with a CODE_DEPLOY deployment controller. Use AWS CodeDeploy to
trigger a new deployment." (other settings are stored as for any service).

CodeDeploy (`aws deploy`, same port; moto's codedeploy keeps applications and groups, the
rest is the emulator's, answering in the shapes of the CodeDeploy API reference; times
are epoch seconds):

* create-application --compute-platform ECS; create-deployment-group for it checks that
  --ecs-services names one ACTIVE CODE_DEPLOY service (else InvalidECSServiceException),
  that --load-balancer-info has targetGroupPairInfoList with one pair of two target
  groups and a prodTrafficRoute (else InvalidLoadBalancerInfoException), that the style
  (if given) is BLUE_GREEN WITH_TRAFFIC_CONTROL and that a deployment config is one of
  the predefined ECS ones; left out, deploymentConfigName is CodeDeployDefault.ECSAllAtOnce
  and blueGreenDeploymentConfiguration terminates the original at once and continues
  without a Ready wait. list-applications (sorted) and list-deployment-groups page
  --codedeploy-page-size names at a time (opaque nextToken, none on the last page; a
  bad one is an InvalidNextTokenException), as do list-deployments and
  list-deployment-targets. get-deployment-group / batch-get-deployment-groups (up to 100
  names) give DeploymentGroupInfo: computePlatform, ecsServices, loadBalancerInfo,
  blueGreenDeploymentConfiguration, autoRollbackConfiguration, deploymentStyle,
  alarmConfiguration, lastSuccessfulDeployment / lastAttemptedDeployment once there are
  deployments; names that do not exist are left out and listed in errorMessage
  ("Deployment groups do not exist: [a, b]").
* create-deployment --revision
  '{"revisionType":"AppSpecContent","appSpecContent":{"content":"...","sha256":"..."}}'
  [--description D] [--deployment-config-name C] [--auto-rollback-configuration ...]
  answers {deploymentId: d-XXXXXXXXX}. The content is an AppSpec in JSON or YAML; the
  request is refused with InvalidRevisionException when the sha256 given does not match
  the content, when Resources[0] is not of Type AWS::ECS::Service, when
  Properties.TaskDefinition is not the full ARN of a registered task definition, when
  LoadBalancerInfo.ContainerName / ContainerPort do not name a container of it and one
  of its portMappings' containerPort, or when Hooks names an event other than
  BeforeInstall, AfterInstall, AfterAllowTestTraffic, BeforeAllowTraffic and
  AfterAllowTraffic; another revision type is refused too (no S3 bundles here). While the
  group has a deployment that is not over, a new one is a
  DeploymentLimitExceededException "The Deployment Group 'G' already has an active
  Deployment 'd-...'". Hooks are kept (the revision comes back as sent, with its
  sha256) and each hook's function is the scriptName of its event's diagnostics.
* A deployment starts InProgress at once (there is no Created / Queued phase) and walks
  the lifecycle events of its one target, CLUSTER:SERVICE, in CodeDeploy's order, each
  lasting --stage-seconds from the end of the one before: BeforeInstall; Install (the
  replacement task set is created ACTIVE at scale 100% with 0% of the traffic, on the
  group's other target group, and its tasks start; the event lasts until they are all
  up as well); AfterInstall; AllowTestTraffic (the test listener is moved to the
  replacement) and AfterAllowTestTraffic, both Skipped (taking no time) when the pair
  has no testTrafficRoute; then, when deploymentReadyOption.actionOnTimeout is
  STOP_DEPLOYMENT, the deployment and its target are Ready until continue-deployment
  (READY_WAIT) or until waitTimeInMinutes have passed (then the deployment is Stopped
  with errorInformation TIMEOUT "The deployment timed out while waiting for a
  notification to continue. This time out period is N minutes."); BeforeAllowTraffic;
  AllowTraffic (production traffic moves to the replacement: ECSAllAtOnce in one step;
  ECSLinear10PercentEvery{1,3}Minutes by 10% steps, ECSCanary10Percent{5,15}Minutes 10%
  then the rest, each step held --stage-seconds plus its minutes; when it has 100% the
  replacement becomes PRIMARY and the original ACTIVE, and the service's taskDefinition
  is the replacement's); AfterAllowTraffic. The target is then Succeeded; when
  terminateBlueInstancesOnDeploymentSuccess is TERMINATE with
  terminationWaitTimeInMinutes > 0 the original task set is kept that long (the
  deployment stays InProgress with instanceTerminationWaitTimeStarted true) unless
  continue-deployment --deployment-wait-type TERMINATION_WAIT ends the wait; then the
  original task set is DRAINING (KEEP_ALIVE keeps it ACTIVE) and the deployment
  Succeeded. Minutes (waits, linear and canary steps) last --seconds-per-minute seconds.
* get-deployment / batch-get-deployments (1 to 25 ids, more is a
  BatchLimitExceededException; malformed ids an InvalidDeploymentIdException; unknown
  ones are left out, and an unknown one is a DeploymentDoesNotExistException for
  get-deployment) give DeploymentInfo: applicationName, deploymentGroupName,
  deploymentConfigName, deploymentId, previousRevision (the group's last successful
  revision; for a rollback, the revision rolled back), revision, status, errorInformation
  {code, message}, createTime / startTime / completeTime, deploymentOverview (the
  target's status counted), description, creator (user, or codeDeployRollback),
  autoRollbackConfiguration, rollbackInfo, deploymentStyle,
  instanceTerminationWaitTimeStarted, blueGreenDeploymentConfiguration,
  loadBalancerInfo, computePlatform ECS. list-deployments (--application-name with
  --deployment-group-name, or neither) lists ids newest first, with
  --include-only-statuses and --create-time-range. list-deployment-targets gives
  ["CLUSTER:SERVICE"]; get-deployment-target and batch-get-deployment-targets (exactly
  one id, else DeploymentTargetListSizeExceededException) give deploymentTargetType
  ECSTarget and ecsTarget {deploymentId, targetId, targetArn (the service's ARN),
  lastUpdatedAt, lifecycleEvents [{lifecycleEventName, diagnostics, startTime, endTime,
  status}], status, taskSetsInfo [{identifer, desiredCount, pendingCount, runningCount,
  status, trafficWeight, targetGroup {name}, taskSetLabel}]}: the original task set is
  Blue, the replacement Green. A lifecycle event is Pending, InProgress, Succeeded
  (diagnostics errorCode Success, message Succeeded), Failed or Skipped (no diagnostics;
  Pending ones have no times); another target id is a
  DeploymentTargetDoesNotExistException.
* Failures. --codedeploy-fail-hook EVENT (one of the five hook events; config key
  codedeploy_fail_hook, "" for none) makes that event Failed at its end when the AppSpec
  names a hook for it, with diagnostics {errorCode ScriptFailed, scriptName the hook's
  function as written, message, logTail}; the deployment is Failed with errorInformation
  HOOK_EXECUTION_FAILURE "The deployment failed because one or more of the lifecycle
  event validation functions failed.". A replacement whose tasks keep failing
  (--fail-image, --fail-share) launches no more once --failure-threshold of them failed,
  and Install is Failed when the task that reached the threshold stopped (diagnostics
  errorCode UnknownError),
  the deployment Failed with errorInformation ECS_UPDATE_ERROR and a message naming the
  task set, its task definition, the number of failed tasks and their stop reason. The
  events after a failed one are Skipped and the target Failed.
* stop-deployment on a deployment that is not over answers {status Pending,
  statusMessage "Stopping Pending. Stopping to schedule commands in the deployment
  instances"} and the deployment is Stopped at once, errorInformation MANUAL_STOP "The
  deployment was stopped by a user." (the event in progress and the later ones
  Skipped, the target Skipped unless it had Succeeded); on a finished one it is a
  DeploymentAlreadyCompletedException. A deployment stopped without rollback, or
  Stopped by its Ready timeout, or Failed without rollback, leaves the task sets as they
  are (a frozen replacement launches no more tasks); the group's next deployment first
  drains any task set that is neither PRIMARY nor DRAINING.
* Rollbacks: a deployment that fails with DEPLOYMENT_FAILURE in the
  autoRollbackConfiguration in force (the group's, or create-deployment's), or that is
  stopped with --auto-rollback-enabled (or without the flag when DEPLOYMENT_STOP_ON_REQUEST
  is in force; --no-auto-rollback-enabled never rolls back), gets rollbackInfo
  {rollbackDeploymentId, rollbackMessage} and CodeDeploy starts a rollback deployment at
  once: creator codeDeployRollback, rollbackInfo {rollbackTriggeringDeploymentId,
  rollbackMessage}, the revision of the group's last successful deployment (or an
  AppSpec naming the original task set's task definition), the same target. Its
  AllowTraffic puts production traffic back on the original task set (PRIMARY again, the
  service on its task definition) and, --stage-seconds later, drains the replacement;
  every other event is Skipped; it is then Succeeded. Rollbacks are never rolled back
  and no hook fails in them.
* continue-deployment [--deployment-wait-type READY_WAIT|TERMINATION_WAIT] (READY_WAIT
  by default) ends a Ready wait or the wait before the original task set is terminated;
  a deployment not in that wait gives DeploymentIsNotInReadyStateException, a finished
  one DeploymentAlreadyCompletedException, another wait type
  InvalidDeploymentWaitTypeException.

`list-tasks` returns tasks whose desiredStatus is RUNNING unless --desired-status is
given, like ECS. State changes are computed from the clock on every request and by a
background ticker (every 0.1 s), under one lock that also serialises the requests.

Extra HTTP endpoints: GET /_emulator/health (readiness), GET /_emulator/config and
POST /_emulator/config with a JSON object to change the failure settings at run time
(the keys are the flags' names with underscores: fail_share, fail_image,
circuit_breaker, trigger_alarm, stage_seconds, codedeploy_fail_hook,
codedeploy_page_size, ...; log_lines takes an object of KEY -> list of lines and
replaces the whole table, for containers that start from then on; hook_results an object
of FUNCTION -> SUCCEEDED | FAILED | TIMED_OUT, replacing the table of --hook-result for
hook runs that start from then on), GET
/_emulator/ecr-images (the references made known) and POST /_emulator/ecr-images.
--codedeploy-page-size N (config codedeploy_page_size, default 100) is the page size of
CodeDeploy's lists, so that tests can make them page.

Request log: --request-log FILE appends one JSON object per line to FILE for every AWS
request the emulator answers (not the /_emulator/* endpoints, nor the emulator's own
warm-up call), written and flushed as the answer is ready, whichever thread served it:
{"t": 1712345678.123456, "service": "ecs", "action": "DescribeServices", "status":
200, "ms": 3.1}. t is the request's arrival in epoch seconds; service is the signing
name in the SigV4 credential scope of its Authorization header (ecs, codedeploy, logs,
ecr, ...), else the one its X-Amz-Target prefix stands for, else the first label of its
Host; action is the part of X-Amz-Target after the last dot, else the Action parameter
(query string or form body); status is the HTTP status of the answer and ms the time
taken to give it (the lock included). Lines follow the order in which answers were
ready, so a tool's calls can be counted by the time window it ran in (scripts/bench
--peer does).

The package, by concern: config (settings, the lock, the clock's tickers, shared
helpers), tasks (a task's schedule, crashes and log lines), ecs (services, deployments,
service deployments, task sets, run-task, ECS request handlers), hooks (lifecycle
hooks: their checks, hook runs, ContinueServiceDeployment), codedeploy
(applications, groups, deployments and their walk, CodeDeploy request handlers), logs
(awslogs targets and GetLogEvents paging), ecr (known images), http (the WSGI wrapper
and /_emulator/*) and cli (flags, start-up, shut-down). scripts/ecs_emulator.py is the
entry point.
"""
