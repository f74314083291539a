// Samples the captured tab and posts each frame to the ingest API with the participant tiles, mapped from
// page pixels to frame pixels (geometry.js), and names_from, which says whether their names come with
// them. Each upload says the configured rate (X-Wanted-FPS); each answer's max_fps (the rate the server lets this
// session send now, under load) stretches the period to 1000 / max_fps, never shorter than the configured one, and
// a higher max_fps later brings it back (uploads.js, which the camera page shares). Backs off on 429/503 as
// Retry-After says (the longer wait wins), stops with the server's message on 401/403, keeps each JPEG under the
// server's size limit. Its stats tell the popup the server's max_fps beside the configured rate. Nothing is stored.
"use strict";

let running = false;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const tell = (message) => chrome.runtime.sendMessage(message).catch(() => {});

async function upload(config, fps, frame, page) {
  const form = new FormData();
  form.append("image", frame.blob, "frame.jpg");
  form.append("captured_at", new Date().toISOString());
  form.append("frame_id", crypto.randomUUID());
  const tiles = page ? globalThis.engagementMapTiles(page, frame.width, frame.height) : [];
  if (tiles.length) form.append("tiles", JSON.stringify(tiles));
  const namesFrom = globalThis.engagementNamesFrom(tiles);
  form.append("names_from", namesFrom);
  const response = await fetch(config.url, { method: "POST", headers: { Authorization: `Bearer ${config.token}`, "X-Wanted-FPS": String(fps) }, body: form });
  return { response, namesFrom };
}

const CAPTURE_MAX = [1920, 1080];

async function capture(streamId, config) {
  // A size is asked for: without one Chromium captures at its screen's default (800×600 headless), which shrinks the
  // 10–16 px name labels the server reads from the picture below what OCR can read.
  const constraints = { chromeMediaSource: "tab", chromeMediaSourceId: streamId, maxWidth: CAPTURE_MAX[0], maxHeight: CAPTURE_MAX[1] };
  const stream = await navigator.mediaDevices.getUserMedia({ video: { mandatory: constraints } });
  const video = document.createElement("video");
  video.srcObject = stream;
  await video.play();
  const fps = Math.min(5, Math.max(0.2, Number(config.fps) || 1));
  const period = 1000 / fps;
  // maxFps: the server's last max_fps (null while it gave none); fps: the configured rate, which the popup compares.
  const counts = { sent: 0, refused: 0, lastError: "", namesFrom: "", maxFps: null, fps };
  let stopReason = "";  // stopped from the popup: nothing to explain
  running = true;
  while (running) {
    const started = performance.now();
    let answer;
    try {
      const frame = await globalThis.engagementEncodeFrame(video, video.videoWidth, video.videoHeight, config.maxFrameBytes || 4 * 1024 * 1024);
      const page = await chrome.runtime.sendMessage({ type: "tiles" });
      const { response, namesFrom } = await upload(config, fps, frame, page);
      counts.namesFrom = namesFrom;
      const body = (await response.json().catch(() => null)) || {};  // successes too: every answer carries max_fps
      answer = { status: response.status, retryAfter: response.headers.get("Retry-After"), message: body.message || response.statusText,
        maxFps: body.max_fps ?? null };
    } catch (error) {
      answer = { error: error.message || String(error) };
    }
    const next = globalThis.engagementAfterUpload(answer, period);
    if (next.count) counts[next.count] += 1;
    counts.lastError = next.lastError;
    if (answer.error === undefined) counts.maxFps = next.maxFps;
    if (next.stop) {
      stopReason = next.stop;
      break;
    }
    tell({ type: "stats", ...counts });
    await sleep(Math.max(0, next.waitMs - (performance.now() - started)));
  }
  running = false;
  stream.getTracks().forEach((track) => track.stop());
  tell({ type: "stopped", reason: stopReason });
}

chrome.runtime.onMessage.addListener((message) => {
  if (message.type === "capture") capture(message.streamId, message.config).catch((error) => tell({ type: "stopped", reason: `Capture failed: ${error}` }));
  if (message.type === "halt") running = false;
  return false;
});
