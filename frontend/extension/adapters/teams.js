// Microsoft Teams (web) adapter. The page structure was learnt from public extensions and bots (sources
// next to each hook; nothing copied). Teams' Fluent UI class names are hashed per release, so only its
// data-tid / data-cid / data-stream-type test hooks and ARIA labels are used.
(() => {
  const kit = globalThis.engagementTileKit;

  // New Teams wraps each stream in [data-stream-type] whose data-tid is the display name
  // (Meeting-BaaS/meet-teams-bot chrome_extension/src/observeSpeakers/teams.ts, Vexa-ai/vexa
  // core/meetings/modules/teams-capture/src/msteams-speakers.ts). Classic Teams used
  // [data-cid="calling-participant-stream"] labelled "Name, Muted, …" (meet-teams-bot, and the LMA
  // teams.js provider in aws-samples/amazon-transcribe-live-meeting-assistant).
  const TILE = "[data-stream-type], [data-cid='calling-participant-stream']";
  // Stream types are 'Video' | 'ScreenSharing', as in the calling SDK Teams is built on
  // (Azure/communication-ui-library packages/acs-calling-selector/src/types/VideoGallery.ts).
  const SCREEN_SHARE = "ScreenSharing";
  // Your own video sits in [data-tid="myself-video"], labelled "Myself video, <name>" (LMA teams.js).
  const SELF = "[data-tid='myself-video']";

  function nameOf(tile, stream) {
    const tid = stream ? stream.getAttribute("data-tid") : "";
    if (tid && tid !== "myself-video") return tid;
    // A name with a comma in it is cut there; the label has no better separator.
    return (tile.getAttribute("aria-label") || "").split(",")[0];
  }

  function read(document) {
    const tiles = [];
    for (const tile of document.querySelectorAll(TILE)) {
      if (tile.parentElement.closest(TILE)) continue; // a nested hook of a tile already read
      const stream = tile.matches("[data-stream-type]") ? tile : tile.querySelector("[data-stream-type]");
      if (stream && stream.getAttribute("data-stream-type") === SCREEN_SHARE) continue;
      // With the camera off the tile shows an avatar and has no <video>.
      const video = kit.largestVisible(tile, "video");
      const rect = video ? video.rect : kit.visibleRect(tile);
      if (!rect) continue;
      tiles.push({ name: nameOf(tile, stream), rect, self: tile.closest(SELF) !== null, video: Boolean(video) });
    }
    return tiles;
  }

  kit.register({
    platform: "teams",
    matches: (location, document) =>
      /^teams\.(microsoft|live)\.com$|^teams\.cloud\.microsoft$/.test(location.hostname) || document.querySelector(`${TILE}, ${SELF}`) !== null,
    read,
  });
})();
