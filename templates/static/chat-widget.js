// The contactcenter chat widget: one <script src="https://hub/chat/widget.js" async></script> on any
// allowed site. No dependencies. Optional attributes on the tag: data-identity and data-identity-hash
// (the site's signed visitor), data-lang. What was sent but not acknowledged is kept in localStorage
// and sent again after a reconnect; the hub drops repeats by client id.
(function () {
  "use strict";
  var CONFIG = /*CONFIG*/{};
  var script = document.currentScript;
  var hub = new URL(script.src);
  var store = "contactcenter-chat:" + hub.host;
  var lang = pickLanguage(script.getAttribute("data-lang") || document.documentElement.lang || navigator.language || "");
  var t = CONFIG.strings[lang];
  var state = load();
  var socket = null, retry = 0, shown = {};

  function pickLanguage(tag) {
    var locales = Object.keys(CONFIG.strings), lower = tag.toLowerCase();
    for (var i = 0; i < locales.length; i++) if (locales[i].toLowerCase() === lower) return locales[i];
    for (i = 0; i < locales.length; i++) if (locales[i].split("-")[0] === lower.split("-")[0]) return locales[i];
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

  var root = el("section", { "class": "cc-chat", "aria-label": t.title, lang: lang });
  var toggle = el("button", { type: "button", "aria-expanded": "false", "class": "cc-chat-toggle" }, t.open);
  var panel = el("div", { "class": "cc-chat-panel", hidden: "" });
  var status = el("p", { "class": "cc-chat-status", role: "status" });
  var log = el("ol", { "class": "cc-chat-log", "aria-live": "polite", "aria-label": t.title });
  var typing = el("p", { "class": "cc-chat-typing", "aria-live": "polite" });
  var prechat = el("form", { "class": "cc-chat-prechat" });
  var name = el("input", { name: "name", autocomplete: "name", required: "", "aria-label": t.name, placeholder: t.name });
  var email = el("input", { name: "email", type: "email", autocomplete: "email", "aria-label": t.email, placeholder: t.email });
  prechat.append(name, email, el("button", { type: "submit" }, t.start));
  var compose = el("form", { "class": "cc-chat-compose", hidden: "" });
  var input = el("textarea", { name: "message", rows: "2", "aria-label": t.message, placeholder: t.message });
  compose.append(input, el("button", { type: "submit" }, t.send));
  panel.append(status, log, typing, prechat, compose);
  root.append(toggle, panel);
  root.style.cssText = "position:fixed;bottom:1em;right:1em;max-width:22em;font:14px sans-serif;background:#fff;z-index:2147483000";
  document.body.appendChild(root);

  toggle.addEventListener("click", function () {
    var open = panel.hidden;
    panel.hidden = !open;
    toggle.setAttribute("aria-expanded", String(open));
    toggle.textContent = open ? t.close : t.open;
    if (open) (compose.hidden ? name : input).focus();
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && !panel.hidden) { toggle.click(); toggle.focus(); }
  });
  prechat.addEventListener("submit", function (event) {
    event.preventDefault();
    state.name = name.value; state.email = email.value; save();
    showCompose(); connect();
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
  input.addEventListener("input", function () { send({ type: "typing" }); });

  function newId() {
    return (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random().toString(16).slice(2));
  }
  function showCompose() { prechat.hidden = true; compose.hidden = false; }
  function show(item) {
    var key = item.id ? "i" + item.id : "c" + item.client_id;
    if (item.client_id && shown["c" + item.client_id]) return;
    if (shown[key]) return;
    shown[key] = true;
    var line = el("li", { "class": "cc-chat-" + item.from });
    line.append(el("strong", {}, (item.from === "agent" ? t.agent : t.you) + ": "), document.createTextNode(item.text));
    log.appendChild(line);
    if (item.from === "agent") typing.textContent = "";
  }
  function send(message) {
    if (socket && socket.readyState === 1) socket.send(JSON.stringify(message));
  }
  function connect() {
    var url = (hub.protocol === "https:" ? "wss://" : "ws://") + hub.host + "/chat/ws";
    socket = new WebSocket(url);
    socket.onopen = function () {
      retry = 0; status.textContent = "";
      socket.send(JSON.stringify({
        type: "hello", token: state.token, name: state.name || "", email: state.email || "", language: lang,
        identity: script.getAttribute("data-identity") || "", identity_hash: script.getAttribute("data-identity-hash") || ""
      }));
    };
    socket.onmessage = function (event) {
      var frame = JSON.parse(event.data);
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
      } else if (frame.type === "error") {
        status.textContent = frame.message;
      }
    };
    socket.onclose = function (event) {
      if (event.code === 1006 && retry > 5) { status.textContent = t.refused; }
      else { status.textContent = t.reconnecting; }
      retry += 1;
      setTimeout(connect, Math.min(250 * retry, 5000));
    };
  }
  if (state.token) { showCompose(); connect(); }
})();
