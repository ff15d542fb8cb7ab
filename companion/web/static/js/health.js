// Dashboard and status: keep the feed badge and the queue depth current (polls /api/v1/status
// every 2 s). The values the page was served with stay when companion does not answer.
(function () {
  "use strict";
  var LABELS = { receiving: "Receiving", connected: "Connected", disconnected: "Not connected", off: "Off" };
  function kind(state) {
    if (state === "receiving" || state === "connected") return "ok";
    return state === "off" ? "off" : "warn";
  }
  function refresh() {
    fetch("/api/v1/status", { headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) {
        if (!s) return;
        document.querySelectorAll('[data-field="feed_state"]').forEach(function (node) {
          var state = s.game_feed.state;
          node.textContent = LABELS[state] || state;
          node.className = "badge badge-" + kind(state);
        });
        document.querySelectorAll('[data-field="queue_depth"]').forEach(function (node) {
          node.textContent = s.queue_depth;
        });
      })
      .catch(function () { /* companion stopped or restarting: keep what is shown */ });
  }
  setInterval(refresh, 2000);
})();
