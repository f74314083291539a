// Service worker: pairs with a session (one-time code → credential), starts and stops the tab capture (an
// offscreen document samples and uploads), reads the meeting's participant tiles for it, and keeps the state
// the popup shows in chrome.storage.session (memory only).
"use strict";

const READER_FILES = ["adapters/generic.js", "adapters/meet.js", "adapters/zoom.js", "adapters/teams.js", "tiles.js"];
const EMPTY = { pairing: null, capturing: false, tabId: null, sent: 0, refused: 0, lastError: "", platform: "", namesFrom: "" };

async function getState() { return { ...EMPTY, ...(await chrome.storage.session.get("state")).state }; }
async function setState(changes) {
  const state = { ...(await getState()), ...changes };
  await chrome.storage.session.set({ state });
  return state;
}

async function pair(server, code) {
  let response;
  try {
    response = await fetch(`${server}/api/v1/pairing`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ code }),
    });
  } catch (error) {
    return setState({ lastError: `Cannot reach ${server}: check the address.` });
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) return setState({ lastError: body.message || `The server answered ${response.status}.` });
  await chrome.storage.local.set({ server });  // only the address, to prefill the next pairing
  const pairing = { server, session: body.session, course: body.course, title: body.title, token: body.token,
    framesUrl: `${server}${body.frames_url}`, maxFrameBytes: body.max_frame_bytes, maxFps: body.max_fps };
  return setState({ ...EMPTY, pairing });
}

async function ensureOffscreen() {
  if (await chrome.offscreen.hasDocument()) return;
  await chrome.offscreen.createDocument({ url: "offscreen.html", reasons: ["USER_MEDIA"], justification: "Sample frames of the meeting tab" });
}

async function start(tabId, fps) {
  const state = await getState();
  if (!state.pairing) return setState({ lastError: "Connect to a session first." });
  try {
    const streamId = await chrome.tabCapture.getMediaStreamId({ targetTabId: tabId });
    await ensureOffscreen();
    const p = state.pairing;
    await chrome.runtime.sendMessage({ type: "capture", streamId,
      config: { url: p.framesUrl, token: p.token, fps: Math.min(fps || 1, p.maxFps || 1), maxFrameBytes: p.maxFrameBytes } });
    return setState({ capturing: true, tabId, sent: 0, refused: 0, lastError: "", namesFrom: "" });
  } catch (error) {
    return setState({ capturing: false, lastError: `Could not capture this tab: ${error.message || error}` });
  }
}

async function stop(changes = {}) {
  await chrome.runtime.sendMessage({ type: "halt" }).catch(() => {});
  return setState({ capturing: false, tabId: null, ...changes });
}

async function readTiles() {
  const { tabId } = await getState();
  if (tabId === null) return null;
  const results = await chrome.scripting.executeScript({ target: { tabId }, files: READER_FILES });
  const page = results[results.length - 1].result;
  if (page) await setState({ platform: page.fallback ? `${page.platform} (generic reader)` : page.platform });
  return page;
}

const handlers = {
  state: () => getState(),
  pair: (m) => pair(m.server, m.code),
  start: (m) => start(m.tabId, m.fps),
  stop: () => stop(),
  disconnect: () => stop({ ...EMPTY }),
  tiles: () => readTiles().catch(() => null),
  // From the offscreen document: counters and where the last upload's names came from, and the end of the
  // capture with the server's reason.
  stats: (m) => setState({ sent: m.sent, refused: m.refused, lastError: m.lastError || "", namesFrom: m.namesFrom || "" }),
  stopped: (m) => setState({ capturing: false, tabId: null, lastError: m.reason }),
};

chrome.runtime.onMessage.addListener((message, sender, reply) => {
  const handler = handlers[message.type];
  if (!handler || sender.id !== chrome.runtime.id) return false;
  handler(message).then(reply, (error) => reply({ ...EMPTY, lastError: String(error) }));
  return true;
});
