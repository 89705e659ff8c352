"""The ``pdmail`` command and the helpers only the command uses."""
