"""tuidock's container engine: namespaces, cgroups, overlay layers, images, volumes, networks.

The package is synchronous and never imports the terminal UI. Import what you
need from its modules (``runtime.engine``, ``runtime.errors``, ...): this file
stays empty so that ``tuidock run`` starts quickly.
"""

__version__ = "0.1.0"
