"""Per-project quotas, checked by the store in the same atomic step as the write.

A check before the write and the write itself would let concurrent creates all pass the
check; here the count and the write are one Lua script (creates), or one WATCHed MULTI
(updates, in :mod:`blazar_events.store`), so no interleaving overshoots a quota.
"""

from __future__ import annotations

from dataclasses import dataclass

from blazar_events.errors import Conflict
from blazar_events.keys import Keys

# Creates one or more subscriptions atomically, quotas included. KEYS: the change feed, then
# per subscription a block: record, signing keys, project index, dedicated-function index,
# then every index it belongs to. ARGV: change feed length, subscription quota, dedicated
# quota (0: none), then per subscription: block length, record JSON, keys, id, version,
# dedicated (1/0). Returns {1}, {0, id} (exists) or {-1, index key, quota} (over quota).
CREATE_SCRIPT = """
local feed, quota, dedicated_quota = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local subs, first, arg = {}, 2, 4
while arg <= #ARGV do
  local n = tonumber(ARGV[arg])
  subs[#subs + 1] = {first = first, n = n, doc = ARGV[arg + 1], keys = ARGV[arg + 2],
                     id = ARGV[arg + 3], version = ARGV[arg + 4], dedicated = ARGV[arg + 5]}
  first = first + n
  arg = arg + 6
end
local adding, limits = {}, {}
for _, s in ipairs(subs) do
  if redis.call('EXISTS', KEYS[s.first]) == 1 then return {0, s.id} end
  local project, dedicated = KEYS[s.first + 2], KEYS[s.first + 3]
  adding[project] = (adding[project] or 0) + 1
  limits[project] = quota
  if s.dedicated == '1' then
    adding[dedicated] = (adding[dedicated] or 0) + 1
    limits[dedicated] = dedicated_quota
  end
end
for index, n in pairs(adding) do
  local limit = limits[index]
  if limit > 0 and redis.call('ZCARD', index) + n > limit then return {-1, index, limit} end
end
for _, s in ipairs(subs) do
  redis.call('SET', KEYS[s.first], s.doc)
  redis.call('SET', KEYS[s.first + 1], s.keys)
  for i = s.first + 4, s.first + s.n - 1 do redis.call('ZADD', KEYS[i], 0, s.id) end
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', feed, '*', 'op', 'created', 'id', s.id,
             'version', s.version)
end
return {1}
"""


@dataclass(frozen=True)
class Quota:
    """Per-project limits the store enforces atomically with the write (0: no limit)."""

    subscriptions: int = 0
    dedicated_functions: int = 0


NO_QUOTA = Quota()


class QuotaExceeded(Conflict):
    """A write would take a project past a :class:`Quota` (a 409, as before quotas were
    atomic)."""


def to_quota_error(prefix: str, index: str, limit: int) -> QuotaExceeded:
    kind, project = Keys(prefix).index_parts(index)
    if kind == "dedicated":
        return QuotaExceeded(
            f"project {project} may have at most {limit} subscriptions with a dedicated "
            "function (max_dedicated_functions_per_project)"
        )
    return QuotaExceeded(
        f"project {project} may have at most {limit} subscriptions "
        "(max_subscriptions_per_project); delete some first"
    )
