// The admin's DMN editor: dmn-js (bpmn.io) on the page templates/rules/decision_model_editor.html.
// Built by `make install` (npm run build:editor) into static/ruleengine/vendor/dmn-editor/;
// no CDN, no inline script: the XML comes from a json_script tag, the URLs from data- attributes.
import DmnModeler from "dmn-js/lib/Modeler";

import "dmn-js/dist/assets/diagram-js.css";
import "dmn-js/dist/assets/dmn-js-shared.css";
import "dmn-js/dist/assets/dmn-js-drd.css";
import "dmn-js/dist/assets/dmn-js-decision-table.css";
import "dmn-js/dist/assets/dmn-js-decision-table-controls.css";
import "dmn-js/dist/assets/dmn-js-literal-expression.css";
import "dmn-js/dist/assets/dmn-js-boxed-expression.css";
import "dmn-js/dist/assets/dmn-js-boxed-expression-controls.css";
// dmn.css loads the icon font from files (dmn-embedded.css would need font-src data:).
import "dmn-js/dist/assets/dmn-font/css/dmn.css";

const VIEW_LABELS = { drd: "Diagram (DRD)", decisionTable: "table", literalExpression: "literal" };

function viewLabel(view) {
  if (view.type === "drd") return VIEW_LABELS.drd;
  const name = (view.element && (view.element.name || view.element.id)) || view.id;
  return `${name} (${VIEW_LABELS[view.type] || view.type})`;
}

function element(tag, attributes = {}, text = "") {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (text) node.textContent = text;
  return node;
}

function showStatus(root, { saved = false, problems = [], error = "" }) {
  const status = root.querySelector(".dmn-editor-status");
  status.replaceChildren();
  status.className = "dmn-editor-status";
  if (saved) {
    status.classList.add("dmn-editor-saved");
    status.append(element("p", { class: "success" }, "Saved"));
    return;
  }
  if (error) {
    status.classList.add("errornote");
    status.append(element("p", {}, error));
  }
  if (problems.length) {
    status.classList.add("errornote");
    status.append(
      element("p", {}, `Not saved: the model has ${problems.length} problem(s); nothing was written.`),
    );
    const list = element("ul", { class: "dmn-editor-problems" });
    for (const problem of problems) {
      const where = problem.where ? `${problem.where}: ` : "";
      list.append(element("li", {}, `${where}${problem.message}`));
    }
    status.append(list);
  }
}

function renderTabs(root, modeler) {
  const tabs = root.querySelector(".dmn-editor-views");
  tabs.replaceChildren();
  const active = modeler.getActiveView();
  for (const view of modeler.getViews()) {
    const button = element("button", {
      type: "button",
      class: "button dmn-editor-view" + (active && active.id === view.id ? " active" : ""),
      "data-view-id": view.id,
      "data-view-type": view.type,
    }, viewLabel(view));
    button.addEventListener("click", () => modeler.open(view));
    tabs.append(button);
  }
}

async function save(root, modeler) {
  const button = root.querySelector(".dmn-editor-save");
  button.disabled = true;
  try {
    const { xml } = await modeler.saveXML({ format: true });
    const response = await fetch(root.dataset.saveUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/xml",
        "X-CSRFToken": root.querySelector("input[name=csrfmiddlewaretoken]").value,
        Accept: "application/json",
      },
      body: xml,
    });
    let answer = {};
    try {
      answer = await response.json();
    } catch (_) {
      answer = { error: `The server answered ${response.status}.` };
    }
    if (response.ok && answer.ok) showStatus(root, { saved: true });
    else showStatus(root, { problems: answer.problems || [], error: answer.error || "" });
  } catch (error) {
    showStatus(root, { error: `Not saved: ${error.message || error}` });
  } finally {
    button.disabled = false;
  }
}

async function start(root) {
  const xml = JSON.parse(document.getElementById(root.dataset.xmlId).textContent);
  const modeler = new DmnModeler({
    container: root.querySelector(".dmn-editor-canvas"),
    common: { keyboard: { bindTo: window } },
  });
  modeler.on("views.changed", () => renderTabs(root, modeler));
  try {
    const { warnings } = await modeler.importXML(xml);
    if (warnings && warnings.length) console.warn("dmn-js import warnings", warnings);
  } catch (error) {
    showStatus(root, { error: `dmn-js could not open the model: ${error.message || error}` });
    return;
  }
  // Open the first decision table, so the analyst lands on rows rather than on the diagram.
  const first = modeler.getViews().find((view) => view.type === "decisionTable");
  if (first && root.dataset.openView !== "drd") await modeler.open(first);
  renderTabs(root, modeler);
  const button = root.querySelector(".dmn-editor-save");
  if (button) button.addEventListener("click", () => save(root, modeler));
  window.dmnEditor = modeler; // for people debugging in the console, and the browser tests
  root.dataset.ready = "true";
}

document.querySelectorAll(".dmn-editor").forEach((root) => {
  start(root);
});
