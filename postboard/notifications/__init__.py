"""In-app notifications: the inbox, unread counts, mark read."""
