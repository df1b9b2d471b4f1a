"""Process 5, effort: commitment follows motive, means and opportunity; effort follows
commitment, the norm seen in peers, its cost and the sanction expected for coasting.

opportunity = autonomy + manager_support * (1 - autonomy)   (if one has a manager)
commitment -> (1 - peer_influence) * cbrt(motive * skill * opportunity)
              + peer_influence * commitment norm seen          (at commitment_adaptation)
inclination = (1 - peer_influence) * commitment + peer_influence * effort norm seen
effort = clip(inclination - effort_cost * (1 - min(1, sanction_severity * expected
              sanction)) + noise, 0, 1)
The pull to save effort (its cost) is held back only as far as a sanction is expected,
so fully identifiable work gets the effort commitment alone would give (no loafing).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit, prange

from model.bundle import Entry
from model.parallel import PARALLEL_MIN, serial_twin
from model.processes.base import Process
from model.rng import pcg_address, pcg_load, pcg_normal, pcg_store, standard_normals

if TYPE_CHECKING:
    pass


@njit(cache=True)
def own_commitment(motive, skill, opportunity, has_manager, autonomy, support):
    """Opportunity of everyone and the commitment their motive, means and opportunity give."""
    own = np.empty(len(motive))
    for i in range(len(motive)):
        opportunity[i] = autonomy[i] + has_manager[i] * support[i] * (1.0 - autonomy[i])
        own[i] = (motive[i] * skill[i] * opportunity[i]) ** (1.0 / 3.0)
    return own


@njit(cache=True)
def choose_effort(rng, noise, commitment, commitment_norm, effort, effort_norm, watch_belief,
                  own, peer_influence, adaptation, cost, severity, noise_sd):
    """Commitment and effort of everyone (see the module docstring), with one standard
    normal draw per employee in employee order into ``noise`` (numpy's own draws, as
    ``rng.standard_normal(n)`` takes them), then used (in parallel in a large
    organization)."""
    if len(noise) >= PARALLEL_MIN:
        standard_normals(rng, noise)
    else:  # the same draws, inline
        address = pcg_address(rng)
        state, inc = pcg_load(address)
        for i in range(len(noise)):
            state, noise[i] = pcg_normal(state, inc)
        pcg_store(address, state)
    args = (noise, commitment, commitment_norm, effort, effort_norm, watch_belief, own,
            peer_influence, adaptation, cost, severity, noise_sd)
    if len(own) >= PARALLEL_MIN:
        _choose_effort(*args)
    else:
        _choose_effort_serial(*args)


@njit(cache=True, parallel=True)
def _choose_effort(noise, commitment, commitment_norm, effort, effort_norm, watch_belief, own,
                   peer_influence, adaptation, cost, severity, noise_sd):
    # arrays come one by one: numba 0.68 loses writes in a parallel loop to arrays
    # unpacked from a tuple argument
    for i in prange(len(own)):
        target = (1.0 - peer_influence) * own[i] + peer_influence * commitment_norm[i]
        commitment[i] += adaptation * (target - commitment[i])
        inclination = ((1.0 - peer_influence) * commitment[i]
                       + peer_influence * effort_norm[i])
        deterrence = min(1.0, severity * watch_belief[i])
        value = inclination - cost * (1.0 - deterrence) + noise_sd * noise[i]
        effort[i] = min(1.0, max(0.0, value))


_choose_effort_serial = serial_twin(_choose_effort)


class EffortChoice(Process):
    """Updates opportunity, commitment and effort of everyone at once."""

    name = "effort"

    def __init__(self, model):
        super().__init__(model)
        self._version: tuple | None = None  # model.kernel_version() of the cached arguments
        self._args: tuple = ()
        self._noise = np.empty(model.people.n)  # this step's draws
        self._choose = Entry(choose_effort)

    def own_commitment(self) -> np.ndarray:
        """Commitment from motive, means and opportunity; traits are fixed, so it changes
        only when roles (who has a manager) or parameters do."""
        self.arguments()
        return self._args[7]

    def arguments(self) -> tuple:
        """The arguments of :func:`choose_effort` but the step's, rebuilt when roles or
        parameters change (``model.kernel_version``)."""
        m = self.model
        version = m.kernel_version()
        if self._version != version:
            p, people = m.p, m.people
            own = own_commitment(people.motive, people.skill, people.opportunity,
                                 m._manager >= 0, m.per_employee("autonomy"),
                                 m.per_employee("manager_support"))
            self._args = (self.rng, self._noise, people.commitment, people.commitment_norm,
                          people.effort, people.effort_norm, people.watch_belief, own,
                          float(p.peer_influence), float(p.commitment_adaptation),
                          float(p.effort_cost), float(p.sanction_severity),
                          float(p.effort_noise))
            self._version = version
        return self._args

    def step(self) -> None:
        args = self.arguments()
        self._choose(args, *args)
