"""Taskiq adapters: brokers, thin jobs over `postboard.flows`, the scheduler."""
