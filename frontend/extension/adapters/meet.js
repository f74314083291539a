// Google Meet adapter. The page structure was learnt from public extensions and bots (sources next to
// each hook; nothing copied). Meet's class names are generated and change with every release, so only
// data attributes, ARIA and layout facts are used.
(() => {
  const kit = globalThis.engagementTileKit;

  // A video tile carries data-requested-participant-id (meetingbot/meetingbot src/bots/meet/src/bot.ts,
  // FugiTech/google-meet-grid-view grid.user.js) and data-participant-id, the id the people panel uses
  // too (aws-samples/amazon-transcribe-live-meeting-assistant …/providers/meet.js,
  // arnellebalane/google-meet-pip src/lib/google-meet.js). Panel rows are role=listitem (meetingbot).
  const TILE = "[data-requested-participant-id], [data-participant-id]:not([role='listitem'])";
  // The name label is the [data-self-name] element's text (google-meet-pip; grid-view rewrites that text
  // to rename tiles); else the .notranslate span under the tooltip anchor (the LMA meet.js provider).
  const NAME = "[data-self-name]";
  const NAME_FALLBACK = "[data-tooltip-id] .notranslate";
  // The self view is labelled "You" rather than with a name (google-meet-pip compares the label with
  // 'You') and is drawn mirrored (grid-view offers to flip it back). The mirror is the language-free hook.
  const SELF_LABEL = "You";
  // A presentation's label says so: "(Presentation)", "(You, presenting)" (Rich-SCC/engagium_v0.2
  // __documentation/Extension/GOOGLE_MEET_DOM_REFERENCE.md). English only; another UI language lets a
  // presentation through as a tile, where the server finds no face and drops it.
  const PRESENTATION = /\bpresent(ation|ing)\b/i;

  function isMirrored(element, tile) {
    let mirrored = false;
    for (let node = element; node && node !== tile.parentElement; node = node.parentElement) {
      if (new DOMMatrixReadOnly(getComputedStyle(node).transform).a < 0) mirrored = !mirrored;
    }
    return mirrored;
  }

  function read(document) {
    const tiles = [];
    for (const tile of document.querySelectorAll(TILE)) {
      if (tile.parentElement.closest(TILE)) continue; // a nested hook of a tile already read
      const name = kit.text(tile.querySelector(NAME) || tile.querySelector(NAME_FALLBACK)) || tile.getAttribute("aria-label") || "";
      if (PRESENTATION.test(name)) continue;
      // With the camera off Meet hides the tile's <video> (it keeps it, without data) and shows an
      // avatar (google-meet-pip's notes on hidden and data-less videos).
      const video = kit.largestVisible(tile, "video");
      const rect = video ? video.rect : kit.visibleRect(tile);
      if (!rect) continue;
      const self = name === SELF_LABEL || Boolean(video && isMirrored(video.element, tile));
      tiles.push({ name, rect, self, video: Boolean(video) });
    }
    return tiles;
  }

  kit.register({
    platform: "meet",
    matches: (location, document) => location.hostname === "meet.google.com" || document.querySelector(TILE) !== null,
    read,
  });
})();
