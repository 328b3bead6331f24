"""Which Debian packages a service still needs: only those of programs not found."""

from __future__ import annotations

import sys

from stack.install import apt_install, missing


def test_only_missing_programs_name_their_package_once() -> None:
    wanted = {
        sys.executable: "python3",  # an absolute path that exists
        "sh": "dash",  # on PATH
        "/nonexistent/bin/redis-server": "redis-server",
        "no-such-program-anywhere": "redis-server",
        "another-missing-one": "kafka-tools",
    }
    assert missing(wanted) == ["kafka-tools", "redis-server"]


def test_nothing_missing_installs_nothing() -> None:
    apt_install([])  # returns at once: no apt-get, no root needed
