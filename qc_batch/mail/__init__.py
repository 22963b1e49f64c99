"""The reports by e-mail, exactly once."""
