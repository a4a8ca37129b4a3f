"""Live notifications: subscriptions over WebSockets, fed by the change feed."""
