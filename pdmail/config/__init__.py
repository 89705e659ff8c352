"""The config file: read, checked key by key, and frozen into records."""
