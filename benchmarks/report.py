"""Figures from measurements: per-run metrics, the targets, the markdown table and the plots.

Nothing here measures; everything is computed from what the client processes
and the simulator reported in the same run.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmarks._common import (
    BASELINES,
    LATENCY_REFERENCE,
    LATENCY_SYSTEM,
    SYSTEMS,
    percentile,
)

__all__ = [
    "PROJECT_DEFAULT",
    "evaluate_targets",
    "failure_kind",
    "render_markdown",
    "render_plots",
    "run_metrics",
]

#: The project system each end-to-end target is about: the Poller with its defaults (batch mode).
PROJECT_DEFAULT = "waiters-poller-batch"


def _requests(stats: Mapping[str, Mapping[str, Any]]) -> tuple[int, int, dict[str, int]]:
    """(requests the service received, of which throttled, requests per operation).

    ``served`` counts answered requests (malformed answers included),
    ``throttled`` every ThrottlingException; injected 5xx answers and resets
    are counted only under ``faulted``.  Latency and forced throttles are
    not extra requests.
    """
    total = throttled = 0
    per_operation: dict[str, int] = {}
    for operation, counts in stats.items():
        faulted = counts.get("faulted", {})
        count = (
            int(counts.get("served", 0))
            + int(counts.get("throttled", 0))
            + int(faulted.get("error_5xx", 0))
            + int(faulted.get("reset", 0))
        )
        per_operation[operation] = count
        total += count
        throttled += int(counts.get("throttled", 0))
    return total, throttled, per_operation


def failure_kind(reason: str) -> str:
    """A failed wait's reason, in a few words."""
    text = reason.lower()
    if "throttl" in text or "rate exceeded" in text:
        return "throttled"
    if "max attempts" in text:
        return "max attempts"
    if "timed_out" in text or "timeout" in text:
        return "timed out"
    if (
        "serviceunavailable" in text
        or "internalfailure" in text
        or "internal" in text
        or "server error" in text
        or " 5" in text
    ):
        return "server error"
    return "other"


def run_metrics(
    client: Mapping[str, Any],
    executions: Sequence[Mapping[str, str]],
    truth: Iterable[Mapping[str, Any]],
    stats: Mapping[str, Mapping[str, Any]],
    terminal_states: frozenset[str],
) -> dict[str, Any]:
    """Score one client run against the simulator's ground truth and counters."""
    ended_at: dict[tuple[tuple[str, str], ...], tuple[str, float]] = {}
    for record in truth:
        for state, at in record["truth"]:
            if state in terminal_states:
                ended_at[tuple(sorted(record["ids"].items()))] = (state, float(at))
                break
    count = len(executions)
    latencies: list[float] = []
    wrong = lost = never_ended = 0
    failures: Counter[str] = Counter()
    examples: dict[str, str] = {}
    detected_at = client["detected_at"]
    for index, ids in enumerate(executions):
        true_end = ended_at.get(tuple(sorted(ids.items())))
        error = client["errors"][index]
        seen = detected_at[index]
        if error is not None:
            kind = failure_kind(error)
            failures[kind] += 1
            examples.setdefault(kind, error)
        elif seen is None:
            lost += 1
        elif true_end is None:
            never_ended += 1  # the client claims an end the service never reached
            wrong += 1
        elif client["states"][index] != true_end[0]:
            wrong += 1
        else:
            latencies.append(seen - true_end[1])
    calls, throttled, per_operation = _requests(stats)
    cpu = float(client["cpu_s"])
    rss_delta = max(int(client["rss_peak_kib"]) - int(client["rss_setup_kib"]), 0)
    return {
        "executions": count,
        "finished": len(latencies),
        "failed": sum(failures.values()),
        "failures": dict(failures),
        "failure_examples": examples,
        "lost": lost,
        "wrong": wrong,
        "capped": bool(client["capped"]),
        "wall_s": float(client["ended"]) - float(client["started"]),
        "latency_p50_s": percentile(latencies, 50),
        "latency_p99_s": percentile(latencies, 99),
        # Over every execution, a wait that never saw the true outcome counting as
        # never detected; None when that reaches into the undetected ones (unbounded).
        "latency_p99_all_s": _finite(
            percentile(latencies + [math.inf] * (count - len(latencies)), 99)
        ),
        "latency_max_s": max(latencies) if latencies else None,
        "latencies_s": [round(x, 3) for x in latencies],
        "calls": calls,
        "calls_by_operation": per_operation,
        "calls_per_execution": calls / count if count else None,
        "throttled": throttled,
        "client_calls": client.get("client_calls"),
        "cpu_s": cpu,
        "cpu_per_call_us": cpu / calls * 1e6 if calls else None,
        "peak_rss_mib": int(client["rss_peak_kib"]) / 1024,
        "rss_per_execution_kib": rss_delta / count if count else None,
    }


def _finite(value: float | None) -> float | None:
    return None if value is None or math.isinf(value) else value


# --- targets -----------------------------------------------------------------------------


def _target(name: str, claim: str, measured: str, passed: bool | None) -> dict[str, Any]:
    verdict = "n/a" if passed is None else ("PASS" if passed else "FAIL")
    return {"target": name, "claim": claim, "measured": measured, "verdict": verdict}


def _fmt(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "-"
    if math.isinf(value):
        return "inf"
    return f"{value:,.{digits}f}"


def _ratio(value: float | None) -> str:
    if value is not None and math.isinf(value):
        return "unbounded"
    return f"{_fmt(value)}x"


def _unbounded(value: float | None) -> str:
    return "unbounded (>1% never seen)" if value is None else f"{_fmt(value)} s"


def _target_rate_limited(scenario: str | None, runs: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Target (a), judged twice: p99 over every execution, and over finished waits only."""
    claim = (
        "under 10 calls/s at N=1,000 every baseline fails waits or detects late; the "
        "Poller loses no wait and its p99 detection latency is >= 5x lower than the "
        "best baseline's"
    )
    name = "(a) 10 calls/s, N=1,000"
    strict_name = "(a, finished only)"
    strict_claim = (
        "the same, but each baseline's p99 counts only the waits it finished "
        "(its failed and lost waits are ignored, which favours the baselines)"
    )
    project = runs.get(PROJECT_DEFAULT)
    baselines = {s: m for s, m in runs.items() if s in BASELINES and not m.get("error")}
    if scenario is None or project is None or project.get("error") or not baselines:
        return [
            _target(name, claim, "not measured in this run", None),
            _target(strict_name, strict_claim, "not measured in this run", None),
        ]
    project_lost = project["failed"] + project["lost"] + project["wrong"]
    p99 = project["latency_p99_s"]
    p99_all = project["latency_p99_all_s"]
    verdicts = []
    every_baseline_bad = True
    for system, metrics in baselines.items():
        bad = metrics["failed"] + metrics["lost"] + metrics["wrong"]
        late = (
            p99 is not None
            and metrics["latency_p99_s"] is not None
            and metrics["latency_p99_s"] >= 5 * p99
        )
        every_baseline_bad &= bool(bad or late)
        verdicts.append(
            f"{system}: {metrics['failed']:,} failed + {metrics['lost']:,} lost, "
            f"p99 {_fmt(metrics['latency_p99_s'])} s of those finished, "
            f"{_unbounded(metrics['latency_p99_all_s'])} of all"
        )
    # Over every execution: an unbounded p99 (None) is worse than any measured one.
    finite_all = {
        s: m["latency_p99_all_s"]
        for s, m in baselines.items()
        if m["latency_p99_all_s"] is not None
    }
    best_all = min(finite_all.values()) if finite_all else math.inf
    ratio_all = (best_all / p99_all) if p99_all else None
    passed_all = (
        project_lost == 0 and ratio_all is not None and ratio_all >= 5 and every_baseline_bad
    )
    measured = (
        f"{scenario}: Poller (batch) {project_lost} failed/lost, p99 "
        f"{_unbounded(p99_all)}; best baseline p99 over all executions "
        f"{'unbounded' if math.isinf(best_all) else _fmt(best_all) + ' s'}; ratio "
        f"{_ratio(ratio_all)}. " + "; ".join(verdicts)
    )
    finished = {
        s: m["latency_p99_s"] for s, m in baselines.items() if m["latency_p99_s"] is not None
    }
    best_system = min(finished, key=lambda s: finished[s]) if finished else None
    best = finished[best_system] if best_system else None
    ratio = (best / p99) if best is not None and p99 else None
    passed = project_lost == 0 and ratio is not None and ratio >= 5 and every_baseline_bad
    strict = (
        f"{scenario}: Poller p99 {_fmt(p99)} s; best baseline p99 of finished waits "
        f"{_fmt(best)} s ({best_system}, which finished "
        f"{baselines[best_system]['finished'] if best_system else 0:,} of "
        f"{project['executions']:,}); ratio {_fmt(ratio)}x"
    )
    return [
        _target(name, claim, measured, passed_all),
        _target(strict_name, strict_claim, strict, passed),
    ]


def _target_cpu(core: Mapping[str, Any], calibration: Mapping[str, Any] | None) -> dict[str, Any]:
    """Each point against aiobotocore's CPU per call at the same pacing, measured in this run.

    A point with an unlimited budget sends calls back to back: it is compared
    with aiobotocore back to back.  A point paced by a fixed budget is
    compared with aiobotocore paced at that rate (the calibration's paced
    phase), where every call costs its own wake-ups.
    """
    claim = (
        "framework CPU per poll (the poller's CPU per call less a hand loop's at the "
        "same pace over the same loopback transport) <= 5% of aiobotocore's own CPU "
        "per call at the same pacing"
    )
    name = "(b) CPU per poll"
    points = [p for p in core.get("cpu", []) if not p.get("error")]
    if not points or not calibration or calibration.get("error"):
        return _target(name, claim, "not measured in this run", None)
    paced = calibration.get("paced") or {}
    figures: list[str] = []
    worst: float | None = None
    for point in points:
        if point.get("rate") is None:
            reference, how = calibration["cpu_per_call_us"], "back to back"
        elif paced and math.isclose(point["rate"], paced["rate"], rel_tol=0.01):
            reference, how = paced["cpu_per_call_us"], f"paced at {_fmt(paced['rate'])} calls/s"
        else:
            continue  # no aiobotocore figure at that pace in this run
        ratio = point["framework_us_per_poll"] / reference
        worst = ratio if worst is None else max(worst, ratio)
        figures.append(
            f"N={point['executions']:,} {point['backend']} "
            f"{'unlimited' if point.get('rate') is None else _fmt(point['rate']) + ' calls/s'}: "
            f"{_fmt(point['framework_us_per_poll'])} us/poll vs aiobotocore {_fmt(reference)} "
            f"us/call {how}: {ratio * 100:.1f}%"
        )
    if worst is None:
        return _target(name, claim, "no point measured at a pace aiobotocore was", None)
    return _target(name, claim, "; ".join(figures), worst <= 0.05)


def _target_memory(core: Mapping[str, Any]) -> dict[str, Any]:
    claim = "RSS per waiting execution <= 1/10 of the aiobotocore-waiter baseline's"
    name = "(c) memory per wait"
    points = [p for p in core.get("memory", []) if not p.get("error")]
    baseline = [p for p in points if p["system"] == "aiobotocore-waiter"]
    if not baseline:
        return _target(name, claim, "not measured in this run", None)
    reference = max(baseline, key=lambda p: p["executions"])
    size = reference["executions"]
    pollers = [
        p for p in points if p["system"].startswith("waiters-poller") and p["executions"] == size
    ]
    if not pollers:
        return _target(name, claim, "not measured in this run", None)
    worst = max(pollers, key=lambda p: p["bytes_per_execution"])
    ratio = worst["bytes_per_execution"] / reference["bytes_per_execution"]
    measured = (
        f"N={size:,}: {worst['system']} {_fmt(worst['bytes_per_execution'], 0)} B vs "
        f"aiobotocore-waiter {_fmt(reference['bytes_per_execution'], 0)} B per "
        f"execution: {ratio:.2f} of it"
    )
    return _target(name, claim, measured, ratio <= 0.1)


def _target_batch(
    scenario: str | None, runs: Mapping[str, Any], *, lagging: bool = False
) -> dict[str, Any]:
    claim = (
        "10,000-execution IoT job under 10 calls/s per operation"
        + (", DescribeJob counts lagging 30 s" if lagging else "")
        + ": every outcome seen, p99 <= 10 s, <= 0.05 calls per execution (batch mode)"
    )
    name = "(e) batch mode, N=10,000, lagging counts" if lagging else "(d) batch mode, N=10,000"
    batch = runs.get("waiters-poller-batch")
    if scenario is None or batch is None or batch.get("error"):
        return _target(name, claim, "not measured in this run", None)
    unseen = batch["failed"] + batch["lost"] + batch["wrong"]
    p99 = batch["latency_p99_s"]
    calls = batch["calls_per_execution"]
    passed = unseen == 0 and p99 is not None and p99 <= 10 and calls <= 0.05
    describe = runs.get("waiters-poller-describe")
    compare = ""
    if describe and not describe.get("error"):
        compare = (
            f"; Describe mode: {describe['failed'] + describe['lost']} unseen, p99 "
            f"{_fmt(describe['latency_p99_s'])} s, "
            f"{_fmt(describe['calls_per_execution'], 3)} calls/execution"
        )
    measured = (
        f"{scenario}: {unseen} unseen, p99 {_fmt(p99)} s, {_fmt(calls, 3)} calls/execution{compare}"
    )
    return _target(name, claim, measured, passed)


def latency_table(runs: Mapping[str, Any]) -> dict[str, Any]:
    """The no-limit comparison of issue 17: rows per system and the ratios it asks for.

    Ratios are of the latency-target batch Poller to the aiobotocore waiter
    (calls per execution, client CPU) and of the Describe-mode Poller's CPU
    per call to the waiter's; None where a run is missing or failed.
    """
    systems = (
        LATENCY_REFERENCE,
        "aioboto3-loop",
        "waiters-poller-describe",
        "waiters-poller-batch",
        LATENCY_SYSTEM,
    )
    rows = []
    for system in systems:
        metrics = runs.get(system)
        if metrics is None or metrics.get("error"):
            rows.append({"system": system, "error": (metrics or {}).get("error", "not run")})
            continue
        rows.append(
            {
                "system": system,
                "latency_p99_s": metrics["latency_p99_s"],
                "latency_p99_all_s": metrics["latency_p99_all_s"],
                "calls_per_execution": metrics["calls_per_execution"],
                "cpu_s": metrics["cpu_s"],
                "cpu_per_call_us": metrics["cpu_per_call_us"],
                "latency_target_s": metrics.get("latency_target_s"),
                "unseen": metrics["failed"] + metrics["lost"] + metrics["wrong"],
            }
        )
    by = {row["system"]: row for row in rows if "error" not in row}
    waiter, latency, describe = (
        by.get(LATENCY_REFERENCE),
        by.get(LATENCY_SYSTEM),
        by.get("waiters-poller-describe"),
    )

    def share(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None, key: str) -> float | None:
        if a is None or b is None or a[key] is None or not b[key]:
            return None
        return float(a[key]) / float(b[key])

    return {
        "rows": rows,
        "latency_calls_share": share(latency, waiter, "calls_per_execution"),
        "latency_cpu_share": share(latency, waiter, "cpu_s"),
        "describe_cpu_per_call_share": share(describe, waiter, "cpu_per_call_us"),
        "latency_target_s": latency["latency_target_s"] if latency else None,
        "latency_p99_s": latency["latency_p99_all_s"] if latency else None,
        "waiter_cpu_per_call_us": waiter["cpu_per_call_us"] if waiter else None,
    }


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _targets_latency(
    scenario: str | None, runs: Mapping[str, Any], calibration: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Issue 17's "done when" for the no-limit N=1,000 run, from :func:`latency_table`.

    (g) also prints aiobotocore's own CPU per call back to back (the
    calibration), against the waiter's: every Describe goes through that
    client, so no Describe mode costs less per call than that share.
    """
    claim_f = (
        "no limit, N=1,000: batch mode with latency= the aiobotocore waiter's p99 "
        "meets it (p99 over all executions), at <= 5% of the waiter's calls and <= 10% "
        "of its client CPU"
    )
    claim_g = "no limit, N=1,000: Describe mode's client CPU per call <= 60% of the waiter's"
    name_f, name_g = "(f) latency target", "(g) Describe CPU per call"
    if scenario is None:
        return [
            _target(name_f, claim_f, "not measured in this run", None),
            _target(name_g, claim_g, "not measured in this run", None),
        ]
    table = latency_table(runs)
    target, p99 = table["latency_target_s"], table["latency_p99_s"]
    calls, cpu = table["latency_calls_share"], table["latency_cpu_share"]
    if target is None or calls is None or cpu is None:
        f = _target(name_f, claim_f, f"{scenario}: not measured (a run failed)", None)
    else:
        f = _target(
            name_f,
            claim_f,
            f"{scenario}: target {_fmt(target)} s, p99 {_unbounded(p99)}; calls "
            f"{_pct(calls)} and CPU {_pct(cpu)} of the waiter's",
            p99 is not None and p99 <= target and calls <= 0.05 and cpu <= 0.10,
        )
    describe = table["describe_cpu_per_call_share"]
    floor = ""
    waiter = table["waiter_cpu_per_call_us"]
    if calibration and not calibration.get("error") and waiter:
        floor = (
            f" (aiobotocore's own, back to back: {_pct(calibration['cpu_per_call_us'] / waiter)})"
        )
    g = _target(
        name_g,
        claim_g,
        f"{scenario}: {_pct(describe)} of the waiter's CPU per call{floor}",
        None if describe is None else describe <= 0.60,
    )
    return [f, g]


def evaluate_targets(results: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The claims, each with what was measured and PASS, FAIL or n/a.

    A quick run judges nothing: its figures are written, each verdict is
    "not judged" (it does not measure what the claims are about).
    """
    targets = _judge(results)
    if results["meta"]["mode"] == "quick":
        for target in targets:
            target["verdict"] = QUICK_VERDICT
    return targets


#: The verdict of every target in a quick run.
QUICK_VERDICT = "not judged"


def _judge(results: Mapping[str, Any]) -> list[dict[str, Any]]:
    scenarios = results["scenarios"]

    def find(role: str) -> tuple[str | None, Mapping[str, Any]]:
        for scenario in scenarios:
            if role in scenario.get("roles", ()):
                return scenario["name"], scenario["runs"]
        return None, {}

    rate_name, rate_runs = find("rate-limited")
    batch_name, batch_runs = find("batch")
    lagging_name, lagging_runs = find("lagging")
    table_name, table_runs = find("latency-table")
    core = results.get("core", {})
    return [
        *_target_rate_limited(rate_name, rate_runs),
        _target_cpu(core, results.get("calibration")),
        _target_memory(core),
        _target_batch(batch_name, batch_runs),
        _target_batch(lagging_name, lagging_runs, lagging=True),
        *_targets_latency(table_name, table_runs, results.get("calibration")),
    ]


# --- markdown ----------------------------------------------------------------------------


def _row(cells: Iterable[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def render_markdown(results: Mapping[str, Any]) -> str:
    lines = ["# waiters benchmark results", ""]
    meta = results["meta"]
    lines.append(
        f"Mode: **{meta['mode']}**; started {meta['started_utc']}; commit "
        f"`{meta['commit']}`; {meta['cpus']} CPUs; Python {meta['python']}. "
        f"Simulator and client each in their own process"
        f"{' (pinned to separate CPUs)' if meta.get('pinned') else ''}."
    )
    lines += ["", "## Targets", ""]
    quick = meta["mode"] == "quick"
    if quick:
        # A smoke run's figures say nothing about the claims: show them, judge nothing.
        lines += [
            "Quick run: the figures below are written, no target is judged (a quick "
            "run does not measure what the claims are about).",
            "",
        ]
        lines.append(_row(["target", "claim", "measured"]))
        lines.append(_row(["---"] * 3))
        for target in results["targets"]:
            lines.append(_row([target["target"], target["claim"], target["measured"]]))
    else:
        lines.append(_row(["target", "claim", "measured", "verdict"]))
        lines.append(_row(["---"] * 4))
        for target in results["targets"]:
            lines.append(
                _row(
                    [
                        target["target"],
                        target["claim"],
                        target["measured"],
                        f"**{target['verdict']}**",
                    ]
                )
            )
    lines += _render_latency_table(results)
    header = [
        "system",
        "finished",
        "failed",
        "lost",
        "wrong",
        "wall s",
        "p50 s",
        "p99 s",
        "max s",
        "p99 all s",
        "calls/exec",
        "throttled",
        "CPU s",
        "CPU/call us",
        "peak RSS MiB",
        "RSS/exec KiB",
    ]
    for scenario in results["scenarios"]:
        lines += ["", f"## {scenario['name']}", "", scenario["description"], ""]
        lines.append(_row(header))
        lines.append(_row(["---"] * len(header)))
        notes: list[str] = []
        for system in SYSTEMS:
            metrics = scenario["runs"].get(system)
            if metrics is None:
                continue
            if metrics.get("error"):
                lines.append(
                    _row([system, f"run failed: {metrics['error']}"] + [""] * (len(header) - 2))
                )
                continue
            count = metrics["executions"]
            lines.append(
                _row(
                    [
                        system + (" (capped)" if metrics["capped"] else ""),
                        f"{metrics['finished']:,}/{count:,}",
                        f"{metrics['failed']:,}",
                        f"{metrics['lost']:,}",
                        f"{metrics['wrong']:,}",
                        _fmt(metrics["wall_s"]),
                        _fmt(metrics["latency_p50_s"]),
                        _fmt(metrics["latency_p99_s"]),
                        _fmt(metrics["latency_max_s"]),
                        _fmt(metrics["latency_p99_all_s"])
                        if metrics["latency_p99_all_s"] is not None
                        else "unbounded",
                        _fmt(metrics["calls_per_execution"], 3),
                        f"{metrics['throttled']:,}",
                        _fmt(metrics["cpu_s"], 2),
                        _fmt(metrics["cpu_per_call_us"], 0),
                        _fmt(metrics["peak_rss_mib"]),
                        _fmt(metrics["rss_per_execution_kib"], 2),
                    ]
                )
            )
            for kind, example in metrics["failure_examples"].items():
                notes.append(
                    f"- {system}: {metrics['failures'][kind]:,} failed ({kind}), "
                    f"e.g. `{example[:160]}`"
                )
        if notes:
            lines += ["", "Failed waits:", "", *notes]
    calibration = results.get("calibration")
    core = results.get("core", {})
    lines += ["", "## Core microbenchmark", ""]
    if calibration and not calibration.get("error"):
        lines.append(
            f"aiobotocore's own CPU per describe call against the simulator, 10 in flight: "
            f"{_fmt(calibration['cpu_per_call_us'])} us back to back "
            f"({calibration['calibration_calls']:,} calls)"
        )
        paced = calibration.get("paced")
        if paced:
            source = (results.get("pace") or {}).get("from", "")
            lines[-1] += (
                f"; {_fmt(paced['cpu_per_call_us'])} us paced at {_fmt(paced['rate'])} "
                f"calls/s, one call per wake-up ({paced['calls']:,} calls; the pace of {source})"
            )
        lines[-1] += "."
        lines.append("")
    if core.get("cpu"):
        lines.append(
            "Over a loopback transport (a round trip to an echo peer per call), real time. "
            "Hand loops make as many calls over the same connections, 10 in flight: "
            "paced at the poller's average rate and back to back. Framework us/poll = "
            "poller - paced loop, per call."
        )
        lines.append("")
        heads = [
            "executions",
            "loop",
            "budget",
            "polls",
            "polls/s",
            "poller us/call",
            "paced loop us/call",
            "back-to-back loop us/call",
            "framework us/poll",
        ]
        lines.append(_row(heads))
        lines.append(_row(["---"] * len(heads)))
        for point in core["cpu"]:
            if point.get("error"):
                lines.append(
                    _row(
                        [f"{point['executions']:,}", f"failed: {point['error']}"]
                        + [""] * (len(heads) - 2)
                    )
                )
                continue
            lines.append(
                _row(
                    [
                        f"{point['executions']:,}",
                        point["backend"],
                        "unlimited"
                        if point.get("rate") is None
                        else f"{_fmt(point['rate'])} calls/s",
                        f"{point['polls']:,}",
                        _fmt(point["polls_per_s"], 0),
                        _fmt(point["poller_us_per_call"]),
                        _fmt(point["hand_loop_paced"]["cpu_us_per_call"]),
                        _fmt(point["hand_loop_back_to_back"]["cpu_us_per_call"]),
                        _fmt(point["framework_us_per_poll"]),
                    ]
                )
            )
        lines.append("")
    if core.get("memory"):
        lines.append(
            _row(
                [
                    "system",
                    "executions",
                    "waiting at measurement",
                    "bytes/execution (submitted, before any poll)",
                    "bytes/execution (all polled)",
                ]
            )
        )
        lines.append(_row(["---"] * 5))
        for point in core["memory"]:
            if point.get("error"):
                lines.append(
                    _row(
                        [
                            point["system"],
                            f"{point['executions']:,}",
                            f"failed: {point['error']}",
                            "",
                            "",
                        ]
                    )
                )
                continue
            lines.append(
                _row(
                    [
                        point["system"],
                        f"{point['executions']:,}",
                        f"{point['waiting']:,}",
                        _fmt(point["bytes_per_execution_submitted"], 0),
                        _fmt(point["bytes_per_execution"], 0),
                    ]
                )
            )
    trimmed = results.get("trimmed")
    if trimmed:
        lines += ["", "## Cells not run", "", *(f"- {line}" for line in trimmed)]
    return "\n".join(lines) + "\n"


def _render_latency_table(results: Mapping[str, Any]) -> list[str]:
    """Issue 17's no-limit table: p99, calls per execution and client CPU per system."""
    for scenario in results["scenarios"]:
        if "latency-table" in scenario.get("roles", ()):
            break
    else:
        return []
    table = latency_table(scenario["runs"])
    lines = [
        "",
        f"## Latency as a target ({scenario['name']})",
        "",
        f"`{LATENCY_SYSTEM}` is `Poller(latency=L)` with L the `{LATENCY_REFERENCE}`'s "
        "p99 measured just before it in this run.",
        "",
        _row(["system", "p99 detection s", "calls/exec", "client CPU s", "CPU/call us"]),
        _row(["---"] * 5),
    ]
    for row in table["rows"]:
        if "error" in row:
            lines.append(_row([row["system"], f"not measured: {row['error']}", "", "", ""]))
            continue
        p99 = _fmt(row["latency_p99_s"])
        if row["unseen"]:
            p99 += f" ({row['unseen']:,} unseen)"
        if row["latency_target_s"] is not None:
            p99 += f" (target {_fmt(row['latency_target_s'])})"
        lines.append(
            _row(
                [
                    row["system"],
                    p99,
                    _fmt(row["calls_per_execution"], 3),
                    _fmt(row["cpu_s"], 2),
                    _fmt(row["cpu_per_call_us"], 0),
                ]
            )
        )
    lines += [
        "",
        f"`{LATENCY_SYSTEM}`: calls per execution {_pct(table['latency_calls_share'])} and "
        f"client CPU {_pct(table['latency_cpu_share'])} of the waiter's; "
        f"`waiters-poller-describe` CPU per call {_pct(table['describe_cpu_per_call_share'])} "
        "of the waiter's.",
    ]
    return lines


# --- plots -------------------------------------------------------------------------------

_COLOURS = {
    "botocore-waiter": "#8c564b",
    "aiobotocore-waiter": "#d62728",
    "aioboto3-loop": "#ff7f0e",
    "waiters-wait_for": "#9ecae1",
    "waiters-poller-describe": "#4292c6",
    "waiters-poller-batch": "#08306b",
    "waiters-poller-batch-reasons": "#2171b5",
    "waiters-poller-batch-latency": "#6a51a3",
}


def render_plots(results: Mapping[str, Any], directory: Path) -> list[Path]:
    """latency.png (distribution per system, per scenario) and calls.png (calls per execution)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scenarios = results["scenarios"]
    written: list[Path] = []
    columns = min(2, len(scenarios)) or 1
    rows = math.ceil(len(scenarios) / columns) or 1
    figure, axes = plt.subplots(rows, columns, figsize=(7.5 * columns, 4.2 * rows), squeeze=False)
    for position, scenario in enumerate(scenarios):
        axis = axes[position // columns][position % columns]
        systems = [s for s in SYSTEMS if s in scenario["runs"]]
        data: list[list[float]] = []
        labels: list[str] = []
        for system in systems:
            metrics = scenario["runs"][system]
            values = [] if metrics.get("error") else [max(v, 0.01) for v in metrics["latencies_s"]]
            data.append(values or [math.nan])
            missing = (
                0
                if metrics.get("error")
                else (metrics["failed"] + metrics["lost"] + metrics["wrong"])
            )
            labels.append(
                system.replace("waiters-", "w-") + (f"\n({missing:,} unseen)" if missing else "")
            )
        boxes = axis.boxplot(
            data, whis=(1, 99), showfliers=True, patch_artist=True, flierprops={"markersize": 2}
        )
        for patch, system in zip(boxes["boxes"], systems, strict=True):
            patch.set_facecolor(_COLOURS.get(system, "#999999"))
        axis.set_xticks(range(1, len(labels) + 1), labels, rotation=30, ha="right", fontsize=7)
        axis.set_yscale("log")
        axis.set_ylabel("detection latency, s (whiskers p1-p99)")
        axis.set_title(scenario["name"], fontsize=10)
        axis.grid(axis="y", alpha=0.3)
    for position in range(len(scenarios), rows * columns):
        axes[position // columns][position % columns].set_visible(False)
    figure.suptitle("Detection latency against the simulator's ground truth")
    figure.tight_layout()
    path = directory / "latency.png"
    figure.savefig(path, dpi=110)
    plt.close(figure)
    written.append(path)

    figure, axis = plt.subplots(figsize=(max(8.0, 1.6 * len(scenarios) + 3), 4.8))
    width = 0.8 / len(SYSTEMS)
    for offset, system in enumerate(SYSTEMS):
        xs: list[float] = []
        ys: list[float] = []
        for position, scenario in enumerate(scenarios):
            metrics = scenario["runs"].get(system)
            if metrics and not metrics.get("error") and metrics["calls_per_execution"]:
                xs.append(position + (offset - (len(SYSTEMS) - 1) / 2) * width)
                ys.append(metrics["calls_per_execution"])
        axis.bar(xs, ys, width, label=system, color=_COLOURS.get(system))
    axis.set_xticks(
        range(len(scenarios)), [s["name"] for s in scenarios], rotation=20, ha="right", fontsize=8
    )
    axis.set_yscale("log")
    axis.set_ylabel("API calls per execution (simulator count)")
    axis.set_title("API calls per execution, every attempt counted (throttled ones too)")
    axis.legend(fontsize=7, ncols=2)
    axis.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    path = directory / "calls.png"
    figure.savefig(path, dpi=110)
    plt.close(figure)
    written.append(path)
    return written
