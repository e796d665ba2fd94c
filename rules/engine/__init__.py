"""The rule evaluation engine: compile a ruleset spec once, evaluate fast, explain every answer.

Pure Python with no Django imports, so that services, commands, the API and the benchmark share it.
"""

from .budget import DEFAULT_EVALUATION_BUDGET_SECONDS, EvaluationBudgetExceeded
from .compiler import (
    FORMAT_NAME,
    FORMAT_VERSION,
    CompiledRuleset,
    compile_ruleset,
    ruleset_pattern_problems,
    ruleset_problems,
)
from .constants import MAX_EXACT_INTEGER, parse_constant
from .cost import COST_WARNING_UNITS, LIST_WARNING_ELEMENTS, RulesetCost
from .evaluation import Evaluation
from .numbers import MAX_TOTAL_POINTS
from .operators import OPERATORS, Operator, OperatorInfo
from .patterns import DEFAULT, EXACT, WILDCARD, WILDCARD_KEY, PatternTable, key_covers
from .problems import ERROR, WARNING, Problem, RulesetCompileError
from .regexes import (
    REGEX_MAX_INPUT_LENGTH,
    REGEX_MAX_MEMORY_BYTES,
    REGEX_MAX_PATTERN_LENGTH,
    REGEX_MAX_PROGRAM_SIZE,
)

__all__ = [
    "COST_WARNING_UNITS",
    "DEFAULT",
    "EXACT",
    "DEFAULT_EVALUATION_BUDGET_SECONDS",
    "ERROR",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "LIST_WARNING_ELEMENTS",
    "MAX_EXACT_INTEGER",
    "MAX_TOTAL_POINTS",
    "OPERATORS",
    "REGEX_MAX_INPUT_LENGTH",
    "REGEX_MAX_MEMORY_BYTES",
    "REGEX_MAX_PATTERN_LENGTH",
    "REGEX_MAX_PROGRAM_SIZE",
    "WARNING",
    "WILDCARD",
    "WILDCARD_KEY",
    "CompiledRuleset",
    "Evaluation",
    "EvaluationBudgetExceeded",
    "Operator",
    "OperatorInfo",
    "PatternTable",
    "Problem",
    "RulesetCompileError",
    "RulesetCost",
    "compile_ruleset",
    "key_covers",
    "parse_constant",
    "ruleset_pattern_problems",
    "ruleset_problems",
]
