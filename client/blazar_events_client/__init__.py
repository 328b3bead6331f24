"""A Python client for the blazar-events subscriptions API, and its ``openstack`` plugin."""

from blazar_events_client.client import API_VERSION, SERVICE_TYPE, Client
from blazar_events_client.errors import (
    ClientError,
    Conflict,
    EndpointNotFound,
    HttpError,
    InvalidArgument,
    NotFound,
    PreconditionFailed,
    TooManyRequests,
)

__all__ = [
    "API_VERSION",
    "SERVICE_TYPE",
    "Client",
    "ClientError",
    "Conflict",
    "EndpointNotFound",
    "HttpError",
    "InvalidArgument",
    "NotFound",
    "PreconditionFailed",
    "TooManyRequests",
]
