"""Built-in plugin: where ``ganzoo sweep`` runs its units.

- ``local`` (the default): child processes on this machine, at most ``--jobs`` at once, each with its share of the
  cores (and its GPU, when there are GPUs); each one's output goes to ``SWEEP/logs/``. Ctrl-C reaches every child
  (one process group), each member saves a checkpoint, and the same command resumes.
- ``ray``: each unit a Ray task on a cluster (``--address``, default: a local Ray), with the sweep directory on
  storage every node reaches. Needs ``pip install 'ganzoo[ray]'``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

from ganzoo import ConfigError, Engine, EngineSpec, Param, first_line, hookimpl

RAY_INSTALL = "pip install 'ganzoo[ray]'"


class LocalEngine(Engine):
    def run(self, units, jobs, tick):
        logs = units[0].sweep_dir / "logs" if units else None
        waiting, running, codes = list(enumerate(units)), {}, [0] * len(units)
        try:
            while waiting or running:
                while waiting and len(running) < jobs:
                    index, unit = waiting.pop(0)
                    logs.mkdir(parents=True, exist_ok=True)
                    with open(logs / f"{unit.names[0]}.log", "ab") as log:
                        env = unit.env({**os.environ, "GANZOO_SWEEP_PARENT": str(os.getpid())})
                        running[index] = subprocess.Popen(unit.argv, env=env, stdout=log, stderr=subprocess.STDOUT)
                for index, process in list(running.items()):
                    if process.poll() is not None:
                        codes[index] = process.returncode
                        del running[index]
                tick()
                time.sleep(0.2)
        except KeyboardInterrupt:  # each child saves a checkpoint and stops (SIGTERM: also when only we got SIGINT)
            for process in running.values():
                process.send_signal(signal.SIGTERM)
            for process in running.values():
                process.wait()
            raise
        return codes


class RayEngine(Engine):
    runs_here = False  # its tasks may run on other nodes, with their own data and installed weights

    def __init__(self, address: str = "") -> None:
        try:
            import ray
        except ImportError as err:
            raise ConfigError(f"--engine ray needs the optional ray package, which cannot be imported "
                              f"({str(err).splitlines()[0][:120]}); install it with: {RAY_INSTALL}") from None
        self.ray, self.address = ray, address or None

    def _start(self) -> int:
        """Join (or start) the cluster; the most CPUs one node offers, which bounds what a task may ask for."""
        ray = self.ray
        if not ray.is_initialized():
            try:
                ray.init(address=self.address, log_to_driver=False)
            except Exception as err:  # an unreachable address, a cluster of another Ray version...
                where = f"--address {self.address}" if self.address else "a local Ray"
                raise ConfigError(f"--engine ray cannot reach {where}: {first_line(err)}") from None
        return max((int(node["Resources"].get("CPU", 1)) for node in self._alive()), default=1)

    def _alive(self) -> list[dict]:
        return [node for node in self.ray.nodes() if node.get("Alive")]

    def default_jobs(self):
        """The cluster's CPUs, one unit each, rather than the driver's cores (a laptop driving a cluster)."""
        self._start()
        return max(1, sum(int(node["Resources"].get("CPU", 0)) for node in self._alive()))

    def run(self, units, jobs, tick):
        ray = self.ray
        largest = self._start()

        def run_unit(unit):
            return unit.run()

        remote = ray.remote(run_unit)
        pending = {}
        waiting, codes = list(enumerate(units)), [0] * len(units)
        try:
            while waiting or pending:
                while waiting and len(pending) < jobs:
                    index, unit = waiting.pop(0)
                    task = remote.options(num_cpus=min(unit.threads, largest),
                                          num_gpus=1 if unit.gpu is not None else 0,
                                          runtime_env={"env_vars": {"OMP_NUM_THREADS": str(unit.threads)}})
                    pending[task.remote(unit)] = index
                done, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
                for ref in done:
                    index = pending.pop(ref)
                    try:
                        codes[index] = ray.get(ref)
                    except ray.exceptions.RayError:
                        codes[index] = 1
                tick()
        except KeyboardInterrupt:
            for ref in pending:
                ray.cancel(ref)  # a task's member resumes from its last checkpoint on the next run
            raise
        return codes


@hookimpl
def ganzoo_engines():
    yield EngineSpec(name="local", factory=LocalEngine,
                     description="Child processes on this machine, --jobs at once, each with its share of the cores.")
    yield EngineSpec(name="ray", factory=RayEngine,
                     params=(Param("address", str, "", "the Ray cluster's address (empty: start or join a local "
                                                       "Ray)"),),
                     description="Ray tasks on a Ray cluster (needs `pip install 'ganzoo[ray]'`).")
