"""Outbox of events and their at-least-once delivery to webhooks."""
