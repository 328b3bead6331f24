"""bridge component."""
