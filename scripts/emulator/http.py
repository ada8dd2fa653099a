"""The HTTP side: moto's werkzeug application behind a WSGI wrapper that serves the
/_emulator/* endpoints and lets one request at a time into moto, under the lock, after
bringing every service's state up to the current time."""

from __future__ import annotations

import io
import json
import threading
import time
import urllib.parse
from typing import Any, TextIO

from .config import CONFIG, CONFIG_KEYS, LOCK, log, tick_all
from .ecr import ECR_IMAGES, add_ecr_image


# The service a request is for, by the prefix of its X-Amz-Target, when its
# Authorization header names no credential scope.
TARGET_SERVICES = {
    "AmazonEC2ContainerServiceV20141113": "ecs",
    "CodeDeploy_20141006": "codedeploy",
    "Logs_20140328": "logs",
    "AmazonEC2ContainerRegistry_V20150921": "ecr",
}


def request_service(environ: dict[str, Any]) -> str:
    """The AWS service of a request: the credential scope of its SigV4 Authorization
    header (Credential=KEY/DATE/REGION/SERVICE/aws4_request), else its X-Amz-Target's
    prefix, else the first label of its Host; "" when none says."""
    authorization = environ.get("HTTP_AUTHORIZATION", "")
    marker = authorization.find("Credential=")
    if marker >= 0:
        scope = authorization[marker + len("Credential="):].split(",", 1)[0].strip().split("/")
        if len(scope) >= 5 and scope[3]:
            return scope[3]
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        prefix = target.split(".", 1)[0]
        return TARGET_SERVICES.get(prefix, prefix)
    host = environ.get("HTTP_HOST", "").split(":", 1)[0]
    first = host.split(".", 1)[0]
    return "" if not first or first[0].isdigit() or first == "localhost" else first


def request_action(environ: dict[str, Any]) -> str:
    """The operation of a request: the part of X-Amz-Target after its last dot, else the
    Action parameter of the query string or of a form-encoded body (the body is read
    and put back for moto); "" when none says."""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        return target.rsplit(".", 1)[-1]
    action = urllib.parse.parse_qs(environ.get("QUERY_STRING", "")).get("Action")
    if action:
        return action[0]
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        action = urllib.parse.parse_qs(body.decode("utf-8", "replace")).get("Action")
        if action:
            return action[0]
    return ""


class RequestLog:
    """--request-log: one JSON line per AWS request, appended and flushed as it is
    answered, from any thread."""

    def __init__(self, path: str):
        self.handle: TextIO = open(path, "a", encoding="utf-8")
        self.lock = threading.Lock()

    def write(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, separators=(",", ":")) + "\n"
        with self.lock:
            if not self.handle.closed:
                self.handle.write(line)
                self.handle.flush()

    def close(self) -> None:
        with self.lock:
            self.handle.close()


class EmulatorApp:
    """WSGI wrapper: /_emulator/* endpoints, and one request at a time into moto."""

    def __init__(self, moto_app: Any):
        self.moto_app = moto_app
        # Set once the emulator is ready (its own warm-up request is not logged).
        self.request_log: RequestLog | None = None

    def _json(self, start_response: Any, status: str, payload: Any) -> list[bytes]:
        body = json.dumps(payload).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if path == "/_emulator/health":
            return self._json(start_response, "200 OK", {"status": "ok"})
        if path == "/_emulator/config":
            if environ.get("REQUEST_METHOD") == "POST":
                try:
                    length = int(environ.get("CONTENT_LENGTH") or 0)
                    update = json.loads(environ["wsgi.input"].read(length) or b"{}")
                    with LOCK:
                        for key, value in update.items():
                            if key not in CONFIG_KEYS:
                                raise ValueError(f"unknown setting {key}")
                            CONFIG[key] = CONFIG_KEYS[key](value)
                except (ValueError, TypeError) as exc:
                    return self._json(start_response, "400 Bad Request", {"error": str(exc)})
            with LOCK:
                return self._json(start_response, "200 OK", {k: CONFIG[k] for k in CONFIG_KEYS})
        if path == "/_emulator/ecr-images":
            if environ.get("REQUEST_METHOD") == "POST":
                try:
                    length = int(environ.get("CONTENT_LENGTH") or 0)
                    references = json.loads(environ["wsgi.input"].read(length) or b"[]")
                    if isinstance(references, str):
                        references = [references]
                    if not isinstance(references, list) or not all(isinstance(r, str) for r in references):
                        raise ValueError("expected a JSON list of image references")
                    with LOCK:
                        for reference in references:
                            add_ecr_image(reference)
                except Exception as exc:  # a bad reference or region: say so, keep serving
                    return self._json(start_response, "400 Bad Request", {"error": str(exc)})
            with LOCK:
                return self._json(start_response, "200 OK", {"images": list(ECR_IMAGES)})
        if CONFIG["verbose"]:
            target = environ.get("HTTP_X_AMZ_TARGET", "")
            log(f"request {target.rsplit('.', 1)[-1] or environ.get('REQUEST_METHOD', '') + ' ' + path}")
        request_log = self.request_log
        if request_log is not None:
            arrived = time.time()
            record = {"t": round(arrived, 6), "service": request_service(environ), "action": request_action(environ)}
            answer = start_response

            def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
                record["status"] = int(status.split(" ", 1)[0])
                return answer(status, headers, exc_info)

        try:
            return self._moto(environ, start_response)
        finally:
            if request_log is not None:
                record["ms"] = round((time.time() - arrived) * 1000, 1)
                request_log.write(record)

    def _moto(self, environ: dict[str, Any], start_response: Any) -> Any:
        with LOCK:
            tick_all()
            chunks = self.moto_app(environ, start_response)
            try:
                return [b"".join(chunks)]
            finally:
                close = getattr(chunks, "close", None)
                if close:
                    close()


def warm_up(port: int) -> None:
    """One ECS call through the server, so that moto has loaded ECS before we say 'ready'."""
    import urllib.request

    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/",
        data=b"{}",
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "AmazonEC2ContainerServiceV20141113.ListClusters",
            "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/ecs/aws4_request, SignedHeaders=host, Signature=0",
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
