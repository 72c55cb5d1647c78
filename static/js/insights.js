/* Saved insights and dashboards: draws each tile's chart and number from the JSON the server gives (a chart spec:
   {type: bar|line|heatmap, labels, datasets: [{label, data, axis?}], percent?, markers?}), fetches the answers a
   tile does not have yet, follows the background refresh of stale ones, and saves a drag-and-drop reorder.
   No build step: Chart.js, the markers plugin and SortableJS are vendored and loaded before this file. */
(function () {
  "use strict";
  const COLORS = ["#3b6fd8", "#12805c", "#d97706", "#c2352b", "#7c3aed", "#0891b2", "#be185d", "#4b5563"];
  const lang = document.documentElement.lang || "en";

  function csrf() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }
  function percent(v) { return v == null ? "—" : (v * 100).toFixed(1) + "%"; }
  let skew = 0;  // the server's clock minus this browser's, so "computed 12 min ago" is the server's minutes
  function ago(iso) {
    if (!iso) return "";
    const seconds = Math.min(0, Math.round((new Date(iso).getTime() - Date.now() - skew) / 1000));
    const rtf = new Intl.RelativeTimeFormat(lang, {numeric: "auto"});
    const abs = Math.abs(seconds);
    if (abs < 60) return rtf.format(seconds, "second");
    if (abs < 3600) return rtf.format(Math.round(seconds / 60), "minute");
    if (abs < 86400) return rtf.format(Math.round(seconds / 3600), "hour");
    return rtf.format(Math.round(seconds / 86400), "day");
  }
  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text != null) node.textContent = text;
    return node;
  }

  function heatmap(box, spec) {
    const table = el("table", "heat-table");
    const matrix = spec.matrix || [];
    const max = Math.max(1, ...matrix.flat());
    const head = el("tr");
    head.appendChild(el("th"));
    spec.labels.forEach(function (label, i) { head.appendChild(el("th", "", i % 3 === 0 ? label : "")); });
    table.appendChild(head);
    matrix.forEach(function (row, d) {
      const tr = el("tr");
      tr.appendChild(el("th", "", spec.rows[d]));
      row.forEach(function (count, h) {
        const td = el("td");
        td.title = spec.rows[d] + " " + spec.labels[h] + ":00 — " + count.toLocaleString(lang);
        td.style.background = count ? "rgba(59, 111, 216, " + (0.08 + 0.85 * count / max).toFixed(2) + ")" : "#f1f4f9";
        tr.appendChild(td);
      });
      table.appendChild(tr);
    });
    box.appendChild(table);
  }

  function chart(box, spec) {
    if (!spec) return;
    if (spec.type === "heatmap") { heatmap(box, spec); return; }
    const holder = el("div", "chart-box");
    const canvas = el("canvas");
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", spec.datasets.map(function (d) { return d.label; }).join(", "));
    holder.appendChild(canvas);
    box.appendChild(holder);
    const twoAxes = spec.datasets.some(function (d) { return d.axis === "y2"; });
    const scales = {y: {beginAtZero: true, ticks: spec.percent ? {callback: percent} : {}}};
    if (twoAxes) scales.y2 = {beginAtZero: true, position: "right", grid: {drawOnChartArea: false}};
    /* spec.partial: a note per label ("so far") for the periods not complete, drawn as charts.js draws them */
    const charts = window.OpsCharts;
    const partial = charts && spec.partial && spec.partial.some(Boolean) ? spec.partial : null;
    const tooltip = spec.percent ? {callbacks: {label: function (c) { return c.dataset.label + ": " + percent(c.parsed.y); }}} : {};
    if (partial) tooltip.callbacks = charts.partialTooltip(partial, tooltip.callbacks);
    new Chart(canvas, {
      type: spec.type,
      data: {labels: spec.labels, datasets: spec.datasets.map(function (d, i) {
        const dataset = {label: d.label, data: d.data, yAxisID: d.axis || "y", borderColor: COLORS[i % COLORS.length],
                backgroundColor: spec.type === "bar" ? COLORS[i % COLORS.length] : COLORS[i % COLORS.length] + "22",
                pointRadius: spec.labels.length > 40 ? 0 : 2, tension: 0.2, spanGaps: true};
        if (!partial) return dataset;
        return spec.type === "bar" ? charts.partialBars(dataset, partial) : charts.partialLine(dataset, partial);
      })},
      options: {maintainAspectRatio: false, animation: false, interaction: {mode: "index", intersect: false},
                plugins: {legend: {display: spec.datasets.length > 1, labels: {boxWidth: 10}},
                          tooltip: tooltip,
                          opsMarkers: {markers: spec.markers || []}},
                scales: scales},
      plugins: window.OpsChartMarkers ? [window.OpsChartMarkers] : []
    });
  }

  function number(box, shown) {
    const n = shown.number || {};
    const wrap = el("div", "tile-number");
    if (n.label) wrap.appendChild(el("span", "kpi-label", n.label));
    if (n.items && n.items.length) {
      const items = el("div", "mini-kpis");
      n.items.forEach(function (item) {
        const span = el("span");
        span.appendChild(el("span", "muted small", item.label + " "));
        span.appendChild(el("strong", "", item.display));
        if (item.change != null) span.appendChild(el("span", "delta " + (item.change >= 0 ? "up" : "down"), " " + item.change_display));
        items.appendChild(span);
      });
      wrap.appendChild(items);
    } else {
      const value = el("span", "kpi-value", n.display);
      value.setAttribute("data-testid", "tile-number");
      wrap.appendChild(value);
    }
    if (n.sub) wrap.appendChild(el("span", "kpi-sub", n.sub));
    box.appendChild(wrap);
  }

  function draw(tile, state, result) {
    const body = tile.querySelector(".tile-body");
    const foot = tile.querySelector(".computed");
    body.innerHTML = "";
    if (!result) return;
    if (result.error) {
      body.appendChild(el("p", "tile-error", result.error.message));
      return;
    }
    const shown = result.shown || {};
    if (state.display === "number" || !shown.chart) number(body, shown);
    if (state.display !== "number") chart(body, shown.chart);
    if (foot) {
      foot.textContent = (tile.dataset.computedLabel || "computed") + " " + ago(result.computed_at)
        + (result.stale ? " · " + (tile.dataset.refreshingLabel || "refreshing…") : "");
      foot.dataset.computed = result.computed_at || "";
    }
    tile.dataset.computedAt = result.computed_at || "";
  }

  function fetchResult(grid, tile, state, refresh) {
    const url = grid.result_url.replace("{tile}", state.id) + (refresh ? "?refresh=1" : "");
    tile.classList.add("loading");
    return fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) {
        // a refusal (403: restricted to a segment the reader's role may not see) is drawn as the tile's error
        return r.json().then(function (body) { return r.ok ? body : {error: {message: body.message}}; });
      })
      .then(function (result) { state.result = result; draw(tile, state, result); })
      .finally(function () { tile.classList.remove("loading"); });
  }

  function followRefresh(grid, tiles, tries) {
    if (tries <= 0) return;
    setTimeout(function () {
      fetch(grid.results_url, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (data) {
        let waiting = false;
        data.tiles.forEach(function (state) {
          const tile = tiles[state.id];
          if (!tile || !state.result) return;
          if (state.result.computed_at !== tile.dataset.computedAt) draw(tile, state, state.result);
          if (state.result.stale) waiting = true;
        });
        if (waiting) followRefresh(grid, tiles, tries - 1);
      });
    }, 5000);
  }

  function initGrid(container) {
    const grid = JSON.parse(document.getElementById(container.dataset.grid).textContent);
    if (grid.now) skew = new Date(grid.now).getTime() - Date.now();
    const tiles = {};
    let stale = false;
    grid.tiles.forEach(function (state) {
      const tile = container.querySelector('[data-tile-id="' + state.id + '"]');
      if (!tile) return;
      tiles[state.id] = tile;
      if (!state.readable) return;
      if (state.result) { draw(tile, state, state.result); if (state.result.stale) stale = true; }
      else fetchResult(grid, tile, state, false);
      const refresh = tile.querySelector(".tile-refresh");
      if (refresh) refresh.addEventListener("click", function () { fetchResult(grid, tile, state, true); });
    });
    if (stale) followRefresh(grid, tiles, 12);
    if (container.dataset.sortable && window.Sortable) {
      window.Sortable.create(container, {handle: ".drag-handle", animation: 150, onEnd: function () {
        const order = Array.from(container.querySelectorAll("[data-tile-id]")).map(function (t) { return Number(t.dataset.tileId); });
        fetch(grid.order_url, {method: "POST", credentials: "same-origin",
                               headers: {"Content-Type": "application/json", "X-CSRFToken": csrf()},
                               body: JSON.stringify({tiles: order})})
          .then(function (r) { container.dataset.saved = r.ok ? "1" : "0"; });
      }});
    }
  }

  document.querySelectorAll("[data-grid]").forEach(initGrid);
  document.querySelectorAll("[data-insight-chart]").forEach(function (box) {
    chart(box, JSON.parse(document.getElementById(box.dataset.insightChart).textContent));
  });
  document.querySelectorAll(".computed[data-computed]").forEach(function (node) {
    if (node.dataset.computed && !node.closest("[data-tile-id]")) node.title = node.dataset.computed;
  });
})();
(function () {
  "use strict";
  // "Add to dashboard": the form posts to the chosen dashboard's tiles.
  document.querySelectorAll("form[data-testid=add-to-dashboard]").forEach(function (form) {
    const select = form.querySelector("select[name=dashboard]");
    form.action = select.value;
    select.addEventListener("change", function () { form.action = select.value; });
  });
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) { if (!window.confirm(form.dataset.confirm)) event.preventDefault(); });
  });
})();
