"""Grading many submissions: bulk inputs, warm fork servers, resume and regrade, Dask clusters, shards."""
