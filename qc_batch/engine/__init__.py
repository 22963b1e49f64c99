"""Pure scoring, ranking and audit over typed facts."""
