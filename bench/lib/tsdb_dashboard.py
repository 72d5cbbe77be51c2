#!/usr/bin/env python3
"""A Perses dashboard's panel queries as a TSDB benchmark: answers compared, then timed.

The queries are read from the dashboard resource (JSON; `pharos demo dashboard` prints the demo
one), in the order of its layout: every `PrometheusTimeSeriesQuery` of every panel, named after
the panel's key (`key.2` for a panel's second query). Dashboard variables are replaced the way
the Perses UI does with its default selection:

  * a ListVariable whose default is "All" (`$__all`) becomes its `customAllValue` when it has
    one, else the regex of all its values `(a|b|c)` (label values from the first target,
    through its plugin's `labelName` and `matchers`);
  * a ListVariable with a default value becomes it (several: `(a|b)`); without a default, the
    first value in the variable's sort order;
  * a TextVariable becomes its `value`;
  * the built-ins `$__interval`, `$__interval_ms`, `$__range`, `$__range_s`, `$__range_ms` and
    `$__rate_interval` (max(interval + 15s, 60s), Perses' rule with a 15 s scrape interval)
    follow each range's step and length.
A variable the dashboard does not define stops the run: the list must never drift from the
dashboard silently.

Each query then runs over every range of tsdb_query.RANGES (1 h step 15 s, 24 h step 300 s,
7 d step 2100 s: about 240-290 points, as a panel ~1,000 px wide asks) through tsdb_query.run:
same comparison (same series, timestamps, values within 1e-6), same timing (one warm-up per
target, then --runs runs alternating targets, median wall time, server CPU per run).

  tsdb_dashboard.py --dashboard FILE --target pharos=http://127.0.0.1:P@PID \\
                    --target prometheus=http://...@PID --end UNIX_S [--runs 5] [--only KEY,...]
  tsdb_dashboard.py --dashboard FILE --list      (the panel queries as found, unsubstituted)
"""

import argparse
import json
import re
import sys

import tsdb_query

SCRAPE_INTERVAL_S = 15
# `$name` or `${name}` (`${name:format}` too); not `$1` (label_replace's group references).
VARIABLE = re.compile(r"\$(?:\{([A-Za-z_]\w*)(?::\w+)?\}|([A-Za-z_]\w*))")


def panel_queries(dashboard):
    """[(name, PromQL with variables)] in layout order (panels not laid out last)."""
    spec = dashboard["spec"]
    panels = spec.get("panels", {})
    order = []
    for layout in spec.get("layouts", []):
        for item in layout.get("spec", {}).get("items", []):
            ref = item.get("content", {}).get("$ref", "")
            key = ref.rsplit("/", 1)[-1]
            if key in panels and key not in order:
                order.append(key)
    order += [key for key in panels if key not in order]
    found = []
    for key in order:
        queries = [
            q["spec"]["plugin"]["spec"]["query"]
            for q in panels[key].get("spec", {}).get("queries", [])
            if q.get("spec", {}).get("plugin", {}).get("kind") == "PrometheusTimeSeriesQuery"
        ]
        for index, query in enumerate(queries, start=1):
            found.append((key if index == 1 else f"{key}.{index}", query))
    return found


def regex_of(values):
    # As Perses joins a multiple selection; values are not regex-escaped (Perses does not).
    return values[0] if len(values) == 1 else "(" + "|".join(values) + ")"


def label_values(target, plugin, start, end):
    spec = plugin.get("spec", {})
    if plugin.get("kind") != "PrometheusLabelValuesVariable":
        raise SystemExit(f"cannot list the values of a {plugin.get('kind')} variable")
    params = [("start", start), ("end", end)] + [("match[]", m) for m in spec.get("matchers", [])]
    answer = target.get_json(f"/api/v1/label/{spec['labelName']}/values", params)
    return answer["data"]


def resolve_variables(dashboard, target, start, end):
    """{name: value} of the dashboard's variables with their default selection, and one line
    per variable saying how it was chosen."""
    values, notes = {}, []
    for variable in dashboard["spec"].get("variables", []):
        kind, spec = variable["kind"], variable["spec"]
        name = spec["name"]
        if kind == "TextVariable":
            values[name] = spec.get("value", "")
            notes.append(f"{name}={values[name]!r} (text)")
            continue
        if kind != "ListVariable":
            raise SystemExit(f"variable {name}: unknown kind {kind}")
        default = spec.get("defaultValue")
        defaults = default if isinstance(default, list) else ([default] if default is not None else [])
        if "$__all" in defaults and spec.get("allowAllValue"):
            if spec.get("customAllValue"):
                values[name] = spec["customAllValue"]
                notes.append(f"{name}={values[name]!r} (All: the variable's customAllValue)")
            else:
                listed = sorted(label_values(target, spec["plugin"], start, end))
                values[name] = regex_of(listed)
                notes.append(f"{name}={values[name]!r} (All: the {len(listed)} values joined)")
        elif defaults:
            values[name] = regex_of([str(v) for v in defaults])
            notes.append(f"{name}={values[name]!r} (the default)")
        else:
            listed = sorted(label_values(target, spec["plugin"], start, end),
                            reverse=spec.get("sort", "").endswith("-desc"))
            if not listed:
                raise SystemExit(f"variable {name}: no default and no values")
            values[name] = listed[0]
            notes.append(f"{name}={values[name]!r} (no default: the first value)")
    return values, notes


def builtins(step, range_s):
    rate_interval = max(step + SCRAPE_INTERVAL_S, 4 * SCRAPE_INTERVAL_S)
    return {
        "__interval": f"{step}s", "__interval_ms": str(1000 * step),
        "__range": f"{range_s}s", "__range_s": str(range_s), "__range_ms": str(1000 * range_s),
        "__rate_interval": f"{rate_interval}s",
    }


def substitute(query, values):
    def replace(match):
        name = match.group(1) or match.group(2)
        if name not in values:
            raise SystemExit(f"query {query!r} uses ${name}, which the dashboard does not define")
        return values[name]
    return VARIABLE.sub(replace, query)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dashboard", required=True, help="the Perses Dashboard resource, JSON")
    parser.add_argument("--target", action="append", default=[],
                        help="NAME=URL[@PID]; exactly two, the first one is the one whose speed-up is reported")
    parser.add_argument("--end", type=float, help="end of every range, unix seconds")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", default="", help="comma-separated panel keys (default: all)")
    parser.add_argument("--check-only", action="store_true")
    parser.add_argument("--list", action="store_true", help="print the panel queries and exit")
    args = parser.parse_args()
    with open(args.dashboard) as file:
        dashboard = json.load(file)
    queries = panel_queries(dashboard)
    if not queries:
        raise SystemExit(f"{args.dashboard}: no PrometheusTimeSeriesQuery in any panel")
    if args.list:
        for name, query in queries:
            print(f"{name}\t{query}")
        return
    if args.end is None:
        raise SystemExit("--end is required")
    targets = tsdb_query.parse_targets(args.target)
    wanted = set(filter(None, args.only.split(",")))
    unknown = wanted - {name.split(".")[0] for name, _ in queries}
    if unknown:
        raise SystemExit(f"--only: no panel {sorted(unknown)}")
    queries = [(name, query) for name, query in queries if not wanted or name.split(".")[0] in wanted]
    longest = max(seconds for _, seconds, _ in tsdb_query.RANGES)
    variables, notes = resolve_variables(dashboard, targets[0], args.end - longest, args.end)
    meta = dashboard.get("metadata", {})
    print(f"# dashboard {meta.get('project')}/{meta.get('name')}: {len(queries)} panel queries")
    for note in notes:
        print(f"# variable {note}")
    cases = []
    for range_name, seconds, step in tsdb_query.RANGES:
        for name, query in queries:
            resolved = substitute(query, {**builtins(step, seconds), **variables})
            cases.append((name, resolved, range_name, args.end - seconds, args.end, step))
    print("# queries (as sent for the 1 h range):")
    for name, query, range_name, *_ in cases:
        if range_name == tsdb_query.RANGES[0][0]:
            print(f"#   {name}: {query}")
    print(f"# ranges ending at {args.end:.0f}: "
          + ", ".join(f"{r} step {s}s" for r, _, s in tsdb_query.RANGES), flush=True)
    sys.exit(tsdb_query.run(targets, cases, args.runs, args.check_only, set_goal=None))


if __name__ == "__main__":
    main()
