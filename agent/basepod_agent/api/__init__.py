"""HTTP surfaces: the control API (Unix socket, via SSH) and the narrow edge API (TCP)."""
