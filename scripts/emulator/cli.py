"""The command line: flags, start-up (moto patched, the server on 127.0.0.1, the ticker,
the port file) and shut-down on SIGTERM / SIGINT."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server

from . import codedeploy, ecs, logs
from .config import (
    CONFIG,
    CONFIG_KEYS,
    HOOK_EVENTS,
    STOP,
    parse_hook_event,
    parse_log_lines,
    parse_page_size,
    parse_hook_results,
    request_stop,
    tick_all,
)
from . import hooks
from .ecr import add_ecr_image, parse_ecr_image
from .http import EmulatorApp, RequestLog, warm_up


def install() -> None:
    """Swap the emulator into moto (before the first request creates a backend)."""
    logs.install()
    ecs.install()
    codedeploy.install()
    hooks.install()


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Local ECS emulator (moto) for ecs-deploy demos and tests."
    )
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: pick a free one)")
    parser.add_argument("--port-file", help="write the port number to this file once listening")
    parser.add_argument("--task-start-delay", type=float, default=2.0, help="seconds a service/run-task task stays PENDING")
    parser.add_argument("--healthy-delay", type=float, default=1.0, help="seconds from RUNNING to HEALTHY (containers with healthCheck)")
    parser.add_argument("--drain-delay", type=float, default=2.0, help="seconds from the new tasks being up to the old ones being stopped")
    parser.add_argument("--run-task-duration", type=float, default=2.0, help="seconds a run-task task stays RUNNING")
    parser.add_argument("--fail-share", type=float, default=0.0, help="share (0..1) of the tasks of updated deployments that fail to start")
    parser.add_argument("--fail-image", default="", help="tasks with a container whose image contains this text fail")
    parser.add_argument("--circuit-breaker", action="store_true", help="treat every service as having the circuit breaker enabled")
    parser.add_argument("--circuit-breaker-rollback", action="store_true", help="circuit breaker with rollback for every service")
    parser.add_argument("--failure-threshold", type=int, default=2, help="failed tasks that trip the circuit breaker")
    parser.add_argument("--stage-seconds", type=float, default=0.5, help="seconds each lifecycle stage of a blue/green, linear or canary deployment lasts")
    parser.add_argument("--seconds-per-minute", type=float, default=1.0, help="seconds one minute of bakeTimeInMinutes (and step/canary bake times) lasts")
    parser.add_argument("--trigger-alarm", default="", metavar="NAME", help="the CloudWatch alarm NAME fires during deployments whose alarms list it")
    parser.add_argument(
        "--log-lines", action="append", default=[], metavar="KEY=LINE|LINE...",
        help="the awslogs lines of containers named KEY (or, failing that, whose image contains KEY); repeatable",
    )
    parser.add_argument(
        "--hook-result", action="append", default=[], dest="hook_results", metavar="FUNCTION=SUCCEEDED|FAILED|TIMED_OUT",
        help="what the lifecycle hooks of the Lambda function FUNCTION (name or ARN) return; repeatable",
    )
    parser.add_argument(
        "--ecr-image", action="append", default=[], metavar="[ACCOUNT.dkr.ecr.REGION.amazonaws.com/]REPO[:TAG][@sha256:D]",
        help="an image ECR's DescribeImages finds (default region us-east-1); repeatable",
    )
    parser.add_argument(
        "--codedeploy-fail-hook", default="", metavar="EVENT",
        help=f"the hook of this CodeDeploy lifecycle event fails ({', '.join(HOOK_EVENTS)})",
    )
    parser.add_argument(
        "--codedeploy-page-size", default=100, metavar="N",
        help="items per page of CodeDeploy's list answers (list-applications, list-deployment-groups, ...)",
    )
    parser.add_argument("--verbose", action="store_true", help="log requests and service events to stderr")
    parser.add_argument(
        "--request-log", metavar="FILE",
        help="append one JSON line per AWS request answered to FILE: "
        '{"t": epoch seconds, "service": "ecs"|"codedeploy"|"logs"|"ecr"|..., "action": "DescribeServices"|..., '
        '"status": HTTP status, "ms": time to answer} (not the /_emulator endpoints)',
    )
    args = parser.parse_args(argv)
    try:
        args.log_lines = parse_log_lines(args.log_lines)
    except ValueError as exc:
        parser.error(f"--log-lines: {exc}")
    try:
        args.hook_results = parse_hook_results(args.hook_results)
    except ValueError as exc:
        parser.error(f"--hook-result: {exc}")
    for reference in args.ecr_image:
        try:
            parse_ecr_image(reference)
        except ValueError as exc:
            parser.error(f"--ecr-image: {exc}")
    try:
        args.codedeploy_fail_hook = parse_hook_event(args.codedeploy_fail_hook)
    except ValueError as exc:
        parser.error(f"--codedeploy-fail-hook: {exc}")
    try:
        args.codedeploy_page_size = parse_page_size(args.codedeploy_page_size)
    except ValueError as exc:
        parser.error(f"--codedeploy-page-size: {exc}")
    if not 0.0 <= args.fail_share <= 1.0:
        parser.error("--fail-share must be between 0 and 1")
    if args.failure_threshold < 1:
        parser.error("--failure-threshold must be at least 1")
    for name in ("task_start_delay", "healthy_delay", "drain_delay", "run_task_duration", "stage_seconds", "seconds_per_minute"):
        if getattr(args, name) < 0:
            parser.error(f"--{name.replace('_', '-')} must not be negative")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    for key in CONFIG_KEYS:
        CONFIG[key] = getattr(args, key)
    CONFIG["verbose"] = args.verbose
    # werkzeug's access log says only "POST /"; --verbose logs each request's ECS action
    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    install()
    for reference in args.ecr_image:
        try:
            add_ecr_image(reference)
        except Exception as exc:
            sys.stderr.write(f"ecs_emulator: --ecr-image {reference}: {exc}\n")
            return 2
    app = EmulatorApp(DomainDispatcherApplication(create_backend_app))
    server = make_server("127.0.0.1", args.port, app, threaded=True)
    port = server.server_address[1]

    stop = STOP
    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    if stop.is_set():
        server.server_close()
        return 0

    serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    serving.start()

    def ticker() -> None:
        while not stop.wait(0.1):
            try:
                tick_all()
            except Exception as exc:  # keep ticking; report once per failure
                sys.stderr.write(f"[ecs-emulator] tick failed: {exc!r}\n")

    threading.Thread(target=ticker, daemon=True).start()

    try:
        warm_up(port)
    except Exception as exc:
        sys.stderr.write(f"[ecs-emulator] warm-up request failed: {exc!r}\n")
    if args.request_log:
        try:
            app.request_log = RequestLog(args.request_log)
        except OSError as exc:
            sys.stderr.write(f"ecs_emulator: --request-log {args.request_log}: {exc}\n")
            server.shutdown()
            server.server_close()
            return 2

    if args.port_file:
        temporary = f"{args.port_file}.tmp{os.getpid()}"
        with open(temporary, "w") as handle:
            handle.write(f"{port}\n")
        os.replace(temporary, args.port_file)
    print(f"ecs emulator listening on http://127.0.0.1:{port}", flush=True)

    while not stop.wait(0.2):
        pass
    server.shutdown()
    server.server_close()
    if app.request_log is not None:
        app.request_log.close()
    if args.port_file:
        try:
            os.remove(args.port_file)
        except OSError:
            pass
    return 0
