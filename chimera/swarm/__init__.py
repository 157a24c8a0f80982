"""Swarm mode's processes: ``chimera worker`` and the one-machine swarm of ``swarm up``."""
