// The popup: where to send frames (server, session, token, rate); start/stop capturing this tab.
const fields = ["server", "session", "token", "fps"];
const $ = (id) => document.getElementById(id);

chrome.storage.local.get(fields).then((saved) => fields.forEach((f) => { if (saved[f]) $(f).value = saved[f]; }));

function show(status) { $("status").textContent = status || ""; }

$("start").addEventListener("click", async () => {
  const config = Object.fromEntries(fields.map((f) => [f, $(f).value.trim()]));
  if (!/^https?:\/\//.test(config.server) || !/^\d+$/.test(config.session) || !config.token) {
    show("Enter the server URL (http… or https…), the session id and its ingest token.");
    return;
  }
  await chrome.storage.local.set(config);
  const [tab] = await chrome.tabs.query({ active: true, currentWindow: true });
  const reply = await chrome.runtime.sendMessage({ type: "start", tabId: tab.id, config });
  show(reply && reply.error ? `Could not start: ${reply.error}` : "Capturing this tab…");
});

$("stop").addEventListener("click", async () => {
  await chrome.runtime.sendMessage({ type: "stop" });
  show("Stopped.");
});

chrome.runtime.onMessage.addListener((message) => { if (message.type === "status") show(message.text); });
