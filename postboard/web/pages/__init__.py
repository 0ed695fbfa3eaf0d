"""One module per page: its substate next to its UI."""
