"""Offline rebuilds: building the views into scratch tables from the log, and diffing them."""
