"""Local services on loopback for development, tests and the demo."""
