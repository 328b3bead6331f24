"""``blazar-events api``: the subscriptions API under gunicorn (2 workers by default)."""

from __future__ import annotations

import argparse
from typing import Any

from gunicorn.app.base import BaseApplication

from api.settings import ApiSettings
from blazar_events import logs


class _Server(BaseApplication):
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from api.app import create_app

        return create_app()


def main(argv: list[str]) -> int:
    defaults = ApiSettings.load()
    parser = argparse.ArgumentParser(prog="blazar-events api", description=__doc__)
    parser.add_argument("--host", default=defaults.host, help="address to bind ([api] host)")
    parser.add_argument("--port", type=int, default=defaults.port, help="port ([api] port)")
    parser.add_argument(
        "--workers", type=int, default=defaults.workers, help="gunicorn workers ([api] workers)"
    )
    args = parser.parse_args(argv)
    logs.configure(defaults.log_level, defaults.log_format)
    _Server(
        {
            "bind": f"{args.host}:{args.port}",
            "workers": args.workers,
            "accesslog": "-",
            "timeout": 30,
            "graceful_timeout": 10,
            # gunicorn's own errors (malformed HTTP) as Blazar-shaped JSON, not HTML
            "worker_class": "api.worker.JsonErrorWorker",
        }
    ).run()
    return 0
