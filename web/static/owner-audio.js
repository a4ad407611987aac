// The owner's voice on a live call (call page, inbox): Listen, Talk, Hand back, Leave.
// One WebSocket per join (/ws/calls/<id>/owner, token from /calls/<id>/owner-token), 20 ms mu-law
// frames both ways; worklets in /static/owner-worklets.js. The panel's data-state says where it is
// ("idle", "joining", "listening", "talking", "left", "failed") and each change fires "owner-voice".
(() => {
  "use strict";
  const panel = document.getElementById("owner-voice");
  if (!panel) return;
  const callId = panel.dataset.call;
  const say = panel.querySelector(".owner-voice-status");
  const buttons = {
    listen: panel.querySelector("[data-owner=listen]"), talk: panel.querySelector("[data-owner=talk]"),
    handBack: panel.querySelector("[data-owner=hand-back]"), leave: panel.querySelector("[data-owner=leave]"),
  };
  let leg = null;

  function setState(state, text) {
    panel.dataset.state = state;
    say.textContent = text;
    buttons.listen.disabled = !["idle", "left", "failed"].includes(state);
    buttons.talk.disabled = state !== "listening";
    buttons.handBack.disabled = state !== "talking";
    buttons.leave.disabled = !["listening", "talking"].includes(state);
    panel.dispatchEvent(new CustomEvent("owner-voice", { detail: { state } }));
  }

  async function join() {
    setState("joining", "Joining the call…");
    const ctx = new AudioContext({ latencyHint: "interactive" });  // created in the click: allowed to play
    try {
      await ctx.audioWorklet.addModule("/static/owner-worklets.js");
      const reply = await fetch(`/calls/${callId}/owner-token`, { credentials: "same-origin" });
      if (!reply.ok) throw new Error(`token refused (${reply.status})`);
      const { token } = await reply.json();
      const scheme = location.protocol === "https:" ? "wss:" : "ws:";
      const ws = new WebSocket(`${scheme}//${location.host}/ws/calls/${callId}/owner?token=${encodeURIComponent(token)}`);
      ws.binaryType = "arraybuffer";
      const play = new AudioWorkletNode(ctx, "owner-playback", {
        numberOfInputs: 0, outputChannelCount: [1], processorOptions: { targetMs: 60, maxMs: 300 } });
      play.connect(ctx.destination);
      leg = { ctx, ws, play, mic: null, capture: null, heard: 0, peak: 0 };
      window.ownerVoice = leg;  // for people debugging (and tests)
      play.port.onmessage = ({ data }) => {
        if (data.level) {
          leg.heard = data.level.loud; leg.peak = data.level.peak;
          panel.dataset.heard = String(data.level.loud);
          panel.dispatchEvent(new CustomEvent("owner-voice-heard", { detail: data.level }));
        }
      };
      ws.onmessage = ({ data }) => {
        if (data instanceof ArrayBuffer) { play.port.postMessage(data, [data]); return; }
        const m = JSON.parse(data);
        if (m.command === "FLUSH_MEDIA") play.port.postMessage({ cmd: "flush" });
        else if (m.event === "STATE") setState(m.talking ? "talking" : "listening",
          m.talking ? "You have the call. The agent is muted and listening." : "Listening. The agent has the call.");
        else if (m.event === "ERROR") say.textContent = m.error_text;
      };
      ws.onclose = () => { stop(); if (panel.dataset.state !== "failed") setState("left", "You left the call."); };
      ws.onerror = () => setState("failed", "Could not join the call.");
    } catch (err) {
      await ctx.close();
      setState("failed", `Could not join the call: ${err.message}`);
    }
  }

  async function microphone() {
    if (leg.mic) return;
    leg.mic = await navigator.mediaDevices.getUserMedia({ audio: {
      channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true } });
    leg.capture = new AudioWorkletNode(leg.ctx, "owner-capture", { numberOfOutputs: 0 });
    leg.capture.port.onmessage = ({ data }) => { if (leg && leg.ws.readyState === WebSocket.OPEN) leg.ws.send(data.buf); };
    leg.ctx.createMediaStreamSource(leg.mic).connect(leg.capture);
  }

  function command(name) { if (leg && leg.ws.readyState === WebSocket.OPEN) leg.ws.send(JSON.stringify({ command: name })); }

  function stop() {
    if (!leg) return;
    if (leg.mic) leg.mic.getTracks().forEach((t) => t.stop());
    leg.ctx.close();
    leg = null;
  }

  buttons.listen.addEventListener("click", join);
  buttons.talk.addEventListener("click", async () => {
    try { await microphone(); } catch (err) { say.textContent = `No microphone: ${err.message}`; return; }
    command("TALK");
  });
  buttons.handBack.addEventListener("click", () => command("HAND_BACK"));
  buttons.leave.addEventListener("click", () => { command("LEAVE"); });
  if (!window.isSecureContext || !window.AudioWorkletNode) {
    setState("failed", "Joining by voice needs https (or localhost) and a current browser.");
  } else setState("idle", "Not connected.");
})();
