"""The one declaration of every model parameter.

Each parameter is a pydantic ``Field`` with its default, bounds, unit, group and a
one-line meaning. Scenario files, ``run.py --set``, dashboard sliders and docs/ODD.md
are all generated from :class:`Parameters`; nothing else declares a parameter.

An extension declares its own block the same way, as a subclass of :class:`Parameters`
adding fields with :func:`param` (unknown names stay refused); the functions below take
that class as ``parameters_class`` (docs/extending/EXTENDING.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from model.errors import ParameterError

GROUPS = (
    "population",
    "structure",
    "constraints",
    "power relations",
    "environment",
    "behaviour",
    "observation",
)


# Read once when the organization is built: a roadmap cannot change them mid-run.
FIXED_DURING_RUN = frozenset({
    "n_employees", "hero_share", "hero_resourcefulness", "base_resourcefulness", "motive_mean",
    "skill_mean", "trait_concentration", "customer_facing_share", "slow_learner_share",
    "slow_socialization_rate", "socialization_mode", "formal_structure", "span_of_control",
    "informal_network", "informal_degree", "informal_rewiring", "initial_tie_strength",
    "n_dimensions", "market_size", "idea_scope", "steps", "metric_window", "summary_window",
    "probe_idea_step", "leader_selection"})


def param(default: Any, meaning: str, group: str, unit: str = "", per_unit: bool = False,
          **bounds: Any) -> Any:
    """Declare one parameter: default, one-line meaning, group, unit and bounds;
    ``per_unit``: a roadmap may give it a different value in some units or levels
    (``where``), and the engine reads it per employee."""
    if group not in GROUPS:
        raise ValueError(f"unknown parameter group {group!r}")
    extra = {"group": group, "unit": unit, **({"per_unit": True} if per_unit else {})}
    return Field(default, description=meaning, json_schema_extra=extra, **bounds)


def per_unit_parameters(parameters_class: type[Parameters] | None = None) -> list[str]:
    """Names of the parameters declared ``per_unit``."""
    return [name for name, field in (parameters_class or Parameters).model_fields.items()
            if (field.json_schema_extra or {}).get("per_unit")]


class Parameters(BaseModel):
    """All parameters of the organization model (flat namespace, grouped by metadata)."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    # --- population -------------------------------------------------------------
    n_employees: int = param(500, "Number of employees.", "population", "people", ge=2,
                             le=20_000_000)
    hero_share: float = param(0.2, "Share of highly empowered and resourceful operatives (HEROes).",
                              "population", "share", ge=0, le=1)
    hero_resourcefulness: float = param(0.9, "Resourcefulness of a HERO: drive to act on a "
                                        "customer problem on their own.", "population", "0-1",
                                        ge=0, le=1)
    base_resourcefulness: float = param(0.15, "Resourcefulness of everyone else.", "population",
                                        "0-1", ge=0, le=1)
    motive_mean: float = param(0.7, "Mean intrinsic motive (Beta-distributed).", "population",
                               "0-1", gt=0, lt=1)
    skill_mean: float = param(0.65, "Mean skill, the means to do the work (Beta-distributed).",
                              "population", "0-1", gt=0, lt=1)
    trait_concentration: float = param(8.0, "Beta concentration of motive and skill (higher = "
                                       "more alike).", "population", "", ge=0.5, le=1000)
    customer_facing_share: float = param(0.8, "Share of front-line positions that face customers.",
                                         "population", "share", ge=0, le=1)
    slow_learner_share: float = param(0.0, "Share of employees who learn the playbook at "
                                      "slow_socialization_rate instead (March's mix of fast and "
                                      "slow learners; 0 = everyone alike).", "population",
                                      "share", ge=0, le=1)
    turnover_rate: float = param(0.0, "Chance per step that each employee leaves and is replaced "
                                 "by a newcomer with random beliefs (March's p3).", "population",
                                 "probability", per_unit=True, ge=0, le=1)

    # --- structure ----------------------------------------------------------------
    formal_structure: Literal["tree", "teams", "none"] = param(
        "tree", "Formal ties: a reporting tree, flat teams with a coordinator each, or none (no "
        "reporting lines; work groups of span_of_control remain, weighted formal_tie_strength).",
        "structure")
    span_of_control: int = param(6, "Direct reports per manager (tree) or team size (teams).",
                                 "structure", "people", ge=2, le=10_000)
    informal_network: Literal["small_world", "fully_mixed"] = param(
        "small_world", "Informal ties: a Watts-Strogatz small world, or everyone can meet anyone.",
        "structure")
    informal_degree: int = param(6, "Informal ties per employee (even; small world), or the "
                                 "weight of random contacts (fully mixed).", "structure",
                                 "ties", ge=0, le=1000)
    informal_rewiring: float = param(0.1, "Rewiring probability of the small world: 0 = clustered "
                                     "by unit, 1 = random.", "structure", "probability", ge=0, le=1)
    formal_tie_strength: float = param(1.0, "Weight of a formal tie relative to a full-strength "
                                       "informal tie when choosing whom to talk to.", "structure",
                                       "weight", ge=0, le=100)
    initial_tie_strength: float = param(0.5, "Initial strength of informal ties.", "structure",
                                        "0-1", ge=0, le=1)
    tie_reinforcement: float = param(0.1, "Share of the gap to full strength an informal tie gains "
                                     "per conversation.", "structure", "per conversation", ge=0,
                                     le=1)
    tie_decay: float = param(0.02, "Share of its strength above the floor an informal tie loses "
                             "per step.", "structure", "per step", ge=0, le=1)
    tie_floor: float = param(0.05, "Strength an unused informal tie fades to.", "structure", "0-1",
                             ge=0, le=1)

    # --- constraints -------------------------------------------------------------
    conversations_per_step: int = param(1, "Conversations each employee starts per step.",
                                        "constraints", "per step", ge=0, le=100)
    lateral_openness: float = param(1.0, "Permission to talk across units: weight of a cross-unit "
                                    "contact (1 = free lateral talk).", "constraints", "0-1",
                                    per_unit=True, ge=0, le=1)
    approval_levels: int = param(0, "Levels of managers that must approve an idea before it is "
                                 "sanctioned (0 = nothing needs approval).", "constraints",
                                 "levels", per_unit=True, ge=0, le=50)
    review_time: float = param(3.0, "Mean steps a manager takes to decide on an idea, per "
                               "level of approval.", "constraints", "steps", per_unit=True, ge=1,
                               le=10_000)
    autonomy: float = param(0.5, "Autonomy granted: the opportunity to act without asking.",
                            "constraints", "0-1", per_unit=True, ge=0, le=1)
    work_visibility: float = param(0.2, "Chance per step that each unit colleague (and the "
                                   "manager) sees one's work.", "constraints", "probability",
                                   per_unit=True, ge=0, le=1)
    idea_forum_reach: float = param(0.0, "Chance per step that an employee reads the open idea "
                                    "forum (0 = no forum).", "constraints", "probability",
                                    per_unit=True, ge=0, le=1)
    forum_memory: int = param(20, "Steps a posted idea stays on the forum.", "constraints",
                              "steps", ge=1, le=100_000)

    # --- power relations --------------------------------------------------------
    power_distance: float = param(0.3, "Power distance: damps upward talk and voice, and mixes "
                                  "authority (vs earned reputation) into influence.",
                                  "power relations", "0-1", per_unit=True, ge=0, le=1)
    leader_selection: Literal["appointed", "elected"] = param(
        "appointed", "Appointed managers stay; elected coordinators are re-chosen by peers.",
        "power relations")
    rotation_period: int = param(25, "Steps between elections of coordinators (elected only).",
                                 "power relations", "steps", ge=1, le=1_000_000)
    monitoring_capacity: float = param(2.0, "Subordinates a manager actively watches per step.",
                                       "power relations", "people per step", per_unit=True,
                                       ge=0, le=10_000)
    manager_sanction_power: float = param(0.8, "Chance a manager acts on coasting they notice.",
                                          "power relations", "probability", per_unit=True, ge=0,
                                          le=1)
    peer_sanction_power: float = param(0.1, "Chance a colleague holds a coasting peer they notice "
                                       "to account (0 = peers cannot act).", "power relations",
                                       "probability", per_unit=True, ge=0, le=1)
    manager_support: float = param(0.0, "Obstacles managers remove: raises subordinates' "
                                   "opportunity toward 1.", "power relations", "0-1",
                                   per_unit=True, ge=0, le=1)
    approval_tolerance: float = param(0.5, "Managers' tolerance for half-baked ideas: approve if "
                                      "judged value >= 1 - 2 x tolerance.", "power relations",
                                      "0-1", per_unit=True, ge=0, le=1)
    review_noise: float = param(0.3, "Noise in a manager's judgement of an idea's value.",
                                "power relations", "value sd", per_unit=True, ge=0, le=10)
    unsanctioned_risk: float = param(0.5, "Appeal penalty of using an idea nobody sanctioned.",
                                     "power relations", "log-odds", per_unit=True, ge=0,
                                     le=20)
    influence_weight: float = param(1.0, "Weight of the speaker's influence in adoption.",
                                    "power relations", "log-odds", ge=0, le=20)

    # --- environment -------------------------------------------------------------
    n_dimensions: int = param(24, "Dimensions of customer needs and beliefs (March's m).",
                              "environment", "dimensions", ge=1, le=512)
    need_drift: float = param(0.01, "Chance per step that each dimension of customer needs "
                              "flips (March's turbulence).", "environment", "probability", ge=0,
                              le=1)
    customer_problem_rate: float = param(0.1, "Chance per step (week) that a customer-facing "
                                         "employee meets a customer problem.", "environment",
                                         "probability", per_unit=True, ge=0, le=1)
    market_size: int = param(150, "Employees per market (the customers one group serves): an "
                             "ordinary idea applies only in its originator's market; the "
                             "tracer answers an organization-wide need.", "environment",
                             "people", ge=2, le=20_000_000)
    customer_insight: float = param(0.6, "Chance each belief in a new idea reads the need right "
                                    "(else it is a coin flip).", "environment", "probability",
                                    per_unit=True, ge=0, le=1)
    idea_scope: int = param(3, "Dimensions an idea changes.", "environment", "dimensions", ge=1,
                            le=64)

    # --- behaviour ---------------------------------------------------------------
    adoption_propensity: float = param(0.2, "Chance of adopting an idea heard, at neutral "
                                       "appeal.", "behaviour", "probability", gt=0, lt=1)
    adoption_threshold: int = param(1, "Exposures needed before adopting (1 = simple contagion, "
                                    ">= 2 = complex).", "behaviour", "exposures", ge=1, le=50)
    exposure_memory: int = param(20, "Steps an exposure is remembered (complex contagion).",
                                 "behaviour", "steps", ge=1, le=100_000)
    value_weight: float = param(3.0, "Weight of an idea's perceived gain in adoption.",
                                "behaviour", "log-odds", ge=0, le=100)
    perception_noise: float = param(0.3, "Noise in how employees perceive an idea's gain.",
                                    "behaviour", "value sd", ge=0, le=10)
    socialization_rate: float = param(0.05, "Chance per step and dimension that an employee "
                                      "learns the playbook's belief (March's p1).", "behaviour",
                                      "probability", per_unit=True, ge=0, le=1)
    slow_socialization_rate: float = param(0.1, "Socialization rate of slow learners (used "
                                           "only if slow_learner_share > 0).", "behaviour",
                                           "probability", ge=0, le=1)
    socialization_mode: Literal["direct", "gradual"] = param(
        "direct", "How a belief moves to the playbook's: at once, or one step at a time through "
        "'no belief' (March's original program, Christensen 2015).", "behaviour")
    code_learning_basis: Literal["beliefs", "actions"] = param(
        "beliefs", "What the playbook judges and learns from: employees' beliefs (fit), or their "
        "actions, a coin flip where no belief is held, scored as matches minus mismatches "
        "(March's original program, Christensen 2015).", "behaviour")
    codification_rate: float = param(0.1, "Chance per dimension that the playbook learns from "
                                     "the best performers (March's p2).", "behaviour",
                                     "probability", ge=0, le=1)
    codify_share: float = param(0.2, "Adoption share at which an idea is codified where nothing "
                                "needs approval.", "behaviour", "share", ge=0, le=1)
    peer_influence: float = param(0.3, "Weight of the effort and commitment seen in peers.",
                                  "behaviour", "0-1", ge=0, le=1)
    norm_learning: float = param(0.2, "How fast the norms an employee sees move toward what "
                                 "they saw this step.", "behaviour", "per step", ge=0, le=1)
    commitment_adaptation: float = param(0.1, "How fast commitment moves to its target.",
                                         "behaviour", "per step", ge=0, le=1)
    effort_cost: float = param(0.2, "Pull toward less effort: the cost of working hard.",
                               "behaviour", "effort", ge=0, le=1)
    sanction_severity: float = param(1.0, "How far an expected sanction holds back the pull "
                                     "to save effort (x expected chance).", "behaviour", "",
                                     ge=0, le=10)
    watch_learning: float = param(0.1, "How fast the belief of being watched follows experience.",
                                  "behaviour", "per step", ge=0, le=1)
    sanction_commitment_loss: float = param(0.01, "Commitment lost when sanctioned.",
                                            "behaviour", "0-1", ge=0, le=1)
    effort_noise: float = param(0.1, "Day-to-day noise in effort.", "behaviour", "effort sd",
                                ge=0, le=1)
    reputation_learning: float = param(0.1, "How fast earned reputation follows output.",
                                       "behaviour", "per step", ge=0, le=1)

    # --- observation -------------------------------------------------------------
    steps: int = param(200, "Steps to simulate.", "observation", "steps", ge=1, le=1_000_000)
    coasting_threshold: float = param(0.25, "Effort below which an employee is coasting.",
                                      "observation", "effort", ge=0, le=1)
    probe_idea_step: int = param(20, "Step at which a tracer good idea is born at a random "
                                 "customer-facing employee (-1 = none).", "observation", "step",
                                 ge=-1, le=1_000_000)
    wide_adoption_share: float = param(0.5, "Adoption share at which an idea counts as spread "
                                       "widely.", "observation", "share", gt=0, le=1)
    metric_window: int = param(10, "Steps of conversations that form the realized network, and "
                               "of idea activity that make a HERO active.", "observation",
                               "steps", ge=1, le=100_000)
    summary_window: int = param(50, "Final steps averaged in the run summary.", "observation",
                                "steps", ge=1, le=1_000_000)

    # --- cross-field checks (one small named validator each) ----------------------
    @model_validator(mode="after")
    def _check_combinations(self) -> Parameters:
        for check in (_check_degree, _check_scope, _check_election, _check_even_degree):
            check(self)
        return self


def _check_degree(p: Parameters) -> None:
    if p.informal_network == "small_world" and p.informal_degree >= p.n_employees:
        raise ValueError(f"informal_degree = {p.informal_degree} must be below n_employees = "
                         f"{p.n_employees}")


def _check_even_degree(p: Parameters) -> None:
    if p.informal_network == "small_world" and p.informal_degree % 2:
        raise ValueError(f"informal_degree = {p.informal_degree} must be even for a small world")


def _check_scope(p: Parameters) -> None:
    if p.idea_scope > p.n_dimensions:
        raise ValueError(f"idea_scope = {p.idea_scope} cannot exceed n_dimensions = "
                         f"{p.n_dimensions}")


def _check_election(p: Parameters) -> None:
    if p.leader_selection == "elected" and p.formal_structure == "none":
        raise ValueError("leader_selection = 'elected' needs coordinator roles, but "
                         "formal_structure = 'none'")


@dataclass(frozen=True)
class ParameterSpec:
    """One row of the parameter table, as read from the declaration."""

    name: str
    group: str
    default: Any
    minimum: float | None
    maximum: float | None
    unit: str
    meaning: str
    choices: tuple[str, ...] | None
    kind: type


def parameter_specs(parameters_class: type[Parameters] | None = None) -> list[ParameterSpec]:
    """The declaration as a list of specs (feeds docs, CLI help and sliders); an
    extension's ``parameters_class`` adds its own parameters after the built-in ones."""
    specs = []
    for name, field in (parameters_class or Parameters).model_fields.items():
        extra = field.json_schema_extra or {}
        lo = hi = None
        for m in field.metadata:
            lo = getattr(m, "ge", None) if getattr(m, "ge", None) is not None else lo
            lo = getattr(m, "gt", None) if getattr(m, "gt", None) is not None else lo
            hi = getattr(m, "le", None) if getattr(m, "le", None) is not None else hi
            hi = getattr(m, "lt", None) if getattr(m, "lt", None) is not None else hi
        choices = getattr(field.annotation, "__args__", None)
        kind = str if choices else field.annotation
        specs.append(ParameterSpec(name, extra["group"], field.default, lo, hi, extra["unit"],
                                   field.description or "", tuple(choices) if choices else None,
                                   kind))
    return specs


def format_validation_error(err: ValidationError, source: str, values: dict[str, Any]) -> str:
    """One line naming the source, the field and the offending value."""
    first = err.errors()[0]
    loc = ".".join(str(x) for x in first["loc"])
    msg = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        return f"{source}: unknown parameter '{loc}'"
    if not loc:
        return f"{source}: {msg}"
    return f"{source}: {loc} = {values.get(loc, first.get('input'))!r}: {msg}"


def _type_name(value: Any) -> str:
    return {bool: "a boolean", str: "a string", int: "an integer", float: "a number",
            list: "a list", dict: "a table"}.get(type(value), type(value).__name__)


def check_types(values: dict[str, Any], source: str,
                parameters_class: type[Parameters] | None = None) -> None:
    """Strict types for values a user wrote (files, --set): a string is not a number, a
    boolean is not a number, an integer parameter takes no fraction, NaN is not a number."""
    fields = (parameters_class or Parameters).model_fields
    for name, value in values.items():
        field = fields.get(name)
        if field is None:
            continue  # unknown names are reported by the model
        choices = getattr(field.annotation, "__args__", None)
        if choices:
            ok, want = isinstance(value, str), "one of " + ", ".join(map(repr, choices))
        elif field.annotation is int:
            ok, want = isinstance(value, int) and not isinstance(value, bool), "an integer"
        else:
            ok, want = isinstance(value, int | float) and not isinstance(value, bool), "a number"
        if not ok:
            raise ParameterError(f"{source}: {name} = {value!r}: must be {want}, not "
                                 f"{_type_name(value)}")
        if isinstance(value, float) and not math.isfinite(value):
            problem = "NaN is not a number" if math.isnan(value) else "must be finite"
            raise ParameterError(f"{source}: {name} = {value!r}: {problem}")


def make_parameters(values: dict[str, Any], source: str = "parameters",
                    strict: bool = False,
                    parameters_class: type[Parameters] | None = None) -> Parameters:
    """Validate a mapping of overrides into :class:`Parameters` (or an extension's
    ``parameters_class``), raising ParameterError.

    ``strict``: values a user wrote, checked by :func:`check_types` first."""
    if strict:
        check_types(values, source, parameters_class)
    try:
        return (parameters_class or Parameters)(**values)
    except ValidationError as err:
        raise ParameterError(format_validation_error(err, source, values)) from None
