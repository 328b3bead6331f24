"""The kopf operator: EventSubscription resources -> the Redis store -> Knative Triggers."""
