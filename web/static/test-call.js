// A test call: the agent calls the owner's browser (/ws/test-calls/<id>). Microphone in, agent out,
// 20 ms mu-law frames both ways through the worklets of /static/owner-worklets.js. The panel's
// data-state is "idle", "connecting", "connected", "ended" or "failed"; each change fires "test-call".
// When it is over the server says why ({"event": "ENDED", "detail": ...}) before it closes the socket.
(() => {
  "use strict";
  const panel = document.getElementById("test-call");
  if (!panel) return;
  const callId = panel.dataset.call;
  const say = panel.querySelector(".test-call-status"), keys = panel.querySelector(".test-call-keys");
  const start = panel.querySelector("[data-test=start]"), end = panel.querySelector("[data-test=end]");
  let leg = null, endedBecause = "";

  function setState(state, text) {
    panel.dataset.state = state; say.textContent = text;
    start.disabled = true; end.disabled = state !== "connected";
    for (const key of panel.querySelectorAll("[data-key]")) key.disabled = state !== "connected";
    panel.dispatchEvent(new CustomEvent("test-call", { detail: { state } }));
  }

  async function begin() {
    setState("connecting", "Connecting…");
    const ctx = new AudioContext({ latencyHint: "interactive" });
    try {
      await ctx.audioWorklet.addModule("/static/owner-worklets.js");
      const mic = await navigator.mediaDevices.getUserMedia({ audio: {
        channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true } });
      const reply = await fetch(`/calls/${callId}/owner-token`, { credentials: "same-origin" });
      if (!reply.ok) throw new Error(`token refused (${reply.status})`);
      const { token } = await reply.json();
      const scheme = location.protocol === "https:" ? "wss:" : "ws:";
      const ws = new WebSocket(`${scheme}//${location.host}/ws/test-calls/${callId}?token=${encodeURIComponent(token)}`);
      ws.binaryType = "arraybuffer";
      const play = new AudioWorkletNode(ctx, "owner-playback", {
        numberOfInputs: 0, outputChannelCount: [1], processorOptions: { targetMs: 60, maxMs: 300 } });
      play.connect(ctx.destination);
      play.port.onmessage = ({ data }) => {
        if (!data.level) return;
        panel.dataset.heard = String(data.level.loud);
        panel.dispatchEvent(new CustomEvent("test-call-heard", { detail: data.level }));
      };
      const capture = new AudioWorkletNode(ctx, "owner-capture", { numberOfOutputs: 0 });
      capture.port.onmessage = ({ data }) => { if (ws.readyState === WebSocket.OPEN) ws.send(data.buf); };
      leg = { ctx, ws, mic };
      ws.onmessage = ({ data }) => {
        if (data instanceof ArrayBuffer) { play.port.postMessage(data, [data]); return; }
        const m = JSON.parse(data);
        if (m.event === "MEDIA_START") {
          ctx.createMediaStreamSource(mic).connect(capture);
          setState("connected", "Connected: the agent is calling you. Answer as the business would.");
        } else if (m.command === "FLUSH_MEDIA") play.port.postMessage({ cmd: "flush" });
        else if (m.event === "DTMF_SENT") keys.textContent += m.digits;
        else if (m.event === "HANGUP") say.textContent = "The agent hung up.";
        else if (m.event === "ENDED") endedBecause = m.detail;
      };
      ws.onclose = () => { stop(); setState("ended", panel.dataset.state === "connecting"
        ? "The test call could not start."
        : `The test call is over${endedBecause ? `: ${endedBecause}` : ""}. Its transcript is stored.`); };
    } catch (err) {
      await ctx.close();
      setState("failed", `Could not start the test call: ${err.message}`);
    }
  }

  function stop() {
    if (!leg) return;
    leg.mic.getTracks().forEach((t) => t.stop());
    leg.ctx.close();
    leg = null;
  }

  start.addEventListener("click", begin);
  for (const key of panel.querySelectorAll("[data-key]")) {
    key.addEventListener("click", () => {
      if (leg && leg.ws.readyState === WebSocket.OPEN) leg.ws.send(JSON.stringify({ command: "DTMF", digit: key.dataset.key }));
    });
  }
  end.addEventListener("click", () => {
    if (leg && leg.ws.readyState === WebSocket.OPEN) leg.ws.send(JSON.stringify({ command: "HANGUP" }));
  });
  if (!window.isSecureContext || !window.AudioWorkletNode) {
    setState("failed", "Test calls need https (or localhost) and a current browser.");
  } else if (panel.dataset.state === "loading") {
    panel.dataset.state = "idle"; start.disabled = false;
  }
})();
