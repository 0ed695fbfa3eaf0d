"""The job monitor: what workers record about each job run, and the figures the dashboard shows."""
