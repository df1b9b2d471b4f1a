"""Organization self-organization model: state arrays, processes, results."""

from model.organization import OrganizationModel
from model.parameters import ParameterError, Parameters, make_parameters, parameter_specs

__all__ = ["OrganizationModel", "Parameters", "ParameterError", "make_parameters",
           "parameter_specs"]
