"""psycopg 3 through the pooler, every statement server-side prepared (prepare_threshold=0).

Each client runs TXNS transactions; each checks a parameterised SELECT and bumps its own counter, so the test
can verify afterwards that every transaction committed exactly once. Exit code 0 only when all checks passed.
"""
import os
import sys
import threading

import psycopg

DSN = os.environ["TUKI_DSN"]
CLIENTS = int(os.environ.get("CLIENTS", "50"))
TXNS = int(os.environ.get("TXNS", "200"))
errors = []


def client(n):
    try:
        with psycopg.connect(DSN, prepare_threshold=0) as conn:
            for i in range(TXNS):
                with conn.transaction():
                    row = conn.execute("SELECT %s::int + 1, %s::text", (i, f"c{n}")).fetchone()
                    if row != (i + 1, f"c{n}"):
                        raise AssertionError(f"client {n} tx {i}: got {row}")
                    (count,) = conn.execute("UPDATE counters SET n = n + 1 WHERE client = %s RETURNING n", (n,)).fetchone()
                    if count != i + 1:
                        raise AssertionError(f"client {n} tx {i}: counter {count}")
    except Exception as e:  # noqa: BLE001 - report every failure, then fail the run
        errors.append(f"client {n}: {e!r}")


threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
for t in threads:
    t.start()
for t in threads:
    t.join(timeout=300)
if errors:
    print("\n".join(errors[:10]), file=sys.stderr)
    sys.exit(1)
print(f"ok psycopg {psycopg.__version__}: {CLIENTS * TXNS} transactions")
