/* Every chart of the site, drawn from data the page puts in JSON elements (Django's json_script), so that pages
   carry no inline script and a Content-Security-Policy without 'unsafe-inline' scripts can apply.

   A chart is <canvas data-chart="KIND" data-source="ID" …>: KIND names a renderer below, ID the json_script element
   holding its data; other data-* attributes carry the page's translated labels. Loaded after Chart.js and
   chart-markers.js (launch markers: OpsChartMarkers) at the end of the body, it draws every such canvas.

   Partial periods: a time series may carry "partial": [null | "note", …] aligned with its labels. A point with a
   note is a period that is not complete (today, this week so far) or that the range cuts: its bar is lighter and
   hatched, its line segment dashed and its point hollow, and its tooltip adds the note (translated by the server,
   e.g. "so far"). */
(function () {
  "use strict";

  const PALETTE = ["#3b6fd8", "#12805c", "#b7791f", "#8e44ad", "#c2352b", "#2c7a7b", "#d53f8c", "#718096", "#4a5568"];
  const BASE = {maintainAspectRatio: false, animation: false};

  function readJson(id) {
    const element = id && document.getElementById(id);
    return element ? JSON.parse(element.textContent) : null;
  }

  /* The colour mixed with white: amount 0 → the colour, 1 → white. */
  function lighter(hex, amount) {
    const value = parseInt(hex.slice(1), 16);
    const mix = function (channel) { return Math.round(channel + (255 - channel) * amount); };
    return "rgb(" + mix(value >> 16) + "," + mix((value >> 8) & 255) + "," + mix(value & 255) + ")";
  }

  /* A lighter fill with diagonal stripes of the colour: the bar of a period not complete. */
  function hatch(color) {
    const tile = document.createElement("canvas");
    tile.width = tile.height = 8;
    const ctx = tile.getContext("2d");
    ctx.fillStyle = lighter(color, 0.7);
    ctx.fillRect(0, 0, 8, 8);
    ctx.strokeStyle = color;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    ctx.moveTo(0, 8); ctx.lineTo(8, 0); ctx.moveTo(-2, 2); ctx.lineTo(2, -2); ctx.moveTo(6, 10); ctx.lineTo(10, 6);
    ctx.stroke();
    return ctx.createPattern(tile, "repeat");
  }

  function isPartial(partial, index) { return Boolean(partial && partial[index]); }

  /* Bars of the periods with a note hatched and lighter. */
  function partialBars(dataset, partial) {
    if (!partial || !partial.some(Boolean)) return dataset;
    const color = dataset.backgroundColor;
    const striped = hatch(color);
    return Object.assign(dataset, {
      backgroundColor: dataset.data.map(function (_, i) { return isPartial(partial, i) ? striped : color; }),
      borderColor: dataset.data.map(function (_, i) { return isPartial(partial, i) ? color : "transparent"; }),
      borderWidth: dataset.data.map(function (_, i) { return isPartial(partial, i) ? 1 : 0; }),
      borderDash: [4, 3],
    });
  }

  /* The segment into a period with a note dashed, its point hollow. */
  function partialLine(dataset, partial) {
    if (!partial || !partial.some(Boolean)) return dataset;
    const radius = dataset.pointRadius === undefined ? 3 : dataset.pointRadius;
    return Object.assign(dataset, {
      segment: {borderDash: function (ctx) { return isPartial(partial, ctx.p1DataIndex) ? [6, 4] : undefined; }},
      pointRadius: dataset.data.map(function (_, i) { return isPartial(partial, i) ? Math.max(radius, 3) : radius; }),
      pointBackgroundColor: dataset.data.map(function (_, i) {
        return isPartial(partial, i) ? "#ffffff" : dataset.borderColor;
      }),
      pointBorderColor: dataset.borderColor,
    });
  }

  /* Tooltip callbacks adding a period's note ("so far") under its value. */
  function partialTooltip(partial, callbacks) {
    return Object.assign({}, callbacks, {
      afterLabel: function (ctx) {
        const before = callbacks && callbacks.afterLabel ? callbacks.afterLabel(ctx) : "";
        const note = partial && partial[ctx.dataIndex];
        return [before, note ? "(" + note + ")" : ""].filter(Boolean).join("\n");
      },
    });
  }

  /* Options shared by the time series: markers (launches), partial periods in the tooltip, no legend for one set. */
  function seriesOptions(data, extra) {
    const options = Object.assign({}, BASE, extra || {});
    options.plugins = Object.assign({legend: {display: false}}, options.plugins || {});
    options.plugins.tooltip = {callbacks: partialTooltip(data.partial)};
    options.plugins.opsMarkers = {markers: data.markers || []};
    options.scales = Object.assign({y: {beginAtZero: true}}, options.scales || {});
    return options;
  }

  function withMarkers(config) {
    config.plugins = (config.plugins || []).concat(window.OpsChartMarkers ? [window.OpsChartMarkers] : []);
    return config;
  }

  const renderers = {
    /* Home page: events per day, today so far. */
    "events-per-day": function (canvas, data) {
      return withMarkers({type: "bar",
        data: {labels: data.labels, datasets: [partialBars(
          {label: canvas.dataset.label, data: data.values, backgroundColor: PALETTE[0]}, data.partial)]},
        options: seriesOptions(data)});
    },

    /* AARRR overview: one line per stage (data-stage), the last day or week so far. */
    "aarrr-stage": function (canvas, data) {
      const colours = {acquisition: "#3b6fd8", activation: "#12805c", retention: "#b7791f", revenue: "#8e44ad",
                       referral: "#c2352b"};
      const stage = data.stages.find(function (s) { return s.key === canvas.dataset.stage; });
      if (!stage) return null;
      const colour = colours[stage.key];
      const bars = data.interval === "week";
      const dataset = {label: stage.label, data: stage.values, borderColor: colour, backgroundColor: colour,
                       pointRadius: bars ? 2 : 0, tension: 0.25};
      return withMarkers({type: "line",
        data: {labels: data.labels, datasets: [partialLine(dataset, data.partial)]},
        options: seriesOptions(data, {scales: {x: {ticks: {maxTicksLimit: 6}}, y: {beginAtZero: true}}})});
    },

    /* Funnel: customers at each step, the conversion from the previous step above each bar. */
    "funnel": function (canvas, steps) {
      const fromPrevious = canvas.dataset.fromPrevious || "";
      const percent = function (i) { return (steps[i].conversion_from_previous * 100).toFixed(1) + "%"; };
      return {type: "bar",
        data: {labels: steps.map(function (s, i) { return (i + 1) + ". " + s.event; }),
               datasets: [{label: canvas.dataset.label, data: steps.map(function (s) { return s.count; }),
                           backgroundColor: PALETTE[0]}]},
        options: Object.assign({}, BASE, {layout: {padding: {top: 22}}, scales: {y: {beginAtZero: true}},
          plugins: {legend: {display: false}, tooltip: {callbacks: {afterLabel: function (ctx) {
            return ctx.dataIndex ? percent(ctx.dataIndex) + " " + fromPrevious : "";
          }}}}}),
        plugins: [{id: "conversionLabels", afterDatasetsDraw: function (chart) {
          const ctx = chart.ctx, meta = chart.getDatasetMeta(0);
          ctx.save(); ctx.fillStyle = "#1d2433"; ctx.font = "12px system-ui, sans-serif"; ctx.textAlign = "center";
          meta.data.forEach(function (bar, i) {
            ctx.fillText(i ? percent(i) : steps[i].count.toLocaleString(), bar.x, bar.y - 6);
          });
          ctx.restore();
        }}]};
    },

    /* Retention: the weighted average share retained per period (%), complete periods only (null: a gap). */
    "retention-curve": function (canvas, data) {
      return {type: "line",
        data: {labels: data.labels, datasets: [{label: canvas.dataset.label, data: data.values,
                                                borderColor: PALETTE[0], backgroundColor: PALETTE[0], tension: 0.2,
                                                pointRadius: 3, spanGaps: false}]},
        options: Object.assign({}, BASE, {scales: {y: {beginAtZero: true, suggestedMax: 100,
                                                       ticks: {callback: function (v) { return v + "%"; }}}},
          plugins: {legend: {display: false}, tooltip: {callbacks: {
            label: function (ctx) { return ctx.dataset.label + ": " + ctx.parsed.y.toFixed(1) + "%"; },
            afterLabel: function (ctx) {
              const n = data.customers && data.customers[ctx.dataIndex];
              return n ? "n = " + n.toLocaleString() : "";
            }}}}})};
    },

    /* Goal page: the value against the even pace, launches marked. */
    "goal-history": function (canvas, data) {
      return withMarkers({type: "line", data: {labels: data.days, datasets: [
        {label: data.labels.value, data: data.value, borderColor: PALETTE[0], backgroundColor: PALETTE[0],
         tension: 0.15, spanGaps: true},
        {label: data.labels.expected, data: data.expected, borderColor: "#98a2b3", borderDash: [6, 4], pointRadius: 0}]},
        options: Object.assign({}, BASE, {scales: {y: {beginAtZero: true}},
                                          plugins: {opsMarkers: {markers: data.markers || []}}})});
    },

    /* Referral: K-factor per month (x) and referrer channel (one bar per channel); the month in progress hatched. */
    "referral-k": function (canvas, rows) {
      const months = [], channels = [], names = {};
      rows.forEach(function (r) {
        if (months.indexOf(r.month) < 0) months.push(r.month);
        if (channels.indexOf(r.channel) < 0) channels.push(r.channel);
        names[r.channel] = r.channel_label || r.channel;  // the label in the reader's language (core/labels.py)
      });
      const partial = months.map(function (m) {
        const row = rows.find(function (r) { return r.month === m && r.partial; });
        return row ? row.partial : null;
      });
      return {type: "bar",
        data: {labels: months, datasets: channels.map(function (c, i) {
          return partialBars({label: names[c], backgroundColor: PALETTE[i % PALETTE.length], data: months.map(function (m) {
            return (rows.find(function (r) { return r.month === m && r.channel === c; }) || {}).k_factor || 0;
          })}, partial);
        })},
        options: Object.assign({}, BASE, {scales: {y: {beginAtZero: true}},
                                          plugins: {tooltip: {callbacks: partialTooltip(partial)}}})};
    },

    /* Customers overview: customers per life-cycle stage. */
    "customer-stages": function (canvas, rows) {
      return {type: "bar",
        data: {labels: rows.map(function (r) { return r.label; }),
               datasets: [{data: rows.map(function (r) { return r.customers; }), backgroundColor: PALETTE[0]}]},
        options: Object.assign({}, BASE, {plugins: {legend: {display: false}}, scales: {y: {beginAtZero: true}}})};
    },

    /* Life cycle: customers per stage per day, stacked. */
    "lifecycle": function (canvas, data) {
      const colours = {new: "#3b6fd8", activated: "#12805c", active: "#2e9e6a", at_risk: "#b7791f",
                       churned: "#c2352b", resurrected: "#8e44ad"};
      return {type: "bar",
        data: {labels: data.dates, datasets: Object.keys(data.stages).map(function (s) {
          return {label: data.labels[s] || s, data: data.stages[s], backgroundColor: colours[s]};
        })},
        options: Object.assign({}, BASE, {scales: {x: {stacked: true}, y: {stacked: true, beginAtZero: true}}})};
    },

    /* Channels: cumulative revenue per customer by days since the first visit, one line per channel; day d counts
       only the customers whose day d is over (null after the last such day: the line stops). */
    "channel-cohorts": function (canvas, rows) {
      rows = rows.filter(function (r) { return r.curve && r.curve.length; });
      return {type: "line",
        data: {labels: Array.from({length: Math.max.apply(null, [0].concat(rows.map(function (r) { return r.curve.length; })))},
                                  function (_, i) { return i + 1; }),
               datasets: rows.map(function (r, i) {
                 return {label: r.channel_label || r.channel, data: r.curve, borderColor: PALETTE[i % PALETTE.length], pointRadius: 0,
                         tension: 0.2, spanGaps: false};
               })},
        options: Object.assign({}, BASE, {scales: {x: {ticks: {maxTicksLimit: 10}}, y: {beginAtZero: true}}})};
    },

    /* Coupon campaign: redemptions by days since the code was issued. */
    "coupon-days": function (canvas, rows) {
      return {type: "bar",
        data: {labels: rows.map(function (r) { return r.days; }),
               datasets: [{data: rows.map(function (r) { return r.redeemed; }), backgroundColor: PALETTE[1]}]},
        options: Object.assign({}, BASE, {plugins: {legend: {display: false}}, scales: {y: {beginAtZero: true}}})};
    },

    /* Segment: its stored size per day. */
    "segment-sizes": function (canvas, rows) {
      return {type: "line",
        data: {labels: rows.map(function (r) { return r.date; }),
               datasets: [{data: rows.map(function (r) { return r.size; }), borderColor: PALETTE[0], pointRadius: 2}]},
        options: Object.assign({}, BASE, {plugins: {legend: {display: false}}, scales: {y: {beginAtZero: true}}})};
    },

    /* Ticket: the measured metric per day around the launch, the launch marked. */
    "launch-impact": function (canvas, data) {
      /* data.windows: each window's headline value over its days (the same measure, drawn as a level). */
      var datasets = [partialLine({label: data.label, data: data.values, borderColor: PALETTE[0], tension: 0.2,
                                   spanGaps: true}, data.partial)];
      if (data.windows) {
        datasets.push({label: data.window_label || "window", data: data.windows, borderColor: PALETTE[1],
                       borderDash: [6, 4], pointRadius: 0, stepped: true, spanGaps: false, fill: false});
      }
      return withMarkers({type: "line",
        data: {labels: data.labels, datasets: datasets},
        options: seriesOptions(data, {plugins: {legend: {display: true}, opsMarkers: {markers: data.launch ? [
          {date: data.launch, label: canvas.dataset.launchLabel || "launch"}] : []}}})});
    },

    /* Merchant tiers: merchants per tier. */
    "merchant-tiers": function (canvas, data) {
      return {type: "bar",
        data: {labels: data.labels, datasets: [{label: data.label, data: data.counts,
                                                backgroundColor: ["#2f9e6e", "#d69e2e", "#8a94a6", "#c2352b"]}]},
        options: Object.assign({}, BASE, {plugins: {legend: {display: false}}, scales: {y: {beginAtZero: true}}})};
    },

    /* Merchant page: daily orders (data.partial_days marks today) … */
    "merchant-orders": function (canvas, data) {
      return {type: "bar",
        data: {labels: data.days, datasets: [partialBars({label: data.labels.orders, data: data.orders,
                                                          backgroundColor: PALETTE[0]}, data.partial_days)]},
        options: Object.assign({}, BASE, {scales: {y: {beginAtZero: true}},
                                          plugins: {tooltip: {callbacks: partialTooltip(data.partial_days)}}})};
    },

    /* … and the weekly health score (data.partial_weeks marks the week so far). */
    "merchant-health": function (canvas, data) {
      return {type: "line",
        data: {labels: data.weeks, datasets: [partialLine({label: data.labels.health, data: data.health,
                                                           borderColor: "#2f9e6e", tension: 0.2}, data.partial_weeks)]},
        options: Object.assign({}, BASE, {scales: {y: {beginAtZero: true, max: 100}},
                                          plugins: {tooltip: {callbacks: partialTooltip(data.partial_weeks)}}})};
    },
    /* Trends: a line or bars per series, partial periods marked. A previous-range series comes after the current
       ones in the same order: it takes its current series' colour, lighter and dashed, so each pair reads as one. */
    "trends": function (canvas, data) {
      const bars = data.type === "bar";
      const current = data.datasets.filter(function (d) { return !d.compare; }).length;
      const datasets = data.datasets.map(function (d, i) {
        const colour = d.compare ? lighter(PALETTE[(i - current) % PALETTE.length], 0.45)
                                 : PALETTE[i % PALETTE.length];
        const dataset = {label: d.label, data: d.values, borderColor: colour, backgroundColor: colour,
                         pointRadius: 2, tension: 0.2, spanGaps: false};
        if (d.compare) dataset.borderDash = [2, 3];
        return bars ? partialBars(dataset, d.partial) : partialLine(dataset, d.partial);
      });
      const first = data.datasets.length ? data.datasets[0].partial : null;
      return {type: bars ? "bar" : "line", data: {labels: data.labels, datasets: datasets},
              options: Object.assign({}, BASE, {scales: {y: {beginAtZero: true}, x: {ticks: {maxTicksLimit: 12}}},
                                                plugins: {legend: {display: datasets.length > 1},
                                                          tooltip: {callbacks: partialTooltip(first)}}})};
    },
  };

  function draw(canvas) {
    const render = renderers[canvas.dataset.chart];
    const data = readJson(canvas.dataset.source);
    if (!render || data === null || window.Chart === undefined) return null;
    const config = render(canvas, data);
    return config ? new window.Chart(canvas, config) : null;
  }

  function drawAll() {
    document.querySelectorAll("canvas[data-chart]").forEach(draw);
  }

  window.OpsCharts = {draw: draw, renderers: renderers, hatch: hatch, partialBars: partialBars,
                      partialLine: partialLine, partialTooltip: partialTooltip};
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
