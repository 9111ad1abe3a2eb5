"""Basepod agent: the small server-side process that drives Podman for Basepod clients."""

__version__ = "0.1.0"
