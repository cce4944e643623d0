"""Student code in a worker process: its launch, confinement, wire protocol and proxies. Knows nothing of pytest."""
