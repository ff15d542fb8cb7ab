// Dashboard and overlay: the live score, polled from /api/v1/live?since=<version> twice a second
// (an empty 204 while nothing changed, so it stays under a second behind the game), and the
// current session from /api/v1/sessions/current when a match starts or ends (and every 15 s,
// since a session also ends by the clock). Without JavaScript the page shows what it was
// served with.
(function () {
  "use strict";
  var live = document.querySelector("[data-live-url]");
  if (!live) return;
  var sessionBox = document.querySelector("[data-session-url]");
  var version = live.dataset.version || "";
  var busy = false;
  var shownKey = live.dataset.key || "";  // which match is on the board, and is it live

  function fields(name) { return document.querySelectorAll('[data-field="' + name + '"]'); }
  function set(name, value) { fields(name).forEach(function (n) { n.textContent = value; }); }
  function num(v) { return v === null || v === undefined ? "—" : String(Math.round(v * 100) / 100); }
  function streak(v) {
    if (!v) return "none";
    var n = Math.abs(v);
    return v > 0 ? n + (n > 1 ? " wins" : " win") : n + (n > 1 ? " losses" : " loss");
  }
  function arena(name) {  // as the pages word it (render.arena): "Stadium_P" is "Stadium"
    if (!name) return "unknown arena";
    var words = name.replace(/_[Pp]$/, "").replace(/_/g, " ").trim();
    return words ? words.charAt(0).toUpperCase() + words.slice(1) : name;
  }
  function show(selector, on) {
    document.querySelectorAll(selector).forEach(function (n) { n.hidden = !on; });
  }

  function cell(tag, text, cls) {
    var node = document.createElement(tag);
    node.textContent = text;
    if (cls) node.className = cls;
    return node;
  }

  function drawBoard(board) {
    var m = board.match;
    show(".live-body", !!m);
    show(".live-empty", !m);
    show('[data-slot="overlay-live"]', !!(m && board.live));
    if (!m) return;
    var teams = m.teams || [];
    set("blue", teams[0] && teams[0].score !== null ? teams[0].score : 0);
    set("orange", teams[1] && teams[1].score !== null ? teams[1].score : 0);
    fields("live-label").forEach(function (n) {
      n.textContent = board.live ? "Live" : "Last match";
      n.className = "badge " + (board.live ? "badge-live" : "badge-off");
    });
    set("live-what", (m.mode || "") + " · " + arena(m.arena));
    fields("live-link").forEach(function (n) { n.href = "/matches/" + m.id; });
    fields("live-players").forEach(function (body) {
      var rows = document.createDocumentFragment();
      (m.players || []).forEach(function (p) {
        var tr = document.createElement("tr");
        tr.className = "team-row-" + p.team + (p.is_me ? " is-me" : "");
        var name = cell("th", p.name);
        name.scope = "row";
        if (p.is_me) { name.appendChild(document.createTextNode(" ")); name.appendChild(cell("span", "me", "tag")); }
        tr.appendChild(name);
        ["score", "goals", "assists", "saves", "shots"].forEach(function (k) { tr.appendChild(cell("td", p[k], "num")); });
        rows.appendChild(tr);
      });
      body.replaceChildren(rows);
    });
  }

  function drawSession(s) {
    show(".session-body", s.games > 0);
    show(".session-empty", !s.games);
    ["games", "wins", "losses", "best_win_streak"].forEach(function (k) { set(k, s[k]); });
    ["goals_per_game", "saves_per_game", "shots_per_game"].forEach(function (k) { set(k, num(s[k])); });
    fields("streak").forEach(function (n) {
      n.textContent = streak(s.streak);
      n.classList.remove("streak-up", "streak-down", "streak-none");
      n.classList.add(s.streak > 0 ? "streak-up" : s.streak < 0 ? "streak-down" : "streak-none");
    });
  }

  function refreshSession() {
    if (!sessionBox) return;
    fetch(sessionBox.dataset.sessionUrl, { cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) { if (s) drawSession(s); })
      .catch(function () {});
  }

  function poll() {
    if (busy) return;
    busy = true;
    var url = live.dataset.liveUrl + (version !== "" ? "?since=" + encodeURIComponent(version) : "");
    fetch(url, { cache: "no-store" })
      .then(function (r) { return r.status === 200 ? r.json() : null; })
      .then(function (board) {
        if (!board) return;
        version = String(board.version);
        drawBoard(board);
        var key = (board.match ? board.match.id : "none") + ":" + board.live;
        if (key !== shownKey) refreshSession();
        shownKey = key;
      })
      .catch(function () { /* companion stopped or restarting: keep what is shown */ })
      .then(function () { busy = false; });
  }
  setInterval(poll, 500);
  setInterval(refreshSession, 15000);  // a session also ends by the clock (the gap passing)
})();
