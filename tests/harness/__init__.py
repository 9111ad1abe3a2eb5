"""Real-parts test harness: isolated Podman, busybox images, a throwaway sshd, the agent.

Nothing here mocks anything: every class starts a real process and owns its cleanup, so
fixtures only have to call ``stop()``. See tests/conftest.py for the fixtures built on it.
"""

from .agent import AgentProcess, agent_request
from .images import build_busybox_image, build_busybox_variant
from .podman import PodmanService
from .sshd import SshServer

__all__ = [
    "AgentProcess",
    "PodmanService",
    "SshServer",
    "agent_request",
    "build_busybox_image",
    "build_busybox_variant",
]
