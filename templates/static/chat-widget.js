// The contactcenter chat widget: one <script src="https://hub/chat/widget.js" async></script> on any
// allowed site. No dependencies. Optional attributes on the tag: data-identity and data-identity-hash
// (the site's signed visitor), data-lang. What was sent but not acknowledged is kept in localStorage
// and sent again after a reconnect; the hub drops repeats by client id. Where a WebSocket cannot be
// opened (none in the browser, or blocked on the way) the widget talks over server-sent events plus
// POST instead, with the same frames.
(function () {
  "use strict";
  var CONFIG = /*CONFIG*/{};
  var script = document.currentScript;
  var hub = new URL(script.src);
  var store = "contactcenter-chat:" + hub.host;
  var lang = pickLanguage(script.getAttribute("data-lang") || document.documentElement.lang || navigator.language || "");
  var t = CONFIG.strings[lang];
  var state = load();
  var mode = window.WebSocket ? "ws" : "sse";
  var socket = null, stream = null, retry = 0, failedOpens = 0, shown = {}, lastTyping = 0, typingTimer = 0;
  var posting = Promise.resolve();

  function pickLanguage(tag) {
    var locales = Object.keys(CONFIG.strings), lower = tag.toLowerCase();
    for (var i = 0; i < locales.length; i++) if (locales[i].toLowerCase() === lower) return locales[i];
    for (i = 0; i < locales.length; i++) if (locales[i].split("-")[0].toLowerCase() === lower.split("-")[0]) return locales[i];
    return CONFIG["default"];
  }
  function load() {
    try { return JSON.parse(localStorage.getItem(store)) || { token: "", pending: [] }; }
    catch (e) { return { token: "", pending: [] }; }
  }
  function save() { localStorage.setItem(store, JSON.stringify(state)); }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var k in attrs) node.setAttribute(k, attrs[k]);
    if (text) node.textContent = text;
    return node;
  }
  function labelled(id, text, field) {
    var label = el("label", { "for": id, "class": "cc-chat-sr" }, text);
    field.id = id;
    return [label, field];
  }

  // -- the widget's markup: every control labelled, the conversation a polite live region ------------
  var root = el("section", { "class": "cc-chat", "aria-label": t.title, lang: lang });
  var toggle = el("button", { type: "button", "aria-expanded": "false", "aria-controls": "cc-chat-panel", "class": "cc-chat-toggle" }, t.open);
  var panel = el("div", { "class": "cc-chat-panel", id: "cc-chat-panel", hidden: "" });
  var status = el("p", { "class": "cc-chat-status", role: "status", "aria-live": "polite" });
  var log = el("ol", { "class": "cc-chat-log", role: "log", "aria-live": "polite", "aria-label": t.messages, tabindex: "0" });
  var typing = el("p", { "class": "cc-chat-typing", "aria-live": "polite" });
  var prechat = el("form", { "class": "cc-chat-prechat" });
  var name = el("input", { name: "name", autocomplete: "name", required: "", placeholder: t.name });
  var email = el("input", { name: "email", type: "email", autocomplete: "email", placeholder: t.email });
  prechat.append.apply(prechat, labelled("cc-chat-name", t.name, name).concat(labelled("cc-chat-email", t.email, email)));
  prechat.append(el("button", { type: "submit" }, t.start));
  var compose = el("form", { "class": "cc-chat-compose", hidden: "" });
  var input = el("textarea", { name: "message", rows: "2", placeholder: t.message });
  var file = el("input", { type: "file", name: "file", "class": "cc-chat-file" });
  var end = el("button", { type: "button", "class": "cc-chat-end" }, t.end);
  compose.append.apply(compose, labelled("cc-chat-message", t.message, input));
  compose.append(el("button", { type: "submit" }, t.send));
  compose.append.apply(compose, labelled("cc-chat-file", t.attach, file));
  compose.append(end);
  panel.append(status, log, typing, prechat, compose);
  root.append(toggle, panel);
  var style = el("style", {}, ".cc-chat-sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}" +
    ".cc-chat button:focus,.cc-chat input:focus,.cc-chat textarea:focus,.cc-chat-log:focus{outline:2px solid #1a4fd6;outline-offset:1px}");
  root.append(style);
  root.style.cssText = "position:fixed;bottom:1em;right:1em;max-width:22em;font:14px sans-serif;background:#fff;z-index:2147483000";
  document.body.appendChild(root);

  toggle.addEventListener("click", function () {
    var open = panel.hidden;
    panel.hidden = !open;
    toggle.setAttribute("aria-expanded", String(open));
    toggle.textContent = open ? t.close : t.open;
    if (open) (compose.hidden ? name : input).focus();
  });
  root.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && !panel.hidden) { toggle.click(); toggle.focus(); }
  });
  prechat.addEventListener("submit", function (event) {
    event.preventDefault();
    state.name = name.value; state.email = email.value; save();
    showCompose(); input.focus(); connect();
  });
  compose.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    var message = { type: "message", client_id: newId(), text: text };
    state.pending.push(message); save();
    show({ from: "visitor", text: text, client_id: message.client_id });
    send(message);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); compose.requestSubmit(); }
  });
  input.addEventListener("input", function () {
    var now = Date.now();  // at most one typing signal every few seconds
    if (now - lastTyping < CONFIG.typing_seconds * 1000) return;
    lastTyping = now;
    send({ type: "typing" });
  });
  end.addEventListener("click", function () { send({ type: "end" }); });
  file.addEventListener("change", function () {
    Array.prototype.forEach.call(file.files, upload);
    file.value = "";
  });

  function newId() {
    return (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random().toString(16).slice(2));
  }
  function showCompose() { prechat.hidden = true; compose.hidden = false; }
  function show(item) {
    var key = item.id ? "i" + item.id : "c" + item.client_id;
    if (item.client_id && shown["c" + item.client_id]) return;
    if (shown[key]) return;
    shown[key] = true;
    if (item.client_id) shown["c" + item.client_id] = true;
    var line = el("li", { "class": "cc-chat-" + item.from });
    line.append(el("strong", {}, (item.from === "agent" ? t.agent : t.you) + ": "), document.createTextNode(item.text || ""));
    (item.files || []).forEach(function (name) {
      line.append(el("span", { "class": "cc-chat-attachment" }, " " + t.attached.replace("{name}", name)));
    });
    log.appendChild(line);
    if (item.from === "agent") typing.textContent = "";
  }
  function hubUrl(path) { return hub.protocol + "//" + hub.host + path; }

  // -- receiving: the same frames on either transport --------------------------------------------------
  function receive(frame) {
    if (frame.type === "welcome") {
      state.token = frame.token; save();
      frame.history.forEach(show);
      status.textContent = frame.available ? "" : t.offline;
      state.pending.forEach(send);  // not acknowledged before the connection dropped
    } else if (frame.type === "ack") {
      state.token = frame.token;
      state.pending = state.pending.filter(function (m) { return m.client_id !== frame.client_id; });
      save();
      if (frame.offline) status.textContent = t.offline;
    } else if (frame.type === "message") {
      show(frame);
    } else if (frame.type === "typing") {
      typing.textContent = t.typing;
      clearTimeout(typingTimer);
      typingTimer = setTimeout(function () { typing.textContent = ""; }, 6000);
    } else if (frame.type === "ended") {
      state.token = frame.token; save();
      typing.textContent = "";
      status.textContent = (frame.by === "agent" ? t.ended_by_agent : t.ended) + " " + t.new_chat;
      if (frame.survey) {
        var link = el("a", { href: hubUrl(frame.survey), target: "_blank", rel: "noopener", "class": "cc-chat-survey" }, t.survey);
        var item = el("li", { "class": "cc-chat-ended" });
        item.append(link);
        log.appendChild(item);
      }
    } else if (frame.type === "error") {
      status.textContent = frame.message;
    }
  }

  // -- sending -------------------------------------------------------------------------------------------
  function send(frame) {
    if (mode === "ws") {
      if (socket && socket.readyState === 1) socket.send(JSON.stringify(frame));
    } else if (state.token) {
      post(frame);
    }
  }
  function post(frame) {
    // One request at a time, in order, as frames on a socket would be. text/plain: no CORS preflight.
    posting = posting.then(function () {
      var body = JSON.stringify(Object.assign({}, frame, { token: state.token }));
      return fetch(hubUrl("/chat/messages"), { method: "POST", headers: { "Content-Type": "text/plain" }, body: body })
        .then(function (response) { if (!response.ok) throw new Error(String(response.status)); return response.json(); })
        .then(function (answer) { answer.frames.forEach(receive); return true; });
    }).catch(function () {
      // Kept in state.pending: sent again once the stream is back (welcome).
      status.textContent = t.reconnecting;
      reconnectStream();
      return false;
    });
    return posting;
  }
  function upload(chosen) {
    if (chosen.size > CONFIG.max_attachment_bytes) { status.textContent = t.too_large; return; }
    var clientId = newId(), form = new FormData();
    form.append("token", state.token); form.append("client_id", clientId); form.append("file", chosen, chosen.name);
    show({ from: "visitor", text: "", files: [chosen.name], client_id: clientId });
    fetch(hubUrl("/chat/attachments"), { method: "POST", body: form })
      .then(function (response) {
        return response.json().then(function (answer) {
          if (!response.ok) { status.textContent = answer.error ? answer.error.message : t.too_large; return; }
          answer.frames.forEach(receive);
        });
      })
      .catch(function () { status.textContent = t.reconnecting; });
  }

  // -- connecting: a WebSocket, else server-sent events ------------------------------------------------
  function connect() {
    if (mode === "sse") return connectStream();
    var url = (hub.protocol === "https:" ? "wss://" : "ws://") + hub.host + "/chat/ws", opened = false;
    try { socket = new WebSocket(url); } catch (e) { mode = "sse"; return connectStream(); }
    socket.onopen = function () {
      opened = true; retry = 0; failedOpens = 0; status.textContent = "";
      socket.send(JSON.stringify({
        type: "hello", token: state.token, name: state.name || "", email: state.email || "", language: lang,
        identity: script.getAttribute("data-identity") || "", identity_hash: script.getAttribute("data-identity-hash") || ""
      }));
    };
    socket.onmessage = function (event) { receive(JSON.parse(event.data)); };
    socket.onclose = function () {
      status.textContent = t.reconnecting;
      retry += 1;
      if (!opened && ++failedOpens >= 2) { mode = "sse"; }  // blocked on the way: the fallback
      setTimeout(connect, Math.min(250 * retry, 5000));
    };
  }
  function connectStream() {
    if (stream) { stream.close(); stream = null; }
    if (!state.token) {
      // The hello goes by POST: its answer is the token the stream is opened with.
      var hello = {
        type: "hello", name: state.name || "", email: state.email || "", language: lang,
        identity: script.getAttribute("data-identity") || "", identity_hash: script.getAttribute("data-identity-hash") || ""
      };
      fetch(hubUrl("/chat/messages"), { method: "POST", headers: { "Content-Type": "text/plain" }, body: JSON.stringify(hello) })
        .then(function (response) { if (!response.ok) throw new Error(String(response.status)); return response.json(); })
        .then(function (answer) {
          answer.frames.forEach(function (frame) { if (frame.type === "welcome") { state.token = frame.token; save(); } else { receive(frame); } });
          if (state.token) openStream(); else throw new Error("no token");
        })
        .catch(function () { status.textContent = t.reconnecting; retry += 1; setTimeout(connectStream, Math.min(250 * retry, 5000)); });
      return;
    }
    openStream();
  }
  function openStream() {
    var source = stream = new EventSource(hubUrl("/chat/events?token=" + encodeURIComponent(state.token)));
    source.onopen = function () { retry = 0; status.textContent = ""; };
    source.onmessage = function (event) { receive(JSON.parse(event.data)); };
    source.onerror = function () {
      if (stream !== source) return;
      source.close(); stream = null;  // opened again by hand: with the newest token
      status.textContent = t.reconnecting;
      retry += 1;
      setTimeout(function () { if (!stream) connectStream(); }, Math.min(250 * retry, 5000));
    };
  }
  function reconnectStream() {
    if (mode !== "sse" || !stream) return;
    stream.close(); stream = null;
    retry += 1;
    setTimeout(function () { if (!stream) connectStream(); }, Math.min(250 * retry, 5000));
  }
  if (state.token) { showCompose(); connect(); }
})();
