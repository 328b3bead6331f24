"""Installing what a service needs from Debian packages, only when it is missing."""

from __future__ import annotations

import glob
import os
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path

from stack.errors import StackError
from stack.layout import stack_dir
from stack.process import run_step

APT_TIMEOUT = 900.0
POLICY_RC = Path("/usr/sbin/policy-rc.d")


def missing(programs: dict[str, str]) -> list[str]:
    """Debian packages to install for the programs (program -> package) not found."""
    return sorted({package for program, package in programs.items() if not _found(program)})


def _found(program: str) -> bool:
    return Path(program).is_file() if program.startswith("/") else shutil.which(program) is not None


def apt_install(packages: Iterable[str]) -> None:
    """``apt-get install`` the packages; ``apt-get update`` first only when needed."""
    wanted = sorted(set(packages))
    if not wanted:
        return
    if os.geteuid() != 0:
        raise StackError(
            f"missing Debian packages {', '.join(wanted)}: install them as root "
            f"(apt-get install {' '.join(wanted)}) and run `blazar-events stack up` again"
        )
    log = stack_dir() / "install.log"
    print(f"stack: installing {', '.join(wanted)} with apt-get", file=sys.stderr, flush=True)
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *wanted]
    # Package post-install scripts would start the system-wide services on their default
    # ports; the stack runs its own instances instead, so forbid that while installing.
    added_policy = not POLICY_RC.exists()
    if added_policy:
        POLICY_RC.write_text("#!/bin/sh\nexit 101\n")
        POLICY_RC.chmod(0o755)
    try:
        if not glob.glob("/var/lib/apt/lists/*_Packages"):
            run_step("apt-get update", ["apt-get", "update", "-q"], log, APT_TIMEOUT, env)
        try:
            run_step(f"apt-get install {' '.join(wanted)}", install, log, APT_TIMEOUT, env)
        except StackError:
            # Stale package lists are the usual cause: refresh once and retry.
            run_step("apt-get update", ["apt-get", "update", "-q"], log, APT_TIMEOUT, env)
            run_step(f"apt-get install {' '.join(wanted)}", install, log, APT_TIMEOUT, env)
    finally:
        if added_policy:
            POLICY_RC.unlink(missing_ok=True)
