"""Our Discord outbox and the engine that drains it: deliveries in Postgres, claims, rate limits, SQS.

Other areas call `outbox.enqueue_deliveries`, `outbox.deliveries_for_alerts`, `outbox.channels_for_action`,
`outbox.global_default_channel` (SQL in the caller's transaction, as the user) and
`dispatch.dispatch_after_commit` (after that transaction commits); the deliveries API reads with
`outbox.get_deliveries` and `outbox.delivery_view`; the queue and sweeper Lambdas call
`engine.DeliveryEngine`, `dispatch_queue` and `sweeper.sweep`. The rest is internal: `store` and
`ratelimit_store` are the engine's SQL as service_role.
"""
