// The popup: pair with a live session by its one-time code, start or stop capturing this tab, and show what
// happens (frames sent, refused or lost, the last error in words, and when the server, busy, asks for fewer frames per
// second than chosen). State lives in the service worker's chrome.storage.session (memory only: nothing survives the
// browser); the server's rate comes with the offscreen document's counters while the popup is open.
"use strict";

const $ = (id) => document.getElementById(id);
const send = (message) => chrome.runtime.sendMessage(message);

function render(state) {
  const paired = Boolean(state && state.pairing);
  $("pair-view").hidden = paired;
  $("session-view").hidden = !paired;
  $("error").textContent = (state && state.lastError) || "";
  if (!paired) return;
  const p = state.pairing;
  $("session-name").textContent = `${p.course} — ${p.title} (session ${p.session})`;
  $("capturing").textContent = state.capturing ? "yes" : "no";
  $("sent").textContent = String(state.sent || 0);
  $("refused").textContent = String(state.refused || 0);
  $("platform").textContent = state.platform || "–";
  $("names-from").hidden = state.namesFrom !== "picture";
  if (!state.capturing) $("server-rate").hidden = true;
  $("start").disabled = Boolean(state.capturing);
  $("stop").disabled = !state.capturing;
}

// maxFps: the server's max_fps in its last answer (null if none); fps: the rate chosen. Said only while it is lower.
function renderRate(maxFps, fps) {
  const words = (n) => String(Math.round(n * 10) / 10 || Number(n.toPrecision(1)));  // 0.66 → "0.7", 1 → "1"
  const slower = typeof maxFps === "number" && maxFps > 0 && typeof fps === "number" && maxFps < fps;
  $("server-rate").textContent = slower ? `Server busy: sending ${words(maxFps)} frames/s instead of ${words(fps)}.` : "";
  $("server-rate").hidden = !slower;
}

async function refresh() { render(await send({ type: "state" })); }

$("connect").addEventListener("click", async () => {
  const server = $("server").value.trim().replace(/\/+$/, "");
  const code = $("code").value.trim();
  if (!/^https?:\/\/[^/\s]+/.test(server)) { render({ lastError: "Enter the server address shown on the live page (http… or https…)." }); return; }
  if (!code) { render({ lastError: "Enter the pairing code shown on the live page." }); return; }
  $("connect").disabled = true;
  try { render(await send({ type: "pair", server, code })); } finally { $("connect").disabled = false; }
});

$("start").addEventListener("click", async () => {
  const [tab] = await chrome.tabs.query({ active: true, currentWindow: true });
  render(await send({ type: "start", tabId: tab.id, fps: Number($("fps").value) }));
});
$("stop").addEventListener("click", async () => render(await send({ type: "stop" })));
$("disconnect").addEventListener("click", async () => render(await send({ type: "disconnect" })));

chrome.runtime.onMessage.addListener((message, sender) => {
  if (message.type === "stats" && sender.id === chrome.runtime.id) renderRate(message.maxFps, message.fps);
  return false;
});
chrome.storage.session.onChanged.addListener((changes) => { if (changes.state) render(changes.state.newValue); });
chrome.storage.local.get("server").then(({ server }) => { if (server) $("server").value = server; });
refresh();
