"""The read side of the subscription store: one subscription, pages of them by project,
lease or type, all of them; the key names of the records and indexes.

:class:`~blazar_events.store.SubscriptionStore` adds the writes and the signing keys; the
layout and why it is shaped so: :mod:`blazar_events.store`.
"""

from __future__ import annotations

import builtins
import itertools
from collections.abc import Iterator

from blazar_events.errors import NotFound
from blazar_events.streams import Streams, text, unavailable_on_outage
from blazar_events.subscription import Subscription

CHUNK = 200  # ids read from an index per call


class SubscriptionQueries(Streams):
    """Reads of the subscriptions and their indexes; the streams come from :class:`Streams`."""

    # --- keys ---------------------------------------------------------------------------------

    def _sub_key(self, sub_id: str) -> str:
        return self.keys.subscription(sub_id)

    def _keys_key(self, sub_id: str) -> str:
        return self.keys.signing_keys(sub_id)

    def _index(self, kind: str, value: str = "") -> str:
        return self.keys.index(kind, value)

    def _indexes(self, sub: Subscription) -> set[str]:
        keys = {self._index("all"), self._index("project", sub.project_id)}
        if sub.dedicated_function:
            keys.add(self._index("dedicated", sub.project_id))
        if sub.lease_id:
            keys.add(self._index("lease", sub.lease_id))
        for event_type in sub.types or ["*"]:
            keys.add(self._index("type", event_type))
        return keys

    @staticmethod
    def _decode(raw: bytes | str | None) -> Subscription | None:
        return None if raw is None else Subscription.model_validate_json(raw)

    # --- reads --------------------------------------------------------------------------------

    @unavailable_on_outage
    def ping(self) -> bool:
        return bool(self.client.ping())

    @unavailable_on_outage
    def get(self, sub_id: str) -> Subscription:
        sub = self._decode(self.client.get(self._sub_key(sub_id)))  # type: ignore[arg-type]
        if sub is None:
            raise NotFound(f"subscription {sub_id} not found")
        return sub

    def _range(self, index: str, marker: str | None, chunk: int = CHUNK) -> Iterator[str]:
        start = f"({marker}" if marker else "-"
        while True:
            ids = [text(raw) for raw in self.client.zrangebylex(index, start, "+", 0, chunk)]  # type: ignore[union-attr]
            yield from ids
            if len(ids) < chunk:
                return
            start = f"({ids[-1]}"

    def _load(self, ids: builtins.list[str]) -> builtins.list[Subscription]:
        if not ids:
            return []
        raws = self.client.mget([self._sub_key(i) for i in ids])
        return [sub for sub in map(self._decode, raws) if sub is not None]  # type: ignore[arg-type]

    @unavailable_on_outage
    def count(self, project_id: str) -> int:
        """How many subscriptions ``project_id`` has (from its index: one O(1) call)."""
        return int(self.client.zcard(self._index("project", project_id)))  # type: ignore[arg-type]

    @unavailable_on_outage
    def list(
        self,
        project_id: str | None = None,
        lease_id: str | None = None,
        type: str | None = None,
        limit: int = 50,
        marker: str | None = None,
    ) -> builtins.list[Subscription]:
        """Subscriptions in id (= creation) order after ``marker``.

        ``project_id`` None means every project (admins); ``type`` keeps the subscriptions
        that receive that type (listing it, or listing no type at all).
        """
        return [
            sub if isinstance(sub, Subscription) else Subscription.model_validate_json(sub)
            for sub in self._select(project_id, lease_id, type, limit, marker)
        ]

    @unavailable_on_outage
    def list_json(
        self,
        project_id: str | None = None,
        lease_id: str | None = None,
        type: str | None = None,
        limit: int = 50,
        marker: str | None = None,
    ) -> builtins.list[str]:
        """:meth:`list` as the stored JSON documents, for an API that only passes them on.

        When the index alone answers the query the documents are never parsed, which makes a
        page of 50 several times cheaper to serve.
        """
        return [
            sub.model_dump_json() if isinstance(sub, Subscription) else sub
            for sub in self._select(project_id, lease_id, type, limit, marker)
        ]

    def _select(
        self,
        project_id: str | None,
        lease_id: str | None,
        type: str | None,
        limit: int,
        marker: str | None,
    ) -> builtins.list[Subscription | str]:
        if lease_id:
            index = self._index("lease", lease_id)
        elif project_id:
            index = self._index("project", project_id)
        else:
            index = self._index("all")
        # When the index alone answers the query: one page of ids, documents left unparsed.
        if type is None and not (lease_id and project_id):
            pages = self._range(index, marker, max(1, min(limit, CHUNK)))
            ids = builtins.list(itertools.islice(pages, limit))
            raws = self.client.mget([self._sub_key(i) for i in ids]) if ids else []
            return [text(raw) for raw in raws if raw is not None]  # type: ignore[union-attr]

        def wanted(sub: Subscription) -> bool:
            return (
                (project_id is None or sub.project_id == project_id)
                and (lease_id is None or sub.lease_id == lease_id)
                and (type is None or not sub.types or type in sub.types)
            )

        found: builtins.list[Subscription | str] = []
        batch: builtins.list[str] = []
        for sub_id in self._range(index, marker):
            batch.append(sub_id)
            if len(batch) >= CHUNK:
                found.extend(s for s in self._load(batch) if wanted(s))
                batch = []
                if len(found) >= limit:
                    break
        found.extend(s for s in self._load(batch) if wanted(s))
        return found[:limit]

    @unavailable_on_outage
    def all(self) -> builtins.list[Subscription]:
        """Every subscription (a broker's or the operator's cache before following changes)."""
        ids = builtins.list(self._range(self._index("all"), None))
        result: builtins.list[Subscription] = []
        for i in range(0, len(ids), CHUNK):
            result.extend(self._load(ids[i : i + CHUNK]))
        return result
