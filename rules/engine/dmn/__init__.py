"""DMN 1.3 decision tables: model, FEEL subset, XML import/export, compile once, evaluate, explain.

Pure Python (no Django), like the rest of `rules.engine`. The API the services use:

    from rules.engine import dmn

    definitions = dmn.read_dmn(xml_bytes)            # DMN 1.1/1.2/1.3, Camunda Modeler files
    #   -> dmn.Definitions (frozen dataclasses); raises dmn.DmnImportError(.problems) naming each
    #      element and line; never a partial model
    problems = dmn.definitions_problems(definitions)  # [] when valid; each Problem names the cell:
    #      path "decisions[<decision id>].rules[<row index>].input_entries[<column index>]",
    #      rule_id = the rule's id, message starts with the column's label and the cell text
    compiled = dmn.compile_definitions(definitions)   # raises dmn.DmnCompileError(.problems)
    #      compile once per version and cache it: the object is immutable and thread-safe
    evaluation = compiled.evaluate({"score": 640, "tier": "gold"}, trace=False)
    evaluation.outputs          # {decision name: result}; a table with one output gives the
                                #  value, several outputs give {output name: value}; RULE ORDER,
                                #  OUTPUT ORDER and COLLECT give lists; COLLECT SUM/MIN/MAX/COUNT
                                #  give a number
    evaluation.matched_rules    # {decision name: [rule ids]}
    evaluation.errors           # [dmn.DecisionError] (UNIQUE with two matches, ANY with different
                                #  outputs, an aggregation over the wrong types, an input outside
                                #  its allowed values): reported, never raised -> log success=false
    evaluation.success          # not errors
    evaluation.top_decision     # name of the first decision no other decision requires
    evaluation.top_output       # its result (what stats, dashboard and backtests count)
    evaluation.trace            # with trace=True: {decision name: {"inputs": [...], "rules": [
                                #  {"rule_id", "matched", "cells": [{"input", "entry", "matched",
                                #  "reason"}], "output"}], "result", "error"}}
    evaluation.as_dict()        # plain JSON (dates and durations as ISO strings) for the log row
    xml_text = dmn.write_dmn(definitions, diagram=True)   # DMN 1.3 that dmn-moddle reads cleanly
    data = definitions.as_dict(); dmn.definitions_from_dict(data)   # JSON for a version's storage

`semantics="original"` (compile option) reads an unquoted word in a cell that is not a known name
as a string, as the original system's dmn_parser did (`metal` means "metal"); the default
`strict` reports it as an unknown name, because in FEEL it is a variable that would never match.

Supported FEEL (everything else is a problem naming the cell):
- input entries (unary tests): `-` or empty (any); `< e`, `<= e`, `> e`, `>= e`, `= e`, `!= e`;
  a bare `e` (equality); intervals `[a..b]`, `[a..b)`, `(a..b]`, `]a..b[`, …; comma lists of those
  (any of them); `not(t1, t2, …)`; `null` (the input is null).
- values `e`: string "…" (escapes \\" \\\\ \\n \\t \\uXXXX), number (`12`, `-3.5`), `true`, `false`,
  `null`, `date("2024-01-31")`, `date and time("2024-01-31T09:30:00")` (optional `Z` or offset),
  `time("09:30:00")`, `duration("P1DT2H")` (days and time only); names (an input column's
  expression, an input data name, a required decision's name or output name, dotted paths);
  `+ - * /`, unary minus and parentheses.
- output entries and literal expressions: the same values and arithmetic.
- null semantics: a missing input is null; comparing null or values of different types is null
  and a cell matches only when its test is true, so neither matches (nor raises); `not(...)` of
  a null test is null (no match); arithmetic with null, across types or dividing by zero is null.
"""

from ..problems import ERROR, WARNING, Problem
from .compiler import (
    ORIGINAL,
    SEMANTICS,
    STRICT,
    CompiledDefinitions,
    DmnCompileError,
    compile_definitions,
    definitions_problems,
)
from .evaluation import DecisionError, DmnEvaluation
from .feel import FeelSyntaxError, parse_expression, parse_unary_tests
from .hit_policies import AGGREGATION_ERROR, ANY_CONFLICT, INPUT_NOT_ALLOWED, UNIQUE_VIOLATION
from .model import (
    AGGREGATIONS,
    HIT_POLICIES,
    LIST_HIT_POLICIES,
    Decision,
    DecisionTable,
    Definitions,
    InputClause,
    InputData,
    LiteralExpression,
    OutputClause,
    Rule,
    Shape,
    definitions_from_dict,
)
from .values import TYPES
from .xml_export import write_dmn
from .xml_import import DMN_NAMESPACES, DmnImportError, dmn_version, read_dmn

__all__ = [
    "AGGREGATIONS",
    "AGGREGATION_ERROR",
    "ANY_CONFLICT",
    "DMN_NAMESPACES",
    "ERROR",
    "HIT_POLICIES",
    "INPUT_NOT_ALLOWED",
    "LIST_HIT_POLICIES",
    "ORIGINAL",
    "SEMANTICS",
    "STRICT",
    "TYPES",
    "UNIQUE_VIOLATION",
    "WARNING",
    "CompiledDefinitions",
    "Decision",
    "DecisionError",
    "DecisionTable",
    "Definitions",
    "DmnCompileError",
    "DmnEvaluation",
    "DmnImportError",
    "FeelSyntaxError",
    "InputClause",
    "InputData",
    "LiteralExpression",
    "OutputClause",
    "Problem",
    "Rule",
    "Shape",
    "compile_definitions",
    "definitions_from_dict",
    "definitions_problems",
    "dmn_version",
    "parse_expression",
    "parse_unary_tests",
    "read_dmn",
    "write_dmn",
]
