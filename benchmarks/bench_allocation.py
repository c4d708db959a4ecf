"""Benchmark of the allocation engine against the greedy baseline.

Run: python benchmarks/bench_allocation.py [--quick]

Prints a Markdown section ("## Allocation engine") for benchmarks/RESULTS.md. Each
scenario runs in its own child process so that its peak memory (ru_maxrss) is its own.
``main()`` returns the figures as a dict.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from allocation.engine import (  # noqa: E402
    _cp_sat,
    _Group,
    _groups,
    _plan_value,
    greedy,
    parse_problem,
    solve,
)
from allocation.engine.flow import _solve_network  # noqa: E402
from allocation.engine.solver import _solve_group  # noqa: E402
from allocation.problem_gen import generate_problem  # noqa: E402

SEED = 20250303
TARGET_BYTES = 1 << 30
# Engine seconds (CPU, as the machine is shared) per scenario with a time target.
TARGETS = {"mixed": 1.0, "large": 5.0}

SCENARIOS = [
    # (key, label, referrals, therapists, share seen more than weekly, services)
    ("mixed", "10,000 x 500, mixed frequencies", 10_000, 500, 0.10, 1),
    ("weekly", "10,000 x 500, weekly only", 10_000, 500, 0.0, 1),
    ("balanced", "1,000 x 500, mixed frequencies", 1_000, 500, 0.10, 1),
    ("large", "30,000 x 1,500 in one service", 30_000, 1_500, 0.10, 1),
    # The tight shape: scarce evening slots and rare languages (as generated), 20% seen
    # more than weekly, and the coordinators' requirements on (exclusions, gender,
    # competence, BSL and interpreters, continuity, step-free access and travel, earliest
    # starts and course lengths: the generator draws them all).
    ("tight", "3,000 x 150, tight, every requirement on", 3_000, 150, 0.20, 1),
]
QUICK = [("mixed", "2,000 x 100, mixed frequencies", 2_000, 100, 0.10, 1)]


def run_scenario(referrals: int, therapists: int, multi: float, services: int, repeats: int):
    """Runs in the child process: generate, parse, solve (repeats), greedy."""
    started = time.perf_counter()
    data = generate_problem(
        referrals=referrals,
        therapists=therapists,
        seed=SEED,
        services=services,
        multi_session_share=multi,
    )
    generated = time.perf_counter() - started
    started = time.perf_counter()
    problem = parse_problem(data)
    parse_seconds = time.perf_counter() - started
    walls, cpus, results = [], [], []
    for _ in range(repeats):
        started, cpu = time.perf_counter(), time.process_time()
        result = solve(problem)
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
        results.append(result)
    median = sorted(range(repeats), key=lambda i: walls[i])[repeats // 2]
    result = results[median]
    # The engine's peak, before greedy builds the whole service for its own run.
    engine_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    started = time.perf_counter()
    baseline = greedy(problem)
    greedy_seconds = time.perf_counter() - started
    objective = result.objective
    return {
        "referrals": referrals,
        "therapists": therapists,
        "multi_session_share": multi,
        "services": services,
        "free_places": sum(t.capacity for t in problem.therapists),
        "generate_seconds": round(generated, 3),
        "parse_seconds": round(parse_seconds, 3),
        "engine_seconds": round(walls[median], 3),
        "engine_seconds_all": [round(w, 3) for w in walls],
        "engine_cpu_seconds": round(min(cpus), 3),
        "solver_seconds": result.stats["solve_seconds"],
        "build_seconds": result.stats["build_seconds"],
        "explain_seconds": result.stats["explain_seconds"],
        "candidate_slots": result.stats["candidate_slots"],
        "left_out": result.stats.get("left_out", 0),
        "eligible_pairs": result.stats["eligible_pairs"],
        "placed": objective["placed"],
        "priority": objective["priority"],
        "fit": objective["fit"],
        "value": objective["value"],
        "scale": objective["scale"],
        "upper_bound": objective["upper_bound"],
        "priority_gap": objective["priority_gap"],
        "placed_bound": objective["placed_bound"],
        "proven": objective["proven"],
        "no_improving_swap": objective["no_improving_swap"],
        "optimal": objective["optimal"],
        "method": objective["method"],
        "greedy_placed": baseline.objective["placed"],
        "greedy_priority": baseline.objective["priority"],
        "greedy_fit": baseline.objective["fit"],
        "greedy_value": baseline.objective["value"],
        "greedy_seconds": round(greedy_seconds, 3),
        "peak_rss_bytes": engine_peak,
        "greedy_peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }


def raw_solve(referrals: int, therapists: int, multi: float, services: int) -> dict:
    """Runs in the child process: OR-tools' min-cost flow alone, once, on every candidate
    (referral, slot) arc of each service, without pruning or pricing (each client needing
    one slot, as in the relaxation): the raw solver on the whole network."""
    data = generate_problem(
        referrals=referrals,
        therapists=therapists,
        seed=SEED,
        services=services,
        multi_session_share=multi,
    )
    problem = parse_problem(data)
    arcs = seconds = cpu = 0.0
    for ref_ids, ther_ids in _groups(problem).values():
        if not ref_ids or not ther_ids:
            continue
        group = _Group(problem, ref_ids, ther_ids)
        arc_r, arc_s, arc_v = group.arcs()
        del group.ok
        started, cpu_started = time.perf_counter(), time.process_time()
        _solve_network(arc_r, arc_s, arc_v, group.s_t, group.t_cap, len(group.refs))
        seconds += time.perf_counter() - started
        cpu += time.process_time() - cpu_started
        arcs += len(arc_r)
    return {
        "raw_seconds": round(seconds, 3),
        "raw_cpu_seconds": round(cpu, 3),
        "raw_arcs": int(arcs),
        "raw_peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }


def exactness(instances: int, referrals: int, therapists: int) -> dict:
    """The large-service method (decomposition, then swaps) against the exact optimum
    (CP-SAT) on mid-sized services."""
    gaps, equal, fewer, seconds = [], 0, 0, []
    for i in range(instances):
        data = generate_problem(
            referrals=referrals, therapists=therapists, seed=SEED + i, multi_session_share=0.2
        )
        problem = parse_problem(data)
        ((ref_ids, ther_ids),) = _groups(problem).values()
        group = _Group(problem, ref_ids, ther_ids)
        # What a large service gets: the decomposition, greedy's floor and the swaps.
        heuristic = _solve_group(group, exact_limit=0, time_limit=3.0)
        started = time.perf_counter()
        exact = _cp_sat(group, heuristic, time_limit=120)
        seconds.append(time.perf_counter() - started)
        if exact is None or not exact.optimal:
            continue
        best_placed, best_priority = _split(problem, _plan_value(group, exact))
        got_placed, got_priority = _split(problem, _plan_value(group, heuristic))
        if got_placed < best_placed:
            fewer += 1
            continue
        gaps.append((best_priority - got_priority) / best_priority if best_priority else 0.0)
        equal += (got_placed, got_priority) == (best_placed, best_priority)
    return {
        "instances": instances,
        "proven": len(gaps) + fewer,
        "equal": equal,
        "fewer": fewer,
        "mean_gap": statistics.mean(gaps) if gaps else None,
        "max_gap": max(gaps) if gaps else None,
        "cp_sat_seconds_median": round(statistics.median(seconds), 2),
        "referrals": referrals,
        "therapists": therapists,
    }


def _split(problem, value: int) -> tuple[int, int]:
    """(placed, priority) from an objective value (see Problem.place_scale)."""
    placed, rest = divmod(value, problem.place_scale)
    return placed, rest // problem.scale


def _child(args: argparse.Namespace) -> None:
    if args.child == "exactness":
        out = exactness(args.instances, args.referrals, args.therapists)
    elif args.child == "raw":
        out = raw_solve(args.referrals, args.therapists, args.multi, args.services)
    else:
        out = run_scenario(args.referrals, args.therapists, args.multi, args.services, args.repeats)
    print(json.dumps(out))


def _spawn(*extra: str) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), *extra]
    done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _mib(n: int) -> str:
    return f"{n / (1 << 20):,.0f} MiB"


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.3f}%"


def render(results: dict) -> str:
    lines = ["## Allocation engine", ""]
    lines.append(
        f"Seeded problems from `allocation/problem_gen.py` (seed {SEED}); each scenario in its "
        f"own process on {os.cpu_count()} cores, Python {platform.python_version()}, load "
        f"average {results['load'][0]:.1f} at the start and {results['load'][1]:.1f} at the "
        "end (other work on the machine slows every figure). "
        "Engine = `solve()` from a parsed problem to a finished result, explanations "
        "included: wall time, median of the runs listed, and the least CPU time of those runs "
        "(single-threaded, so on an idle machine the two agree); solver = the min-cost flow "
        "and CP-SAT calls and the swap search. Bound: what is proven (the priority gap to "
        "the bound when the number placed is proven optimal, else the bound on the number "
        "placed). Peak memory is the child process's maximum resident set "
        "size (interpreter, numpy and OR-tools included) when the engine's runs end, before greedy "
        "runs in the same process. Referrals left out: proven unable to change the answer "
        "(pruning, docs/allocation.md). Raw OR-tools flow: `SimpleMinCostFlow` alone, once, "
        "on every candidate arc of the service (each client needing one slot), without "
        "pruning or pricing, CPU time. The objective counts people placed "
        "first, then their priority, then fit (docs/allocation.md). "
        "Command: `python benchmarks/bench_allocation.py`."
    )
    lines.append("")
    lines.append(
        "| scenario | engine s | engine CPU s | solver s | parse s | peak memory | referrals "
        "left out | placed | greedy placed | more placed | priority | greedy priority | fit "
        "| greedy fit | greedy s | raw OR-tools flow s (arcs) | bound | method |"
    )
    lines.append(
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"
    )
    runs = [(key, label, results[key]) for key, label, *_ in results["scenarios_run"]]
    for _key, label, r in runs:
        all_runs = ", ".join(f"{w:.2f}" for w in r["engine_seconds_all"])
        if r["optimal"]:
            gap = "0 (optimal)"
        elif r["priority_gap"] is not None:
            gap = _pct(r["priority_gap"]) + " (number placed proven)"
        else:
            gap = f"placed ≤ {r['placed_bound']:,}"
        if not r["no_improving_swap"]:
            gap += "; swap search stopped by its time limit"
        raw = f"{r['raw_cpu_seconds']:.2f} CPU ({r['raw_arcs']:,})" if "raw_arcs" in r else "n/a"
        lines.append(
            f"| {label} | {r['engine_seconds']:.2f} ({all_runs}) | {r['engine_cpu_seconds']:.2f}"
            f" | {r['solver_seconds']:.2f}"
            f" | {r['parse_seconds']:.2f} | {_mib(r['peak_rss_bytes'])}"
            f" | {r.get('left_out', 0):,} of {r['referrals']:,}"
            f" | {r['placed']:,} | {r['greedy_placed']:,} | {r['placed'] - r['greedy_placed']:+,}"
            f" | {r['priority']:,} | {r['greedy_priority']:,} | {r['fit']:,} | {r['greedy_fit']:,}"
            f" | {r['greedy_seconds']:.2f} | {raw} | {gap} | {r['method']} |"
        )
    lines.append("")
    fewer = [(label, r) for _key, label, r in runs if r["placed"] < r["greedy_placed"]]
    checks = []
    for key, label, r in runs:
        if key in TARGETS:
            limit = TARGETS[key]
            checks.append(
                (
                    f"{label}: engine under {limit:g} s CPU ({r['engine_cpu_seconds']:.2f}; "
                    f"wall {r['engine_seconds']:.2f} at load {results['load'][0]:.1f})",
                    r["engine_cpu_seconds"] < limit,
                )
            )
            checks.append(
                (
                    f"{label}: peak memory under 1 GiB ({_mib(r['peak_rss_bytes'])})",
                    r["peak_rss_bytes"] < TARGET_BYTES,
                )
            )
    checks.append(("never fewer placed than greedy", not fewer))
    checks.append(
        (
            "never a lower objective than greedy",
            all(r["value"] >= r["greedy_value"] for _key, _label, r in runs),
        )
    )
    verdicts = [f"{name}: {'met' if ok else 'NOT met'}" for name, ok in checks]
    lines.append("Targets: " + "; ".join(verdicts) + ".")
    for label, r in fewer:
        lines.append("")
        lines.append(
            f'In "{label}" the engine placed {r["greedy_placed"] - r["placed"]} fewer than '
            "greedy. This should not happen: a service not proven optimal falls back to "
            "greedy's allocation when that is better. Report it as a bug."
        )
    ex = results.get("exactness")
    if ex:
        lines.append("")
        lines.append(
            f"Decomposition and swaps against the exact optimum: on {ex['instances']} services of "
            f"{ex['referrals']:,} referrals x {ex['therapists']} therapists with 20% seen more "
            f"than weekly, CP-SAT proved the optimum for {ex['proven']} (median "
            f"{ex['cp_sat_seconds_median']} s each); decomposition and swaps matched it in "
            f"{ex['equal']} and placed fewer people in {ex['fewer']}; among those placing as "
            f"many, the mean priority gap was {_pct(ex['mean_gap'])} and the largest "
            f"{_pct(ex['max_gap'])}. (solve() itself proves services this small optimal with "
            "CP-SAT; this measures what large services get.)"
        )
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--child", choices=["scenario", "exactness", "raw"])
    parser.add_argument("--referrals", type=int)
    parser.add_argument("--therapists", type=int)
    parser.add_argument("--multi", type=float, default=0.1)
    parser.add_argument("--services", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--instances", type=int, default=8)
    args = parser.parse_args(argv)
    if args.child:
        _child(args)
        return {}
    scenarios = QUICK if args.quick else SCENARIOS
    results: dict = {"scenarios_run": scenarios}
    load_start = os.getloadavg()[0]
    for key, _label, referrals, therapists, multi, services in scenarios:
        results[key] = _spawn(
            "--child=scenario",
            f"--referrals={referrals}",
            f"--therapists={therapists}",
            f"--multi={multi}",
            f"--services={services}",
            f"--repeats={1 if args.quick or referrals > 10_000 else 3}",
        )
        results[key].update(
            _spawn(
                "--child=raw",
                f"--referrals={referrals}",
                f"--therapists={therapists}",
                f"--multi={multi}",
                f"--services={services}",
            )
        )
    results["exactness"] = _spawn(
        "--child=exactness",
        f"--instances={2 if args.quick else 8}",
        "--referrals=400",
        "--therapists=40",
    )
    results["load"] = (load_start, os.getloadavg()[0])
    print(render(results))
    return results


if __name__ == "__main__":
    main()
