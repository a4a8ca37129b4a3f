"""Webhook delivery: endpoints' cursors and attempts, the HTTP sender, the worker."""
