"""Basepod agent: the small server-side process that drives Podman for Basepod clients."""

__version__ = "0.2.0"
