"""`make dev`: every process of Postboard in one terminal."""
