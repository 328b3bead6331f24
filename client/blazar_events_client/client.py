"""The subscriptions API over a keystoneauth1 session, the endpoint taken from the catalog."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote

from keystoneauth1 import adapter, session
from keystoneauth1 import exceptions as ksa_exceptions

from blazar_events_client.errors import EndpointNotFound, InvalidArgument, from_response

# The catalog entry blazar-events registers (the local stack does; docs/api.md says how to
# register it in a cloud). Blazar itself is `reservation`; this is its event service.
SERVICE_TYPE = "reservation-events"
API_VERSION = "v1"
USER_AGENT = "blazar-events-client"

Json = dict[str, Any]


def _segment(value: str) -> str:
    """One path segment: an id typed by a user never reaches another route.

    Dots are escaped too: a literal ``.`` or ``..`` segment would be resolved away by the
    HTTP stack (``/subscriptions/.`` is the list); an empty id would name the list itself.
    """
    if not value:
        raise InvalidArgument("an empty ID")
    if "/" in value:
        # WSGI servers decode %2F before routing: no escaping keeps a slash in one segment.
        raise InvalidArgument(f"{value!r}: an ID has no '/'")
    try:
        # surrogateescape: what Python made of bytes in argv that were not UTF-8
        return quote(value, safe="", errors="surrogateescape").replace(".", "%2E")
    except UnicodeEncodeError:
        raise InvalidArgument(f"{value!r} is not a valid ID") from None


class Client:
    """One method per route of the API; answers are the API's JSON, errors are `HttpError`.

    ``session`` is any keystoneauth1 session (OSC hands its own). The endpoint is the
    catalog's ``service_type`` entry for ``interface`` and ``region_name``, unless
    ``endpoint_override`` names one. An endpoint without the version (``http://host:8090``)
    and one with it (``http://host:8090/v1``) both work.
    """

    def __init__(
        self,
        session: session.Session,
        *,
        service_type: str = SERVICE_TYPE,
        interface: str | None = "public",
        region_name: str | None = None,
        endpoint_override: str | None = None,
        timeout: float | None = 30.0,
    ) -> None:
        self.adapter = adapter.Adapter(
            session,
            service_type=service_type,
            interface=interface,
            region_name=region_name,
            endpoint_override=endpoint_override,
            user_agent=USER_AGENT,
        )
        # A session made without a timeout would wait for a hung API forever.
        self.timeout = timeout if session.timeout is None else None
        self._base: str | None = None

    # --- plumbing ------------------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        """The versioned base URL, looked up once."""
        if self._base is None:
            adapter_ = self.adapter
            try:
                url = adapter_.get_endpoint()
            except ksa_exceptions.EndpointNotFound:
                url = None
            if not url:
                raise EndpointNotFound(
                    f"no {adapter_.service_type!r} endpoint in the service catalog "
                    f"(interface {adapter_.interface}, region {adapter_.region_name or 'any'}); "
                    "is blazar-events registered in Keystone?"
                )
            url = url.rstrip("/")
            if not url.endswith("/" + API_VERSION):
                url = f"{url}/{API_VERSION}"
            self._base = url
        return self._base

    def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        kwargs: dict[str, Any] = {"raise_exc": False, "headers": dict(headers or {})}
        if self.timeout is not None:
            kwargs["timeout"] = self.timeout
        if json is not None:
            kwargs["json"] = json
        if params:
            kwargs["params"] = {k: v for k, v in params.items() if v is not None}
        response = self.adapter.request(f"{self.endpoint}{path}", method, **kwargs)
        try:
            body: Any = response.json() if response.content else None
        except ValueError:
            body = response.text
        if response.status_code >= 400:
            raise from_response(response.status_code, body, dict(response.headers))
        return body

    # --- subscriptions -------------------------------------------------------------------

    def list_subscriptions(
        self,
        *,
        lease_id: str | None = None,
        type: str | None = None,
        project_id: str | None = None,
        all_projects: bool = False,
        limit: int | None = None,
        marker: str | None = None,
        page_size: int | None = None,
    ) -> Iterator[Json]:
        """Every subscription the caller may see, page after page: ``limit`` is the total,
        ``page_size`` how many one request asks for (default: the API's)."""
        params: dict[str, Any] = {
            "lease_id": lease_id,
            "type": type,
            "project_id": project_id,
            "all_projects": "true" if all_projects else None,
            "marker": marker,
        }
        left = limit
        while True:
            if left is not None or page_size is not None:
                params["limit"] = min(x for x in (left, page_size, 1000) if x is not None)
            page = self._request("GET", "/subscriptions", params=params)
            items: list[Json] = page.get("subscriptions", [])
            yield from items
            if left is not None:
                left -= len(items)
                if left <= 0:
                    return
            more = any(link.get("rel") == "next" for link in page.get("subscriptions_links", []))
            if not items or not more:
                return
            params["marker"] = items[-1]["id"]

    def get_subscription(self, subscription_id: str) -> Json:
        result: Json = self._request("GET", f"/subscriptions/{_segment(subscription_id)}")
        return result

    def create_subscription(self, body: Json) -> Json:
        """Create one; the answer holds ``secret``, which no later answer shows."""
        result: Json = self._request("POST", "/subscriptions", json=body)
        return result

    def create_lease_subscriptions(self, lease_id: str, entries: list[Json]) -> list[Json]:
        """The original proposal's form: one subscription per entry on the lease, all or none."""
        path = f"/leases/{_segment(lease_id)}/subscriptions"
        result = self._request("POST", path, json={"subscriptions": entries})
        created: list[Json] = result["subscriptions"]
        return created

    def update_subscription(
        self, subscription_id: str, changes: Json, *, if_match: int | None = None
    ) -> Json:
        """A JSON merge patch (``None`` removes a field); ``if_match`` is a version."""
        headers = {"Content-Type": "application/merge-patch+json"}
        if if_match is not None:
            headers["If-Match"] = f'"{if_match}"'
        path = f"/subscriptions/{_segment(subscription_id)}"
        result: Json = self._request("PATCH", path, json=changes, headers=headers)
        return result

    def delete_subscription(self, subscription_id: str, *, if_match: int | None = None) -> None:
        headers = {"If-Match": f'"{if_match}"'} if if_match is not None else {}
        self._request("DELETE", f"/subscriptions/{_segment(subscription_id)}", headers=headers)

    def rotate_secret(self, subscription_id: str, *, grace_period: str | None = None) -> Json:
        """A new secret; the old one signs too until ``previous_expires_at``."""
        body = {"grace_period": grace_period} if grace_period else {}
        path = f"/subscriptions/{_segment(subscription_id)}/secret"
        result: Json = self._request("POST", path, json=body)
        return result

    def send_test_event(self, subscription_id: str) -> Json:
        path = f"/subscriptions/{_segment(subscription_id)}/test"
        result: Json = self._request("POST", path, json={})
        return result

    def replay(self, subscription_id: str, since: str, until: str | None = None) -> Json:
        body = {"since": since, **({"until": until} if until else {})}
        path = f"/subscriptions/{_segment(subscription_id)}/replay"
        result: Json = self._request("POST", path, json=body)
        return result

    def list_deliveries(self, subscription_id: str, *, limit: int | None = None) -> list[Json]:
        path = f"/subscriptions/{_segment(subscription_id)}/deliveries"
        result = self._request("GET", path, params={"limit": limit})
        attempts: list[Json] = result["deliveries"]
        return attempts

    # --- event types ---------------------------------------------------------------------

    def list_event_types(self) -> list[Json]:
        result = self._request("GET", "/event-types")
        types: list[Json] = result["event_types"]
        return types
