// Settings page: saves through PATCH /api/v1/settings (JSON) and shows the answer in place.
// Without JavaScript the form posts to /settings instead; both need the dashboard session.
(function () {
  "use strict";
  var form = document.getElementById("settings-form");
  var area = document.getElementById("settings-message");
  if (!form || !window.fetch) return;

  function currentValue(input) {
    return input.type === "checkbox" ? String(input.checked) : input.value;
  }

  function say(kind, text) {
    area.innerHTML = "";
    var p = document.createElement("p");
    p.className = "alert alert-" + kind;
    p.textContent = text;
    area.appendChild(p);
  }

  function clearErrors() {
    form.querySelectorAll(".field-error").forEach(function (node) { node.hidden = true; node.textContent = ""; });
    form.querySelectorAll("[aria-invalid]").forEach(function (node) { node.removeAttribute("aria-invalid"); });
    form.querySelectorAll(".setting.has-error").forEach(function (node) { node.classList.remove("has-error"); });
  }

  function showError(field, problem) {
    var input = document.getElementById("setting-" + field);
    var note = document.getElementById("setting-" + field + "-error");
    if (!input || !note) return false;
    input.setAttribute("aria-invalid", "true");
    input.closest(".setting").classList.add("has-error");
    note.textContent = problem;
    note.hidden = false;
    return true;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    clearErrors();
    var changes = {};
    form.querySelectorAll("[data-initial]").forEach(function (input) {
      if (input.disabled) return;
      var value = currentValue(input);
      if (value === input.dataset.initial) return;
      if (input.type === "number") value = value === "" ? value : Number(value);
      if (input.type === "checkbox") value = input.checked;
      changes[input.name] = value;
    });
    if (Object.keys(changes).length === 0) { say("ok", "Nothing to save: no setting was changed."); return; }
    fetch("/api/v1/settings", {
      method: "PATCH",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      credentials: "same-origin",
      body: JSON.stringify(changes),
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    }).then(function (answer) {
      if (!answer.ok) {
        var err = answer.body.error || {};
        var problems = Array.isArray(err.details) ? err.details : [];
        problems.forEach(function (item) { showError(item.field, item.problem); });
        say("error", "Nothing was saved: " + (err.message || "companion refused the change") + ".");
        var first = form.querySelector('[aria-invalid="true"]');
        if (first) first.focus();
        return;
      }
      answer.body.settings.forEach(function (item) {
        var input = document.getElementById("setting-" + item.name);
        if (input) input.dataset.initial = String(item.value);
      });
      answer.body.changed.forEach(function (name) {
        var badge = form.querySelector('[data-origin="' + name + '"]');
        if (badge) badge.textContent = "from config.toml";
      });
      var text = "Saved: " + answer.body.changed.join(", ") + ".";
      if (answer.body.restart_required.length) {
        text += " Restart companion for " + answer.body.restart_required.join(", ") + " to take effect.";
      }
      say("ok", text);
    }).catch(function () {
      say("error", "companion did not answer; is it still running?");
    });
  });
})();
