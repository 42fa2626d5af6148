"""The ``healthforge`` command line: a thin shell over the library."""
