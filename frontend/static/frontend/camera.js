// The camera page: pairs (the course's teacher without typing; anyone else with the code the teacher shows),
// then uploads a frame per second from this device's camera through the ingest API and shows what the server
// read in it: the face box and the apparent expression, as the class's privacy policy allows.
"use strict";

(() => {
  const config = JSON.parse(document.getElementById("camera-config").textContent);
  const $ = (id) => document.getElementById(id);
  const video = $("camera-video");
  const overlay = $("camera-overlay");
  const state = { token: null, running: false, stream: null, sent: 0, refused: 0, latest: null, result: null };
  window.cameraState = state;  // read by the browser test

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const setText = (id, text) => { $(id).textContent = text; };

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
    // The video is drawn "contain": scaled to fit, centred.
    const scale = Math.min(width / video.videoWidth, height / video.videoHeight);
    const left = (width - video.videoWidth * scale) / 2;
    const top = (height - video.videoHeight * scale) / 2;
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

  async function follow(frameId) {
    // A frame is read within a second or two; ask a few times, then give up on that one.
    for (let attempt = 0; attempt < 16 && state.running && state.latest === frameId; attempt += 1) {
      await sleep(400);
      const response = await fetch(config.result_url.replace("FRAME", encodeURIComponent(frameId)), {
        headers: { Authorization: `Bearer ${state.token}` },
      });
      if (!response.ok) return;
      const result = await response.json();
      if (result.status === "queued") continue;
      state.result = result;
      setText("camera-feedback", describe(result));
      drawFaces();
      return;
    }
  }

  async function upload(canvas) {
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.85));
    const frameId = crypto.randomUUID();
    const form = new FormData();
    form.append("image", blob, "frame.jpg");
    form.append("captured_at", new Date().toISOString());
    form.append("frame_id", frameId);
    const name = $("camera-name").value.trim();
    if (name) form.append("tiles", JSON.stringify([{ name, x: 0, y: 0, w: canvas.width, h: canvas.height }]));
    const response = await fetch(config.frames_url, { method: "POST", headers: { Authorization: `Bearer ${state.token}` }, body: form });
    if (response.ok) {
      state.sent += 1;
      state.latest = frameId;
      follow(frameId);
      return 0;
    }
    const body = await response.json().catch(() => ({}));
    state.refused += 1;
    if (response.status === 401 || response.status === 403) throw new Error(body.message || "the server refused this camera");
    setText("camera-error", `Frame refused: ${body.message || response.status}`);
    return 1000 * Number(response.headers.get("Retry-After") || 0);
  }

  async function loop() {
    const canvas = document.createElement("canvas");
    const period = 1000 / config.fps;
    while (state.running) {
      const started = performance.now();
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      canvas.getContext("2d").drawImage(video, 0, 0);
      let wait = period;
      try {
        wait = Math.max(period, await upload(canvas));
      } catch (error) {
        setText("camera-error", `Stopped: ${error.message}`);
        stop();
        return;
      }
      setText("camera-counts", `${state.sent} frame${state.sent === 1 ? "" : "s"} sent, ${state.refused} refused`);
      await sleep(Math.max(0, wait - (performance.now() - started)));
    }
  }

  function stop() {
    state.running = false;
    if (state.stream) state.stream.getTracks().forEach((track) => track.stop());
    $("camera-start").disabled = false;
    $("camera-stop").disabled = true;
    setText("camera-feedback", "The camera is off.");
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
      $("camera-stop").disabled = false;
      setText("camera-feedback", "Looking for a face…");
      loop();
    } catch (error) {
      $("camera-start").disabled = false;
      setText("camera-error", `Could not start: ${error.message}`);
    }
  });
  $("camera-stop").addEventListener("click", stop);
  window.addEventListener("resize", drawFaces);
})();
