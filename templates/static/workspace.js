// Live updates. Pages work without this file (they refresh themselves); with
// it, the supervisor's board and the wallboard follow /supervisor/events, and
// the agent's inbox fetches itself again when /agent/events says tickets
// changed. Values go into the page with textContent only, never as markup;
// the inbox swaps in nodes parsed from its own page, as the server escaped them.
"use strict";
(function () {
  // EventSource reconnects by itself after a dropped connection, but gives up
  // for good on an error answer (say, a restart mid-request); a wall screen
  // runs all day, so a closed stream is opened again after a pause.
  function follow(url, handlers, onState) {
    var source = null;
    function open() {
      source = new EventSource(url);
      Object.keys(handlers).forEach(function (name) {
        source.addEventListener(name, function (event) { onState(true); handlers[name](event); });
      });
      source.onerror = function () {
        onState(false);
        if (source.readyState === EventSource.CLOSED) { source.close(); setTimeout(open, 5000); }
      };
    }
    open();
  }
  window.ccFollow = follow;
})();
(function () {
  var notice = document.getElementById("inbox-changed");
  if (!notice || !window.EventSource) { return; }
  var busy = false;
  function refresh() {
    if (busy) { return; }
    busy = true;
    fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) { if (!response.ok) { throw new Error(String(response.status)); } return response.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-live]").forEach(function (old) {
          var replacement = fresh.querySelector('[data-live="' + old.getAttribute("data-live") + '"]');
          if (replacement) { old.replaceWith(document.importNode(replacement, true)); }
        });
        notice.hidden = true;
      })
      .catch(function () { notice.hidden = false; })
      .then(function () { busy = false; });
  }
  window.ccFollow(notice.getAttribute("data-events"), { changed: refresh }, function () {});
})();
(function () {
  var board = document.getElementById("board") || document.getElementById("wallboard");
  if (!board || !window.EventSource) { return; }
  var state = document.getElementById("live-state");
  // The page's words in the reader's language (data-labels, written by the server).
  var labels = JSON.parse(board.getAttribute("data-labels") || "{}");
  function say(key, values, fallback) {
    var text = labels[key] || fallback;
    Object.keys(values || {}).forEach(function (name) { text = text.split("{" + name + "}").join(String(values[name])); });
    return text;
  }
  function named(kind, value) { return (labels[kind] && labels[kind][value]) || value; }

  function duration(seconds) {
    if (seconds === null || seconds === undefined) { return "\u2013"; }
    seconds = Math.max(0, Math.floor(seconds));
    if (seconds < 60) { return say("seconds", { seconds: seconds }, "{seconds}s"); }
    var minutes = Math.floor(seconds / 60);
    if (minutes < 60) { return say("minutes", { minutes: minutes }, "{minutes}m"); }
    var hours = Math.floor(minutes / 60); minutes = minutes % 60;
    if (hours < 24) { return say("hours", { hours: hours, minutes: (minutes < 10 ? "0" : "") + minutes }, "{hours}h {minutes}m"); }
    return say("days", { days: Math.floor(hours / 24), hours: hours % 24 }, "{days}d {hours}h");
  }
  function set(row, field, text, hot) {
    var el = row.querySelector('[data-field="' + field + '"]');
    if (!el) { return; }
    el.textContent = text;
    if (hot !== undefined) { el.classList.toggle(hot[0], hot[1]); }
  }
  function setTotal(name, value) {
    var el = board.querySelector('[data-total="' + name + '"]');
    if (el) { el.textContent = String(value); }
  }
  function render(data) {
    var now = Date.parse(data.at);
    var sums = { waiting: 0, at_risk: 0, breached: 0 };
    var missing = false;
    data.queues.forEach(function (q) {
      sums.waiting += q.waiting; sums.at_risk += q.at_risk; sums.breached += q.breached;
      var row = board.querySelector('tr[data-queue="' + q.queue_id + '"]');
      if (!row) { missing = true; return; }
      set(row, "waiting", String(q.waiting));
      set(row, "oldest_wait_seconds", duration(q.oldest_wait_seconds));
      set(row, "at_risk", String(q.at_risk), ["warm", q.at_risk > 0]);
      set(row, "breached", String(q.breached), ["hot", q.breached > 0]);
      set(row, "agents_available", String(q.agents_available));
      set(row, "agents_busy", String(q.agents_busy));
    });
    data.agents.forEach(function (a) {
      var row = board.querySelector('tr[data-agent="' + a.id + '"]');
      if (!row) { missing = !!document.getElementById("agent-rows"); return; }
      var presence = row.querySelector('[data-field="presence"]');
      if (presence) { presence.className = "p-" + a.presence; }
      set(row, "presence", named("presences", a.presence) + (a.call_state ? " \u00b7 " + named("call_states", a.call_state) : ""));
      set(row, "presence_since", say("ago", { duration: duration((now - Date.parse(a.presence_since)) / 1000) }, "{duration} ago"));
      set(row, "open_tickets", String(a.open_tickets));
    });
    Object.keys(sums).forEach(function (k) { setTotal(k, sums[k]); });
    setTotal("available", data.presence_counts.available || 0);
    Object.keys(data.presence_counts).forEach(function (p) {
      var el = board.querySelector('[data-presence-count="' + p + '"]');
      if (el) { el.textContent = String(data.presence_counts[p]); }
    });
    if (state) { state.textContent = say("live", { time: new Date(now).toLocaleTimeString(document.documentElement.lang || undefined) }, "live \u00b7 updated {time}"); state.classList.remove("lost"); }
    // A queue or a person new since the page was drawn: draw it again.
    if (missing) { window.location.reload(); }
  }
  window.ccFollow(board.getAttribute("data-events"), {
    board: function (event) { render(JSON.parse(event.data)); }
  }, function (ok) { if (!ok && state) { state.textContent = say("reconnecting", {}, "reconnecting\u2026"); state.classList.add("lost"); } });
})();
