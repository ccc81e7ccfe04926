"""The container view's tabs: one module each, all built on :class:`tuidock.tui.tabs.base.DetailTab`."""
