"""The delivery log: one row per (post, recipient, channel) and its outcome."""
