// Draws the server-built plotly figures of a report page: each [data-figure] names the json_script holding its figure.
// Wires the Print button here too: the Content-Security-Policy allows no inline handler.
"use strict";

window.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-figure]").forEach((element) => {
    const figure = JSON.parse(document.getElementById(element.dataset.figure).textContent);
    // A figure with a width of its own keeps it; one without (every figure now) fills its panel.
    Plotly.newPlot(element, figure.data, figure.layout, { displayModeBar: false, responsive: !figure.layout.width });
    element.dataset.fit = figure.layout.width ? "" : "panel";
  });
  // Printing lays the page out at the paper's width, and plotly's own resizing waits for a timer the print does not:
  // each figure is redrawn at once to its panel's width, printed or on screen (and after a window resize).
  const fit = () => document.querySelectorAll("[data-figure][data-fit=panel]").forEach((element) => {
    const width = element.clientWidth;
    if (element._fullLayout && width && element._fullLayout.width !== width) Plotly.relayout(element, { width });
  });
  window.addEventListener("beforeprint", fit);
  window.addEventListener("afterprint", fit);
  window.addEventListener("resize", fit);
  window.matchMedia("print").addEventListener("change", fit);
  document.getElementById("print-report")?.addEventListener("click", () => window.print());
});
