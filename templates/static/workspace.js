// Live updates. Pages work without this file (they refresh themselves); with
// it, the supervisor's board follows /supervisor/events and the agent's inbox
// shows a "refresh" notice when /agent/events says tickets changed.
// Values go into the page with textContent only, never as markup.
"use strict";
(function () {
  var notice = document.getElementById("inbox-changed");
  if (!notice || !window.EventSource) { return; }
  var inbox = new EventSource(notice.getAttribute("data-events"));
  inbox.addEventListener("changed", function () { notice.hidden = false; });
})();
(function () {
  var board = document.getElementById("board");
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
  function cell(tag, text, className, field) {
    var el = document.createElement(tag);
    el.textContent = text;
    if (className) { el.className = className; }
    if (field) { el.setAttribute("data-field", field); }
    if (tag === "th") { el.setAttribute("scope", "row"); }
    return el;
  }
  function fill(tbody, rows, empty, columns) {
    while (tbody.firstChild) { tbody.removeChild(tbody.firstChild); }
    if (!rows.length) {
      var tr = document.createElement("tr"); var td = cell("td", empty, "muted");
      td.colSpan = columns; tr.appendChild(td); tbody.appendChild(tr); return;
    }
    rows.forEach(function (tr) { tbody.appendChild(tr); });
  }
  function setTotal(name, value) {
    var el = board.querySelector('[data-total="' + name + '"]');
    if (el) { el.textContent = String(value); }
  }
  function render(data) {
    var now = Date.parse(data.at);
    var sums = { waiting: 0, at_risk: 0, breached: 0 };
    var queueRows = data.queues.map(function (q) {
      sums.waiting += q.waiting; sums.at_risk += q.at_risk; sums.breached += q.breached;
      var tr = document.createElement("tr");
      tr.setAttribute("data-queue", String(q.queue_id));
      tr.appendChild(cell("th", q.name));
      tr.appendChild(cell("td", String(q.waiting), "num", "waiting"));
      tr.appendChild(cell("td", duration(q.oldest_wait_seconds), "num", "oldest_wait_seconds"));
      tr.appendChild(cell("td", String(q.at_risk), "num" + (q.at_risk ? " warm" : ""), "at_risk"));
      tr.appendChild(cell("td", String(q.breached), "num" + (q.breached ? " hot" : ""), "breached"));
      tr.appendChild(cell("td", String(q.agents_available), "num", "agents_available"));
      tr.appendChild(cell("td", String(q.agents_busy), "num", "agents_busy"));
      return tr;
    });
    fill(document.getElementById("queue-rows"), queueRows, say("no_queues", {}, "No queues yet."), 7);
    var agentRows = data.agents.map(function (a) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-agent", String(a.id));
      tr.appendChild(cell("th", a.name + (a.role !== "agent" ? " (" + named("roles", a.role) + ")" : "")));
      tr.appendChild(cell("td", named("presences", a.presence) + (a.call_state ? " \u00b7 " + named("call_states", a.call_state) : ""), "p-" + a.presence, "presence"));
      tr.appendChild(cell("td", say("ago", { duration: duration((now - Date.parse(a.presence_since)) / 1000) }, "{duration} ago"), "num", "presence_since"));
      tr.appendChild(cell("td", String(a.open_tickets), "num", "open_tickets"));
      return tr;
    });
    fill(document.getElementById("agent-rows"), agentRows, say("no_agents", {}, "No agents yet."), 4);
    Object.keys(sums).forEach(function (k) { setTotal(k, sums[k]); });
    setTotal("available", data.presence_counts.available || 0);
    Object.keys(data.presence_counts).forEach(function (p) {
      var el = board.querySelector('[data-presence-count="' + p + '"]');
      if (el) { el.textContent = String(data.presence_counts[p]); }
    });
    if (state) { state.textContent = say("live", { time: new Date(now).toLocaleTimeString(document.documentElement.lang || undefined) }, "live \u00b7 updated {time}"); }
  }
  var source = new EventSource(board.getAttribute("data-events"));
  source.addEventListener("board", function (event) { render(JSON.parse(event.data)); });
  source.onerror = function () { if (state) { state.textContent = say("reconnecting", {}, "reconnecting\u2026"); } };
})();
