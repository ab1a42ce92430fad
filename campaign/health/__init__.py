"""The health endpoint for a load balancer or a monitor: the database and the scheduler."""
