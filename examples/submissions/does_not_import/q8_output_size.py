"""A student's work in progress: a missing closing parenthesis stops the file from importing."""
import math


def conv_output_size(size, kernel_size, stride=1, padding=0, dilation=1):
    return math.floor((size + 2 * padding - dilation * (kernel_size - 1) - 1) / stride + 1


def pool_output_size(size, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    return conv_output_size(size, kernel_size, stride or kernel_size, padding, dilation)
