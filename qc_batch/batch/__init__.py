"""The yearly run: per-file ingest in workers, duplicates, ranking across units."""
