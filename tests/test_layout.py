"""Tests mirror modules: each source module has ``tests/<its package path>/test_<module>.py``.

``NEEDS_NONE`` names the modules that need none, each with its reason; ``PENDING`` those still
waiting for one (the list may only shrink). Both are checked against the tree: an entry whose
module is gone, or that has a test module now, fails too, so neither list goes stale.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Source tree -> the tests' tree; the client's distribution keeps its package one level down.
TREES = {
    "api": "tests/api",
    "blazar_events": "tests/blazar_events",
    "bridge": "tests/bridge",
    "broker": "tests/broker",
    "client/blazar_events_client": "tests/client",
    "delivery": "tests/delivery",
    "functions": "tests/functions",
    "k8s": "tests/k8s",
    "reminders": "tests/reminders",
    "stack": "tests/stack",
}

# A component's settings section declares options only; test_settings checks every section
# (loading, env names, the sample file and docs/configuration.md), test_renames the shared ones.
SETTINGS = "declarations only: tests/blazar_events/test_settings.py covers every section"

NEEDS_NONE = {
    "api/settings.py": SETTINGS,
    "bridge/settings.py": SETTINGS,
    "broker/settings.py": SETTINGS,
    "delivery/settings.py": SETTINGS,
    "k8s/settings.py": SETTINGS,
    "reminders/settings.py": SETTINGS,
    "functions/settings.py": SETTINGS,
    "k8s/operator/cluster.py": "a Protocol, no code: kubeapi and tests/k8s/cluster.py meet it",
    "stack/errors.py": "one exception class, no code of its own",
    "stack/eventing_webhook.py": "constants of a KnativeWebhook (stack/knative.py), no code",
    "stack/serving_webhook.py": "constants of a KnativeWebhook (stack/knative.py), no code",
}

# Still without a test module of their own (issue 14), each covered where named.
PENDING = {
    "stack/demo.py": "run whole by tests/e2e/test_demo.py",
}


def source_modules() -> dict[str, Path]:
    """Every source module (package files excluded), by its path, with its test module."""
    modules = {}
    for tree, tests in TREES.items():
        for path in sorted((ROOT / tree).rglob("*.py")):
            if path.name in {"__init__.py", "conftest.py"}:
                continue
            inside = path.relative_to(ROOT / tree)
            test = ROOT / tests / inside.parent / f"test_{path.name}"
            modules[path.relative_to(ROOT).as_posix()] = test
    return modules


def test_every_source_module_has_its_test_module() -> None:
    missing = [
        name
        for name, test in source_modules().items()
        if not test.exists() and name not in NEEDS_NONE and name not in PENDING
    ]
    assert not missing, (
        f"write tests/<package>/test_<module>.py for (or list with a reason): {missing}"
    )


def test_the_exceptions_name_modules_that_exist_and_still_lack_a_test_module() -> None:
    modules = source_modules()
    listed = {**NEEDS_NONE, **PENDING}
    assert [name for name in listed if name not in modules] == []
    assert [name for name in listed if modules[name].exists()] == []
    assert set(NEEDS_NONE).isdisjoint(PENDING)
    assert all(reason and "\n" not in reason for reason in listed.values())


def test_every_source_tree_is_mapped() -> None:
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests", "bench"}
    assert packages <= set(TREES)
    assert all((ROOT / tree / "__init__.py").exists() for tree in TREES)
