"""``bp``: the command-line client, built on the same client and transport as the desktop."""
