// The browser softphone: Twilio's Voice JavaScript SDK (our own copy, served
// from /static/vendor/), signed in with a short-lived Access Token the hub
// mints for this agent only (GET /api/v1/agents/<id>/voice-token). While it is
// on, it tells the hub every minute (POST /agent/softphone), so calls ring here
// instead of the agent's phone; closing the page says goodbye.
// Texts come from the page (translated there); values go in with textContent only.
"use strict";
(function () {
  var box = document.getElementById("softphone");
  if (!box) { return; }
  var status = document.getElementById("softphone-status");
  var start = document.getElementById("softphone-start");
  var answer = document.getElementById("softphone-answer");
  var reject = document.getElementById("softphone-reject");
  var hangup = document.getElementById("softphone-hangup");
  var device = null, call = null, heartbeat = null;

  function say(name, detail) { status.textContent = box.getAttribute("data-msg-" + name) + (detail ? " " + detail : ""); }
  function show(el, on) { el.hidden = !on; }
  function form(state) {
    var body = new FormData();
    body.append("csrf_token", box.getAttribute("data-csrf"));
    body.append("state", state);
    return body;
  }
  function tell(state) {
    return fetch(box.getAttribute("data-heartbeat-url"), { method: "POST", body: new URLSearchParams(form(state)), credentials: "same-origin" });
  }
  function token() {
    return fetch(box.getAttribute("data-token-url"), { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) { throw new Error(String(r.status)); }
      return r.json();
    }).then(function (body) { return body.token; });
  }
  function ended() {
    call = null;
    [answer, reject, hangup].forEach(function (el) { show(el, false); });
    say("on");
  }

  start.addEventListener("click", function () {
    if (!window.Twilio || !window.Twilio.Device) { say("error", "SDK"); return; }
    say("starting");
    token().then(function (t) {
      device = new window.Twilio.Device(t, { closeProtection: true, codecPreferences: ["opus", "pcmu"] });
      // Twilio's default ring tones come from its CDN; this page rings with its buttons instead.
      if (device.audio) { device.audio.incoming(false); device.audio.outgoing(false); device.audio.disconnect(false); }
      device.on("registered", function () {
        say("on"); show(start, false); tell("open");
        heartbeat = window.setInterval(function () { tell("open"); }, 60000);
      });
      device.on("unregistered", function () { say("off"); show(start, true); if (heartbeat) { window.clearInterval(heartbeat); } tell("closed"); });
      device.on("error", function (e) { say("error", e && e.message ? e.message : ""); });
      device.on("tokenWillExpire", function () { token().then(function (fresh) { device.updateToken(fresh); }); });
      device.on("incoming", function (incoming) {
        call = incoming; say("ringing"); show(answer, true); show(reject, true);
        incoming.on("disconnect", ended); incoming.on("cancel", ended); incoming.on("reject", ended);
      });
      return device.register();
    }).catch(function (e) { say("error", e && e.message ? e.message : ""); });
  });
  answer.addEventListener("click", function () {
    if (!call) { return; }
    call.accept(); show(answer, false); show(reject, false); show(hangup, true); say("oncall");
  });
  reject.addEventListener("click", function () { if (call) { call.reject(); } ended(); });
  hangup.addEventListener("click", function () { if (call) { call.disconnect(); } });
  window.addEventListener("pagehide", function () {
    if (device && navigator.sendBeacon) { navigator.sendBeacon(box.getAttribute("data-heartbeat-url"), new URLSearchParams(form("closed"))); }
  });
})();
