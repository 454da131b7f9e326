"""Run a command against a throwaway PostgreSQL server: `python .ci/with_postgres.py CMD …`.

The server comes from the `pgserver` wheel (PostgreSQL's binaries on PyPI: no root, no system
package), in a temporary directory, and is stopped and deleted when the command ends. The command
sees its URL in SALESBOT_TEST_DATABASE_URL, which the test suite reads (tests/conftest.py).
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile

import pgserver


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python .ci/with_postgres.py COMMAND [ARGS…]", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="salesbot-pg-") as data:
        with pgserver.get_server(data, cleanup_mode="stop") as server:
            server.psql("CREATE DATABASE salesbot_test;")
            url = server.get_uri("salesbot_test").replace("postgresql://", "postgresql+psycopg://", 1)
            print(f"PostgreSQL for the tests: {url}", flush=True)
            return subprocess.call(argv, env=dict(os.environ, SALESBOT_TEST_DATABASE_URL=url))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
