"""One module per verb: each defines ``COMMAND`` (its flags) and ``execute(values, operands)``."""
