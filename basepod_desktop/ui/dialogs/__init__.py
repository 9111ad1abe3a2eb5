"""Small dialogs, one per module; none of them talks to the network itself."""
