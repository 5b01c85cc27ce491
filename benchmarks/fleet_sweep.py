"""Benchmark: a fleet sweep of the health twin through real Celery workers, and a crash in the middle.

    python -m benchmarks.fleet_sweep [--cells 10000] [--workers 2] [--concurrency 1] [--batch 100]
                                     [--kill-test 1000] [--kill both|child|worker]

On a scratch database (PostgreSQL for the figures that count: DATABASE_URL=postgres://...) and the
broker in CELERY_BROKER_URL (Redis), with a queue of its own:

1. registers ``--cells`` cells through the passport's bulk registration service and records for each
   an end-of-line test and 50-200 charge/discharge cycles of a randomly drawn fade curve with noise
   (``lifecycle.services.histories``: one telemetry record and batch per cell, aggregates by COPY);
2. starts ``--workers`` ``celery worker`` processes (``--concurrency`` pool processes each), queues
   ``twins.fleet_sweep`` and waits until every cell has a result; prints the wall time from queuing
   to the last result, the rate, the results stored and any duplicates, and where the workers' time
   went (read / evaluate / store, from their log lines);
3. kill test: ``--kill-test`` more cells, queued as ``twins.assess_batteries`` batches; mid-sweep it
   SIGKILLs a pool process (``child``: its worker puts the task back at once) and/or a whole worker
   with its pool (``worker``: the broker hands its unacknowledged tasks out again after the visibility
   timeout, set to 20 s for this run) and starts a replacement worker; then checks that every cell
   has exactly one TwinRun and one twin.result record.

Target (issue): 10,000 cells in <= 120 s on a 2-core machine; the kill test ends with exactly one
result per cell.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmarks.harness import django_environment, make_operator

ROOT = Path(__file__).resolve().parent.parent
MANUFACTURED = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
# Whole-worker crashes are recovered after the broker's visibility timeout; short for this run (its
# tasks take about a second) so the kill test ends in bounded time.
VISIBILITY_TIMEOUT_S = 20
RECEIVED = re.compile(r"Task twins\.assess_batteries\[([0-9a-f-]+)\] received")
PHASES = re.compile(
    r"health twin: (\d+) batteries, (\d+) new; read ([\d.]+) s, evaluate ([\d.]+) s, store ([\d.]+) s"
)


@dataclass
class Worker:
    name: str
    process: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def pool_processes(self) -> list[int]:
        """Pids of the worker's pool processes (its children), from /proc."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in children.read_text().split()]
        except OSError:
            return []

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, sig)
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        except ProcessLookupError:
            pass


@dataclass
class Workers:
    scratch: Path
    concurrency: int
    started: list[Worker] = field(default_factory=list)

    def start(self, name: str) -> Worker:
        from django.conf import settings

        log = self.scratch / f"{name}.log"
        command = [
            sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel=INFO",
            f"--concurrency={self.concurrency}", "-Q", settings.CELERY_TASK_DEFAULT_QUEUE,
            "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"{name}@%h",
        ]  # fmt: skip
        with log.open("wb") as handle:
            process = subprocess.Popen(
                command, cwd=ROOT, env=dict(os.environ), stdout=handle, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        worker = Worker(name, process, log)
        self.started.append(worker)
        return worker

    def wait_ready(self, workers: list[Worker], timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        for worker in workers:
            while " ready." not in worker.output():
                if worker.process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"worker {worker.name} did not start:\n{worker.output()[-3000:]}")
                time.sleep(0.1)

    def cpu_seconds(self) -> float:
        """CPU time used so far by the live workers and their pool processes (user + system)."""
        total = 0
        for worker in self.started:
            for pid in [worker.process.pid, *worker.pool_processes()]:
                total += _cpu_ticks(pid)
        return total / os.sysconf("SC_CLK_TCK")

    def deliveries(self) -> Counter:
        """How often each assess_batteries task was received, over all workers' logs."""
        return Counter(task for worker in self.started for task in RECEIVED.findall(worker.output()))

    def lost(self) -> int:
        """Tasks whose pool process died under them, as the workers reported."""
        return sum(worker.output().count("raised error: WorkerLostError(") for worker in self.started)

    def phases(self) -> dict[str, float]:
        totals = dict.fromkeys(("tasks", "batteries", "new", "read", "evaluate", "store"), 0.0)
        for worker in self.started:
            for match in PHASES.finditer(worker.output()):
                totals["tasks"] += 1
                names = ("batteries", "new", "read", "evaluate", "store")
                for key, value in zip(names, match.groups(), strict=True):
                    totals[key] += float(value)
        return totals

    def stop_all(self) -> None:
        for worker in self.started:
            worker.stop()


def seed_fleet(organisation, model, cells: int, *, prefix: str, seed: int) -> list:
    """Register ``cells`` cells and record their histories; returns their ids."""
    from lifecycle.services import histories
    from passport.services import registration

    rng = np.random.default_rng(seed)
    ids = []
    for start in range(0, cells, 1000):
        rows = [
            {"serial_number": f"{prefix}{n:07d}", "model": model.model_number,
             "manufactured_at": MANUFACTURED.isoformat()}
            for n in range(start, min(start + 1000, cells))
        ]  # fmt: skip
        batteries = registration.register(
            organisation, registration.parse_rows(rows, max_rows=len(rows))
        ).batteries
        loads = []
        for battery in batteries:
            aggregates = histories.synthetic_history(
                rng,
                cycles=int(rng.integers(50, 201)),
                rated_capacity_ah=float(model.rated_capacity_ah),
                nominal_voltage_v=float(model.nominal_voltage_v),
                start=MANUFACTURED + dt.timedelta(days=30),
            )
            test = {
                "capacity_ah": round(float(model.rated_capacity_ah) * float(rng.uniform(0.99, 1.03)), 4),
                "internal_resistance_mohm": round(aggregates[0].resistance_ohm * 1000 * 0.97, 3),
                "ocv_v": 3.65,
                "passed": True,
            }
            loads.append(histories.History(battery, aggregates, f"{battery.serial_number}.csv", test))
        histories.record_histories(loads, actor=organisation)
        ids += [battery.pk for battery in batteries]
    return ids


def tally(ids: list) -> dict[str, int]:
    """Results stored for these batteries: runs, twin.result records, and batteries with more than one."""
    from django.db.models import Count

    from lifecycle.choices import EventType
    from lifecycle.models import LifecycleEvent
    from twins.models import TwinRun

    runs = TwinRun.objects.filter(battery_id__in=ids)
    results = LifecycleEvent.objects.filter(battery_id__in=ids, type=EventType.TWIN_RESULT)
    return {
        "runs": runs.count(),
        "records": results.count(),
        "batteries with a run": runs.values("battery_id").distinct().count(),
        "duplicate runs": runs.values("battery_id").annotate(n=Count("id")).filter(n__gt=1).count(),
        "duplicate records": results.values("battery_id").annotate(n=Count("id")).filter(n__gt=1).count(),
    }


def wait_for_runs(expected: int, *, timeout: float, on_progress=None) -> float:
    """Poll until ``expected`` more runs exist than when called; returns when the last one appeared.

    A plain count of the table (not a filter on 10,000 ids) so the polling costs the workers nothing.
    """
    from twins.models import TwinRun

    baseline = TwinRun.objects.count()
    deadline = time.perf_counter() + timeout
    done = 0
    while time.perf_counter() < deadline:
        done = TwinRun.objects.count() - baseline
        if on_progress is not None:
            on_progress(done)
        if done >= expected:
            return time.perf_counter()
        time.sleep(0.1)
    raise SystemExit(f"timed out after {timeout:.0f} s with {done} of {expected} results")


def sweep(workers: Workers, ids: list, batch: int) -> dict:
    from twins import tasks

    before = workers.phases()
    from twins.models import TwinRun

    assert not TwinRun.objects.exists(), "the sweep's cells must not have results yet"
    cpu, load = workers.cpu_seconds(), os.getloadavg()[0]
    queued = time.perf_counter()
    tasks.fleet_sweep.delay(batch)
    finished = wait_for_runs(len(ids), timeout=1800)
    wall = finished - queued
    after = workers.phases()
    return {
        "wall": wall,
        "phases": {key: after[key] - before[key] for key in after},
        "worker cpu": workers.cpu_seconds() - cpu,
        "load": (load, os.getloadavg()[0]),
        **tally(ids),
    }


def kill_test(workers: Workers, first: Worker, ids: list, batch: int, mode: str) -> dict:
    """Queue batches for ``ids``; SIGKILL mid-sweep as ``mode`` says; count the results."""
    from twins import tasks

    events: list[str] = []
    plan = {"child": [0.25], "worker": [0.5], "both": [0.25, 0.5]}[mode]
    kinds = {"child": ["child"], "worker": ["worker"], "both": ["child", "worker"]}[mode]

    def on_progress(done: int) -> None:
        if not plan or done < plan[0] * len(ids):
            return
        plan.pop(0)
        kind = kinds.pop(0)
        if kind == "child":
            busy = _busy_pool_process(first)
            os.kill(busy, signal.SIGKILL)
            events.append(f"SIGKILL pool process {busy} of {first.name} at {done} results")
        else:
            os.killpg(first.process.pid, signal.SIGKILL)
            first.process.wait()
            replacement = workers.start(f"bench-replacement-{uuid.uuid4().hex[:4]}")
            events.append(
                f"SIGKILL worker {first.name} and its pool at {done} results; started {replacement.name}"
            )

    before, delivered_before, lost_before = workers.phases(), workers.deliveries(), workers.lost()
    as_text = [str(pk) for pk in ids]
    queued = time.perf_counter()
    for start in range(0, len(as_text), batch):
        tasks.assess_batteries.delay(as_text[start : start + batch])
    finished = wait_for_runs(len(ids), timeout=600, on_progress=on_progress)
    # Redelivered batches that find their results already stored may still be running: let them end.
    time.sleep(3)
    after = workers.phases()
    delivered = workers.deliveries() - delivered_before
    return {
        "wall": finished - queued,
        "events": events,
        "executions": after["tasks"] - before["tasks"],
        "batches": -(-len(ids) // batch),
        "redelivered": sum(1 for count in delivered.values() if count > 1),
        "lost in a pool process": workers.lost() - lost_before,
        "new": after["new"] - before["new"],
        **tally(ids),
    }


def _cpu_ticks(pid: int) -> int:
    """utime + stime of a process in clock ticks (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def _busy_pool_process(worker: Worker) -> int:
    """A pool process of ``worker`` that is using CPU, i.e. running a task (they do nothing else)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        pids = worker.pool_processes()
        start = {pid: _cpu_ticks(pid) for pid in pids}
        time.sleep(0.05)
        busy = [pid for pid in pids if _cpu_ticks(pid) > start[pid] > 0]
        if busy:
            return busy[0]
    raise SystemExit(f"no pool process of {worker.name} was running a task")


def print_sweep(label: str, cells: int, result: dict) -> None:
    phases = result["phases"]
    print(f"\n{label}")
    print(f"  cells: {cells:,}")
    print(f"  wall time, queue to last result: {result['wall']:.1f} s")
    print(f"  results/s: {cells / result['wall']:,.0f}")
    print(f"  results stored: {result['runs']:,} TwinRun rows, {result['records']:,} twin.result records")
    print(f"  duplicates: {result['duplicate runs']} runs, {result['duplicate records']} records")
    cpu = result["worker cpu"]
    print(
        f"  CPU of the workers: {cpu:.1f} s ({1000 * cpu / cells:.1f} ms per cell); "
        f"machine load average {result['load'][0]:.1f} before, {result['load'][1]:.1f} after "
        f"({os.cpu_count()} CPUs; other processes slow the sweep down)"
    )
    if phases["tasks"]:
        per_cell = {key: 1000 * phases[key] / max(phases["new"], 1) for key in ("read", "evaluate", "store")}
        print(
            f"  worker time over {phases['tasks']:.0f} tasks: read {phases['read']:.1f} s, "
            f"evaluate {phases['evaluate']:.1f} s, store {phases['store']:.1f} s"
        )
        print(
            "  per cell: " + ", ".join(f"{key} {value:.1f} ms" for key, value in per_cell.items())
            + f" (sum {sum(per_cell.values()):.1f} ms of a pool process)"
        )  # fmt: skip


def print_kill_test(cells: int, batch: int, result: dict) -> None:
    print(f"\nkill test: {cells:,} cells in {result['batches']} batches of {batch}")
    for event in result["events"]:
        print(f"  {event}")
    print(f"  wall time, queue to last result: {result['wall']:.1f} s")
    print(
        f"  batches delivered twice: {result['redelivered']}; "
        f"tasks lost with their pool process (worker's report): {result['lost in a pool process']}"
    )
    print(
        f"  TwinRun rows: {result['runs']:,}, twin.result records: {result['records']:,}, "
        f"cells with a run: {result['batteries with a run']:,}"
    )
    print(f"  duplicates: {result['duplicate runs']} runs, {result['duplicate records']} records")


def make_model(organisation):
    from passport.choices import BatteryKind
    from passport.models import BatteryModel

    return BatteryModel.objects.create(
        manufacturer=organisation, model_number="SWEEP-CELL", name="Sweep cell", kind=BatteryKind.CELL,
        category="ev", chemistry="NMC811", rated_capacity_ah=5, nominal_voltage_v=3.6,
        rated_energy_kwh="0.018",
    )  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2, help="celery worker processes")
    parser.add_argument("--concurrency", type=int, default=1, help="pool processes per worker")
    parser.add_argument("--batch", type=int, default=100, help="batteries per task")
    parser.add_argument("--kill-test", type=int, default=1000, help="cells of the kill test (0: skip it)")
    parser.add_argument("--kill", choices=("both", "child", "worker"), default="both")
    parser.add_argument("--kill-batch", type=int, default=50, help="batteries per task in the kill test")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="cellpass-sweep-"))
    os.environ["CELERY_TASK_DEFAULT_QUEUE"] = f"bench-sweep-{uuid.uuid4().hex[:8]}"
    os.environ["CELERY_VISIBILITY_TIMEOUT"] = str(VISIBILITY_TIMEOUT_S)
    kill_result = None
    with django_environment("bench_sweep") as description:
        from django.conf import settings

        print(description)
        print(
            f"broker: {settings.CELERY_BROKER_URL.split('@')[-1]}, queue {settings.CELERY_TASK_DEFAULT_QUEUE}"
        )
        if settings.CELERY_BROKER_URL.startswith("filesystem://"):
            print("  filesystem broker: a killed worker's tasks are lost; set CELERY_BROKER_URL=redis://...")
        organisation, _ = make_operator()
        model = make_model(organisation)
        started = time.perf_counter()
        ids = seed_fleet(organisation, model, args.cells, prefix="S", seed=1)
        seeding = time.perf_counter() - started
        print(f"\nseeded {len(ids):,} cells (end-of-line test, 50-200 cycles) in {seeding:.1f} s")

        workers = Workers(scratch, args.concurrency)
        try:
            started = time.perf_counter()
            pool = [workers.start(f"bench-{n}") for n in range(args.workers)]
            workers.wait_ready(pool)
            ready = time.perf_counter() - started
            print(f"{args.workers} workers x {args.concurrency} pool processes ready in {ready:.1f} s")
            main_result = sweep(workers, ids, args.batch)
            print_sweep(f"fleet sweep (twins.fleet_sweep, batches of {args.batch})", len(ids), main_result)
            if args.kill_test:
                kill_ids = seed_fleet(organisation, model, args.kill_test, prefix="K", seed=2)
                kill_result = kill_test(workers, pool[0], kill_ids, args.kill_batch, args.kill)
                print_kill_test(len(kill_ids), args.kill_batch, kill_result)
        finally:
            workers.stop_all()

    print("\nsummary")
    ok = main_result["runs"] == main_result["records"] == len(ids) and not main_result["duplicate runs"]
    wall = main_result["wall"]
    print(
        f"  {len(ids):,}-cell sweep: {wall:.1f} s, {len(ids) / wall:,.0f} results/s, "
        f"{main_result['runs']:,} results, {main_result['duplicate runs']} duplicates"
        f" ({'ok' if ok else 'WRONG COUNT'}; target: 10,000 cells in <= 120 s on 2 cores)"
    )
    if kill_result is not None:
        counts = (kill_result["runs"], kill_result["records"], kill_result["batteries with a run"])
        exact = counts == (args.kill_test,) * 3
        print(
            f"  kill test ({args.kill}): {kill_result['runs']:,} runs and {kill_result['records']:,} records "
            f"for {args.kill_test:,} cells -> {'exactly one each' if exact else 'WRONG COUNT'}"
        )
        ok = ok and exact
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
