"""The run's accounting: per-bundle tallies, stats.json, and the exact merge of several runs."""
