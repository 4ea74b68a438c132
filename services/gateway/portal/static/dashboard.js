/* The SAC dashboard's charts: ECharts draws each chart from the JSON beside it; the table below each
   chart stays, and is what a browser without JavaScript (or a screen reader) reads. */
(function () {
  function draw() {
    if (typeof echarts === "undefined") { return; }
    document.querySelectorAll("[data-chart]").forEach(function (box) {
      var source = document.getElementById(box.getAttribute("data-chart"));
      if (!source) { return; }
      var rows = JSON.parse(source.textContent);
      box.hidden = false;
      var chart = echarts.init(box, null, { renderer: "svg" });
      chart.setOption({
        animation: false,
        grid: { left: 8, right: 24, top: 16, bottom: 8, containLabel: true },
        tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
        xAxis: { type: "value", minInterval: 1, axisLabel: { color: "#0b0c0c" } },
        yAxis: { type: "category", inverse: true, data: rows.map(function (r) { return r[0]; }),
                 axisLabel: { color: "#0b0c0c", fontSize: 14 } },
        series: [{ type: "bar", data: rows.map(function (r) { return r[1]; }), itemStyle: { color: "#1d5a9b" },
                   label: { show: true, position: "right", color: "#0b0c0c" }, barMaxWidth: 28 }]
      });
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
