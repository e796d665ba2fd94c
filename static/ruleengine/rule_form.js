// Shows the help for the chosen operator's constant under the constant input.
// Loaded as a file (no inline script), so a strict Content-Security-Policy allows it.
"use strict";
document.addEventListener("change", function (event) {
  const select = event.target;
  if (!(select instanceof HTMLSelectElement) || !select.classList.contains("operator-select")) {
    return;
  }
  const container = select.closest("tr") || select.closest("fieldset") || document;
  const help = container.querySelector(".constant-help");
  if (!help) {
    return;
  }
  const option = select.options[select.selectedIndex];
  help.textContent = (option && option.dataset.constantHelp) ||
    "Choose an operator; its constant is explained here.";
});
