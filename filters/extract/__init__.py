"""Extraction, its own part: HTML → main text.

``engines.py``: the extractors behind one interface (trafilatura, Resiliparse);
``pool.py``: the time-boxed helper processes they run in; ``speedup.py``: exact-output
speed-ups of trafilatura; ``stage.py``: the ``extract`` stage (parameters, post-formatting,
verdicts). ``pipeline/beam/extraction.py`` is its Beam step.
"""
from webrefine.filters.extract.stage import Extract, post_format

__all__ = ["Extract", "post_format"]
