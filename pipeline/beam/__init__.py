"""The Beam wiring: DoFns and composite transforms around the logic, the graph, the job.
The only package that imports Apache Beam."""
