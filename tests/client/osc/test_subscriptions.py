"""`openstack reservation subscription …` through the real `openstack` entry point,
against the API in keystone mode found in the real Keystone's catalog."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from tests.client.conftest import Cloud, openstack

SINK = "http://10.0.0.1:8217/"

# Each command logs in to Keystone, as a user's does: a test of a dozen commands takes minutes
# on a loaded two-core machine (no assertion here is about time).
pytestmark = pytest.mark.timeout(900)


def test_member_drives_a_subscription_through_its_life(cloud: Cloud) -> None:
    alice = cloud.member_a
    created = openstack(
        alice, "reservation", "subscription", "create", "--name", "gpu leases",
        "--type", "lease.event.start_lease", "--type", "lease.event.before_end_lease",
        "--sink", SINK, "--filter-sql", "leasestatus IN ('ACTIVE', 'ERROR')",
        "--header", "X-Team=ml", "--retry", "3", "-f", "json",
    ).json()  # fmt: skip
    sub_id = created["id"]
    assert created["secret"].startswith("whsec_")
    assert created["project_id"] == alice.project_id
    assert created["types"] == [
        "org.openstack.blazar.lease.event.start_lease",
        "org.openstack.blazar.lease.event.before_end_lease",
    ]
    assert created["filters"] == [{"sql": "leasestatus IN ('ACTIVE', 'ERROR')"}]
    assert created["protocolsettings"]["headers"] == {"X-Team": "ml"}
    assert created["delivery"]["retry"] == 3

    shown = openstack(alice, "reservation", "subscription", "show", sub_id, "-f", "yaml")
    assert shown.code == 0, shown
    as_yaml = yaml.safe_load(shown.out)
    assert as_yaml["id"] == sub_id and "secret" not in as_yaml
    assert created["secret"] not in shown.out

    changed = openstack(
        alice, "reservation", "subscription", "set", sub_id, "--name", "renamed",
        "--unset-header", "X-Team", "--disable", "-f", "json",
    ).json()  # fmt: skip
    assert changed["name"] == "renamed" and changed["status"] == "DISABLED"
    assert changed["protocolsettings"]["headers"] == {}
    assert changed["types"] == created["types"]  # what the options did not name stays

    listed = openstack(alice, "reservation", "subscription", "list", "-f", "value", "-c", "ID")
    assert listed.code == 0 and sub_id in listed.out.split(), listed

    rotated = openstack(
        alice, "reservation", "subscription", "rotate-secret", sub_id, "--grace-period", "PT1H",
        "-f", "json",
    ).json()  # fmt: skip
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != created["secret"]
    assert rotated["previous_expires_at"]

    tested = openstack(alice, "reservation", "subscription", "test", sub_id, "-f", "json").json()
    assert tested["subscription_id"] == sub_id and tested["type"].endswith("subscription.test")

    since = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    replay = openstack(
        alice, "reservation", "subscription", "replay", sub_id, "--since", since, "-f", "json"
    ).json()
    assert replay["subscription_id"] == sub_id and replay["replay_id"]

    deliveries = openstack(
        alice, "reservation", "subscription", "delivery", "list", sub_id, "-f", "json"
    ).json()
    assert deliveries == []  # no broker runs here: the log is empty, and listed as such

    deleted = openstack(alice, "reservation", "subscription", "delete", sub_id)
    assert deleted.code == 0 and deleted.out == "", deleted
    gone = openstack(alice, "reservation", "subscription", "show", sub_id)
    assert gone.code != 0
    assert "NotFound" in gone.err and "(HTTP 404)" in gone.err
    assert "Traceback" not in gone.err


def test_a_member_sees_only_their_project_and_an_admin_sees_all(cloud: Cloud) -> None:
    alice, bob, admin = cloud.member_a, cloud.member_b, cloud.admin
    mine = openstack(
        alice, "reservation", "subscription", "create", "--sink", SINK, "-f", "json"
    ).json()
    sub_id = mine["id"]

    bobs = openstack(bob, "reservation", "subscription", "list", "-f", "json").json()
    assert sub_id not in [s["ID"] for s in bobs]
    for verb in ("show", "delete", "rotate-secret", "test"):
        refused = openstack(bob, "reservation", "subscription", verb, sub_id)
        assert refused.code != 0 and "(HTTP 404)" in refused.err, (verb, refused)
    refused = openstack(bob, "reservation", "subscription", "set", sub_id, "--name", "x")
    assert refused.code != 0 and "(HTTP 404)" in refused.err, refused
    nosy = openstack(bob, "reservation", "subscription", "list", "--all-projects")
    assert nosy.code != 0 and "(HTTP 403)" in nosy.err, nosy

    everyone = openstack(
        admin, "reservation", "subscription", "list", "--all-projects", "--long", "-f", "json"
    ).json()
    assert {"ID": sub_id, "Project ID": alice.project_id}.items() <= next(
        s for s in everyone if s["ID"] == sub_id
    ).items()
    theirs = openstack(
        admin, "reservation", "subscription", "list", "--project", alice.project_id,
        "-f", "value", "-c", "ID",
    )  # fmt: skip
    assert theirs.code == 0 and theirs.out.split() == [sub_id], theirs
    # An admin acts on another project's subscription, and makes one for a project.
    shown = openstack(admin, "reservation", "subscription", "show", sub_id, "-f", "json").json()
    assert shown["project_id"] == alice.project_id
    for_bob = openstack(
        admin, "reservation", "subscription", "create", "--sink", SINK,
        "--project", bob.project_id, "-f", "json",
    ).json()  # fmt: skip
    bobs = openstack(bob, "reservation", "subscription", "list", "-f", "value", "-c", "ID")
    assert bobs.out.split() == [for_bob["id"]], bobs
    # Delete several at once; one another project's fails, the rest go, the exit says so.
    both = openstack(bob, "reservation", "subscription", "delete", for_bob["id"], sub_id)
    assert both.code != 0 and "1 of 2 subscriptions failed to delete" in both.err, both
    assert openstack(admin, "reservation", "subscription", "delete", sub_id).code == 0
    assert openstack(bob, "reservation", "subscription", "list", "-f", "json").json() == []


def test_the_proposals_form(cloud: Cloud) -> None:
    lease = str(uuid.uuid4())
    alice = cloud.member_a
    created = openstack(
        alice, "reservation", "subscription", "create", "--lease", lease,
        "--notify-endpoint", "10.0.0.1:8217", "-f", "json",
    ).json()  # fmt: skip
    assert created["lease_id"] == lease and created["sink"] == SINK
    assert created["secret"].startswith("whsec_")
    on_lease = openstack(
        alice, "reservation", "subscription", "list", "--lease", lease, "-f", "json"
    ).json()
    assert [s["ID"] for s in on_lease] == [created["id"]]
    assert on_lease[0]["Lease ID"] == lease
    bad = openstack(
        alice, "reservation", "subscription", "create", "--lease", lease,
        "--notify-endpoint", "10.0.0.1",
    )  # fmt: skip
    assert bad.code != 0 and "expected <ip-address>:<port>" in bad.err, bad


def test_filters_from_flags_and_a_json_file(cloud: Cloud, tmp_path: Path) -> None:
    alice = cloud.member_a
    written = [{"any": [{"exact": {"leasestatus": "ACTIVE"}}, {"prefix": {"subject": "gpu"}}]}]
    path = tmp_path / "filters.json"
    path.write_text(json.dumps(written))
    created = openstack(
        alice, "reservation", "subscription", "create", "--sink", SINK,
        "--filters-file", str(path), "--filter-suffix", "source=blazar.lease",
        "--filter-exact", "leaseid=x=y", "-f", "json",
    ).json()  # fmt: skip
    assert created["filters"] == [
        *written,
        {"exact": {"leaseid": "x=y"}},
        {"suffix": {"source": "blazar.lease"}},
    ]
    # The file may also be a subscription as `show -f json` prints it, or standard input.
    path.write_text(json.dumps(created))
    again = openstack(
        alice, "reservation", "subscription", "set", created["id"], "--filters-file", "-",
        "-f", "json", stdin=json.dumps({"filters": [{"sql": "leasestatus = 'ACTIVE'"}]}),
    ).json()  # fmt: skip
    assert again["filters"] == [{"sql": "leasestatus = 'ACTIVE'"}]
    cleared = openstack(
        alice, "reservation", "subscription", "set", created["id"], "--no-filter", "-f", "json"
    ).json()
    assert cleared["filters"] == []

    # A filter the API refuses: its 400, in Blazar's words, naming the expression.
    wrong = openstack(
        alice, "reservation", "subscription", "create", "--sink", SINK,
        "--filter-sql", "leasestatus = ",
    )  # fmt: skip
    assert wrong.code != 0 and "InvalidFilter" in wrong.err and "(HTTP 400)" in wrong.err, wrong
    assert "leasestatus = " in wrong.err
    path.write_text("{not json")
    broken = openstack(
        alice, "reservation", "subscription", "create", "--sink", SINK,
        "--filters-file", str(path),
    )  # fmt: skip
    assert broken.code != 0 and "--filters-file" in broken.err and "not JSON" in broken.err
    assert "Traceback" not in broken.err


def test_errors_print_as_openstack_users_expect(cloud: Cloud) -> None:
    alice = cloud.member_a
    internal = openstack(
        alice, "reservation", "subscription", "create", "--sink", "http://169.254.169.254/"
    )
    assert internal.code != 0 and "(HTTP 400)" in internal.err, internal
    assert "rule=metadata" in internal.err
    nowhere = openstack(alice, "reservation", "subscription", "create", "--name", "x")
    assert nowhere.code != 0 and "--sink or --notify-endpoint" in nowhere.err
    # A typo in an option is argparse's usage error, as for any openstack command.
    typo = openstack(alice, "reservation", "subscription", "create", "--snik", SINK)
    assert typo.code != 0 and "unrecognized arguments" in typo.err
    # A region without blazar-events: said in those words, not as a stack trace.
    lost = openstack(alice, "reservation", "subscription", "list", region="RegionNowhere")
    assert lost.code != 0 and "reservation-events" in lost.err and "catalog" in lost.err, lost
    for result in (internal, nowhere, typo, lost):
        assert "Traceback" not in result.err
