"""Does not parse: a parenthesis is never closed."""
def receptive_field(layers:
    return 1
