"""tuidock: a keyboard-driven terminal UI for Linux containers, and a docker-compatible CLI."""

__version__ = "0.1.0"
