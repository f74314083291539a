// The camera page: pairs (the course's teacher without typing; anyone else with the code the teacher shows),
// then uploads a frame per second from this device's camera through the ingest API and shows what the server
// read in it: the face box and the apparent expression, as the class's privacy policy allows.
// The upload and back-off logic is the extension's own (frontend/extension/uploads.js, loaded before this file):
// frames fit under the server's byte limit and get smaller after a 413; the page retries after a network error
// and waits as Retry-After says on 429/503, saying so; it stops with the server's words on 401/403. Each upload says
// the page's own rate (X-Wanted-FPS); each answer's max_fps (what the server, sharing its capacity under load, lets
// this session send now) slows the page to that rate, never above its own, and the status line says so; Retry-After
// still applies on top (the longer wait wins).
"use strict";

(() => {
  const config = JSON.parse(document.getElementById("camera-config").textContent);
  const $ = (id) => document.getElementById(id);
  const video = $("camera-video");
  const overlay = $("camera-overlay");
  // status: "off", "sending", "reconnecting" (the server unreachable), "busy" (429/503) or "stopped" (by the server).
  // limits: what the next frame is encoded under ({maxBytes, scale}, engagementFrameLimits); frame: the last one sent.
  // maxFps: the pairing's cap on the rate; serverFps: the max_fps of the server's last answer (null if it gave none).
  const state = { token: null, running: false, run: 0, stream: null, sent: 0, refused: 0, latest: null, result: null,
    status: "off", limits: null, maxFps: null, serverFps: null, frame: null };
  window.cameraState = state;  // read by the browser tests
  const DEFAULT_MAX_BYTES = 4 * 1024 * 1024;

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const setText = (id, text) => { $(id).textContent = text; };
  const plural = (count, word) => `${count} ${word}${count === 1 ? "" : "s"}`;

  async function postJson(url, body, headers = {}) {
    const response = await fetch(url, {
      method: "POST",
      headers: { Accept: "application/json", "Content-Type": "application/json", ...headers },
      body: body === null ? null : JSON.stringify(body),
      credentials: "same-origin",
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.message || `the server answered ${response.status}`);
    return data;
  }

  async function pair() {
    let code = $("camera-code") ? $("camera-code").value : null;
    if (config.code_url) code = (await postJson(config.code_url, null, { "X-CSRFToken": config.csrf_token })).code;
    const paired = await postJson(config.exchange_url, { code });
    if (paired.session !== config.session) throw new Error("this code belongs to another session");
    state.token = paired.token;
    state.limits = { maxBytes: paired.max_frame_bytes || DEFAULT_MAX_BYTES, scale: 1 };
    state.maxFps = paired.max_fps || null;
  }

  function drawFaces() {
    const width = overlay.clientWidth;
    const height = overlay.clientHeight;
    overlay.width = width * devicePixelRatio;
    overlay.height = height * devicePixelRatio;
    const context = overlay.getContext("2d");
    context.scale(devicePixelRatio, devicePixelRatio);
    const faces = state.result ? state.result.faces : [];
    if (!faces.length || !video.videoWidth) return;
    // The video is drawn "contain": scaled to fit, centred; the boxes are in the pixels of the frame sent, which may
    // be smaller than the video's.
    const fit = Math.min(width / video.videoWidth, height / video.videoHeight);
    const scale = fit / (state.result.frameScale || 1);
    const left = (width - video.videoWidth * fit) / 2;
    const top = (height - video.videoHeight * fit) / 2;
    context.lineWidth = 3;
    context.strokeStyle = "#16a34a";
    context.fillStyle = "#16a34a";
    context.font = "16px system-ui, sans-serif";
    for (const face of faces) {
      const [x, y, w, h] = face.box;
      context.strokeRect(left + x * scale, top + y * scale, w * scale, h * scale);
      if (face.expression) context.fillText(face.expression, left + x * scale, Math.max(16, top + y * scale - 6));
    }
  }

  function describe(result) {
    if (result.status === "queued") return "Reading the last frame…";
    if (result.status !== "processed") return `The last frame was not read: ${result.reason || result.status}.`;
    if (!result.faces_found) return "No face found in the last frame: face the camera, with light on your face.";
    if (!result.faces.length) return `${result.faces_found} face(s) found. This class's privacy policy shows class figures only.`;
    return result.faces.map((face) => {
      const expression = face.expression ? `apparent expression ${face.expression} (${Math.round(face.confidence * 100)}%)` : "no expression read (privacy policy)";
      return `${face.name}: ${expression} · engagement indicator ${face.band.replace("_", " ")}`;
    }).join("; ");
  }

  async function follow(frameId, frameScale) {
    // A frame is read within a second or two; ask a few times, then give up on that one (and on a network error:
    // the upload loop says when the server is unreachable).
    for (let attempt = 0; attempt < 16 && state.running && state.latest === frameId; attempt += 1) {
      await sleep(400);
      let result;
      try {
        const response = await fetch(config.result_url.replace("FRAME", encodeURIComponent(frameId)), {
          headers: { Authorization: `Bearer ${state.token}` },
        });
        if (!response.ok) return;
        result = await response.json();
      } catch (error) {
        return;
      }
      if (result.status === "queued") continue;
      state.result = { ...result, frameScale };
      setText("camera-feedback", describe(result));
      drawFaces();
      return;
    }
  }

  // One frame through the ingest API, saying the page's own rate (fps): the answer as engagementAfterUpload reads it
  // ({error} when unreachable).
  async function upload(frame, fps) {
    const frameId = crypto.randomUUID();
    const form = new FormData();
    form.append("image", frame.blob, "frame.jpg");
    form.append("captured_at", new Date().toISOString());
    form.append("frame_id", frameId);
    const name = $("camera-name").value.trim();
    if (name) form.append("tiles", JSON.stringify([{ name, x: 0, y: 0, w: frame.width, h: frame.height }]));
    let response;
    try {
      response = await fetch(config.frames_url, {
        method: "POST", headers: { Authorization: `Bearer ${state.token}`, "X-Wanted-FPS": String(fps) }, body: form,
      });
    } catch (error) {
      return { error: error.message || String(error) };
    }
    const body = (await response.json().catch(() => null)) || {};  // successes too: every answer carries max_fps
    const maxFps = body.max_fps ?? null;
    if (response.ok) {
      state.latest = frameId;
      follow(frameId, frame.scale);
      return { status: response.status, retryAfter: null, message: "", maxFps };
    }
    return { status: response.status, retryAfter: response.headers.get("Retry-After"), message: body.message || response.statusText, maxFps };
  }

  // Waits ms, counting the seconds down in the status line when `words` gives it something to say for the seconds
  // left; false when the camera was stopped meanwhile.
  async function wait(ms, run, words) {
    const end = performance.now() + ms;
    for (let left = ms; left > 0; left = end - performance.now()) {
      if (words) setText("camera-status", words(Math.ceil(left / 1000)));
      await sleep(Math.min(left, 1000));
      if (state.run !== run) return false;
    }
    return state.run === run;
  }

  function sendingWords(fps) {
    const slower = state.serverFps !== null && state.serverFps < fps
      ? ` Server busy: sending ${globalThis.engagementFpsText(state.serverFps)} frames/s instead of ${globalThis.engagementFpsText(fps)}.` : "";
    if (state.limits.scale >= 1) return slower ? slower.trim() : "Connected: sending frames.";
    return `Connected: sending smaller frames (${state.frame.width}×${state.frame.height}), as the server refused larger ones.${slower}`;
  }

  async function loop(run) {
    const fps = Math.min(config.fps, state.maxFps || config.fps);  // the page's own rate; the server's may be lower
    const period = 1000 / fps;
    while (state.running && state.run === run) {
      const started = performance.now();
      let frame;
      try {
        frame = await globalThis.engagementEncodeFrame(video, video.videoWidth, video.videoHeight, state.limits.maxBytes, state.limits.scale);
      } catch (error) {
        setText("camera-error", `Could not read a frame from the camera: ${error.message || error}`);
        if (!(await wait(period, run))) return;
        continue;
      }
      state.frame = { width: frame.width, height: frame.height, bytes: frame.blob.size };
      const answer = await upload(frame, fps);
      if (state.run !== run) return;  // stopped meanwhile
      const next = globalThis.engagementAfterUpload(answer, period);
      if (answer.error === undefined) state.serverFps = next.maxFps;
      if (next.count) state[next.count] += 1;
      setText("camera-counts", `${plural(state.sent, "frame")} sent, ${state.refused} refused or lost`);
      setText("camera-error", next.lastError);
      if (next.stop) {
        // The session ended, or its credential was replaced: this one will never work again.
        state.token = null;
        stop("stopped", `${next.stop}. ${config.code_url ? "Start the camera again to reconnect." : "To join again, start the camera with a new pairing code."}`);
        return;
      }
      const limits = globalThis.engagementFrameLimits(answer, frame, state.limits);
      let words = null;
      if (answer.error !== undefined) {
        state.status = "reconnecting";
        words = (seconds) => `Cannot reach the server: reconnecting in ${seconds} s…`;
      } else if (answer.status === 429 || answer.status === 503) {
        state.status = "busy";
        words = (seconds) => `The server is busy: next frame in ${seconds} s…`;
      } else {
        state.status = "sending";
        if (limits !== state.limits) {
          const [width, height] = [Math.round(video.videoWidth * limits.scale), Math.round(video.videoHeight * limits.scale)];
          setText("camera-status", `The server refused a frame as too large: sending smaller ones (${width}×${height}) from now on.`);
        } else if (next.count === "sent") {
          setText("camera-status", sendingWords(fps));
        }
      }
      state.limits = limits;
      if (!(await wait(Math.max(0, next.waitMs - (performance.now() - started)), run, words))) return;
    }
  }

  // Stopped from the page (status "off"), or by the server ("stopped", with its words).
  function stop(status = "off", message = "") {
    state.running = false;
    state.run += 1;
    state.status = status;
    if (state.stream) state.stream.getTracks().forEach((track) => track.stop());
    $("camera-start").disabled = false;
    $("camera-stop").disabled = true;
    setText("camera-feedback", "The camera is off.");
    setText("camera-status", status === "stopped" ? "Stopped by the server." : "");
    if (message) setText("camera-error", message);
  }

  $("camera-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    setText("camera-error", "");
    $("camera-start").disabled = true;
    try {
      if (!state.token) await pair();
      state.stream = await navigator.mediaDevices.getUserMedia({ video: { width: 1280, height: 720 }, audio: false });
      video.srcObject = state.stream;
      await video.play();
      state.running = true;
      state.run += 1;
      state.status = "sending";
      $("camera-stop").disabled = false;
      setText("camera-feedback", "Looking for a face…");
      setText("camera-status", "Connecting…");
      loop(state.run);
    } catch (error) {
      $("camera-start").disabled = false;
      setText("camera-error", `Could not start: ${error.message}`);
    }
  });
  $("camera-stop").addEventListener("click", () => stop());
  window.addEventListener("resize", drawFaces);
})();
