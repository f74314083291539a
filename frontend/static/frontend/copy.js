// Copy buttons: <button class="copy" data-copy-target="element-id"> copies that field's value.
"use strict";

document.querySelectorAll("button.copy[data-copy-target]").forEach((button) => {
  button.addEventListener("click", async () => {
    const field = document.getElementById(button.dataset.copyTarget);
    try {
      await navigator.clipboard.writeText(field.value);
    } catch {
      field.select(); // no clipboard access (plain http, old browser): leave it selected for Ctrl+C
      return;
    }
    const label = button.textContent;
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = label; }, 1500);
  });
});
