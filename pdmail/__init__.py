"""pdmail."""
