"""The HTTP side: moto's werkzeug application behind a WSGI wrapper that serves the
/_emulator/* endpoints and lets one request at a time into moto, under the lock, after
bringing every service's state up to the current time."""

from __future__ import annotations

import json
from typing import Any

from .config import CONFIG, CONFIG_KEYS, LOCK, log, tick_all
from .ecr import ECR_IMAGES, add_ecr_image


class EmulatorApp:
    """WSGI wrapper: /_emulator/* endpoints, and one request at a time into moto."""

    def __init__(self, moto_app: Any):
        self.moto_app = moto_app

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
