"""The live views of a process: runners, their supervisor, LISTEN wake-ups, the service."""
