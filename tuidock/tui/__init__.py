"""The terminal UI: Textual screens over the engine (:mod:`runtime.engine`)."""
