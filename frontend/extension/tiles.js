// Reads participant tiles from a meeting page: every visible <video> big enough to hold a face,
// named by the closest short label in its tile. Returns rectangles in CSS pixels of the viewport.
// Injected into the meeting tab by background.js; also loaded by the project's browser test.
(() => {
  const MIN_WIDTH = 96;
  const MAX_NAME = 60;

  function labelFor(video) {
    let node = video;
    for (let depth = 0; depth < 5 && node && node !== document.body; depth += 1) {
      const aria = node.getAttribute && node.getAttribute("aria-label");
      if (aria && aria.trim() && aria.length <= MAX_NAME) return aria.trim();
      const labelled = node.querySelector && node.querySelector("[data-participant-name], [data-self-name]");
      if (labelled) return (labelled.getAttribute("data-participant-name") || labelled.getAttribute("data-self-name") || labelled.textContent).trim();
      const text = node.innerText ? node.innerText.trim().split("\n")[0] : "";
      if (text && text.length <= MAX_NAME) return text;
      node = node.parentElement;
    }
    return null;
  }

  function readTiles() {
    const used = new Map();
    const tiles = [];
    document.querySelectorAll("video").forEach((video, index) => {
      const rect = video.getBoundingClientRect();
      const visible = rect.width >= MIN_WIDTH && rect.bottom > 0 && rect.right > 0 && rect.top < innerHeight && rect.left < innerWidth;
      if (!visible) return;
      let name = labelFor(video) || `Tile ${index + 1}`;
      const count = (used.get(name) || 0) + 1;
      used.set(name, count);
      if (count > 1) name = `${name} (${count})`;
      const x = Math.max(0, rect.left);
      const y = Math.max(0, rect.top);
      tiles.push({ name, x, y, w: Math.min(innerWidth, rect.right) - x, h: Math.min(innerHeight, rect.bottom) - y });
    });
    return { tiles, viewport: { width: innerWidth, height: innerHeight } };
  }

  globalThis.engagementReadTiles = readTiles;
  return readTiles();
})();
