// Live updates. Pages work without this file (forms post, pages refresh
// themselves); with it, the inbox and the ticket page follow the hub's events
// and the supervisor's board and the wallboard follow /supervisor/events.
// Values go into the page with textContent only; HTML comes only from our own
// server, rendered by the same templates as the page (autoescaped).
// Other scripts (the voice helper's softphone.js) can listen for the
// "cc:ticket-event" event on document to act on the same stream.
"use strict";
function ccFetchDocument(url) {
  return fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } }).then(function (response) {
    if (!response.ok) { throw new Error("HTTP " + response.status); }
    return response.text();
  }).then(function (html) { return new DOMParser().parseFromString(html, "text/html"); });
}
function ccReplace(doc, id) {
  var fresh = doc.getElementById(id), old = document.getElementById(id);
  if (fresh && old) { old.replaceWith(document.importNode(fresh, true)); }
}
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
  var busy = false, again = false;
  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    ccFetchDocument(window.location.href).then(function (doc) {
      ccReplace(doc, "inbox-lists");
    }).catch(function () { notice.hidden = false; }).then(function () {
      busy = false;
      if (again) { again = false; refresh(); }
    });
  }
  var inbox = new EventSource(notice.getAttribute("data-events"));
  inbox.addEventListener("changed", refresh);
  inbox.addEventListener("open", refresh);  // what changed while the page loaded or the stream was away
})();
(function () {
  var bar = document.getElementById("viewers");
  if (!bar || !window.EventSource) { return; }
  var list = document.getElementById("timeline-items");
  var csrf = document.querySelector("input[name=csrf_token]");
  var viewers = [], typing = {}, customerTyping = 0;
  function lastId() {
    var items = list.querySelectorAll("li.item");
    return items.length ? items[items.length - 1].getAttribute("data-id") : "0";
  }
  function showViewers() {
    var now = Date.now(), parts = [];
    var watching = viewers.filter(function (v) { return !(typing[v.agent_id] > now); }).map(function (v) { return v.name; });
    Object.keys(typing).forEach(function (id) {
      if (typing[id] > now) { parts.push(bar.getAttribute("data-replying").replace("{name}", typing[id + ":name"])); }
    });
    if (watching.length) { parts.unshift(bar.getAttribute("data-viewing").replace("{names}", watching.join(", "))); }
    if (customerTyping > now) { parts.unshift(bar.getAttribute("data-customer-typing")); }
    bar.textContent = parts.join(" \u00b7 ");
  }
  function fetchItems(query) {
    return ccFetchDocument(bar.getAttribute("data-timeline") + "?" + query).then(function (doc) {
      return Array.prototype.slice.call(doc.querySelectorAll("li.item"));
    });
  }
  var loading = false, pending = false;
  function loadNewer() {
    if (loading) { pending = true; return; }
    loading = true;
    fetchItems("after=" + encodeURIComponent(lastId())).then(function (items) {
      var nearEnd = window.innerHeight + window.scrollY >= document.body.scrollHeight - 200;
      items.forEach(function (item) {
        var old = document.getElementById(item.id);
        var node = document.importNode(item, true);
        node.classList.add("fresh");
        if (old) { old.replaceWith(node); } else { list.appendChild(node); }
      });
      if (items.length && nearEnd) { list.lastElementChild.scrollIntoView({ block: "nearest" }); }
    }).catch(function () {}).then(function () {
      loading = false;
      if (pending) { pending = false; loadNewer(); }
    });
  }
  function reloadItems(ids) {
    var shown = ids.filter(function (id) { return document.getElementById("i" + id); });
    if (!shown.length) { return; }
    fetchItems("ids=" + shown.join(",")).then(function (items) {
      items.forEach(function (item) {
        var old = document.getElementById(item.id);
        if (old) { old.replaceWith(document.importNode(item, true)); }
      });
    }).catch(function () {});
  }
  function reloadTicket() {
    ccFetchDocument(window.location.pathname).then(function (doc) {
      ["ticket-head", "ticket-facts", "customer-card"].forEach(function (id) { ccReplace(doc, id); });
      csrf = document.querySelector("input[name=csrf_token]");
    }).catch(function () {});
  }
  function relay(name, data) {
    document.dispatchEvent(new CustomEvent("cc:ticket-event", { detail: { name: name, data: data } }));
  }
  var source = new EventSource(bar.getAttribute("data-events"));
  source.addEventListener("timeline", function () {
    loadNewer(); relay("timeline", {});
    if (customerTyping) { customerTyping = 0; showViewers(); }  // what they were typing has arrived
  });
  source.addEventListener("delivery", function (e) { reloadItems(JSON.parse(e.data).interaction_ids); });
  source.addEventListener("ticket", function () { reloadTicket(); relay("ticket", {}); });
  source.addEventListener("viewers", function (e) { viewers = JSON.parse(e.data).viewers; showViewers(); });
  source.addEventListener("typing", function (e) {
    var data = JSON.parse(e.data);
    typing[data.agent_id] = Date.now() + 6000; typing[data.agent_id + ":name"] = data.name;
    showViewers();
    window.setTimeout(showViewers, 6100);
  });
  source.addEventListener("customer_typing", function () {
    // The chat widget's visitor is writing (relayed by the hub at most every 2 s; shown for 6 s).
    customerTyping = Date.now() + 6000;
    showViewers();
    window.setTimeout(showViewers, 6100);
  });
  source.addEventListener("open", function () {
    // After (re)connecting: what came meanwhile, and the fate of replies still on their way.
    loadNewer();
    var waiting = list.querySelectorAll("[data-delivery=queued], [data-delivery=retrying], [data-delivery=sending]");
    reloadItems(Array.prototype.map.call(waiting, function (el) { return el.closest("li.item").getAttribute("data-id"); }));
  });

  var reply = document.getElementById("reply-text"), lastTyping = 0;
  if (reply && csrf) {
    reply.addEventListener("input", function () {
      var now = Date.now();
      if (now - lastTyping < 2500) { return; }
      lastTyping = now;
      fetch(bar.getAttribute("data-typing"), { method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrf.value } }).catch(function () {});
    });
  }
  document.addEventListener("click", function (e) {
    var link = e.target.closest && e.target.closest("#timeline-older a");
    if (!link) { return; }
    e.preventDefault();
    ccFetchDocument(bar.getAttribute("data-timeline") + "?before=" + encodeURIComponent(link.getAttribute("data-before"))).then(function (doc) {
      var first = list.firstElementChild;
      Array.prototype.forEach.call(doc.querySelectorAll("li.item"), function (item) {
        list.insertBefore(document.importNode(item, true), first);
      });
      var next = doc.getElementById("timeline-older"), current = document.getElementById("timeline-older");
      if (next) { current.replaceWith(document.importNode(next, true)); } else { current.remove(); }
    }).catch(function () { window.location.href = link.href; });
  });

  var macros = document.getElementById("macro-select");
  if (macros && reply) {
    macros.addEventListener("change", function () {
      if (!macros.value) { return; }
      fetch(macros.getAttribute("data-macros") + encodeURIComponent(macros.value), { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (body) {
          if (typeof body.text === "string") {
            reply.value = reply.value ? reply.value + "\n" + body.text : body.text;
            reply.focus();
          }
          macros.value = "";
        }).catch(function () {});
    });
  }
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
