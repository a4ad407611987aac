// Audio worklets of the owner's voice (loaded with ctx.audioWorklet.addModule): "owner-capture"
// turns the microphone into 20 ms G.711 mu-law frames at 8 kHz, "owner-playback" plays the call's
// mu-law frames through a small jitter buffer (start at 60 ms, re-buffer after an underrun, cap at
// 300 ms) and empties it at once on {cmd: "flush"}. Design: docs/browser-audio.md in the project notes.
"use strict";

class Resampler {
  // Windowed-sinc (Blackman) for any ratio; keeps its state across blocks, one per stream direction.
  constructor(inRate, outRate, zeros = 16, res = 64) {
    const fc = Math.min(1, outRate / inRate) * 0.9;
    const half = Math.ceil(zeros / fc);
    this.step = inRate / outRate; this.half = half; this.res = res;
    this.tab = new Float32Array(half * res + 2);
    for (let i = 0; i < this.tab.length; i++) {
      const x = i / res, a = Math.PI * fc * x;
      const w = x >= half ? 0 : 0.42 + 0.5 * Math.cos(Math.PI * x / half) + 0.08 * Math.cos(2 * Math.PI * x / half);
      this.tab[i] = fc * (x === 0 ? 1 : Math.sin(a) / a) * w;
    }
    this.buf = new Float32Array(8192); this.len = 0; this.t = half; this.out = new Float32Array(8192);
  }
  process(input) {
    if (this.len + input.length > this.buf.length) {
      const grown = new Float32Array(2 * (this.len + input.length));
      grown.set(this.buf.subarray(0, this.len)); this.buf = grown;
    }
    this.buf.set(input, this.len); this.len += input.length;
    const need = Math.ceil(input.length / this.step) + 2;
    if (this.out.length < need) this.out = new Float32Array(2 * need);
    let n = 0;
    for (; this.t + this.half < this.len; this.t += this.step) {
      const c = Math.floor(this.t); let acc = 0;
      for (let k = c - this.half + 1; k <= c + this.half; k++) {
        const d = Math.abs(this.t - k) * this.res, i = d | 0;
        acc += this.buf[k] * (this.tab[i] + (this.tab[i + 1] - this.tab[i]) * (d - i));
      }
      this.out[n++] = acc;
    }
    const drop = Math.max(0, Math.floor(this.t) - this.half);
    this.buf.copyWithin(0, drop, this.len); this.len -= drop; this.t -= drop;
    return this.out.subarray(0, n);
  }
}

function linearToUlaw(s) {
  const sign = (s >> 8) & 0x80;
  if (sign) s = -s;
  if (s > 32635) s = 32635;
  s += 0x84;
  let exp = 7;
  for (let m = 0x4000; (s & m) === 0 && exp > 0; exp--, m >>= 1) { /* find the segment */ }
  return ~(sign | (exp << 4) | ((s >> (exp + 3)) & 0x0f)) & 0xff;
}

const ULAW = new Float32Array(256).map((_, code) => {
  const u = ~code & 0xff, e = (u >> 4) & 7, mag = ((((u & 0x0f) << 3) + 0x84) << e) - 0x84;
  return ((u & 0x80) ? -mag : mag) / 32768;
});
const LINE_RATE = 8000, FRAME = 160;  // 20 ms of mu-law at 8 kHz, as chan_websocket sends it

registerProcessor("owner-capture", class extends AudioWorkletProcessor {
  constructor() {
    super();
    this.rs = new Resampler(sampleRate, LINE_RATE);
    this.frame = new Float32Array(FRAME); this.n = 0;
  }
  process(inputs) {
    const ch = inputs[0] && inputs[0][0];
    if (!ch) return true;
    const y = this.rs.process(ch);
    for (let i = 0; i < y.length; i++) {
      this.frame[this.n++] = y[i];
      if (this.n < FRAME) continue;
      this.n = 0;
      const out = new Uint8Array(FRAME);
      for (let j = 0; j < FRAME; j++) {
        out[j] = linearToUlaw(Math.max(-32768, Math.min(32767, Math.round(this.frame[j] * 32768))));
      }
      this.port.postMessage({ buf: out.buffer, t: currentTime }, [out.buffer]);
    }
    return true;
  }
});

registerProcessor("owner-playback", class extends AudioWorkletProcessor {
  constructor({ processorOptions: o }) {
    super();
    this.rs = new Resampler(LINE_RATE, sampleRate);
    this.size = sampleRate * 30; this.ring = new Float32Array(this.size); this.r = 0; this.w = 0;
    this.target = (sampleRate * o.targetMs / 1000) | 0; this.max = (sampleRate * o.maxMs / 1000) | 0;
    this.playing = false; this.underruns = 0; this.peak = 0; this.loudFrames = 0;
    this.port.onmessage = ({ data }) => {
      if (data instanceof ArrayBuffer) this.push(data);
      else if (data.cmd === "flush") {
        this.r = this.w; this.playing = false; this.rs = new Resampler(LINE_RATE, sampleRate);
        this.port.postMessage({ flushed: true });
      }
    };
  }
  push(ab) {
    const y = this.rs.process(Float32Array.from(new Uint8Array(ab), (u) => ULAW[u]));
    for (let i = 0; i < y.length; i++) this.ring[(this.w + i) % this.size] = y[i];
    this.w += y.length;
    if (this.w - this.r > this.max) this.r = this.w - this.target;  // latency cap (clock drift, bursts)
  }
  process(_, outputs) {
    const out = outputs[0][0], avail = this.w - this.r;
    if (!this.playing && avail >= this.target) this.playing = true;
    const n = this.playing ? Math.min(out.length, avail) : 0;
    let energy = 0;
    for (let i = 0; i < n; i++) { const v = this.ring[(this.r + i) % this.size]; out[i] = v; energy += v * v; }
    this.r += n; out.fill(0, n);
    if (this.playing && n < out.length) { this.playing = false; this.underruns++; }
    const rms = n ? Math.sqrt(energy / n) : 0;
    if (rms > 0.01) this.loudFrames++;  // what the page played that was not silence, for the page and tests
    if (rms > this.peak) this.peak = rms;
    if ((this.loudFrames & 63) === 1 && rms > 0.01) this.port.postMessage({ level: { peak: this.peak, loud: this.loudFrames } });
    return true;
  }
});
