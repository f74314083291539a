// "Connect the extension" on the live page: asks the server for a one-time pairing code and shows it with its
// expiry. The code travels in a POST response body only, never in a URL; the extension exchanges it once.
"use strict";

(() => {
  const config = JSON.parse(document.getElementById("dashboard-config").textContent);
  const $ = (id) => document.getElementById(id);
  const dialog = $("pairing");
  let expiresAt = null;
  let ticker = null;

  function showExpiry() {
    const left = Math.round((expiresAt - Date.now()) / 1000);
    if (left <= 0) {
      $("pairing-code").classList.add("expired");
      $("pairing-expiry").textContent = "This code has expired: make a new one.";
      clearInterval(ticker);
      return;
    }
    $("pairing-expiry").textContent = `Single use; expires in ${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}.`;
  }

  async function newCode() {
    $("pairing-error").textContent = "";
    $("pairing-code").textContent = "…";
    $("pairing-code").classList.remove("expired");
    clearInterval(ticker);
    try {
      const response = await fetch(config.pairing_url, {
        method: "POST",
        headers: { Accept: "application/json", "X-CSRFToken": config.csrf_token },
        credentials: "same-origin",
      });
      const body = await response.json();
      if (!response.ok) throw new Error(body.message || `the server answered ${response.status}`);
      $("pairing-code").textContent = body.code;
      expiresAt = Date.now() + body.expires_in_seconds * 1000;
      showExpiry();
      ticker = setInterval(showExpiry, 1000);
    } catch (error) {
      $("pairing-code").textContent = "–";
      $("pairing-error").textContent = `No code: ${error.message}`;
    }
  }

  $("pairing-server").textContent = location.origin;
  $("pairing-button").addEventListener("click", () => { dialog.showModal(); newCode(); });
  $("pairing-new").addEventListener("click", newCode);
  $("pairing-close").addEventListener("click", () => { clearInterval(ticker); dialog.close(); });
})();
