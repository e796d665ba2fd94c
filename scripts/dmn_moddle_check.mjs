// Read DMN XML files with dmn-moddle (the model layer of dmn-js / Camunda Modeler) and print, per
// file, what it reports as JSON: {"file", "root", "warnings": [...], "error"}. Exit 1 when any file
// has a warning or an error. Used by tests/rules/engine/dmn/test_dmn_moddle_round_trip.py.
//   node scripts/dmn_moddle_check.mjs model.dmn [more.dmn ...]
import { readFile } from "node:fs/promises";
import { DmnModdle } from "dmn-moddle";

const moddle = DmnModdle();
let failed = false;
const reports = [];
for (const file of process.argv.slice(2)) {
  const xml = await readFile(file, "utf8");
  try {
    const { rootElement, warnings } = await moddle.fromXML(xml, "dmn:Definitions");
    const messages = warnings.map((warning) => warning.message);
    if (messages.length) failed = true;
    reports.push({ file, root: rootElement && rootElement.$type, warnings: messages, error: null });
  } catch (error) {
    failed = true;
    reports.push({ file, root: null, warnings: [], error: String(error && error.message) });
  }
}
process.stdout.write(JSON.stringify(reports) + "\n");
process.exit(failed ? 1 : 0);
