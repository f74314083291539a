// Injected first (see tiles.js): the helpers every adapter shares, and the generic adapter, the fallback
// for pages no platform adapter recognises or where it finds no tile: every visible <video> at least
// 96 px wide, named by the closest short label.
(() => {
  const kit = {
    // Every tile read injects the files again into the same isolated world, so an adapter replaces its
    // earlier registration instead of piling up copies.
    register(adapter) {
      const adapters = (globalThis.engagementAdapters = globalThis.engagementAdapters || []);
      const index = adapters.findIndex((known) => known.platform === adapter.platform);
      if (index >= 0) adapters[index] = adapter;
      else adapters.push(adapter);
    },

    text(element) {
      return element ? element.textContent.replace(/\s+/g, " ").trim() : "";
    },

    isShown(element) {
      return element.checkVisibility({ opacityProperty: true, visibilityProperty: true });
    },

    // The part of the element on screen: its box cut by the ancestors that clip overflow and by the
    // viewport less its scroll bars; null when nothing of it shows. A fixed element escapes its
    // ancestors' clipping.
    visibleRect(element) {
      if (!kit.isShown(element)) return null;
      const box = element.getBoundingClientRect();
      let [left, top, right, bottom] = [box.left, box.top, box.right, box.bottom];
      for (let node = element; node.parentElement && getComputedStyle(node).position !== "fixed"; ) {
        node = node.parentElement;
        const style = getComputedStyle(node);
        const clip = node.getBoundingClientRect();
        if (style.overflowX !== "visible") [left, right] = [Math.max(left, clip.left), Math.min(right, clip.right)];
        if (style.overflowY !== "visible") [top, bottom] = [Math.max(top, clip.top), Math.min(bottom, clip.bottom)];
      }
      // The viewport less its scroll bars: the scrolling element's client box (the body's in quirks mode).
      const { clientWidth, clientHeight } = document.scrollingElement || document.documentElement;
      [left, top, right, bottom] = [Math.max(left, 0), Math.max(top, 0), Math.min(right, clientWidth), Math.min(bottom, clientHeight)];
      return right > left && bottom > top ? { x: left, y: top, width: right - left, height: bottom - top } : null;
    },

    // The largest visible element matching selector inside root (platforms keep hidden spare <video>s).
    largestVisible(root, selector) {
      let best = null;
      for (const element of root.querySelectorAll(selector)) {
        const rect = kit.visibleRect(element);
        if (rect && (!best || rect.width * rect.height > best.rect.width * best.rect.height)) best = { element, rect };
      }
      return best;
    },
  };
  globalThis.engagementTileKit = kit;

  const MIN_WIDTH = 96;
  const MAX_LABEL = 60; // longer text is a caption or a paragraph, not a name label

  function labelFor(video) {
    let node = video;
    for (let depth = 0; depth < 5 && node && node !== document.body; depth += 1) {
      const aria = node.getAttribute("aria-label");
      if (aria && aria.trim() && aria.length <= MAX_LABEL) return aria;
      const labelled = node.querySelector("[data-participant-name], [data-self-name]");
      if (labelled) return labelled.getAttribute("data-participant-name") || labelled.getAttribute("data-self-name") || labelled.textContent;
      const text = node.innerText ? node.innerText.trim().split("\n")[0] : "";
      if (text && text.length <= MAX_LABEL) return text;
      node = node.parentElement;
    }
    return "";
  }

  function read(document) {
    const tiles = [];
    for (const video of document.querySelectorAll("video")) {
      const rect = kit.visibleRect(video);
      if (rect && rect.width >= MIN_WIDTH) tiles.push({ name: labelFor(video), rect, self: false, video: true });
    }
    return tiles;
  }

  kit.register({ platform: "generic", matches: () => true, read });
})();
