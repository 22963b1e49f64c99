"""The second stage: the experts' on-site review (现场评审) of accepted units."""
