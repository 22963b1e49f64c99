"""Safe reading of untrusted workbooks and typing of their cells."""
