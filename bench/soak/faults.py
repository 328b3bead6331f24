"""What each kind of fault of the schedule does to the soak's pipeline and the stack."""

from __future__ import annotations

import argparse
import random
import threading
import time
from collections.abc import Callable

from chaos import Fault, Timeline, fault_lock
from pipeline import Soak
from report import Update
from sinks import Sinks
from workload import SubDef

from stack import registry
from stack.layout import stack_dir as stack_folder

# Tests beside the soak hold the fault lock shared while they use a service; a restart waits
# this long for them to let go, then is skipped (and the run reported as not OK).
LOCK_WAIT = 300.0


def to_actions(
    soak: Soak,
    sinks: Sinks,
    subs: list[SubDef],
    update: Update,
    args: argparse.Namespace,
    timeline: Timeline,
    rng: random.Random,
) -> dict[str, Callable[[Fault], str]]:
    lock_path = stack_folder() / "faults.lock" if args.fault_lock == "stack" else None
    by_name = {sub.name: sub for sub in subs}

    def kill(fault: Fault) -> str:
        component = soak.components[fault.target]
        soak.restarting.add(fault.target)
        try:
            component.kill()
            down = rng.uniform(1.0, 5.0)
            time.sleep(down)
            component.start()
        finally:
            soak.restarting.discard(fault.target)
        return f"SIGKILL, restarted after {down:.1f} s"

    def restart(fault: Fault) -> str:
        with fault_lock(lock_path, LOCK_WAIT) as held:
            if not held:
                return f"SKIPPED: the stack's fault lock stayed busy for {LOCK_WAIT:g} s"
            when = [
                *(["while the bridge produces"] if soak.publishing.is_set() else []),
                *(["while c-all's retries are due"] if not soak.sink_up.is_set() else []),
            ]
            started = time.monotonic()
            if not registry.stop_service(fault.target):
                return f"SKIPPED: {fault.target} is not run by this stack ({stack_folder()})"
            stopped = time.monotonic()
            registry.start_service(fault.target)
            return (
                f"stopped in {stopped - started:.1f} s, answering again after "
                f"{time.monotonic() - stopped:.1f} s {', '.join(when)}"
            ).strip()

    def sink_down(fault: Fault) -> str:
        sinks.down(fault.target)
        soak.sink_up.clear()
        began = time.time()

        def back() -> None:
            sinks.up(fault.target)
            timeline.record(time.time(), f"sink-up {fault.target}",
                            f"down {time.time() - began:.0f} s")  # fmt: skip
            soak.sink_up.set()

        threading.Timer(args.sink_down, back).start()
        return f"connections refused for {args.sink_down:g} s"

    def rotate(fault: Fault) -> str:
        sub = by_name[fault.target]
        answer = soak.api_call("POST", f"/v1/subscriptions/{soak.sub_ids[sub.name]}/secret",
                           sub.project, {})  # fmt: skip
        sinks.trust(sub.name, str(answer["secret"]))
        return "new secret; the old one keeps signing during its grace"

    def change(fault: Fault) -> str:
        sub = by_name[fault.target]
        assert sub.update is not None
        update.started = time.time()
        soak.api_call("PATCH", f"/v1/subscriptions/{soak.sub_ids[sub.name]}", sub.project,
                  sub.update[0], patch=True)  # fmt: skip
        update.finished = time.time()
        return f"PATCH {sub.update[0]}"

    return {"kill": kill, "restart": restart, "sink-down": sink_down, "rotate": rotate,
            "update": change}  # fmt: skip
