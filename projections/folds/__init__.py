"""Pure folds from events to the read models' rows: no I/O."""
