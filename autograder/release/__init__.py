"""Releases: the zips of an assignment, the handout, the checks they pass, mutation testing, the Otter track."""
