"""Fixtures shared by the kit's own tests."""
from dask_cluster import dask_client  # noqa: F401 - one local Dask cluster for every test that grades on one
