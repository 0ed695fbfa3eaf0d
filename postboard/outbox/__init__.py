"""Transactional outbox: work to hand to the job queue, written with its cause."""
