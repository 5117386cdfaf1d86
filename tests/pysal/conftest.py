# run_pysaliency.py runs under the pysaliency interpreter (.venv-pysal), not the project's:
# keep --doctest-modules from importing it here.
collect_ignore = ["run_pysaliency.py"]
