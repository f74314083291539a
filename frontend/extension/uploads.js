// The upload loop's decisions, kept apart from the capture so they can be tested in a page: what a server
// answer means for the counters, whether to stop, and how long to wait before the next frame.
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
