"""The reminder scheduler: lease events in, reminders at subscribers' lead times out."""
