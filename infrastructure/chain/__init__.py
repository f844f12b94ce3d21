"""The hash chain over stored events: its links, the recorders writing them, the walk checking."""
