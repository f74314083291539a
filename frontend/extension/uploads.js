// The upload loop's logic, shared by the extension's offscreen document (offscreen.html loads this file) and
// the camera page (the site serves this same file: frontend.views.extension_uploads_js). Kept apart from the
// capture so it can be tested in a page:
// - engagementAfterUpload: what a server answer means for the counters, whether to stop, and how long to wait
//   before the next frame. Every answer of the frames API carries max_fps, the frames per second the server lets
//   this session send now (it shares its capacity between classes under load): the next frame waits the longer of
//   the client's own period and 1000 / max_fps, so a later answer with a higher max_fps brings the client back up,
//   never above its own rate. A wait the server stretched is drawn at random around that period, up to half of it
//   either way and never under the client's own (the same rate on average): the server slows every class at the
//   same moment, and clients that all kept their old phase would go on sending in step, in bursts the workers meet
//   late (Floyd and Jacobson, "The Synchronization of Periodic Routing Messages", 1994: a random part in each timer
//   breaks such lockstep). On 429/503 Retry-After applies on top (the longer wait wins); on 401/403 it stops with
//   the server's words; after a network error it waits 2 s or the period, whichever is longer.
// - engagementEncodeFrame: a JPEG of a video frame under the server's byte limit (lower quality, then size).
// - engagementFrameLimits: after a 413 (the frame over a byte or pixel limit: the server's, or a proxy's in
//   front of it) the next frames start smaller. The extension fits its frames under the limit the pairing
//   gave it and does not call it (its 413s count as refusals); the camera page does.
"use strict";

// The server's max_fps when it is one (a finite number above 0), else null: absent, null, 0, negative or not a
// number (a proxy's page, an older server) is no hint, and the client keeps its own rate.
globalThis.engagementServerFps = (value) => (typeof value === "number" && Number.isFinite(value) && value > 0 ? value : null);

// A rate in words: at most one decimal, no trailing ".0" (0.66 → "0.7", 1 → "1"); one significant digit below 0.05.
globalThis.engagementFpsText = (fps) => String(Math.round(fps * 10) / 10 || Number(fps.toPrecision(1)));

// answer: {status, retryAfter (header or null), message, maxFps (the body's max_fps, or null)} from the server, or
// {error} when unreachable. periodMs: the client's own period (1000 / its configured frames per second). draw: a
// number in [0, 1) (Math.random unless given), for the spread of a stretched wait. Gives {count ("sent", "refused"
// or null), stop (words, or null), waitMs (until the next frame, counted from this one's start), lastError, maxFps
// (the server's hint, or null), periodMs (the period it allows: the longer of the own period and 1000 / maxFps)}.
// Pure but for draw: an answer without a hint leaves the client at its own period.
globalThis.engagementAfterUpload = (answer, periodMs, draw = Math.random) => {
  const maxFps = answer.error !== undefined ? null : globalThis.engagementServerFps(answer.maxFps);
  const allowedMs = maxFps === null ? periodMs : Math.max(periodMs, 1000 / maxFps);
  const rate = { maxFps, periodMs: allowedMs };
  const spreadMs = Math.min(allowedMs / 2, allowedMs - periodMs);
  const nextMs = allowedMs + spreadMs * (2 * draw() - 1);
  if (answer.error !== undefined) {
    return { count: "refused", stop: null, waitMs: Math.max(periodMs, 2000), lastError: `Server unreachable, retrying: ${answer.error}`, ...rate };
  }
  if (answer.status >= 200 && answer.status < 300) return { count: "sent", stop: null, waitMs: nextMs, lastError: "", ...rate };
  const reason = `${answer.message || "refused"} (${answer.status})`;
  if (answer.status === 401 || answer.status === 403) {
    return { count: null, stop: `Stopped by the server: ${reason}`, waitMs: 0, lastError: `Stopped by the server: ${reason}`, ...rate };
  }
  const busy = answer.status === 429 || answer.status === 503;
  const retryMs = 1000 * (Number(answer.retryAfter) || 1);
  return { count: "refused", stop: null, waitMs: busy ? Math.max(nextMs, retryMs) : nextMs, lastError: `Frame refused: ${reason}`, ...rate };
};

(() => {
  const MIN_QUALITY = 0.4;
  const SHRINK = 0.75; // each step down in size: 3/4 of the sides, about half the pixels
  const MIN_WIDTH = 160; // frame pixels; no smaller after a 413: a face in it would be too small to read

  // An OffscreenCanvas where there is one (the extension's offscreen document, current browsers), else a page's canvas.
  function canvasOf(width, height) {
    if (typeof OffscreenCanvas === "function") return new OffscreenCanvas(width, height);
    return Object.assign(document.createElement("canvas"), { width, height });
  }

  function jpeg(canvas, quality) {
    if (canvas.convertToBlob) return canvas.convertToBlob({ type: "image/jpeg", quality });
    return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", quality));
  }

  // source (a <video>, or anything drawImage takes) of width × height pixels, drawn at `scale` (1 unless a 413 made
  // it smaller). A 1080p gallery is a few hundred KB at 0.8; lower the quality, then the size, until it fits 90% of
  // maxBytes. Gives {blob, width, height, scale}: the frame's pixels and the scale it was drawn at.
  globalThis.engagementEncodeFrame = async (source, width, height, maxBytes, scale = 1) => {
    for (;;) {
      const canvas = canvasOf(Math.round(width * scale), Math.round(height * scale));
      canvas.getContext("2d").drawImage(source, 0, 0, canvas.width, canvas.height);
      for (let quality = 0.8; quality >= MIN_QUALITY; quality -= 0.2) {
        const blob = await jpeg(canvas, quality);
        if (blob.size <= maxBytes * 0.9) return { blob, width: canvas.width, height: canvas.height, scale };
      }
      scale *= SHRINK;
    }
  };

  // limits: {maxBytes, scale}, what the next frame is encoded under. Unchanged unless the server answered 413 to
  // `frame` (engagementEncodeFrame's): then new limits, under which the next frames start at 3/4 of its scale and
  // under its size in bytes. Frames go no smaller than MIN_WIDTH pixels wide: a 413 then changes nothing, and counts
  // as a refusal as any other.
  globalThis.engagementFrameLimits = (answer, frame, limits) => {
    if (answer.status !== 413 || !frame || Math.round(frame.width * SHRINK) < MIN_WIDTH) return limits;
    return { maxBytes: Math.min(limits.maxBytes, frame.blob.size), scale: frame.scale * SHRINK };
  };
})();
