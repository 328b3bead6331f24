"""A tiny Kubernetes-API-shaped HTTP server (Secrets, Addressables, Triggers) in a thread.

Not Kubernetes: just enough of its REST conventions (paths, 404/409, resourceVersion,
base64 Secret data, label selectors) to check that :class:`k8s.operator.kubeapi.KubeApi`
speaks them, over real HTTP.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class State:
    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}  # path of the object -> object
        self.requests: list[tuple[str, str, str]] = []  # (method, path, authorization)
        self.version = 0

    def stamp(self, obj: dict[str, Any]) -> dict[str, Any]:
        self.version += 1
        obj.setdefault("metadata", {})["resourceVersion"] = str(self.version)
        return obj


def _handler(state: State) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _answer(self, code: int, body: Any = None) -> None:
            data = json.dumps(body if body is not None else {"code": code}).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> dict[str, Any]:
            length = int(self.headers.get("Content-Length", 0))
            loaded: dict[str, Any] = json.loads(self.rfile.read(length))
            return loaded

        def _record(self) -> tuple[str, dict[str, list[str]]]:
            parts = urlsplit(self.path)
            auth = self.headers.get("Authorization", "")
            state.requests.append((self.command, parts.path, auth))
            return parts.path, parse_qs(parts.query)

        def do_GET(self) -> None:
            path, query = self._record()
            if path in state.objects:
                return self._answer(200, state.objects[path])
            selector = query.get("labelSelector", [None])[0]
            items = [o for p, o in state.objects.items() if p.rsplit("/", 1)[0] == path]
            if items or path.endswith("/triggers"):
                items = [o for o in items if selector in o["metadata"].get("labels", {})]
                return self._answer(200, {"items": items})
            return self._answer(404)

        def do_POST(self) -> None:
            path, _ = self._record()
            obj = self._body()
            target = f"{path}/{obj['metadata']['name']}"
            if target in state.objects:
                return self._answer(409)
            if "stringData" in obj:  # as the API server does: stored base64 under data
                obj["data"] = {
                    k: base64.b64encode(v.encode()).decode()
                    for k, v in obj.pop("stringData").items()
                }
            state.objects[target] = state.stamp(obj)
            return self._answer(201, obj)

        def do_PUT(self) -> None:
            path, _ = self._record()
            obj = self._body()
            current = state.objects.get(path)
            if current is None:
                return self._answer(404)
            if obj["metadata"].get("resourceVersion") != current["metadata"]["resourceVersion"]:
                return self._answer(409)
            obj["status"] = current.get("status", {})
            state.objects[path] = state.stamp(obj)
            return self._answer(200, obj)

        def do_DELETE(self) -> None:
            path, _ = self._record()
            if state.objects.pop(path, None) is None:
                return self._answer(404)
            return self._answer(200)

    return Handler


@contextmanager
def serve() -> Iterator[tuple[str, State]]:
    state = State()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()
