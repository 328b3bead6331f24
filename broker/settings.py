"""Settings of the standalone broker (section ``[broker]``, env ``BLAZAR_EVENTS_BROKER_*``).

Kafka, Redis and outbound-delivery settings are shared: ``[kafka]``, ``[redis]``,
``[function]`` (timeouts, Retry-After cap, allowed networks).
"""

from __future__ import annotations

from pydantic import Field

from blazar_events.settings import Port, ServiceSection


class BrokerSettings(ServiceSection, section="broker"):
    port: Port = Field(9102, description="Port of /healthz and /metrics")
    group_id: str = Field("blazar-events-broker", description="Kafka consumer group")
    queue_size: int = Field(
        10000,
        description="Deliveries one subscriber may have waiting in memory; more spill "
        "to the durable retry schedule so a slow subscriber never holds the partition",
    )
    concurrency: int = Field(32, description="Deliveries in flight to one subscriber at a time")
    max_pending_records: int = Field(
        2000, description="Kafka records in progress before consumption pauses"
    )
    stuck_after: float = Field(
        3.0,
        description="Seconds without a finished delivery after which a subscriber's "
        "waiting deliveries move to the retry schedule (a hung sink holds nobody up)",
    )
    auto_offset_reset: str = Field(
        "earliest", description="Where a new consumer group starts: earliest or latest"
    )
    commit_interval: float = Field(
        0.2,
        description="Seconds between offset commits (only of partitions whose committable "
        "offset moved): what a killed broker process leaves uncommitted is delivered again",
    )
    fetch_wait: float = Field(
        0.1,
        description="Seconds Kafka holds a fetch while no record is there (a long poll: "
        "a record arriving ends it at once, so this adds no latency to an event; a "
        "backlogged partition may wait this long behind a fetch for idle ones)",
    )
    session_timeout: float = Field(
        10.0,
        description="Seconds without a heartbeat before Kafka gives a broker process's "
        "partitions to the others (a killed process)",
    )
    rejoin_after: float = Field(
        30.0,
        description="Ignored: kafka-python's consumer needed it (a rebalance that never "
        "completed); librdkafka does not. Kept so that existing configurations still load",
    )
    retry_poll_interval: float = Field(
        0.1, description="Seconds between looks at the retry schedule"
    )
    retry_claim_seconds: float = Field(
        120.0,
        description="A claimed retry returns to the schedule if not finished by then "
        "(the broker that claimed it died)",
    )
    overflow_delay: float = Field(
        1.0, description="Seconds before a delivery that found its subscriber's queue full is tried"
    )
    shutdown_grace: float = Field(
        15.0, description="Seconds in-flight deliveries get to finish on shutdown"
    )
    log_successes_per_second: int = Field(
        20,
        description="Successful attempts per subscription written to its delivery log each "
        "second (failures are always written); the log keeps the newest anyway",
    )
    max_backoff: float = Field(
        3600.0,
        description="Longest wait before a retry, whatever a subscription's backoffDelay, "
        "backoffPolicy and retry count say (backoffDelay x 2^n grows past any sense)",
    )
    revoke_grace: float = Field(
        5.0,
        description="Seconds a rebalance waits for the in-flight deliveries of the partitions "
        "this process gives up, before committing them (what is still in flight then is "
        "delivered again by the next owner)",
    )
    progress_interval: float = Field(
        0.1,
        description="Seconds between writes of each partition's settled records to Redis, "
        "which the next owner of a partition skips after this process was killed",
    )
