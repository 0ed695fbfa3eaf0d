"""Postboard: real-time, event-driven posting and notification dashboard."""
