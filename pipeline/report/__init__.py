"""The filter report: report.html and the terminal summary, rendered from stats.json alone."""
