"""k8s component."""
