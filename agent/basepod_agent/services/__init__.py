"""One module per capability. Services never import Qt or FastAPI."""
