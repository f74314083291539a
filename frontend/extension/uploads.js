// The upload loop's logic, shared by the extension's offscreen document (offscreen.html loads this file) and
// the camera page (the site serves this same file: frontend.views.extension_uploads_js). Kept apart from the
// capture so it can be tested in a page:
// - engagementAfterUpload: what a server answer means for the counters, whether to stop, and how long to wait
//   before the next frame (Retry-After on 429/503, a stop with the server's words on 401/403, 2 s or the
//   period, whichever is longer, after a network error).
// - engagementEncodeFrame: a JPEG of a video frame under the server's byte limit (lower quality, then size).
// - engagementFrameLimits: after a 413 (the frame over a byte or pixel limit: the server's, or a proxy's in
//   front of it) the next frames start smaller. The extension fits its frames under the limit the pairing
//   gave it and does not call it (its 413s count as refusals); the camera page does.
"use strict";

globalThis.engagementAfterUpload = (answer, periodMs) => {
  // answer: {status, retryAfter (header or null), message} from the server, or {error} when unreachable.
  if (answer.error !== undefined) {
    return { count: "refused", stop: null, waitMs: Math.max(periodMs, 2000), lastError: `Server unreachable, retrying: ${answer.error}` };
  }
  if (answer.status >= 200 && answer.status < 300) return { count: "sent", stop: null, waitMs: periodMs, lastError: "" };
  const reason = `${answer.message || "refused"} (${answer.status})`;
  if (answer.status === 401 || answer.status === 403) {
    return { count: null, stop: `Stopped by the server: ${reason}`, waitMs: 0, lastError: `Stopped by the server: ${reason}` };
  }
  const busy = answer.status === 429 || answer.status === 503;
  const retryMs = 1000 * (Number(answer.retryAfter) || 1);
  return { count: "refused", stop: null, waitMs: busy ? Math.max(periodMs, retryMs) : periodMs, lastError: `Frame refused: ${reason}` };
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
