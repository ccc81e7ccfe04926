"""``tuidock network ls|inspect|create|rm|prune``: docker's network management commands."""
