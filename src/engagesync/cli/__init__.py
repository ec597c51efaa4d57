"""The ``engagesync`` command line: thin, it parses and calls into the library."""
