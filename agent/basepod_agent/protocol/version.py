"""Version constants both ends compare on connect.

PROTOCOL_VERSION changes only when the wire contract changes incompatibly; the agent
version changes with every release. A client refuses an agent whose protocol differs.
"""

PROTOCOL_VERSION = 2
AGENT_VERSION = "0.2.0"
