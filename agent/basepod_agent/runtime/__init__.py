"""Adapters to the outside world the agent drives (Podman). Only ``podman.py`` imports podman."""
