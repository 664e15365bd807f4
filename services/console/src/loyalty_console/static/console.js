// The console's only script: draws the charts a page carries as JSON (Plotly, served by the
// console), again after htmx swaps a part of the page, and fills in the browser's time zone
// where a sign-in form asks for it. Everything else works as plain HTML forms and links.
(function () {
  "use strict";

  function drawCharts(root) {
    if (typeof Plotly === "undefined") { return; }
    root.querySelectorAll("[data-figure]").forEach(function (el) {
      if (el.dataset.drawn === "1") { return; }
      var figure = JSON.parse(el.dataset.figure);
      el.dataset.drawn = "1";
      Plotly.newPlot(el, figure.data, figure.layout,
        { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["select2d", "lasso2d"] });
    });
  }

  function fillTimeZones(root) {
    var zone = "";
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { zone = ""; }
    root.querySelectorAll("input[data-browser-time-zone]").forEach(function (input) {
      if (!input.value) { input.value = zone; }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawCharts(document);
    fillTimeZones(document);
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    drawCharts(event.target);
  });
})();
