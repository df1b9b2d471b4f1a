"""The fused step of a small organization: the built-in processes' kernels in one call.

Below ``PARALLEL_MIN`` employees a step's compiled work is a few tens of microseconds, as
much as the Python around it (each process's step, a dozen compiled calls unboxing
their arguments). The built-in processes that run consecutively then run in one
compiled call, :func:`fused_step`, each calling its own kernel in the documented order
with its own stream: the same draws, the same arithmetic. Any other process (an
extension's, a roadmap's, elections due, turnover, the forum) runs its own step between
such calls; a replaced built-in process turns the fused step off.

Where every other process is idle for a stretch of steps (no roadmap intervention or
election due, no turnover, no forum, no extension's process), ``OrganizationModel.run``
runs the whole stretch in one compiled call, :func:`fused_run` (:meth:`FusedSteps.run_steps`):
the same stages step after step, and the bookkeeping of each step done once after it."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import numba
import numpy as np
from numba import njit
from numba.typed import List

from model import bundle as bundles
from model.bundle import BundleCache, entry_point, make_bundle
from model.ideas import NEVER, record_from
from model.parallel import PARALLEL_MIN
from model.processes.approval import Approval, review_from, submit_to
from model.processes.base import Process
from model.processes.conversations import (
    NO_PAIRS,
    Conversations,
    adopt_heard,
    converse_step,
)
from model.processes.effort import EffortChoice, choose_effort
from model.processes.environment import NeedDrift, drift_needs
from model.processes.forum import IdeaForum
from model.processes.generation import IdeaGeneration, generate_from, plant_tracer
from model.processes.leadership import Leadership
from model.processes.monitoring import Monitoring, monitor
from model.processes.performance import Performance, perform_serial
from model.processes.playbook import Playbook, playbook_from
from model.processes.turnover import Turnover
from model.results import fill_row
from model.roadmap import RoadmapProcess

if TYPE_CHECKING:
    from model.organization import OrganizationModel

ENV, GEN, CONV, REVIEW, PLAYBOOK, EFFORT, MONITOR, PERFORM, COLLECT = (1 << k for k in range(9))
ALL_STAGES = (COLLECT << 1) - 1


@njit(cache=True)
def fused_bundle(arrays, env, gen, conv, review, playbook, effort, monitoring):
    """The bundle of :func:`fused_step`: ``arrays`` and the processes' streams (each
    argument typed by numba in C; a tuple of streams would be typed in Python)."""
    return make_bundle((arrays, (env, gen, conv, review, playbook, effort, monitoring)))


@njit(cache=True, nogil=True)
def fused_step(bundle, conversation_state, stages, step, row, n_ideas, forum_until, forget,
               dropped, born, per_employee, cross_share):
    """The ``stages`` (bits: ENV .. COLLECT) of one step in their documented order, each as
    its process's step runs it (``bundle``: :func:`fused_bundle` of
    :meth:`FusedSteps.arrays` and the processes' streams). Returns (ideas born,
    creators waiting for the registry to grow (then nothing after GEN ran), initiators,
    partners, conversations across units, adoptions, noticed, hidden steps ended, spells
    ended, adopter counts recorded); ``born``, ``per_employee``, ``cross_share``: the
    values of the stages that do not run in this call, for the results row."""
    arrays, streams = bundle.arrays
    return _stages(arrays, streams, conversation_state, stages, step, row, n_ideas,
                   forum_until, forget, dropped, born, per_employee, cross_share)


@njit(cache=True, inline="always")
def _stages(arrays, streams, conversation_state, stages, step, row, n_ideas, forum_until,
            forget, dropped, born, per_employee, cross_share):
    """:func:`fused_step` on the bundle's arrays and streams."""
    env, gen, review, playbook, effort, monitoring, performance, collect = arrays
    env_rng, gen_rng, conv_rng, review_rng, playbook_rng, effort_rng, monitor_rng = streams
    waiting = np.empty(0, np.int64)
    initiators = partners = np.empty(0, np.int32)
    n_cross = adopted = noticed = hidden_time = spells = 0
    counts = np.empty(0, np.int32)
    if stages & ENV:
        drift_needs(env_rng, *env)
    if stages & GEN:
        arrays, capacity, scope = gen
        born, waiting = generate_from(gen_rng, arrays, n_ideas, capacity, step, scope,
                                      forum_until)
        if len(waiting):
            return (born, waiting, initiators, partners, n_cross, adopted, noticed,
                    hidden_time, spells, counts)
        n_ideas += born
    if stages & CONV:
        st, rng = conversation_state, conv_rng
        initiators, partners, n_exp, n_sub, n_cross, adopted = converse_step(
            st, rng, step, forget, dropped)
        if n_sub:  # ideas voiced to one's manager are reviewed before anyone adopts
            submitted = st.submissions[:, :n_sub].copy()
            submit_to(review, submitted[0], submitted[1], submitted[2])
            adopted = adopt_heard(st, rng, step, n_exp)
        count = len(initiators)
        per_employee = count / len(st.position)
        cross_share = n_cross / count if count else 0.0
    if stages & REVIEW:
        review_from(review_rng, review, n_ideas, step)
    if stages & PLAYBOOK:
        arrays, settings = playbook
        codify_share, p2, p1, gradual = settings
        playbook_from(playbook_rng, arrays, n_ideas, step, codify_share, p2, p1, gradual)
    if stages & EFFORT:
        choose_effort(effort_rng, *effort)
    if stages & MONITOR:
        noticed, hidden_time, spells = monitor(monitor_rng, *monitoring, step)
    if stages & PERFORM:
        perform_serial(*performance)
    if stages & COLLECT:
        table, registry, wide_share = collect
        values, people, ideas, code_need, leaders, plan, fixed = table
        threshold, window, n_leaders = fixed
        counts = record_from(registry, n_ideas, wide_share, step)
        fill_row(values, row, people, ideas, code_need, leaders,
                 (float(born), n_ideas, per_employee, cross_share, threshold, step - window,
                  n_leaders), plan)
    return (born, waiting, initiators, partners, n_cross, adopted, noticed, hidden_time,
            spells, counts)


@njit(cache=True, nogil=True)
def fused_run(bundle, conversation_state, first, count, stages, born, n_ideas, row, probe_at,
              probe, settings, recent):
    """Up to ``count`` steps from step ``first`` on, each as :func:`fused_step` runs all its
    stages (the first step only ``stages``: the rest of a step begun), in one call
    (``bundle``: that of :func:`fused_step`); ``born``: the first step's births if it
    does not run GEN; after the births of step ``probe_at`` the tracer is planted
    (:func:`plant_tracer`, drawing from ``probe``); ``settings``: (forum on, forum memory,
    complex contagion, exposure memory, window of conversations kept);
    ``recent``: the partners of the steps in that window, oldest first (flat, offsets).

    Stops after the births of a step whose creators wait for the registry to grow, or
    of step ``probe_at`` if the tracer finds no room (the caller grows the registry and
    plants it). Returns (steps whose row was
    recorded, born (of the last step begun), creators waiting, ideas, the last recorded
    step's conversations, conversations across units, adoptions and noticed, the hidden
    steps and spells ended in all, adopter counts (flat, offsets by recorded step), the
    initiators and partners of the last recorded steps up to the window (flat, offsets))."""
    arrays, streams = bundle.arrays
    gen_arrays, capacity, scope = arrays[1]
    forum_on, forum_memory, complex_contagion, exposure_memory, window = settings
    old_partners, old_offsets = recent
    held = len(old_offsets) - 1
    ring = List()  # partners of every step of the window, then of each step run
    for j in range(held):
        ring.append(old_partners[old_offsets[j]:old_offsets[j + 1]].copy())
    initiators_run = List()
    history = np.empty(max(64, n_ideas * min(count, 8)), np.int32)
    history_at = np.zeros(count + 1, np.int64)
    no_pairs = np.empty(0, np.int32)
    waiting = np.empty(0, np.int64)
    done = conversations = n_cross = adopted = noticed = hidden_total = spells_total = 0
    for k in range(count):
        step = first + k
        run = stages if k == 0 else ALL_STAGES
        forum_until = step + forum_memory if forum_on else NEVER
        forget = complex_contagion and step % exposure_memory == 0
        at = held + k - window  # the step leaving the window of conversations
        dropped = ring[at] if at >= 0 else no_pairs
        tracer = step == probe_at and (run & GEN) != 0  # planted after the births
        stop = False
        while True:  # (one call site: _stages is inlined)
            part = run & (GEN | (GEN - 1)) if tracer else run
            (born, waiting, initiators, partners, step_cross, step_adopted, step_noticed,
             hidden_time, spells, counts) = _stages(
                arrays, streams, conversation_state, part, step, row + k, n_ideas,
                forum_until, forget, dropped, born, 0.0, 0.0)
            if part & GEN:
                stop = len(waiting) > 0
                if stop:
                    break
                n_ideas += born
            if not tracer:
                break
            tracer = False
            stop = n_ideas + 1 > capacity
            if stop:
                break
            plant_tracer(probe, gen_arrays, n_ideas, step, scope, forum_until)
            born += 1
            n_ideas += 1
            run &= ~(GEN | (GEN - 1))
        if stop:
            break
        if at >= 0:
            ring[at] = no_pairs  # (no longer needed)
        ring.append(partners)
        initiators_run.append(initiators)
        conversations, n_cross, adopted = len(initiators), step_cross, step_adopted
        noticed = step_noticed
        hidden_total += hidden_time
        spells_total += spells
        end = history_at[k] + len(counts)
        if end > len(history):
            grown = np.empty(max(end, 2 * len(history)), np.int32)
            grown[:history_at[k]] = history[:history_at[k]]
            history = grown
        history[history_at[k]:end] = counts
        history_at[k + 1] = end
        done = k + 1
    kept = min(done, window)
    pair_at = np.zeros(kept + 1, np.int64)
    for j in range(kept):
        pair_at[j + 1] = pair_at[j] + len(initiators_run[done - kept + j])
    pairs = np.empty((2, pair_at[kept]), np.int32)
    for j in range(kept):
        pairs[0, pair_at[j]:pair_at[j + 1]] = initiators_run[done - kept + j]
        pairs[1, pair_at[j]:pair_at[j + 1]] = ring[held + done - kept + j]
    return (done, born, waiting, n_ideas, conversations, n_cross, adopted, noticed,
            hidden_total, spells_total, history, history_at[:done + 1], pairs, pair_at)


#: The built-in processes the fused step runs, by exact class (a subclass runs its own step).
FUSED_STAGES = {NeedDrift: ENV, IdeaGeneration: GEN, Conversations: CONV, Approval: REVIEW,
                Playbook: PLAYBOOK, EffortChoice: EFFORT, Monitoring: MONITOR,
                Performance: PERFORM}
#: Built-in processes whose step often has nothing to do (then skipped).
IDLE_WHEN = (Turnover, IdeaForum, Leadership)
#: Built-in processes that say for how many coming steps they do nothing (``idle_for``).
QUIET_FOR = (RoadmapProcess, *IDLE_WHEN)
_ENTRIES: dict[tuple, Any] = {}  # entry points of fused_step by the types of its bundles


class FusedSteps:
    """A step of a small organization with the built-in processes' compiled work fused:
    consecutive built-in processes (and the results row) run in one compiled call; any
    other process (an extension's, a roadmap's, elections due, turnover, the forum, a
    playbook learning from actions or at several rates) runs its own step between such
    calls, and the tracer is planted between births and conversations, in the documented
    order."""

    def __init__(self, model: OrganizationModel, found: dict[int, Process]):
        # The fused kernels call parallel ones (the results row) but have no parallel loop
        # of their own: loaded from numba's cache they do not start the threading layer,
        # and in a process where nothing else has (a model loaded from a pickle) their
        # first call would jump to its unset entry. Start it (once per process).
        numba.get_num_threads()
        self.model = model
        self.found = found
        plan = []
        for process in model.processes:
            stage = FUSED_STAGES.get(type(process), 0)
            fusable = process.fusable if stage == PLAYBOOK else None
            idle = process.idle if type(process) in IDLE_WHEN else None
            plan.append((process, stage, fusable, idle))
        self.plan = tuple(plan)
        stages = [stage for _, stage, _, _ in plan if stage]
        self._quiet = tuple(process.idle_for for process, stage, _, _ in plan if not stage
                            and type(process) in QUIET_FOR)
        # several steps run in one call where every other process can say it is idle
        self._runs_whole_steps = (stages == sorted(stages) and len(self._quiet) + len(stages)
                                  == len(plan))
        self.processes = model.processes  # what the plan is for
        self._cache = BundleCache(self.parts, lambda parts: fused_bundle(*parts))
        self._bound: tuple = (None, None)  # (bundle, entry point of fused_step for it)

    @classmethod
    def of(cls, model: OrganizationModel) -> FusedSteps | None:
        """The fused step of ``model``, or None where it does not apply (a large
        organization, or a built-in process replaced or missing)."""
        if model.people.n >= PARALLEL_MIN:
            return None
        found = {}
        for process in model.processes:
            stage = FUSED_STAGES.get(type(process))
            if stage is not None:
                if stage in found:
                    return None
                found[stage] = process
        if (len(found) != len(FUSED_STAGES) or found[REVIEW] is not model.approval
                or found[CONV] is not model.conversations
                or found[GEN] is not model.generation):
            return None
        return cls(model, found)

    def parts(self) -> tuple:
        """The arguments of :func:`fused_bundle`: :meth:`arrays` and the streams."""
        f = self.found
        return (self.arrays(), *(f[stage].rng for stage in (ENV, GEN, CONV, REVIEW, PLAYBOOK,
                                                            EFFORT, MONITOR)))

    def arrays(self) -> tuple:
        """What :func:`fused_step` reads, by stage, but the streams (rebuilt as the key of
        :meth:`run` changes). Arrays and numbers only: numba types them in C."""
        m, f = self.model, self.found
        return (f[ENV].arguments(), f[GEN].fused_arrays(), f[REVIEW].kernel_arrays(),
                f[PLAYBOOK].fused_arrays(), f[EFFORT].arguments()[1:],
                f[MONITOR].arguments()[1:], f[PERFORM].arguments(),
                (m.results.kernel_arrays(m), m.ideas.kernel_arrays(),
                 float(m.p.wide_adoption_share)))

    def step(self) -> None:
        """One step: the processes in order, then the results row."""
        stages = last = 0
        for process, stage, fusable, idle in self.plan:
            if stage and (fusable is None or fusable()):
                if stage < last:  # (a subclass's order: fused calls keep it)
                    self.run(stages)
                    stages = 0
                stages |= stage
                last = stage
                if stage == GEN and process.probe_due():  # planted after the births
                    self.run(stages)
                    stages = last = 0
                    process.plant_probe()
            elif idle is None or not idle():
                if stages:
                    self.run(stages)
                    stages = last = 0
                process.step()
        m = self.model
        if m.results.fills_builtin:
            m.results.make_room()
            self.run(stages | COLLECT)
            m.results.finish_row(m)
            return
        if stages:
            self.run(stages)
        m.ideas.record_step(m.steps, m.p.wide_adoption_share)
        m.results.collect(m)

    def _bind(self, args: tuple):
        """The compiled entry of :func:`fused_step` for ``args`` (a new bundle): found by
        the types of the bundle and the conversations' state (the other arguments' types
        never change), so a new organization skips numba's typing of its first call."""
        key = (args[0]._type, args[1]._type)
        call = None if bundles.CHECK_ENTRY_TYPES else _ENTRIES.get(key)
        if call is None:
            call = entry_point(fused_step, *args)
            if not bundles.CHECK_ENTRY_TYPES:
                _ENTRIES[key] = call
        self._bound = (args[0], call)
        return call

    def run(self, stages: int) -> None:
        """The given stages in one compiled call, then what their processes note."""
        m, f = self.model, self.found
        gen, conv = f[GEN], f[CONV]
        state = conv.state()
        bundle = self._cache.get((m.kernel_version(), m.ideas.version, id(m.results.values)))
        p = m.p
        forum_until = gen.forum_until() if stages & GEN else NEVER
        forget = p.adoption_threshold > 1 and m.steps % p.exposure_memory == 0
        recent = conv.recent
        dropped = recent[0][1] if len(recent) == recent.maxlen else NO_PAIRS
        args = (bundle, state, stages, m.steps, m.results.rows, m.ideas.n, forum_until, forget,
                dropped, gen.born_this_step, float(conv.per_employee),
                float(conv.cross_unit_share))
        call = self._bound[1] if self._bound[0] is bundle else self._bind(args)
        (born, waiting, initiators, partners, n_cross, adopted, noticed, hidden_time, spells,
         counts) = call(*args)
        if stages & GEN:
            gen.finish(born, waiting, forum_until)
            if len(waiting):  # the registry grew: the stages after births, anew
                rest = stages & ~(GEN | (GEN - 1))
                if rest:
                    self.run(rest)
                return
        if stages & CONV:
            conv.adoptions = adopted
            conv.n_cross = n_cross
            recent.append((initiators, partners))
            count = len(initiators)
            conv.per_employee = count / m.people.n
            conv.cross_unit_share = n_cross / count if count else 0.0
        if stages & MONITOR:
            f[MONITOR].record(noticed, hidden_time, spells)
        if stages & COLLECT:
            m.ideas.history.append(counts)

    # --- several whole steps in one call ---------------------------------------------
    def coming_steps(self, wanted: int) -> int:
        """How many of the next ``wanted`` steps :meth:`run_steps` can run: every process
        outside the fused call idle for them (a roadmap until its next intervention,
        elections until the next one are due; an extension's process never is), the
        playbook fusable, and the results row the built-in metrics alone."""
        m = self.model
        if (not self._runs_whole_steps or m.processes is not self.processes
                or not m.results.builtin_only or not self.found[PLAYBOOK].fusable()):
            return 0
        for idle_for in self._quiet:
            wanted = min(wanted, idle_for())
        return wanted

    def run_steps(self, count: int, time: float) -> float:
        """The next ``count`` steps (at most :meth:`coming_steps`), each as :meth:`step`
        runs it and as ``model.step`` collects it, from Mesa time ``time`` on (one unit
        a step): in one compiled call, :func:`fused_run` (the tracer planted within it),
        but where the idea registry grows (then a call goes on with the rest of that
        step). Returns the time after the last step; leaves the model as stepping would."""
        m = self.model
        gen = self.found[GEN]
        m.results.reserve(count)
        times = []
        for _ in range(count):
            time += 1.0
            times.append(time)
        start = m.steps + 1
        stages, end = ALL_STAGES, start + count
        while True:
            first = m.steps + 1 if stages == ALL_STAGES else m.steps
            done, born, waiting = self._call(first, end - first, stages, times[first - start:])
            if first + done == end:
                break
            m.steps, m.time = first + done, times[first + done - start]  # a step begun
            if len(waiting):  # the registry grows first
                gen.finish(born, waiting, gen.forum_until())
            else:
                gen.born_this_step = born
            if gen.probe_due():
                gen.plant_probe()
            stages = ALL_STAGES & ~(GEN | (GEN - 1))
        m.steps, m.time = end - 1, times[-1]
        if m.steps >= m.p.steps:
            m.running = False
        return time

    def _call(self, first: int, count: int, stages: int, times: list[float]) -> tuple:
        """One call of :func:`fused_run`, then what its processes and the results note of
        the steps recorded. Returns (steps recorded, births and creators waiting of the
        step begun after them)."""
        m, f, p = self.model, self.found, self.model.p
        gen, conv, reg, results = f[GEN], f[CONV], m.ideas, m.results
        bundle = self._cache.get((m.kernel_version(), reg.version, id(results.values)))
        recent = conv.recent
        partners = [pair[1] for pair in recent]
        held = (np.concatenate(partners) if partners else NO_PAIRS,
                np.cumsum([0, *map(len, partners)]))
        settings = (bool(m.highest("idea_forum_reach") > 0), int(p.forum_memory),
                    bool(p.adoption_threshold > 1), int(p.exposure_memory), int(recent.maxlen))
        probe_at = p.probe_idea_step if p.probe_idea_step >= first else NEVER
        (done, born, waiting, reg.n, conversations, n_cross, adopted, noticed, hidden_time,
         spells, history, history_at, pairs, pair_at) = fused_run(
            bundle, conv.state(), first, count, stages, gen.born_this_step, reg.n,
            results.rows, probe_at, gen.probe_rng, settings, held)
        if done:
            if done == count:  # (else the step begun after them sets it)
                gen.born_this_step = born
            conv.adoptions, conv.n_cross = adopted, n_cross
            conv.per_employee = conversations / m.people.n
            conv.cross_unit_share = n_cross / conversations if conversations else 0.0
            at = pair_at.tolist()
            recent.extend((pairs[0, a:b], pairs[1, a:b]) for a, b in itertools.pairwise(at))
            f[MONITOR].record(noticed, hidden_time, spells)
            at = history_at.tolist()
            reg.history.extend(history[a:b] for a, b in itertools.pairwise(at))
            m.datacollector.collect_rows(times[:done], results.rows)
            results.rows += done
        return done, born, waiting
