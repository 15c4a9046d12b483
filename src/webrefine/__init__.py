"""webrefine: RefinedWeb-style curation of web data for LLM pretraining, on Apache Beam.

The repository's top-level folders are installed as this package's subpackages
(``setup.py``: ``package_dir``): ``webrefine.filters`` (documents, stages, filters,
extraction), ``webrefine.dedup`` (deduplication logic), ``webrefine.pipeline`` (the command
line, config, readers, stats, report and the Beam wiring) and ``webrefine.configs`` (the
YAML presets). Import them from an installed package (``pip install .`` or ``pip install -e .``).
"""
