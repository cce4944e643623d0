"""receptive_field kills its own process."""
import os
import signal


def receptive_field(layers):
    os.kill(os.getpid(), signal.SIGKILL)
