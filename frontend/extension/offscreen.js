// Samples the captured tab at the chosen rate and posts each frame to the ingest API, with the
// participant tiles scaled from page pixels to frame pixels. Honours Retry-After on 429 and 503.
let running = false;

function status(text) { chrome.runtime.sendMessage({ type: "status", text }).catch(() => {}); }
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function capture(streamId, config) {
  const stream = await navigator.mediaDevices.getUserMedia({ video: { mandatory: { chromeMediaSource: "tab", chromeMediaSourceId: streamId } } });
  const video = document.createElement("video");
  video.srcObject = stream;
  await video.play();
  const url = `${config.server.replace(/\/$/, "")}/api/v1/sessions/${config.session}/frames`;
  const period = 1000 / Math.min(5, Math.max(0.2, Number(config.fps) || 1));
  let sent = 0;
  running = true;
  while (running) {
    const started = performance.now();
    const canvas = new OffscreenCanvas(video.videoWidth, video.videoHeight);
    canvas.getContext("2d").drawImage(video, 0, 0);
    const blob = await canvas.convertToBlob({ type: "image/jpeg", quality: 0.85 });
    const page = await chrome.runtime.sendMessage({ type: "tiles" });
    const form = new FormData();
    form.append("image", blob, "frame.jpg");
    form.append("captured_at", new Date().toISOString());
    form.append("frame_id", crypto.randomUUID());
    if (page && page.viewport && page.tiles.length) {
      const sx = canvas.width / page.viewport.width;
      const sy = canvas.height / page.viewport.height;
      const tiles = page.tiles.map((t) => ({ name: t.name, x: Math.round(t.x * sx), y: Math.round(t.y * sy), w: Math.floor(t.w * sx), h: Math.floor(t.h * sy) }));
      form.append("tiles", JSON.stringify(tiles.filter((t) => t.w > 0 && t.h > 0)));
    }
    let wait = period;
    try {
      const response = await fetch(url, { method: "POST", headers: { Authorization: `Bearer ${config.token}` }, body: form });
      if (response.status === 429 || response.status === 503) {
        wait = Math.max(period, 1000 * Number(response.headers.get("Retry-After") || 1));
      } else if (!response.ok) {
        const body = await response.json().catch(() => ({}));
        status(`Stopped: ${response.status} ${body.message || response.statusText}`);
        break;
      } else {
        sent += 1;
        status(`Capturing: ${sent} frames sent`);
      }
    } catch (error) {
      status(`Server unreachable, retrying: ${error}`);
    }
    await sleep(Math.max(0, wait - (performance.now() - started)));
  }
  running = false;
  stream.getTracks().forEach((track) => track.stop());
}

chrome.runtime.onMessage.addListener((message) => {
  if (message.type === "capture") capture(message.streamId, message.config).catch((error) => status(`Capture failed: ${error}`));
  if (message.type === "halt") running = false;
});
