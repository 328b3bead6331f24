"""api component."""
