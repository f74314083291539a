// A signed-in user with no time zone yet: save the browser's, once (base.html loads this only then). Every page,
// chart and export then shows times in it; the profile page changes it. A zone already chosen is never overridden.
"use strict";

(() => {
  const script = document.currentScript;
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (!script || !zone) return;

  // Two names of one clock (UTC and Etc/UTC): the page already reads right, so it is not drawn again.
  function sameClock(a, b) {
    try {
      return [0, 182].every((days) => {
        const at = Date.now() + days * 86400000;
        const read = (timeZone) => new Intl.DateTimeFormat("en-GB", { timeZone, day: "2-digit", hour: "2-digit", minute: "2-digit" }).format(at);
        return read(a) === read(b);
      });
    } catch {
      return false;
    }
  }

  const body = new FormData();
  body.append("time_zone", zone);
  fetch(script.dataset.url, {
    method: "POST",
    body,
    headers: { Accept: "application/json", "X-CSRFToken": script.dataset.csrf },
    credentials: "same-origin",
  })
    .then((response) => (response.ok ? response.json() : null))
    // This page was drawn in the deployment's zone: drawn again, its times read in the user's own.
    .then((saved) => { if (saved?.saved && !sameClock(saved.time_zone, script.dataset.active)) window.location.reload(); })
    .catch(() => {}); // not saved: the next page tries again
})();
