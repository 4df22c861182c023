#!/usr/bin/env python3
"""Turns the raw tables of bench/run.sh into one dated Markdown section for bench/RESULTS.md: medians, per-round
ratios (vs direct, and Tuki.Pool vs PgBouncer), pooler CPU per transaction, idle-client memory, login storm, and
the issue-5 targets with how far each is from being met. Standard library only."""
import argparse
import csv
import datetime
import os
import statistics

TARGETS = ("direct", "pgbouncer", "tuki")
NAMES = {"direct": "direct", "pgbouncer": "PgBouncer", "tuki": "Tuki.Pool"}
ARGS = {
    "select_simple_c50": "-S -M simple -c 50 -j 2",
    "select_extended_c50": "-S -M extended -c 50 -j 2",
    "select_prepared_c50": "-S -M prepared -c 50 -j 2",
    "tpcb_c50": "-c 50 -j 2 (TPC-B)",
    "select_connect_c50": "-S -C -c 50 -j 2",
    "select_c1000": "-S -c 1000 -j 2",
    "select_c1": "-S -c 1 -j 1",
}


def read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def num(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def ratio(a, b):
    return a / b if a is not None and b else None


def fmt(value, digits=0):
    if value is None:
        return "–"
    return f"{value:,.{digits}f}"


def machine():
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kib = int(f.readline().split()[1])
    return f"{os.cpu_count()} CPUs ({model}), {mem_kib / 1024 / 1024:.1f} GiB RAM, {os.uname().sysname} {os.uname().release}"


def main():
    p = argparse.ArgumentParser()
    for name in ("results", "memory", "storm", "command", "rounds", "duration", "storm-count", "pg-version",
                 "pgbouncer-version", "dotnet-version", "commit"):
        p.add_argument("--" + name, required=True)
    p.add_argument("--warmup", default="30")
    p.add_argument("--scenario-warmup", default="0")
    a = p.parse_args()

    rows = read(a.results)
    scenarios = list(dict.fromkeys(r["scenario"] for r in rows))
    by = {}
    for r in rows:
        by.setdefault((r["scenario"], r["target"]), []).append(r)

    def med(scenario, target, field):
        return median(num(r[field]) for r in by.get((scenario, target), []))

    def kernel(scenario, target):
        """Median over the rounds of the pooler's kernel time per transaction (all CPU less user)."""
        return median(c - u if c is not None and u is not None else None
                      for c, u in ((num(r.get("cpu_us_per_tx")), num(r.get("user_us_per_tx")))
                                   for r in by.get((scenario, target), [])))

    def paired(scenario):
        """Median of the per-round Tuki.Pool/PgBouncer TPS ratios: each compares runs seconds apart, so the machine's
        drift between rounds (±25 % here) cancels, where a ratio of two medians may pair different rounds."""
        per_round = {}
        for x in ("tuki", "pgbouncer"):
            for r in by.get((scenario, x), []):
                per_round.setdefault(int(r["round"]), {})[x] = num(r["tps"])
        return median(ratio(v.get("tuki"), v.get("pgbouncer")) for v in per_round.values())

    out = []
    w = out.append
    w(f"## {datetime.date.today().isoformat()} — `bench/run.sh`: direct vs PgBouncer vs Tuki.Pool (commit {a.commit})")
    w("")
    w(f"Command: `{a.command}`. Machine: {machine()}; shared with other engineers building and testing at the same "
      "time, so single rounds are noisy: read the medians and the per-round ratios, which compare runs seconds apart.")
    w(f"Versions: {a.pg_version}; {a.pgbouncer_version}; .NET SDK {a.dotnet_version}; pgbench from the same PostgreSQL.")
    w(f"Setup: throwaway cluster (scram-sha-256, max_connections 1100, shared_buffers 256MB), pgbench scale 10; "
      "PgBouncer transaction mode, default_pool_size 20, auth_file with the SCRAM verifier (passthrough); Tuki.Pool "
      "Release build, pool size 20, same user; every login is SCRAM-SHA-256 with 16 iterations (see run.sh). "
      f"Each pgbench run is `pgbench -n -T {a.duration}` plus the arguments below, after a {a.warmup} s warm-up of each "
      f"target (extended selects) and {a.scenario_warmup} s of each scenario; {a.rounds} rounds, order direct → PgBouncer → Tuki.Pool in odd rounds and reversed in even ones. "
      "CPU per transaction = the pooler process's utime+stime delta over the run ÷ transactions (from /proc).")
    w("")
    w(f"### Throughput (median TPS of {a.rounds} rounds)")
    w("")
    w("| scenario (pgbench args) | direct | PgBouncer | Tuki.Pool | PgBouncer/direct | Tuki.Pool/direct | Tuki.Pool/PgBouncer | same-round Tuki.Pool/PgBouncer, median |")
    w("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for s in scenarios:
        d, b, t = (med(s, x, "tps") for x in TARGETS)
        w(f"| `{ARGS.get(s, s)}` | {fmt(d)} | {fmt(b)} | {fmt(t)} | {fmt(ratio(b, d), 2)} | {fmt(ratio(t, d), 2)} | "
          f"**{fmt(ratio(t, b), 2)}** | {fmt(paired(s), 2)} |")
    w("")
    w("### Pooler CPU per transaction (median µs of the pooler process per pgbench transaction)")
    w("")
    w("User = the pooler's own code; kernel = its system calls and the TCP work they do. Machine busy = the share of "
      "all CPUs not idle during the run (/proc/stat): near 100 % the scenario is CPU-bound, and a pooler's every µs "
      "per transaction is taken from PostgreSQL and pgbench.")
    w("")
    w("| scenario | PgBouncer | Tuki.Pool | Tuki.Pool/PgBouncer | user PgB / Tuki | kernel PgB / Tuki | machine busy % direct / PgB / Tuki |")
    w("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for s in scenarios:
        b, t = med(s, "pgbouncer", "cpu_us_per_tx"), med(s, "tuki", "cpu_us_per_tx")
        bu, tu = med(s, "pgbouncer", "user_us_per_tx"), med(s, "tuki", "user_us_per_tx")
        bk, tk = (kernel(s, x) for x in ("pgbouncer", "tuki"))
        busy = " / ".join(fmt(med(s, x, "machine_busy_pct")) for x in TARGETS)
        w(f"| `{ARGS.get(s, s)}` | {fmt(b, 1)} | {fmt(t, 1)} | {fmt(ratio(t, b), 2)} | {fmt(bu, 1)} / {fmt(tu, 1)} | "
          f"{fmt(bk, 1)} / {fmt(tk, 1)} | {busy} |")
    w("")
    w("### Per round (TPS direct / PgBouncer / Tuki.Pool; ratios PgBouncer/direct, Tuki.Pool/direct, Tuki.Pool/PgBouncer)")
    w("")
    w("| scenario | round | direct | PgBouncer | Tuki.Pool | PgB/direct | Tuki/direct | Tuki/PgB |")
    w("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for s in scenarios:
        rounds = sorted({int(r["round"]) for r in rows if r["scenario"] == s})
        for n in rounds:
            tps = {}
            for x in TARGETS:
                match = [r for r in by.get((s, x), []) if int(r["round"]) == n]
                tps[x] = num(match[0]["tps"]) if match else None
            d, b, t = tps["direct"], tps["pgbouncer"], tps["tuki"]
            w(f"| {s} | {n} | {fmt(d)} | {fmt(b)} | {fmt(t)} | {fmt(ratio(b, d), 2)} | {fmt(ratio(t, d), 2)} | {fmt(ratio(t, b), 2)} |")
    bad = [r for r in rows if r["status"] != "ok" or (num(r["failed"]) or 0) > 0]
    w("")
    if bad:
        w("Runs that did not finish cleanly (pgbench exit status or aborted clients; `failed` = pgbench's failed transactions):")
        w("")
        for r in bad:
            w(f"- {r['scenario']} / {NAMES[r['target']]} / round {r['round']}: {r['status']}, failed {r['failed']}, "
              f"TPS {r['tps']} over {r['transactions']} transactions")
    else:
        w("Every pgbench run finished with zero failed transactions and no aborted client.")

    mem = read(a.memory)
    storm = read(a.storm)
    # A run limited to some scenarios (IDLE_COUNTS="" STORM_ROUNDS=0) measured no idle clients or storm: no tables.
    if mem:
        w("")
        w("### Idle authenticated clients (bench/Logins `hold`: Npgsql, no pooling, 50 logins in flight)")
        w("")
        w("Deltas of the pooler process between before the clients connect and 5 s after the last one is in (Tuki.Pool gives a burst's garbage back after two quiet seconds) "
          "(/proc/PID/smaps_rollup); divided by the clients held.")
        w("")
        w("| pooler | clients | held | RSS before → after (MiB) | RSS per client | private per client | anon per client | time to log in all |")
        w("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for r in mem:
            n = max(int(r["opened"]), 1)
            before, after = int(r["rss_kib_before"]), int(r["rss_kib_after"])
            w(f"| {NAMES[r['target']]} | {int(r['clients']):,} | {int(r['opened']):,} | {before / 1024:.1f} → {after / 1024:.1f} | "
              f"{(after - before) * 1024 / n:,.0f} B | {int(r['private_kib_delta']) * 1024 / n:,.0f} B | "
              f"{int(r['anon_kib_delta']) * 1024 / n:,.0f} B | {int(r['login_ms']) / 1000:.1f} s |")

    storm_rate = {}
    if storm:
        w("")
        w(f"### Login storm ({int(a.storm_count):,} logins started at once by bench/Logins `storm`; time until all are in)")
        w("")
        w("| pooler | rounds (ms) | logged in | median ms | median logins/s |")
        w("| --- | --- | ---: | ---: | ---: |")
        for x in ("pgbouncer", "tuki"):
            rs = [r for r in storm if r["target"] == x]
            if not rs:
                continue
            storm_rate[x] = median(num(r["rate"]) for r in rs)
            w(f"| {NAMES[x]} | {', '.join(r['ms'] for r in rs)} | {', '.join(r['opened'] for r in rs)} | "
              f"{fmt(median(num(r['ms']) for r in rs))} | {fmt(storm_rate[x])} |")

    # ---- targets of issue 5 ----
    w("")
    w("### Against the targets of issue 5")
    w("")
    for s in scenarios:
        if s == "select_prepared_c50":
            continue
        t, b = med(s, "tuki", "tps"), med(s, "pgbouncer", "tps")
        r, same_round = ratio(t, b), paired(s)
        # Met only when both readings say so: the ratio of the medians and the median of same-round ratios.
        verdict = "met" if r is not None and r >= 1.1 and same_round is not None and same_round >= 1.1 else "missed"
        w(f"- TPS ≥ 1.1× PgBouncer, `{ARGS.get(s, s)}`: {fmt(r, 2)}× (same-round median {fmt(same_round, 2)}×) — {verdict}")
    for s in scenarios:
        t, b = med(s, "tuki", "cpu_us_per_tx"), med(s, "pgbouncer", "cpu_us_per_tx")
        if t is None or b is None:
            continue
        if any(r["status"] != "ok" for r in by.get((s, "pgbouncer"), [])):
            # The targets cover the scenarios PgBouncer can run; its aborted runs measure its failure, not its cost.
            w(f"- CPU per transaction ≤ PgBouncer's, `{ARGS.get(s, s)}`: PgBouncer's runs aborted, no comparison")
            continue
        verdict = "met" if t <= b else f"missed by {t - b:.1f} µs ({t / b:.2f}×)"
        w(f"- CPU per transaction ≤ PgBouncer's, `{ARGS.get(s, s)}`: {t:.1f} vs {b:.1f} µs — {verdict}")
    if "select_prepared_c50" in scenarios:
        prepared = by.get(("select_prepared_c50", "tuki"), [])
        failures = sum(int(num(r["failed"]) or 0) for r in prepared) + sum(1 for r in prepared if r["status"] != "ok")
        own = ratio(med("select_prepared_c50", "tuki", "tps"), med("select_extended_c50", "tuki", "tps"))
        verdict = "met" if failures == 0 and own is not None and own >= 1.2 else "missed"
        w(f"- `-M prepared` with zero failures and ≥ 1.2× own `-M extended`: {failures} failed transactions/aborted "
          f"runs, {fmt(own, 2)}× — {verdict}")
    for r in mem:
        if r["target"] == "tuki" and int(r["clients"]) >= 10000:
            per = (int(r["rss_kib_after"]) - int(r["rss_kib_before"])) * 1024 / max(int(r["opened"]), 1)
            held = int(r["opened"]) == int(r["clients"])
            verdict = "met" if per <= 2048 and held else "missed"
            w(f"- ≤ 2 KB per idle client at {int(r['clients']):,} clients, all held: {per:,.0f} B RSS per client, "
              f"{int(r['opened']):,} held — {verdict}")
    if "tuki" in storm_rate and "pgbouncer" in storm_rate:
        t, b = storm_rate["tuki"], storm_rate["pgbouncer"]
        w(f"- Login rate ≥ PgBouncer's: {fmt(t)} vs {fmt(b)} logins/s ({fmt(ratio(t, b), 2)}×) — "
          f"{'met' if t >= b else 'missed'}")
    print("\n".join(out))


if __name__ == "__main__":
    main()
