"""``run`` flags by feature area (see :data:`runtime.engine.runflags.SECTIONS`)."""
