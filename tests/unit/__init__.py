"""Unit tests: pure logic against fake trees, no root, no real containers."""
