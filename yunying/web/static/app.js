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
  // <select data-shows="name"> shows the elements of its form whose data-for is the chosen value
  // (other data-for elements of that form are hidden).
  function showChosen(select) {
    select.form.querySelectorAll("[data-for]").forEach(function (el) {
      el.style.display = el.getAttribute("data-for") === select.value ? "" : "none";
    });
  }
  document.querySelectorAll("select[data-shows]").forEach(showChosen);
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.hasAttribute && el.hasAttribute("data-autosubmit") && el.form) el.form.submit();
    if (el.hasAttribute && el.hasAttribute("data-shows") && el.form) showChosen(el);
  });
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) event.preventDefault();
  });
  window.yunying = { drawCharts: drawCharts,
    csrf: function () { var m = document.querySelector('meta[name="csrf-token"]'); return m ? m.content : ""; } };
  drawCharts(document);
})();
