"""receptive_field sleeps for an hour."""
import time


def receptive_field(layers):
    time.sleep(3600)
