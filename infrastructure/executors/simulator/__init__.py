"""The registration API simulator: its app, answers, record of calls, faults, and how it runs."""
