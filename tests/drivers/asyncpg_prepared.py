"""asyncpg through the pooler with its default statement cache (every query is a named prepared statement).

Same workload and checks as psycopg3_prepared.py. Exit code 0 only when all checks passed.
"""
import asyncio
import os
import sys

import asyncpg

CLIENTS = int(os.environ.get("CLIENTS", "50"))
TXNS = int(os.environ.get("TXNS", "200"))


async def client(n):
    conn = await asyncpg.connect(os.environ["TUKI_DSN"])
    try:
        for i in range(TXNS):
            async with conn.transaction():
                row = await conn.fetchrow("SELECT $1::int + 1 AS a, $2::text AS b", i, f"c{n}")
                if (row["a"], row["b"]) != (i + 1, f"c{n}"):
                    raise AssertionError(f"client {n} tx {i}: got {row}")
                count = await conn.fetchval("UPDATE counters SET n = n + 1 WHERE client = $1 RETURNING n", n)
                if count != i + 1:
                    raise AssertionError(f"client {n} tx {i}: counter {count}")
    finally:
        await conn.close()


async def main():
    results = await asyncio.wait_for(asyncio.gather(*(client(n) for n in range(CLIENTS)), return_exceptions=True), 300)
    errors = [f"client {n}: {r!r}" for n, r in enumerate(results) if isinstance(r, BaseException)]
    if errors:
        print("\n".join(errors[:10]), file=sys.stderr)
        sys.exit(1)
    print(f"ok asyncpg {asyncpg.__version__}: {CLIENTS * TXNS} transactions")


asyncio.run(main())
