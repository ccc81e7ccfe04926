"""``python -m tuidock``: the same as the ``tuidock`` command."""

from tuidock.cli import main

main()
