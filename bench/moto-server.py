"""Starts moto_server with one per-request cost of moto's own removed; nothing else changes.

moto 5 routes every request through `DomainDispatcherApplication.get_backend_for_host`,
which tests `host in backends.list_of_moto_modules()`: a generator that lists moto's
package directory and stats each of its ~200 entries, for every request (the host it is
given, e.g. `s3.us-east-1.amazonaws.com`, is never a module name, so the whole listing is
walked). Measured on the bench machine: py-spy puts the listing at ~30% of moto's time
per request; a signed HeadObject in a boto3 loop took ~5.7 ms with it and ~3.4 ms without.

moto serves requests one at a time (one Python interpreter), so with 50 requests in flight
that walk is paid 50 times in a row: a cost of the test server, not of S3 or of the client
measured. The listing cannot change while the server runs, so it is read once here; every
answer moto gives is the same. bench/run.sh starts moto through this script when the
interpreter beside `moto_server` can import moto, and says so in its results.

Usage: python bench/moto-server.py [moto_server arguments...]
"""

import sys

import moto.backends as backends

_MODULES = frozenset(backends.list_of_moto_modules())


def _cached_modules():
    return _MODULES


backends.list_of_moto_modules = _cached_modules

from moto.server import main  # noqa: E402  (after the patch, as moto looks it up per call)

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
