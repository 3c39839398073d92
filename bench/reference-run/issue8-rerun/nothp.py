#!/usr/bin/env python3
# Runs the collector with PR_SET_THP_DISABLE (inherited across exec): the kernel then maps the
# binary's page-cache folios with 4 KiB page-table entries instead of 2 MiB PMDs.
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(41, 1, 0, 0, 0) != 0:
    sys.exit("prctl(PR_SET_THP_DISABLE) failed: errno %d" % ctypes.get_errno())
binary = os.environ.get("COLLECTOR_BINARY", "/tmp/otelcol-s14")
os.execv(binary, [binary] + sys.argv[1:])
