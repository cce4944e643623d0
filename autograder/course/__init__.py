"""Course settings and generation: grading.yml, the question folders, the one marker parser, the generator."""
