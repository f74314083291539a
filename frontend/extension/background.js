// Service worker: starts the tab capture (an offscreen document does the sampling and uploads)
// and answers the offscreen document's requests for the current participant tiles.
let capturedTab = null;

async function ensureOffscreen() {
  if (await chrome.offscreen.hasDocument()) return;
  await chrome.offscreen.createDocument({ url: "offscreen.html", reasons: ["USER_MEDIA"], justification: "Sample frames of the meeting tab" });
}

async function readTiles() {
  if (capturedTab === null) return { tiles: [], viewport: null };
  const [result] = await chrome.scripting.executeScript({ target: { tabId: capturedTab }, files: ["tiles.js"] });
  return result.result;
}

chrome.runtime.onMessage.addListener((message, sender, reply) => {
  if (message.type === "start") {
    (async () => {
      try {
        capturedTab = message.tabId;
        const streamId = await chrome.tabCapture.getMediaStreamId({ targetTabId: message.tabId });
        await ensureOffscreen();
        await chrome.runtime.sendMessage({ type: "capture", streamId, config: message.config });
        reply({ ok: true });
      } catch (error) {
        capturedTab = null;
        reply({ error: String(error) });
      }
    })();
    return true;
  }
  if (message.type === "stop") {
    capturedTab = null;
    chrome.runtime.sendMessage({ type: "halt" }).catch(() => {});
    reply({ ok: true });
    return false;
  }
  if (message.type === "tiles") {
    readTiles().then(reply, () => reply({ tiles: [], viewport: null }));
    return true;
  }
  return false;
});
