"""The use-case layer: the Application and its commands, a module per use case."""
