"""Outbound webhooks: endpoints, the consumer that queues deliveries, and the senders."""
