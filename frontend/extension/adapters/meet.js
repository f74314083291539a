// Google Meet adapter. The page structure was learnt from public extensions and bots (sources next to
// each hook; nothing copied). Meet's class names are generated and change with every release, so only
// data attributes, ARIA and layout facts are used.
//
// Two structures are known. The older one gives each tile data-participant-id,
// data-requested-participant-id and data-allocation-index, and labels every tile in a [data-self-name]
// element. On today's (2025-2026) the bots find tiles by data-participant-id alone, read the name from a
// span.notranslate with no such label round it, and find a [data-self-name] marker, valued with the
// viewer's own name, in the self view only.
(() => {
  const kit = globalThis.engagementTileKit;

  // A video tile carries data-participant-id, the device id "spaces/…/devices/…" the people panel uses
  // too: older pages (aws-samples/amazon-transcribe-live-meeting-assistant …/providers/meet.js,
  // arnellebalane/google-meet-pip src/lib/google-meet.js) and today's (Vexa-ai/vexa
  // core/meetings/modules/gmeet-capture/src/gmeet-speakers.ts, checked on live calls in 2026;
  // attendee-labs/attendee bots/google_meet_bot_adapter/google_meet_chromedriver_payload.js finds its own
  // tile by it). Older pages add data-requested-participant-id (meetingbot/meetingbot
  // src/bots/meet/src/bot.ts, FugiTech/google-meet-grid-view grid.user.js) and
  // data-initial-participant-id (StanleyMango/WhoAmIGoogleMeetEdition ElementsQuery.js). Panel rows are
  // role=listitem (meetingbot; attendee's div[aria-label="Participants"][role="list"]).
  const TILE = "[data-requested-participant-id], [data-initial-participant-id], [data-participant-id]:not([role='listitem'])";
  // The name: the tile's span.notranslate (Vexa gmeet-speakers.ts tileName, the LMA meet.js provider);
  // else the text of the older label element, [data-self-name] (google-meet-pip; grid-view rewrites that
  // text to rename tiles); else the tile's aria-label.
  const NAME = "span.notranslate";
  const SELF_NAME = "[data-self-name]";
  // The self view: today's tile holds the [data-self-name] marker valued with the viewer's own name (Vexa
  // gmeet-speakers.ts selfParticipantId and isSelf; its extension reads the viewer's name from it in
  // clients/extension/src/inpage.ts). Older pages labelled it "You" (google-meet-pip compares the label
  // with 'You') and drew it mirrored (grid-view offers to flip it back), the language-free hook.
  const SELF_LABEL = "You";
  // A presentation's label says so: "(Presentation)", "(You, presenting)" (Rich-SCC/engagium_v0.2
  // __documentation/Extension/GOOGLE_MEET_DOM_REFERENCE.md, November 2025). English only; another UI
  // language lets a presentation through as a tile, where the server finds no face and drops it.
  const PRESENTATION = /\bpresent(ation|ing)\b/i;

  function isMirrored(element, tile) {
    let mirrored = false;
    for (let node = element; node && node !== tile.parentElement; node = node.parentElement) {
      if (new DOMMatrixReadOnly(getComputedStyle(node).transform).a < 0) mirrored = !mirrored;
    }
    return mirrored;
  }

  function nameOf(tile) {
    return kit.text(tile.querySelector(NAME)) || kit.text(tile.querySelector(SELF_NAME)) || tile.getAttribute("aria-label") || "";
  }

  function isSelf(tile, name, video) {
    const marker = tile.querySelector(SELF_NAME);
    const viewer = marker ? marker.getAttribute("data-self-name").replace(/\s+/g, " ").trim() : "";
    return name === SELF_LABEL || (name !== "" && name === viewer) || Boolean(video && isMirrored(video.element, tile));
  }

  function read(document) {
    const tiles = [];
    for (const tile of document.querySelectorAll(TILE)) {
      if (tile.parentElement.closest(TILE)) continue; // a nested hook of a tile already read
      const name = nameOf(tile);
      if (PRESENTATION.test(name)) continue;
      // With the camera off Meet hides the tile's <video> (it keeps it, without data) and shows an
      // avatar (google-meet-pip's notes on hidden and data-less videos).
      const video = kit.largestVisible(tile, "video");
      const rect = video ? video.rect : kit.visibleRect(tile);
      if (!rect) continue;
      tiles.push({ name, rect, self: isSelf(tile, name, video), video: Boolean(video) });
    }
    return tiles;
  }

  kit.register({
    platform: "meet",
    matches: (location, document) => location.hostname === "meet.google.com" || document.querySelector(TILE) !== null,
    read,
  });
})();
