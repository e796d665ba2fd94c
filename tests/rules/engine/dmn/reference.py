"""pyDMNrules (an independent DMN implementation from PyPI) fed our DMN 1.3 export."""

from __future__ import annotations

import contextlib
import io

from rules.engine.dmn import write_dmn

NO_MATCH = "no match"


def reference_engine(definitions):
    """A decide(inputs) -> (value | NO_MATCH, executed rule ids) over pyDMNrules."""
    import pyDMNrules

    engine = pyDMNrules.DMN()
    with contextlib.redirect_stdout(io.StringIO()):
        status = engine.useXML(write_dmn(definitions, diagram=False))
    assert not status.get("errors"), status
    table = definitions.decisions[0].logic
    output_name = table.outputs[0].name
    rule_ids = [rule.id for rule in table.rules]

    def decide(inputs):
        with contextlib.redirect_stdout(io.StringIO()):
            status, result = engine.decide(dict(inputs))
        if status.get("errors"):
            assert any("No rules matched" in error for error in status["errors"]), status
            return NO_MATCH, []
        executed = result["Executed Rule"]
        if isinstance(executed, tuple):
            executed = [executed]
        # pyDMNrules numbers the rows it read from 0 ("Rule.0" is the first row).
        ids = [rule_ids[int(entry[2].split(".")[1])] for entry in executed]
        return result["Result"][output_name], ids

    return decide
