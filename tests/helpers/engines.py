"""A sweep engine that runs every unit in the test's own process, one after another: what a third-party engine's
smallest form looks like, and a way for tests to run a sweep's members without starting a process for each.
Register it in-process (``plugin(InlineEngine(), name=...)``) and pass ``--engine inline``."""

from __future__ import annotations

from ganzoo import Engine, EngineSpec, hookimpl


class Inline(Engine):
    """Every unit in this process, one after another."""

    def run(self, units, jobs, tick):
        codes = []
        for unit in units:
            codes.append(unit.run())
            if codes[-1] == 130:
                break
        return codes + [130] * (len(units) - len(codes))


class InlineEngine:
    @hookimpl
    def ganzoo_engines(self):
        yield EngineSpec(name="inline", factory=Inline, description="in this process")
