// Trends: draws the page's table as uPlot charts (numbers on hover in the legend; the table
// below keeps them all). Data come from the same rows, in the charts' data-rows attribute.
(function () {
  "use strict";
  var box = document.getElementById("trend-charts");
  if (!box || typeof uPlot === "undefined") return;
  var rows = JSON.parse(box.dataset.rows);
  var styles = getComputedStyle(document.documentElement);
  function color(name) { return styles.getPropertyValue(name).trim(); }
  var axis = { stroke: color("--muted"), grid: { stroke: color("--border"), width: 1 }, ticks: { stroke: color("--border"), width: 1 } };
  // Local midnight of each day (or Monday), as seconds: the x axis is time.
  var xs = rows.map(function (r) {
    var p = r.period.split("-");
    return new Date(Number(p[0]), Number(p[1]) - 1, Number(p[2])).getTime() / 1000;
  });
  function col(key, scale) {
    return rows.map(function (r) { return r[key] === null ? null : r[key] * (scale || 1); });
  }
  function fmtDate(tpl) {
    return uPlot.fmtDate(tpl.replace(/\{h\}/g, "{HH}").replace(/\{aa\}/g, "")
      .replace("{M}/{D}/{YY}", "{YYYY}-{MM}-{DD}").replace("{M}/{D}", "{MM}-{DD}"));
  }
  var one = rows.length < 2;
  function line(label, stroke, unit) {
    return {
      label: label, stroke: stroke, width: 2, spanGaps: true,
      points: { show: true, size: one ? 10 : 6, fill: stroke },
      value: function (u, v) { return v === null ? "—" : (Math.round(v * 100) / 100) + (unit || ""); },
    };
  }
  var charts = {
    win_rate: [[col("win_rate", 100)], [line("Win rate", color("--ok"), "%")], [0, 100]],
    per_game: [
      [col("goals_per_game"), col("shots_per_game"), col("saves_per_game")],
      [line("Goals", color("--accent")), line("Shots", color("--orange")), line("Saves", color("--warn"))],
      null,
    ],
    shooting_pct: [[col("shooting_pct")], [line("Shooting", color("--blue"), "%")], [0, 100]],
    games: [[col("games")], [Object.assign(line("Games", color("--muted")), { fill: "rgba(159,176,192,0.15)" })], null],
  };
  var made = [];
  box.querySelectorAll("[data-chart]").forEach(function (el) {
    var spec = charts[el.dataset.chart];
    if (!spec) return;
    var yRange = spec[2];
    var pad = one ? 86400 * 3 : 0;
    var opts = {
      width: Math.max(el.clientWidth, 200),
      height: 220,
      fmtDate: fmtDate,
      cursor: { drag: { x: false, y: false } },
      scales: {
        x: { time: true, range: function (u, min, max) { return [min - pad, max + pad]; } },
        y: { range: function (u, min, max) { return yRange || [0, Math.max(1, (max || 0) * 1.15)]; } },
      },
      axes: [Object.assign({}, axis), Object.assign({ size: 48 }, axis)],
      series: [{ value: function (u, v) { return v === null ? "—" : uPlot.fmtDate("{YYYY}-{MM}-{DD}")(new Date(v * 1000)); } }].concat(spec[1]),
    };
    made.push([el, new uPlot(opts, [xs].concat(spec[0]), el)]);
  });
  window.addEventListener("resize", function () {
    made.forEach(function (pair) { pair[1].setSize({ width: Math.max(pair[0].clientWidth, 200), height: 220 }); });
  });
})();
