// yunying dashboards: each tile fetches its numbers from its own endpoint (data-src), so the
// page shows at once and tiles appear as their queries finish; a table toggle per tile,
// a refresh button, the time the numbers were computed, and copying the share link.
(function () {
  "use strict";
  var grid = document.querySelector("[data-tiles]");

  function node(tag, className, text) {
    var el = document.createElement(tag);
    if (className) el.className = className;
    if (text !== undefined && text !== null) el.textContent = text;
    return el;
  }

  function tableOf(data) {
    var wrap = node("div", "table-wrap tile-table");
    var table = node("table", "data");
    var head = node("tr");
    data.columns.forEach(function (c) { head.appendChild(node("th", "", c)); });
    table.appendChild(node("thead")).appendChild(head);
    var body = node("tbody");
    data.rows.forEach(function (row) {
      var tr = node("tr");
      row.forEach(function (cell, i) { tr.appendChild(node("td", data.numeric[i] ? "num" : "", cell)); });
      body.appendChild(tr);
    });
    table.appendChild(body);
    wrap.appendChild(table);
    return wrap;
  }

  function render(tile, data) {
    var body = tile.querySelector(".tile-body");
    body.textContent = "";
    if (data.error) {
      var box = node("div", "tile-error");
      box.appendChild(node("p", "error", grid.dataset.msgTileFailed));
      box.appendChild(node("p", "muted", data.error.message));
      body.appendChild(box);
    } else {
      if (data.figure) {
        var id = "tile-chart-" + tile.getAttribute("data-tile");
        var chart = node("div", "chart");
        chart.id = id;
        chart.setAttribute("data-figure", id + "-data");
        var source = node("script");
        source.type = "application/json";
        source.id = id + "-data";
        source.textContent = JSON.stringify(data.figure);
        body.appendChild(chart);
        body.appendChild(source);
      }
      if (data.table) body.appendChild(tableOf(data.table));
      if (window.yunying) window.yunying.drawCharts(body);
    }
    tile.setAttribute("data-state", data.error ? "error" : "ready");
    tile.setAttribute("data-computed-at", data.computed_at || "");
    tile.setAttribute("data-computed-time", data.computed_time || "");
    tile.querySelector("[data-computed]").textContent = data.computed_label || "";
    showOldest();
  }

  function showOldest() {
    var target = document.querySelector("[data-computed-all]");
    if (!target) return;
    var oldest = null;
    document.querySelectorAll("[data-tile][data-computed-at]").forEach(function (tile) {
      var at = tile.getAttribute("data-computed-at");
      if (at && (!oldest || at < oldest.getAttribute("data-computed-at"))) oldest = tile;
    });
    target.textContent = oldest ? grid.dataset.msgOldest.replace("{time}",
      oldest.getAttribute("data-computed-time")) : "";
  }

  function load(tile) {
    var src = tile.getAttribute("data-src");
    tile.setAttribute("data-state", "loading");
    tile.classList.add("loading");
    return fetch(src, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok || !body.tile) {
            return { error: (body && body.error) || { message: grid.dataset.msgFailed } };
          }
          return body.tile;
        });
      })
      .catch(function () { return { error: { message: grid.dataset.msgFailed } }; })
      .then(function (data) { tile.classList.remove("loading"); render(tile, data); });
  }

  function toggleTable(tile, button) {
    var on = tile.classList.toggle("show-table");
    button.textContent = on ? grid.dataset.labelChart : grid.dataset.labelTable;
    button.setAttribute("aria-pressed", on ? "true" : "false");
    var chart = tile.querySelector(".chart");
    if (!on && chart && window.Plotly) window.Plotly.Plots.resize(chart);
  }

  if (grid) {
    grid.querySelectorAll("[data-tile]").forEach(function (tile) {
      var embedded = tile.querySelector("script.tile-data");
      if (embedded) render(tile, JSON.parse(embedded.textContent));
      else load(tile);
    });
    grid.addEventListener("click", function (event) {
      var button = event.target.closest("[data-toggle-table]");
      if (button) toggleTable(button.closest("[data-tile]"), button);
    });
  }

  document.querySelectorAll("[data-refresh]").forEach(function (button) {
    button.addEventListener("click", function () {
      if (!grid) return;
      button.disabled = true;
      var tiles = Array.prototype.slice.call(grid.querySelectorAll("[data-tile]"));
      Promise.all(tiles.map(load)).then(function () { button.disabled = false; });
    });
  });

  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var field = document.querySelector("[data-share-link]");
      if (!field) return;
      field.select();
      var done = function () { if (grid) button.textContent = grid.dataset.msgCopied || button.textContent; };
      if (navigator.clipboard) navigator.clipboard.writeText(field.value).then(done, function () {});
      else { document.execCommand("copy"); done(); }
    });
  });
})();
