"""``tuidock volume create|ls|inspect|rm|prune``: docker's volume management commands."""
