"""The rule evaluation engine: compile a ruleset spec once, evaluate fast, explain every answer.

Pure Python with no Django imports, so that services, commands, the API and the benchmark share it.
"""

from .compiler import (
    FORMAT_NAME,
    FORMAT_VERSION,
    CompiledRuleset,
    compile_ruleset,
    ruleset_problems,
)
from .constants import parse_constant
from .evaluation import Evaluation
from .operators import OPERATORS, Operator, OperatorInfo
from .problems import Problem, RulesetCompileError

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "OPERATORS",
    "CompiledRuleset",
    "Evaluation",
    "Operator",
    "OperatorInfo",
    "Problem",
    "RulesetCompileError",
    "compile_ruleset",
    "parse_constant",
    "ruleset_problems",
]
