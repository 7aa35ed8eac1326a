#!/usr/bin/env python3
"""
FlowKit's own client, unchanged, against `opalite serve` (issue #15). Optional: not part of `npm test` or CI.

It imports FlowClient from a FlowKit checkout (FLOWCLIENT_SRC=<checkout>/flowclient), builds every aggregate spec with
FlowClient's own helpers (flowclient.aggregates.*_spec, flowclient.query_specs.*), runs each one through
Connection.make_api_query(...) -> APIQuery.run / status / wait_until_ready / get_result, and compares the rows with
`opalite query` on the same store (the CLI applies the same threshold redaction as a tier configured for it).
Queries are submitted in a batch first, so that most are still queued or executing when FlowClient first polls them.

Dependencies: Debian's python3-requests, python3-jwt, python3-pandas, python3-httpx, python3-tqdm. Two stand-ins, said
here because they are not FlowClient's code:
  - `merge_args` (a PyPI-only decorator aggregates.py uses to copy signatures) is replaced by one that returns the
    function unchanged, when it is not installed;
  - FlowClient releases that call `jwt.decode(token, verify=False)` were written for PyJWT 1.x; with PyJWT 2 that call
    is mapped to `options={"verify_signature": False}` (the signature is still checked by the server).

Usage:
  npm run build
  node dist/server/cli/main.js serve --store STORE --port 9090 &     # prints a token per tier
  FLOWCLIENT_SRC=~/FlowKit/flowclient OPALITE_TOKEN=<premium token> STORE=STORE \
    /usr/bin/python3 test/compat/flowclient_run.py [--url http://127.0.0.1:9090]
Exit status 0 when every helper's result equals the CLI's rows.

With --dp the token is of a tier under differential privacy (the default tiers): the same FlowClient calls, and for
the kinds DP releases each count must lie within 3 times the answer's stated 95% half-width (privacy.interval95, read
from the same /get answer FlowClient reads query_result from) of the CLI's exact count, rows absent on one side only
near the threshold (joined_spatial_aggregate by avg states no interval: a ratio of noised sums and counts); the other
helpers must fail in FlowClient with the service's msg naming differential privacy.
"""
import argparse
import json
import os
import subprocess
import sys
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def shims() -> list:
    used = []
    try:
        import merge_args  # noqa: F401
    except ImportError:
        m = types.ModuleType("merge_args")
        m.merge_args = lambda source, *a, **k: (lambda f: f)
        sys.modules["merge_args"] = m
        used.append("merge_args (identity decorator)")
    import jwt

    if int(jwt.__version__.split(".")[0]) >= 2:
        original = jwt.decode

        def decode(token, *args, **kwargs):
            if kwargs.pop("verify", None) is False:
                kwargs.setdefault("options", {})["verify_signature"] = False
            return original(token, *args, **kwargs)

        jwt.decode = decode
        used.append(f"jwt.decode(verify=False) on PyJWT {jwt.__version__}")
    return used


def cli_rows(store: str, spec: dict) -> list:
    out = subprocess.run(
        ["node", str(ROOT / "dist/server/cli/main.js"), "query", "--store", store, "--format", "json", "--spec", json.dumps(spec)],
        check=True, capture_output=True, text=True,
    )
    return json.loads(out.stdout)["query_result"]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://127.0.0.1:9090")
    ap.add_argument("--unit", default="admin2")
    ap.add_argument("--dp", action="store_true", help="the token's tier is under differential privacy")
    args = ap.parse_args()
    src = os.environ.get("FLOWCLIENT_SRC")
    if not src:
        print("FLOWCLIENT_SRC: expected the path of FlowKit's flowclient folder, found none", file=sys.stderr)
        return 2
    sys.path.insert(0, src)
    used = shims()
    import flowclient
    from flowclient import aggregates as A, query_specs as Q

    token, store, U = os.environ["OPALITE_TOKEN"], os.environ["STORE"], args.unit
    conn = flowclient.connect(url=args.url, token=token)
    print(f"flowclient from {src}; stand-ins: {', '.join(used) or 'none'}")
    print("available dates:", {k: f"{v[0]}..{v[-1]}" for k, v in flowclient.get_available_dates(connection=conn).items() if v})
    print("geography", U, len(flowclient.get_geography(connection=conn, aggregation_unit=U)["features"]), "features")

    week1 = Q.modal_location_from_dates_spec(start_date="2016-01-01", end_date="2016-01-04", aggregation_unit=U, method="last")
    week2 = Q.modal_location_from_dates_spec(start_date="2016-01-08", end_date="2016-01-11", aggregation_unit=U, method="last")
    unique = Q.unique_locations_spec(start_date="2016-01-01", end_date="2016-01-04", aggregation_unit=U)
    rog = Q.radius_of_gyration_spec(start_date="2016-01-01", end_date="2016-01-04")
    tno = A.total_network_objects_spec(start_date="2016-01-01", end_date="2016-01-08", aggregation_unit=U)
    specs = {
        "spatial_aggregate": A.spatial_aggregate_spec(locations=Q.daily_location_spec(date="2016-01-03", aggregation_unit=U, method="last")),
        "flows": A.flows_spec(from_location=week1, to_location=week2),
        "location_event_counts": A.location_event_counts_spec(start_date="2016-01-01", end_date="2016-01-03", aggregation_unit=U, count_interval="day"),
        "unique_subscriber_counts": A.unique_subscriber_counts_spec(start_date="2016-01-01", end_date="2016-01-08", aggregation_unit=U),
        "total_network_objects": tno,
        "aggregate_network_objects": A.aggregate_network_objects_spec(total_network_objects=tno, statistic="avg"),
        "trips_od_matrix": A.trips_od_matrix_spec(start_date="2016-01-01", end_date="2016-01-03", aggregation_unit=U),
        "consecutive_trips_od_matrix": A.consecutive_trips_od_matrix_spec(start_date="2016-01-01", end_date="2016-01-03", aggregation_unit=U),
        "unmoving_counts": A.unmoving_counts_spec(unique_locations=unique),
        "unmoving_at_reference_location_counts": A.unmoving_at_reference_location_counts_spec(reference_locations=week1, unique_locations=unique),
        "active_at_reference_location_counts": A.active_at_reference_location_counts_spec(reference_locations=week1, unique_locations=unique),
        "joined_spatial_aggregate": A.joined_spatial_aggregate_spec(locations=week1, metric=rog),
        "histogram_aggregate": A.histogram_aggregate_spec(metric=rog, bins=[0, 5, 20, 1000]),
    }
    if args.dp:
        return dp_run(conn, args.url, token, store, specs)
    queries = {name: conn.make_api_query(parameters=spec) for name, spec in specs.items()}
    for q in queries.values():
        q.run()  # all submitted first: later ones wait in the service's queue
    first = {name: q.status for name, q in queries.items()}
    print("status at first poll:", json.dumps(first))
    failed = 0
    for name, q in queries.items():
        q.wait_until_ready(poll_interval=1, disable_progress=True)
        got = q.get_result(format="pandas", disable_progress=True)
        # to_dict keeps full float precision (to_json rounds to 10 digits); numpy scalars become Python numbers.
        rows = json.loads(json.dumps(got.to_dict(orient="records"), default=lambda v: v.item()))
        want = cli_rows(store, specs[name])
        ok = rows == want
        failed += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {name}: {len(rows)} rows (first poll: {first[name]})")
    print(f"{len(queries) - failed} of {len(queries)} equal the CLI")
    return 1 if failed else 0


DP_KINDS = {"spatial_aggregate", "flows", "inflows", "outflows", "unique_subscriber_counts", "histogram_aggregate", "joined_spatial_aggregate"}


def dp_run(conn, url: str, token: str, store: str, specs: dict) -> int:
    import requests

    failed = 0
    for name, spec in specs.items():
        q = conn.make_api_query(parameters=spec)
        if spec["query_kind"] not in DP_KINDS:
            try:
                q.run()
                q.get_result(format="pandas", disable_progress=True)
                ok, why = False, "answered, expected a refusal"
            except Exception as e:  # FlowClient raises its own error carrying the service's msg
                ok, why = "differential privacy" in str(e), f"refused: {str(e)[:90]}"
            failed += not ok
            print(f"{'ok  ' if ok else 'FAIL'} {name}: {why}")
            continue
        got = q.get_result(format="pandas", disable_progress=True)
        rows = json.loads(json.dumps(got.to_dict(orient="records"), default=lambda v: v.item()))
        raw = requests.get(f"{url}/api/0/get/{q._query_id}", headers={"Authorization": f"Bearer {token}"}).json()
        privacy = raw["privacy"]
        if "interval95" not in privacy:
            # joined_spatial_aggregate by avg: a ratio of noised sums and counts, no interval stated per value.
            ok = raw["query_result"] == rows and privacy["mode"] == "dp" and "ratio" in privacy and len(rows) > 0
            failed += not ok
            print(f"{'ok  ' if ok else 'FAIL'} {name}: {len(rows)} rows, a ratio of noised sums and counts (metric clipped to [{privacy['ratio']['lower']}, {privacy['ratio']['upper']}])")
            continue
        half = privacy["interval95"]
        k = privacy["k"]
        key = lambda r: json.dumps({c: v for c, v in r.items() if c != "value"}, sort_keys=True)
        exact = {key(r): r["value"] for r in cli_rows(store, spec)}
        bad = [r for r in rows if abs(r["value"] - exact[key(r)]) > 3 * half] if all(key(r) in exact for r in rows) else rows
        bad += [r for r in rows if key(r) not in exact and r["value"] > k + 3 * half]
        published = {key(r) for r in rows}
        bad += [{"withheld": kk, "value": v} for kk, v in exact.items() if kk not in published and v > k + 3 * half]
        ok = raw["query_result"] == rows and privacy["mode"] == "dp" and not bad
        failed += not ok
        within = sum(1 for r in rows if key(r) in exact and abs(r["value"] - exact[key(r)]) <= half)
        print(f"{'ok  ' if ok else 'FAIL'} {name}: {len(rows)} rows (CLI {len(exact)}), {within} within +-{half} (95%), rho {privacy['rho']}")
    print(f"{len(specs) - failed} of {len(specs)} as expected under DP")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
