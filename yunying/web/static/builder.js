// yunying insight builder: small helpers on top of a form that works without them.
(function () {
  "use strict";
  var form = document.getElementById("builder-form");
  if (!form) return;
  var COUNT_MATHS = ["total", "unique_users"];

  // Typing dates means a fixed range: switch the range choice to "custom".
  form.addEventListener("change", function (event) {
    var el = event.target;
    if (el.hasAttribute("data-date")) {
      var range = form.querySelector("select[data-range]");
      if (range) range.value = "custom";
    }
    if (el.hasAttribute("data-math")) showProperty(el);
    if (el.hasAttribute("data-operator")) toggleValue(el);
    if (el.hasAttribute("data-values-for")) loadValues(el);
  });

  // The numeric property of a series only matters for sum/avg/min/max/median/p90.
  function showProperty(select) {
    var row = select.closest(".row");
    var label = row && row.querySelector(".needs-property");
    if (label) label.classList.toggle("idle", COUNT_MATHS.indexOf(select.value) >= 0);
  }

  // "is set" / "is not set" take no value. Read-only, not disabled: every row must send
  // every field, or the rows' repeated parameters would no longer line up.
  function toggleValue(select) {
    var row = select.closest(".row");
    var input = row && row.querySelector('input[name="filter_value"]');
    if (!input) return;
    var none = select.value === "is_set" || select.value === "is_not_set";
    input.readOnly = none;
    if (none) input.value = "";
  }

  // Common values of the property just chosen, for the value field's autocomplete.
  function loadValues(input) {
    var list = document.getElementById(input.getAttribute("data-values-for"));
    var base = form.getAttribute("data-values-url");
    if (!list || !base || !input.value) return;
    var url = base + "?key=" + encodeURIComponent(input.value);
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data || !data.values) return;
        list.textContent = "";
        data.values.forEach(function (v) {
          var option = document.createElement("option");
          option.value = v.value;
          list.appendChild(option);
        });
      })
      .catch(function () { /* autocomplete is a convenience: typing still works */ });
  }

  form.querySelectorAll("select[data-math]").forEach(showProperty);
  form.querySelectorAll("select[data-operator]").forEach(toggleValue);
  var invalid = form.querySelector('[aria-invalid="true"]');
  if (invalid) invalid.focus();
})();
