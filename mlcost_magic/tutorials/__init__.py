"""Tutorial support (needs the ``tutorials`` extra: scikit-learn, nbclient, jupytext...).
    datasets.py  small, deterministic, offline data for the notebooks
    runner.py    the main job: execute the notebooks headless, collect their comparison
Run the main job with ``python -m mlcost_magic.tutorials --output output``.
"""
