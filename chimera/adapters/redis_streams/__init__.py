"""Swarm mode on Redis Streams: the executor the graph uses, the consumer loop workers run,
and the status an operator reads. Redis does the queueing; nothing is kept in between."""
