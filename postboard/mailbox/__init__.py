"""Dev mailbox: an SMTP sink that keeps every message, and a reader for the app."""
