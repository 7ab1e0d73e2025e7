// yunying workbench: the little JavaScript the pages need (charts, auto-submit, confirmations).
(function () {
  "use strict";
  function drawCharts(root) {
    if (!window.Plotly) return;
    root.querySelectorAll("[data-figure]").forEach(function (el) {
      var source = document.getElementById(el.getAttribute("data-figure"));
      if (!source) return;
      var fig = JSON.parse(source.textContent);
      window.Plotly.newPlot(el, fig.data || [], fig.layout || {}, {
        responsive: true, displaylogo: false,
        modeBarButtonsToRemove: ["select2d", "lasso2d", "sendDataToCloud"],
      });
    });
  }
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.hasAttribute && el.hasAttribute("data-autosubmit") && el.form) el.form.submit();
  });
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) event.preventDefault();
  });
  window.yunying = { drawCharts: drawCharts,
    csrf: function () { var m = document.querySelector('meta[name="csrf-token"]'); return m ? m.content : ""; } };
  drawCharts(document);
})();
