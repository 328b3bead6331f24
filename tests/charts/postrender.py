"""A helm post-renderer: drop the kinds no CRD exists for on the stack's API server.

KafkaSource (eventing-kafka-broker) cannot be had here; its objects keep their offline schema
check (tests/charts/test_chart.py) and everything else goes to the real API server. The
kinds dropped are written to the file named by BLAZAR_EVENTS_DROPPED, one per line.
"""

from __future__ import annotations

import os
import sys

import yaml

NO_CRD_HERE = {("sources.knative.dev/v1", "KafkaSource")}


def main() -> None:
    docs = [doc for doc in yaml.safe_load_all(sys.stdin.read()) if doc]
    kept = [doc for doc in docs if (doc.get("apiVersion"), doc.get("kind")) not in NO_CRD_HERE]
    dropped = [f"{doc['kind']}/{doc['metadata']['name']}" for doc in docs if doc not in kept]
    with open(os.environ["BLAZAR_EVENTS_DROPPED"], "a", encoding="utf-8") as out:
        out.writelines(f"{name}\n" for name in dropped)
    sys.stdout.write(yaml.safe_dump_all(kept, sort_keys=False))


if __name__ == "__main__":
    main()
