// Zoom web client adapter (app.zoom.us/wc, gallery view). The page structure was learnt from public
// extensions and bots (sources next to each hook; nothing copied). Zoom's BEM-style class names
// (video-avatar__…) have stayed put across releases, unlike the layout around them.
(() => {
  const kit = globalThis.engagementTileKit;

  // One .video-avatar__avatar per participant, inside the tile's video frame (the LMA zoom.js provider in
  // aws-samples/amazon-transcribe-live-meeting-assistant watches it for joins and leaves; frames are
  // gallery-video-container__video-frame, speaker-bar-container__video-frame, …).
  const AVATAR = ".video-avatar__avatar";
  // A camera shows in a <video-player node-id media-type> element laid over the canvas Zoom paints all
  // videos into (attendee-labs/attendee bots/zoom_web_bot_adapter/zoom_web_chromedriver_payload.js); its
  // box is the video's. Older clients used <video>. A frame without one shows the avatar: camera off.
  const PLAYER = "video-player, video";
  // The name, first found of: the footer's span (role=none), the footer, the big name or the picture's alt
  // text of a camera-off avatar (LMA zoom.js getNameForVideoAvatar).
  const NAMES = [".video-avatar__avatar-footer span[role='none']", ".video-avatar__avatar-footer", ".video-avatar__avatar-name"];
  // Screen shares live in .sharee-container (Vexa-ai/vexa core/meetings/modules/zoom-capture tests); a
  // share's player has a node-id that is not its user's id (a multiple of 1024) (attendee) and
  // media-type="share".
  const SHARE = ".sharee-container";
  // Your own row in the participants panel is labelled "(Me)" / "(Host, me)" next to the display name
  // (participants-item__name-label, as Zoom-web attendance and host-finding scripts read it); the tile
  // with that name is the self view. A self-view container (self-video-container) is one too.
  const SELF_ROW_LABEL = ".participants-item__name-label";
  const SELF_ROW_NAME = ".participants-item__display-name";
  const SELF_CONTAINER = "[class*='self-video']";

  function isShare(player) {
    const node = Number.parseInt(player.getAttribute("node-id"), 10);
    return player.getAttribute("media-type") === "share" || (Number.isInteger(node) && node % 1024 !== 0);
  }

  function ownNames(document) {
    const names = new Set();
    for (const label of document.querySelectorAll(SELF_ROW_LABEL)) {
      if (!/\bme\b/i.test(label.textContent)) continue;
      const name = kit.text(label.parentElement.querySelector(SELF_ROW_NAME));
      if (name) names.add(name);
    }
    return names;
  }

  function nameOf(avatar) {
    for (const selector of NAMES) {
      const label = kit.text(avatar.querySelector(selector));
      if (label) return label;
    }
    const picture = avatar.querySelector("img.video-avatar__avatar-img");
    return picture ? picture.alt : "";
  }

  function read(document) {
    const own = ownNames(document);
    const tiles = [];
    for (const avatar of document.querySelectorAll(AVATAR)) {
      const frame = avatar.parentElement;
      if (frame.closest(SHARE)) continue;
      const player = kit.largestVisible(frame, PLAYER);
      if (player && isShare(player.element)) continue;
      const rect = player ? player.rect : kit.visibleRect(frame);
      if (!rect) continue;
      const name = nameOf(avatar);
      tiles.push({ name, rect, self: own.has(name) || frame.closest(SELF_CONTAINER) !== null, video: Boolean(player) });
    }
    return tiles;
  }

  kit.register({
    platform: "zoom",
    matches: (location, document) => /(^|\.)zoom\.us$/.test(location.hostname) || document.querySelector(AVATAR) !== null,
    read,
  });
})();
