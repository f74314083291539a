// Injected first (see tiles.js): the helpers every adapter shares, and the generic adapter, the fallback
// for pages no platform adapter recognises or where it finds no tile: every visible <video> at least
// 96 px wide, named by the closest short label.
(() => {
  // The parent in the composed tree: a shadow root's top element has its host as parent.
  function parentOf(node) {
    return node.parentElement || (node.parentNode && node.parentNode.host) || null;
  }

  function intersect({ left, top, right, bottom }, clip) {
    if (!clip) return null;
    [left, top] = [Math.max(left, clip.x), Math.max(top, clip.y)];
    [right, bottom] = [Math.min(right, clip.x + clip.width), Math.min(bottom, clip.y + clip.height)];
    return right > left && bottom > top ? { x: left, y: top, width: right - left, height: bottom - top } : null;
  }

  // The element's visible box within its own document's viewport.
  function clipInDocument(element) {
    const view = element.ownerDocument.defaultView;
    const box = element.getBoundingClientRect();
    let [left, top, right, bottom] = [box.left, box.top, box.right, box.bottom];
    for (let node = element; parentOf(node) && view.getComputedStyle(node).position !== "fixed"; ) {
      node = parentOf(node);
      const style = view.getComputedStyle(node);
      const clip = node.getBoundingClientRect();
      if (style.overflowX !== "visible") [left, right] = [Math.max(left, clip.left), Math.min(right, clip.right)];
      if (style.overflowY !== "visible") [top, bottom] = [Math.max(top, clip.top), Math.min(bottom, clip.bottom)];
    }
    // The viewport less its scroll bars: the scrolling element's client box (the body's in quirks mode).
    const { clientWidth, clientHeight } = element.ownerDocument.scrollingElement || element.ownerDocument.documentElement;
    return intersect({ left, top, right, bottom }, { x: 0, y: 0, width: clientWidth, height: clientHeight });
  }

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

    // The part of the element on screen, in CSS pixels of the top viewport: its box cut by the ancestors
    // that clip overflow (across shadow roots) and by its document's viewport less its scroll bars; inside
    // a same-origin frame (the Zoom web client's iframe#webclient) moved by the frame's offset and cut by
    // the frame. Null when nothing of it shows. A fixed element escapes its ancestors' clipping.
    visibleRect(element) {
      if (!kit.isShown(element)) return null;
      const own = clipInDocument(element);
      const frame = element.ownerDocument.defaultView.frameElement;
      if (!own || !frame) return own;
      const { dx, dy } = kit.documentOffset(element.ownerDocument);
      const moved = { left: own.x + dx, top: own.y + dy, right: own.x + own.width + dx, bottom: own.y + own.height + dy };
      return intersect(moved, kit.visibleRect(frame));
    },

    // Where a document's viewport lies in the top viewport: each same-origin frame adds its content box's
    // corner (past its border and padding).
    documentOffset(document) {
      let [dx, dy] = [0, 0];
      for (let view = document.defaultView; view.frameElement; view = view.parent) {
        const frame = view.frameElement;
        const box = frame.getBoundingClientRect();
        const style = frame.ownerDocument.defaultView.getComputedStyle(frame);
        dx += box.left + frame.clientLeft + Number.parseFloat(style.paddingLeft);
        dy += box.top + frame.clientTop + Number.parseFloat(style.paddingTop);
      }
      return { dx, dy };
    },

    // A box {left, top, right, bottom} cut to a rect {x, y, width, height} (null: nothing left).
    intersect,

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
