"""Users, roles, passwords and sign-in sessions."""
