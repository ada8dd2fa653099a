"""`scripts/bench --peer`: this tool next to the Python ecs-deploy, on the local emulator.

The peer is the `ecs-deploy` package on PyPI (its command is `ecs`; boto3 in-process).
Both deploy the same image to the same service of a fresh emulator
(scripts/ecs_emulator.py), one scenario at a time, and the emulator's --request-log
counts the AWS requests each tool made.

Each run of each tool:
  1. starts a fresh emulator (port 0, --port-file, --request-log, the scenario's flags,
     --ecr-image for web-app:1.0.0 and web-app:2.0.0 so that our ECR pre-flight finds
     the new image);
  2. sets up, with the real aws CLI: cluster `bench`, task definition `web` (container
     `app`, image REPO:1.0.0, awslogs logging), service `web` of 2 tasks, and waits
     until it is steady (these calls are not counted: the window starts after them);
  3. runs the tool with the aws CLI (ours) or boto3 (the peer) pointed at the emulator
     (AWS_ENDPOINT_URL, dummy credentials, region us-east-1, no user configuration):
       ours: target/release/ecs-deploy -c bench -n web -i REPO:2.0.0 -t T
       peer: target/peer-venv/bin/ecs deploy bench web --image app REPO:2.0.0
             --timeout T --region us-east-1
     (when `aws` on PATH is a pyenv shim, the CLI it stands for is put first on PATH:
     the shim's own lookup costs about 0.1 s per call, which is pyenv's, not ours);
     each with its own defaults otherwise (ours polls every 3 s; the peer every 1 s
     (--sleep-time), deregisters the old task definition when the deploy succeeded
     (--deregister) and does not roll back (--no-rollback));
  4. measures the wall time, the exit code (verdict ok / failed / timeout, or hung when
     it was killed at T + 60 s), the AWS requests in the log between its start and its
     end (ECS and other: ECR, CloudWatch Logs), the time from its start to its
     UpdateService request, the polls after UpdateService (DescribeServices requests:
     how many, the median time between two, all requests per poll) and the CPU time of
     the tool and every process it waited for (the aws CLI processes that ours starts),
     user + system, from getrusage(RUSAGE_CHILDREN).

Scenarios (emulator flags):
  happy          the defaults: new tasks RUNNING 2 s after update-service, old ones
                 drained 2 s later
  slow-start     --task-start-delay 20
  failing-cb     --fail-image web-app:2.0.0 --circuit-breaker: the new tasks crash and
                 the circuit breaker fails the rollout after 2 failed tasks
  failing-no-cb  --fail-image web-app:2.0.0: the new tasks keep crashing and being
                 replaced; both tools wait until their timeout (--peer-timeout, default
                 120 s here, 300 s in the other scenarios)

It builds nothing of ours: target/release/ecs-deploy must exist (`cargo build
--release`). It makes target/peer-venv (python3 -m venv) with the pinned peer and
boto3 (reused while the pins match) and installs the pinned moto for the emulator
(scripts/ensure-moto) into the python3 on PATH, which runs the emulator.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
EMULATOR = os.path.join(ROOT, "scripts", "ecs_emulator.py")
VENV = os.path.join(ROOT, "target", "peer-venv")
# The peer and a boto3 recent enough to honour AWS_ENDPOINT_URL (1.28.57 and later).
PEER_PINS = ("ecs-deploy==1.17.0", "boto3==1.44.18", "botocore==1.44.18")
PINS_FILE = os.path.join(VENV, "bench-pins.txt")

REPO = "123456789012.dkr.ecr.us-east-1.amazonaws.com/web-app"
OLD_IMAGE = REPO + ":1.0.0"
NEW_IMAGE = REPO + ":2.0.0"
CLUSTER, SERVICE, FAMILY, CONTAINER = "bench", "web", "web", "app"

DEFAULT_TIMEOUT = 300
SCENARIOS = {
    # name: (emulator flags, default timeout)
    "happy": ((), DEFAULT_TIMEOUT),
    "slow-start": (("--task-start-delay", "20"), DEFAULT_TIMEOUT),
    "failing-cb": (("--fail-image", "web-app:2.0.0", "--circuit-breaker"), DEFAULT_TIMEOUT),
    "failing-no-cb": (("--fail-image", "web-app:2.0.0"), 120),
}
HUNG_GRACE = 60  # a tool still running T + this many seconds after its start is killed
# How each tool says that it gave up waiting (ours: "... not running within 120 seconds").
TIMEOUT_WORDS = re.compile(r"timed out|due to timeout|within \d+ seconds")

# Process groups started here that are still running; killed on any way out.
LIVE: dict[int, subprocess.Popen] = {}


class BenchError(Exception):
    pass


def say(message: str) -> None:
    sys.stderr.write("bench --peer: %s\n" % message)
    sys.stderr.flush()


# --------------------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------------------

def spawn(argv: list[str], **kwargs) -> subprocess.Popen:
    """A child in a process group of its own (so that it is stopped with its children)."""
    process = subprocess.Popen(argv, start_new_session=True, **kwargs)
    LIVE[process.pid] = process
    return process


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM, wait: float = 10.0) -> None:
    """Stop a process group we started: `sig`, then SIGKILL after `wait` seconds."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait()
    LIVE.pop(process.pid, None)


def stop_all() -> None:
    for process in list(LIVE.values()):
        stop(process, wait=5.0)


def on_signal(signum, _frame):
    raise KeyboardInterrupt("signal %d" % signum)


# --------------------------------------------------------------------------------------
# The peer's virtualenv, moto, our binary
# --------------------------------------------------------------------------------------

def venv_ready() -> bool:
    try:
        with open(PINS_FILE) as handle:
            if handle.read().split() != list(PEER_PINS):
                return False
    except OSError:
        return False
    python = os.path.join(VENV, "bin", "python")
    check = subprocess.run([python, "-c", "import ecs_deploy.cli, boto3"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return check.returncode == 0 and os.access(os.path.join(VENV, "bin", "ecs"), os.X_OK)


def ensure_venv(python3: str) -> None:
    if venv_ready():
        return
    say("making %s with %s" % (os.path.relpath(VENV, ROOT), " ".join(PEER_PINS)))
    subprocess.run([python3, "-m", "venv", "--clear", VENV], check=True)
    subprocess.run([os.path.join(VENV, "bin", "python"), "-m", "pip", "install", "--quiet",
                    "--disable-pip-version-check", *PEER_PINS], check=True)
    with open(PINS_FILE, "w") as handle:
        handle.write("\n".join(PEER_PINS) + "\n")
    if not venv_ready():
        raise BenchError("the peer's virtualenv at %s does not work after installing" % VENV)


def system_python() -> str:
    """The python3 on PATH, as the interpreter itself (not a shim), to run the emulator."""
    python3 = shutil.which("python3")
    if not python3:
        raise BenchError("python3 is not on PATH")
    found = subprocess.run([python3, "-c", "import sys; print(sys.executable)"],
                           capture_output=True, text=True, check=True)
    return found.stdout.strip() or python3


def aws_cli_dir() -> str | None:
    """The directory of the aws CLI that the `aws` on PATH runs, when that is a pyenv
    shim: a shell script that looks for the CLI again at every call (about 0.1 s and as
    much CPU each, here). Ours then runs the CLI itself, as it would where the CLI is
    installed without pyenv; the peer runs its own interpreter directly too."""
    aws = shutil.which("aws")
    pyenv = shutil.which("pyenv")
    if not aws or not pyenv:
        return None
    with open(aws, "rb") as handle:
        if b"pyenv" not in handle.read(4096):
            return None
    found = subprocess.run([pyenv, "which", "aws"], capture_output=True, text=True)
    real = found.stdout.strip()
    if found.returncode != 0 or not os.path.isfile(real):
        return None
    return os.path.dirname(real)


# --------------------------------------------------------------------------------------
# One run
# --------------------------------------------------------------------------------------

AWS_CLI_DIR: str | None = None


def aws_env(port: int, work: str) -> dict[str, str]:
    """Our environment less every AWS_* setting, pointed at the emulator (and at the aws
    CLI behind a pyenv shim, see `aws_cli_dir`)."""
    empty = os.path.join(work, "empty-aws-config")
    open(empty, "w").close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    if AWS_CLI_DIR:
        env["PATH"] = AWS_CLI_DIR + os.pathsep + env.get("PATH", "")
    env.update(
        AWS_ENDPOINT_URL="http://127.0.0.1:%d" % port,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=empty,
        AWS_SHARED_CREDENTIALS_FILE=empty,
        AWS_PAGER="",
    )
    return env


def start_emulator(python3: str, work: str, flags: tuple[str, ...]) -> tuple[subprocess.Popen, int, str]:
    port_file = os.path.join(work, "port")
    request_log = os.path.join(work, "requests.jsonl")
    log = open(os.path.join(work, "emulator.log"), "w")
    argv = [python3, EMULATOR, "--port", "0", "--port-file", port_file,
            "--request-log", request_log, "--ecr-image", OLD_IMAGE, "--ecr-image", NEW_IMAGE,
            *flags]
    process = spawn(argv, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    deadline = time.monotonic() + 60
    while True:
        try:
            with open(port_file) as handle:
                text = handle.read().strip()
            if text:
                return process, int(text), request_log
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            with open(os.path.join(work, "emulator.log")) as handle:
                tail = handle.read()[-2000:]
            raise BenchError("the emulator did not start (is moto installed? "
                             "scripts/ensure-moto):\n" + tail)
        time.sleep(0.05)


def aws(env: dict[str, str], *args: str):
    done = subprocess.run(["aws", "--output", "json", *args], env=env, capture_output=True,
                          text=True, timeout=120)
    if done.returncode != 0:
        raise BenchError("setup: aws %s failed: %s" % (" ".join(args[:2]), done.stderr.strip()))
    return json.loads(done.stdout) if done.stdout.strip() else {}


def set_up(env: dict[str, str], work: str) -> None:
    """Cluster, task definition and service of 2 tasks; returns once it is steady."""
    aws(env, "ecs", "create-cluster", "--cluster-name", CLUSTER)
    definition = {
        "family": FAMILY,
        "containerDefinitions": [{
            "name": CONTAINER,
            "image": OLD_IMAGE,
            "memory": 256,
            "essential": True,
            "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
            "logConfiguration": {"logDriver": "awslogs", "options": {
                "awslogs-group": "/ecs/web", "awslogs-region": "us-east-1",
                "awslogs-stream-prefix": "bench"}},
        }],
    }
    path = os.path.join(work, "definition.json")
    with open(path, "w") as handle:
        json.dump(definition, handle)
    aws(env, "ecs", "register-task-definition", "--cli-input-json", "file://" + path)
    aws(env, "ecs", "create-service", "--cluster", CLUSTER, "--service-name", SERVICE,
        "--task-definition", FAMILY, "--desired-count", "2")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        service = aws(env, "ecs", "describe-services", "--cluster", CLUSTER,
                      "--services", SERVICE)["services"][0]
        deployments = service.get("deployments", [])
        if (len(deployments) == 1 and service.get("runningCount") == 2
                and deployments[0].get("rolloutState") == "COMPLETED"):
            return
        time.sleep(0.5)
    raise BenchError("setup: service %s did not become steady within 60 s" % SERVICE)


def command(tool: str, binary: str, timeout: int) -> list[str]:
    if tool == "ours":
        return [binary, "-c", CLUSTER, "-n", SERVICE, "-i", NEW_IMAGE, "-t", str(timeout)]
    return [os.path.join(VENV, "bin", "ecs"), "deploy", CLUSTER, SERVICE,
            "--image", CONTAINER, NEW_IMAGE, "--timeout", str(timeout), "--region", "us-east-1"]


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def read_requests(path: str, offset: int) -> list[dict]:
    with open(path, "rb") as handle:
        handle.seek(offset)
        data = handle.read()
    return [json.loads(line) for line in data.decode().splitlines() if line.strip()]


def polls(requests: list[dict], started: float) -> dict:
    """What the requests after the first UpdateService say about polling."""
    updates = [r for r in requests if r["action"] == "UpdateService"]
    if not updates:
        return {"to_update": None, "polls": 0, "poll_gap": None, "calls_per_poll": None}
    update_at = updates[0]["t"]
    after = [r for r in requests if r["t"] > update_at]
    describes = [r["t"] for r in after if r["action"] == "DescribeServices"]
    gaps = [b - a for a, b in zip(describes, describes[1:])]
    # Requests from the first poll on, per poll (the last, partial one included).
    watched = [r for r in after if describes and r["t"] >= describes[0]]
    return {
        "to_update": update_at - started,
        "polls": len(describes),
        "poll_gap": statistics.median(gaps) if gaps else None,
        "calls_per_poll": len(watched) / len(describes) if describes else None,
    }


def verdict(code: int | None, output: str) -> str:
    if code is None:
        return "hung"
    if code == 0:
        return "ok"
    if TIMEOUT_WORDS.search(output):
        return "timeout"
    return "failed"


def run_once(tool: str, scenario: str, timeout: int, binary: str, python3: str,
             keep: str | None) -> dict:
    flags, _ = SCENARIOS[scenario]
    work = tempfile.mkdtemp(prefix="ecs-deploy-peer-bench-")
    emulator = None
    try:
        emulator, port, request_log = start_emulator(python3, work, flags)
        env = aws_env(port, work)
        set_up(env, work)
        offset = os.path.getsize(request_log)
        out_path = os.path.join(work, "%s.out" % tool)
        cpu_before = cpu_seconds()
        with open(out_path, "w") as out:
            started = time.time()
            process = spawn(command(tool, binary, timeout), env=env, stdout=out,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            try:
                code = process.wait(timeout=timeout + HUNG_GRACE)
            except subprocess.TimeoutExpired:
                # SIGTERM first: ours then stops the aws children it runs in their own groups.
                stop(process)
                code = None
            ended = time.time()
            LIVE.pop(process.pid, None)
        cpu = cpu_seconds() - cpu_before
        time.sleep(0.2)  # the last answer's log line
        requests = [r for r in read_requests(request_log, offset) if started <= r["t"] <= ended]
        with open(out_path, errors="replace") as handle:
            output = handle.read()
        ecs = sum(1 for r in requests if r["service"] == "ecs")
        actions: dict[str, int] = {}
        for r in requests:
            key = r["action"] if r["service"] == "ecs" else "%s:%s" % (r["service"], r["action"])
            actions[key] = actions.get(key, 0) + 1
        result = {
            "scenario": scenario, "tool": tool, "timeout": timeout, "exit": code,
            "verdict": verdict(code, output), "wall": ended - started,
            "calls": len(requests), "ecs_calls": ecs, "other_calls": len(requests) - ecs,
            "cpu": cpu, "actions": actions,
            "sequence": [[round(r["t"] - started, 3), r["service"], r["action"]] for r in requests],
        }
        result.update(polls(requests, started))
        if keep:
            target = os.path.join(keep, "%s-%s-%d" % (scenario, tool, int(started)))
            shutil.copytree(work, target)
        return result
    finally:
        try:
            if emulator is not None:
                stop(emulator)
        finally:
            shutil.rmtree(work, ignore_errors=True)


# --------------------------------------------------------------------------------------
# Summary
# --------------------------------------------------------------------------------------

def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarise(runs: list[dict]) -> dict:
    verdicts = [r["verdict"] for r in runs]
    if len(set(verdicts)) == 1:
        shown = verdicts[0]
    else:
        shown = ", ".join("%s %d/%d" % (v, verdicts.count(v), len(verdicts))
                          for v in sorted(set(verdicts)))
    return {
        "scenario": runs[0]["scenario"], "tool": runs[0]["tool"], "runs": len(runs),
        "timeout": runs[0]["timeout"], "verdict": shown,
        **{key: median([r[key] for r in runs]) for key in (
            "wall", "to_update", "calls", "ecs_calls", "other_calls", "cpu", "polls",
            "poll_gap", "calls_per_poll")},
        "actions": runs[len(runs) // 2]["actions"],
    }


def number(value, digits=1) -> str:
    if value is None:
        return "-"
    if float(value).is_integer():
        return "%d" % value
    return "%.*f" % (digits, value)


def seconds(value) -> str:
    return "-" if value is None else "%.1f" % value


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def report(summaries: list[dict], runs: int) -> str:
    rows = []
    for s in summaries:
        calls = "%s (%s+%s)" % (number(s["calls"]), number(s["ecs_calls"]), number(s["other_calls"]))
        rows.append([s["scenario"], s["tool"], seconds(s["wall"]), seconds(s["to_update"]),
                     calls, s["verdict"], "%.2f" % s["cpu"]])
    parts = ["Medians of %d run%s; ours = target/release/ecs-deploy (aws CLI), peer = %s "
             "(boto3)." % (runs, "" if runs == 1 else "s", PEER_PINS[0]), "",
             table(["scenario", "tool", "wall s", "to update-service s", "API calls (ECS+other)",
                    "verdict", "CPU s"], rows), ""]
    by_key = {(s["scenario"], s["tool"]): s for s in summaries}
    for scenario in dict.fromkeys(s["scenario"] for s in summaries):
        ours, peer = by_key.get((scenario, "ours")), by_key.get((scenario, "peer"))
        if ours and peer and peer["wall"] and peer["calls"]:
            parts.append("- %s: ours/peer wall %.2fx, calls %.2fx" %
                         (scenario, ours["wall"] / peer["wall"], ours["calls"] / peer["calls"]))
    poll_rows = [[s["scenario"], s["tool"], number(s["polls"]), seconds(s["poll_gap"]),
                  number(s["calls_per_poll"])] for s in summaries]
    parts += ["", "Polling after UpdateService (a poll starts at each DescribeServices):", "",
              table(["scenario", "tool", "polls", "s between polls", "calls per poll"], poll_rows),
              "", "Calls by action (the median run):", ""]
    for s in summaries:
        actions = ", ".join("%s %d" % item for item in sorted(s["actions"].items(),
                                                             key=lambda item: (-item[1], item[0])))
        parts.append("- %s / %s: %s" % (s["scenario"], s["tool"], actions))
    return "\n".join(parts)


# --------------------------------------------------------------------------------------

def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench --peer", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--peer", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--runs", type=int, default=3, help="runs of each tool per scenario (default 3); medians are shown")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS),
                        help="comma-separated, some of %s (default: all)" % ", ".join(SCENARIOS))
    parser.add_argument("--peer-timeout", type=int, default=None, metavar="S",
                        help="the wait timeout given to both tools (default: 120 s for failing-no-cb, %d s for the others)" % DEFAULT_TIMEOUT)
    parser.add_argument("--tools", default="ours,peer", help="comma-separated: ours, peer (default both)")
    parser.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "ecs-deploy"))
    parser.add_argument("--json", action="store_true", help="print every run and the medians as JSON instead of the tables")
    parser.add_argument("--keep", metavar="DIR", help="keep each run's work directory (tool output, emulator log, request log) under DIR")
    args = parser.parse_args(argv)
    scenarios = [name for name in args.scenarios.split(",") if name]
    unknown = [name for name in scenarios if name not in SCENARIOS]
    if unknown:
        parser.error("unknown scenario(s): %s" % ", ".join(unknown))
    tools = [name for name in args.tools.split(",") if name]
    if any(tool not in ("ours", "peer") for tool in tools):
        parser.error("--tools takes ours and/or peer")
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if "ours" in tools and not os.access(args.binary, os.X_OK):
        say("%s not found: this script builds nothing; run `cargo build --release` first "
            "(or pass --binary)" % args.binary)
        return 2
    if not shutil.which("aws"):
        say("the aws CLI is not on PATH (setup and our tool use it)")
        return 2
    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
    global AWS_CLI_DIR
    AWS_CLI_DIR = aws_cli_dir()
    if AWS_CLI_DIR:
        say("`aws` on PATH is a pyenv shim; running the aws CLI in %s instead" % AWS_CLI_DIR)

    # Both, explicitly: a shell starts a background job with SIGINT ignored.
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        subprocess.run([os.path.join(ROOT, "scripts", "ensure-moto")], check=True)
        python3 = system_python()
        if "peer" in tools:
            ensure_venv(python3)
        results = []
        for scenario in scenarios:
            timeout = args.peer_timeout or SCENARIOS[scenario][1]
            for index in range(args.runs):
                for tool in tools:
                    result = run_once(tool, scenario, timeout, args.binary, python3, args.keep)
                    say("%s run %d/%d %s: %s, %.1f s, %d calls" % (
                        scenario, index + 1, args.runs, tool, result["verdict"], result["wall"],
                        result["calls"]))
                    results.append(result)
    except KeyboardInterrupt:
        say("interrupted; stopping what it started")
        return 130
    except (BenchError, subprocess.CalledProcessError) as error:
        say(str(error))
        return 1
    finally:
        stop_all()

    summaries = []
    for scenario in scenarios:
        for tool in tools:
            runs = [r for r in results if r["scenario"] == scenario and r["tool"] == tool]
            summaries.append(summarise(runs))
    try:
        if args.json:
            json.dump({"peer": list(PEER_PINS), "runs": results, "medians": summaries},
                      sys.stdout, indent=2)
            print()
        else:
            print(report(summaries, args.runs))
        sys.stdout.flush()
    except BrokenPipeError:
        # A reader that stopped early (`| head`) is no failure of the benchmark.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0
