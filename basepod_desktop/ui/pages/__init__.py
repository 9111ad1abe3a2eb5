"""One module per page; pages render fleet snapshots and state intent."""
