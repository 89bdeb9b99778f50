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

  function duration(seconds) {
    if (seconds === null || seconds === undefined) { return "\u2013"; }
    seconds = Math.max(0, Math.floor(seconds));
    if (seconds < 60) { return seconds + "s"; }
    var minutes = Math.floor(seconds / 60);
    if (minutes < 60) { return minutes + "m"; }
    var hours = Math.floor(minutes / 60); minutes = minutes % 60;
    if (hours < 24) { return hours + "h " + (minutes < 10 ? "0" : "") + minutes + "m"; }
    return Math.floor(hours / 24) + "d " + (hours % 24) + "h";
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
    fill(document.getElementById("queue-rows"), queueRows, "No queues yet.", 7);
    var agentRows = data.agents.map(function (a) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-agent", String(a.id));
      tr.appendChild(cell("th", a.name + (a.role !== "agent" ? " (" + a.role + ")" : "")));
      var calls = { on_call: "on a call", wrap_up: "wrap-up" };
      tr.appendChild(cell("td", a.presence + (a.call_state ? " \u00b7 " + calls[a.call_state] : ""), "p-" + a.presence, "presence"));
      tr.appendChild(cell("td", duration((now - Date.parse(a.presence_since)) / 1000) + " ago", "num", "presence_since"));
      tr.appendChild(cell("td", String(a.open_tickets), "num", "open_tickets"));
      return tr;
    });
    fill(document.getElementById("agent-rows"), agentRows, "No agents yet.", 4);
    Object.keys(sums).forEach(function (k) { setTotal(k, sums[k]); });
    setTotal("available", data.presence_counts.available || 0);
    Object.keys(data.presence_counts).forEach(function (p) {
      var el = board.querySelector('[data-presence-count="' + p + '"]');
      if (el) { el.textContent = String(data.presence_counts[p]); }
    });
    if (state) { state.textContent = "live \u00b7 updated " + new Date(now).toLocaleTimeString(); }
  }
  var source = new EventSource(board.getAttribute("data-events"));
  source.addEventListener("board", function (event) { render(JSON.parse(event.data)); });
  source.onerror = function () { if (state) { state.textContent = "reconnecting\u2026"; } };
})();
