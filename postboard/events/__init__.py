"""Event sources, templates and rules: the pure parts (templating, conditions, payload schemas)."""
