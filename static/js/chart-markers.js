/* A Chart.js plugin drawing dated markers (launches …) as dashed vertical lines with a short label.
   Use: new Chart(canvas, {..., options: {plugins: {opsMarkers: {markers: [{date: "2026-11-03", label: "REQ-7"}]}}},
                           plugins: [OpsChartMarkers]}); the chart's labels must be ISO dates. */
window.OpsChartMarkers = {
  id: "opsMarkers",
  afterDatasetsDraw(chart, args, options) {
    const markers = (options && options.markers) || [];
    const labels = chart.data.labels || [];
    const {top, bottom} = chart.chartArea;
    const ctx = chart.ctx;
    markers.forEach(function (marker, n) {
      const index = labels.indexOf(marker.date);
      if (index < 0) return;
      const x = chart.scales.x.getPixelForValue(index);
      ctx.save();
      ctx.strokeStyle = "#c2352b"; ctx.fillStyle = "#c2352b"; ctx.setLineDash([4, 4]); ctx.lineWidth = 1;
      ctx.beginPath(); ctx.moveTo(x, top); ctx.lineTo(x, bottom); ctx.stroke();
      ctx.font = "11px system-ui, sans-serif";
      ctx.fillText(String(marker.label).slice(0, 24), x + 3, top + 10 + (n % 3) * 12);
      ctx.restore();
    });
  }
};
