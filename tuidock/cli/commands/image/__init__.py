"""``tuidock image ...``: the image management verbs that have no top-level name of their own."""
