"""A real ClickHouse HTTP server (26.7) from the chDB library, for tests that need a server they can
kill: libchdb's chdb_query_cmdline runs clickhouse-local, whose HTTP listener lives while its query
runs (docs/ENVIRONMENT.md: it works from Python's ctypes on the main thread, not from Node).

    python3 serve.py LIBCHDB_SO DATA_DIR PORT
"""
import ctypes
import sys

lib = ctypes.CDLL(sys.argv[1])
path, port = sys.argv[2], sys.argv[3]
args = [
    b"clickhouse", f"--path={path}".encode(), f"--http_port={port}".encode(), b"--listen_host=127.0.0.1",
    # The listener lives as long as this query: one row a second, for years.
    b"--query=SYSTEM START LISTEN HTTP; SELECT sleepEachRow(1) FROM numbers(100000000) "
    b"SETTINGS max_block_size = 1, function_sleep_max_microseconds_per_block = 0 FORMAT Null",
]
argv = (ctypes.c_char_p * len(args))(*args)
lib.chdb_query_cmdline.restype = ctypes.c_void_p
lib.chdb_query_cmdline(len(args), argv)
