"""Hostile functions called straight through a Sandbox: who runs them, stray processes, GPU memory."""
import os
import time

import torch


def identity():
    """The worker's user and whether the kit's hidden tests are visible from it."""
    import autograder.sandbox.worker
    kit = os.path.dirname(os.path.dirname(autograder.sandbox.worker.__file__))
    return {"uid": os.getuid(), "euid": os.geteuid(), "sees_hidden_tests": os.path.exists(f"{kit}/assignments")}


def detached_sleeper():
    """Fork a child that leaves the process group and sleeps; return its pid."""
    pid = os.fork()
    if pid == 0:
        os.setsid()
        time.sleep(3600)
        os._exit(0)
    return pid


def detached_sleeper_then_hang(pid_file):
    """Fork a detached sleeper, write its pid to pid_file, then never return."""
    with open(pid_file, "w") as sink:
        sink.write(str(detached_sleeper()))
    while True:
        pass


def hog_gpu_memory():
    """Allocate GPU memory until it runs out."""
    hoard = []
    while True:
        hoard.append(torch.empty(1 << 30, dtype=torch.uint8, device="cuda"))


def write_half_a_frame():
    """Announce a 100-byte frame on the grader's reply pipe, send 10 bytes of it, then wait."""
    import json
    import struct
    import sys
    os.write(json.loads(sys.argv[2])["replies_fd"], struct.pack("<Q", 100) + b"0123456789")
    time.sleep(3600)
