// Status page: keeps the counters current and draws the queue chart (uPlot), polling
// /api/v1/status every second. Without JavaScript the page still shows the values it was served with.
(function () {
  "use strict";
  var el = document.getElementById("queue-chart");
  if (!el || typeof uPlot === "undefined") return;

  var WINDOW_S = 120;
  var url = el.dataset.statusUrl;
  var now = Date.now() / 1000;
  var data = [[now], [Number(el.dataset.queueDepth)], [0], [0]];
  var last = { t: now, accepted: Number(el.dataset.acceptedTotal), applied: Number(el.dataset.appliedTotal) };
  var styles = getComputedStyle(document.documentElement);
  function color(name) { return styles.getPropertyValue(name).trim(); }
  var axis = { stroke: color("--muted"), grid: { stroke: color("--border"), width: 1 }, ticks: { stroke: color("--border"), width: 1 } };

  function size() { return { width: Math.max(el.clientWidth, 200), height: 240 }; }
  // Times as the other pages show them: 24-hour clock, year-month-day.
  function fmtDate(tpl) {
    return uPlot.fmtDate(tpl.replace(/\{h\}/g, "{HH}").replace(/\{aa\}/g, "")
      .replace("{M}/{D}/{YY}", "{YYYY}-{MM}-{DD}").replace("{M}/{D}", "{MM}-{DD}"));
  }
  var opts = Object.assign(size(), {
    fmtDate: fmtDate,
    cursor: { drag: { x: false, y: false } },
    // A sliding window ending now, so the first few points do not stretch across the whole axis.
    scales: { x: { time: true, range: function () { var t = Date.now() / 1000; return [t - WINDOW_S, t]; } }, y: { range: function (u, min, max) { return [0, Math.max(5, max * 1.1)]; } } },
    axes: [Object.assign({}, axis), Object.assign({ size: 56 }, axis)],
    series: [
      {},
      { label: "Waiting", stroke: color("--accent"), width: 2, fill: "rgba(92,184,255,0.12)" },
      { label: "Accepted/s", stroke: color("--orange"), width: 1.5 },
      { label: "Applied/s", stroke: color("--ok"), width: 1.5 },
    ],
  });
  var chart = new uPlot(opts, data, el);
  window.addEventListener("resize", function () { chart.setSize(size()); });

  function setField(name, value) {
    document.querySelectorAll('[data-field="' + name + '"]').forEach(function (node) { node.textContent = value; });
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function localTime(iso) {
    if (!iso) return "never";
    var d = new Date(iso);
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " +
      pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
  }
  function duration(seconds) {  // as the page words it (render.human_duration)
    var t = Math.floor(seconds), d = Math.floor(t / 86400), h = Math.floor(t % 86400 / 3600);
    var m = Math.floor(t % 3600 / 60), s = t % 60;
    if (d) return d + " d " + h + " h";
    if (h) return h + " h " + m + " min";
    return m ? m + " min " + s + " s" : s + " s";
  }

  function tick() {
    fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) {
        if (!s) return;
        var t = Date.now() / 1000;
        var dt = Math.max(t - last.t, 0.001);
        data[0].push(t);
        data[1].push(s.queue_depth);
        data[2].push(Math.max(0, (s.accepted_total - last.accepted) / dt));
        data[3].push(Math.max(0, (s.applied_total - last.applied) / dt));
        last = { t: t, accepted: s.accepted_total, applied: s.applied_total };
        while (data[0].length > 2 && data[0][0] < t - WINDOW_S) data.forEach(function (col) { col.shift(); });
        chart.setData(data);
        setField("accepted_total", s.accepted_total);
        setField("applied_total", s.applied_total);
        setField("duplicates_total", s.duplicates_total);
        setField("paused", s.paused ? "paused" : "running");
        setField("feed_messages", s.game_feed.messages);
        setField("feed_rate", Number(s.game_feed.messages_per_s).toFixed(1));
        setField("feed_last", localTime(s.game_feed.last_message_at));
        setField("last_applied", localTime(s.last_applied_at));
        setField("uptime", duration(s.uptime_s));
      })
      .catch(function () { /* companion stopped or restarting: try again on the next tick */ });
  }
  setInterval(tick, 1000);
})();
