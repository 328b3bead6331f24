"""Whose leases an EventSubscription may subscribe to; pure.

The REST API asks Keystone who the caller is; the operator cannot know who ran
``kubectl apply``. So a cluster admin binds each tenant namespace to its OpenStack project
with an annotation on the Namespace, and a resource there subscribes to that project only,
as a project member does through the API. Namespaces listed as admin namespaces (by default
the operator's own) play the cloud admin: any project, or ``*`` for all.
"""

from __future__ import annotations

from collections.abc import Collection

from blazar_events.errors import InvalidInput, PolicyNotAuthorized

PROJECT_ANNOTATION = "events.blazar.openstack.org/project-id"


def to_project(
    namespace: str,
    spec_project: str | None,
    namespace_project: str | None,
    admin_namespaces: Collection[str],
) -> str:
    """The project id for a resource; PolicyNotAuthorized or InvalidInput saying why not."""
    if namespace in admin_namespaces:
        project = spec_project or namespace_project
        if not project:
            raise InvalidInput(
                f"projectId: required in the admin namespace {namespace} ('*' for every project)"
            )
        return project
    if not namespace_project:
        raise PolicyNotAuthorized(
            f"namespace {namespace} is not bound to an OpenStack project: a cluster admin "
            f"annotates it with {PROJECT_ANNOTATION}=<project id>"
        )
    if spec_project and spec_project != namespace_project:
        raise PolicyNotAuthorized(
            f"projectId {spec_project!r} is not the project of namespace {namespace} "
            f"({namespace_project}); only admin namespaces subscribe to other projects"
        )
    return namespace_project
