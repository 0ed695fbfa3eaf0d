"""API tokens: created by admins, stored hashed, with scopes."""
