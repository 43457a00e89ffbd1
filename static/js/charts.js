// Draws every <canvas data-chart="ID"> from the JSON block #ID (written by includes/chart.html).
// The table beside each chart holds the same numbers, so nothing is lost without JavaScript.
(function () {
  "use strict";
  function draw() {
    if (!window.Chart) return;
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      if (canvas.dataset.rendered) return;
      const source = document.getElementById(canvas.dataset.chart);
      if (!source) return;
      const config = JSON.parse(source.textContent);
      const percent = config.unit === "%";
      new window.Chart(canvas, {
        type: config.type,
        data: { labels: config.labels, datasets: config.datasets },
        options: {
          responsive: true,
          maintainAspectRatio: false,
          animation: false,
          spanGaps: false,
          plugins: { legend: { display: config.datasets.length > 1 } },
          scales: { y: { beginAtZero: true, suggestedMax: percent ? 100 : undefined } },
        },
      });
      canvas.dataset.rendered = "true";
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
