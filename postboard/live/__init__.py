"""Live push: small messages on Redis pub/sub, fanned out to open tabs."""
