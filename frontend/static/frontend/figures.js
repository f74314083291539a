// Draws the server-built plotly figures of a report page: each [data-figure] names the json_script holding its figure.
// Wires the Print button here too: the Content-Security-Policy allows no inline handler.
"use strict";

window.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-figure]").forEach((element) => {
    const figure = JSON.parse(document.getElementById(element.dataset.figure).textContent);
    Plotly.newPlot(element, figure.data, figure.layout, { displayModeBar: false, responsive: false });
  });
  document.getElementById("print-report")?.addEventListener("click", () => window.print());
});
