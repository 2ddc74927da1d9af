"""Claiming work: queues and their priority, leases, claim-next and the queue gauges."""
