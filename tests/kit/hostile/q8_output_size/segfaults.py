"""receptive_field crashes the interpreter with a segmentation fault (ctypes reads address 0)."""
import ctypes


def receptive_field(layers):
    return ctypes.string_at(0)
