// Draws the dashboard's charts from the JSON the page carries (no inline script).
(function () {
  var data = JSON.parse(document.getElementById("chart-data").textContent);
  var colors = ["#3b6ea5", "#e07a3f", "#4f9d69", "#c44e52", "#8172b2", "#937860", "#da8bc3", "#8c8c8c"];
  document.querySelectorAll("canvas[data-key]").forEach(function (canvas) {
    var series = data[canvas.dataset.key];
    var kind = canvas.dataset.kind;
    if (!series.values.some(function (v) { return v > 0; })) {
      canvas.hidden = true;
      canvas.nextElementSibling.hidden = false;
      canvas.dataset.rendered = "0";
      return;
    }
    var chart = new Chart(canvas, {
      type: kind === "hbar" ? "bar" : kind,
      data: {
        labels: series.labels,
        datasets: [{ data: series.values, backgroundColor: kind === "line" ? "rgba(59,110,165,0.15)" : colors,
                     borderColor: "#3b6ea5", fill: kind === "line", tension: 0.25 }]
      },
      options: { indexAxis: kind === "hbar" ? "y" : "x", animation: false, responsive: true, maintainAspectRatio: false,
                 plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } }, x: { ticks: { precision: 0 } } } }
    });
    canvas.dataset.rendered = String(series.values.reduce(function (a, b) { return a + b; }, 0));
    window.consoleCharts = (window.consoleCharts || []).concat([chart]);
  });
})();
