"""functions component."""
