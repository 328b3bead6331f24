"""Filter dialects of the CloudEvents Subscriptions API, one module each, and their factory.

The API validates with them, the standalone broker evaluates with them, and the Trigger
renderer hands the same expressions to Knative: one semantics everywhere.
"""

from blazar_events.filters.base import Attributes, Predicate
from blazar_events.filters.factory import DIALECTS, from_expression, from_list

__all__ = ["DIALECTS", "Attributes", "Predicate", "from_expression", "from_list"]
