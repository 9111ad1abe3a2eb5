"""What the runtime raises: Podman's refusals and failures in words fit for a person.

Apart from ``runtime/podman.py`` so the modules beside it (stats, log frames) raise the
same exceptions without importing the module that imports ``podman``.
"""

from __future__ import annotations


class RuntimeFailure(Exception):
    """Podman refused or failed an operation; the message is Podman's, cleaned up."""


class RuntimeUnavailable(RuntimeFailure):
    """The Podman API socket does not answer."""


class ImageMissing(RuntimeFailure):
    pass


class ContainerMissing(RuntimeFailure):
    pass
