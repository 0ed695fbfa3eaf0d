"""Reflex adapters: state, pages, components, the live hub, the HTTP API."""
