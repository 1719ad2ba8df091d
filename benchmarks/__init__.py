"""Benchmarks that measure zarrkit against its peers, zarr-python and tensorstore, in one run.

Run them with ``python -m benchmarks`` (``make bench``); ``--help`` lists the options. Each family of
benchmarks is one module (``local_arrays``: arrays in a local directory); ``libraries`` puts the three
libraries behind one interface, ``timing`` times and tabulates, ``profiling`` profiles zarrkit across
its threads. Nothing here asserts on timings: the output is a table for people to read.
"""
