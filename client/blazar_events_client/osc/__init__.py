"""The ``openstack reservation subscription|event`` commands (an OSC plugin)."""
