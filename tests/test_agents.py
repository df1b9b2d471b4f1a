"""Mesa integration: Employee handles read and write the model's arrays."""

import mesa
import numpy as np

from agents import Employee
from model import OrganizationModel


def test_handles_are_made_lazily_and_cover_everyone():
    model = OrganizationModel(rng=2, n_employees=120, steps=5)
    assert model._handles_made is False
    assert len(model.agents) == 120
    assert all(isinstance(a, Employee) for a in model.agents)


def test_handle_reads_and_writes_state():
    model = OrganizationModel(rng=2, n_employees=50, steps=5).run()
    e = model.employee(7)
    assert e.effort == model.people.effort[7]
    e.commitment = 0.123
    assert model.people.commitment[7] == 0.123
    assert e.manager == model.manager_of(np.array([7]))[0]
    assert e.coasting in {"working", "coasting (hidden)", "coasting (noticed)"}


def test_mesa_datacollector_agent_reporters_work():
    model = OrganizationModel(rng=2, n_employees=40, steps=3)
    collector = mesa.DataCollector(agent_reporters={"effort": "effort",
                                                    "leader": "is_formal_leader"})
    collector.collect(model)
    frame = collector.get_agent_vars_dataframe()
    assert len(frame) == 40
    np.testing.assert_allclose(np.sort(frame["effort"].to_numpy()), np.sort(model.people.effort))
