// Zoom web client adapter (app.zoom.us/wc, gallery view). The page structure was learnt from public
// extensions and bots (sources next to each hook; nothing copied). Zoom's BEM-style class names
// (video-avatar__…) have stayed put across releases, unlike the layout around them.
//
// Two structures are known. In the older one each tile is a DOM frame holding its own <video-player> (or
// <video>) and its name. Today's client paints the whole gallery into one <canvas> in the open shadow
// root of a <video-player-container>, with no per-tile element: the tiles' rectangles are then worked out
// from the canvas's size and the participant count (galleryCells), and sent without names, as the page
// does not say which tile is whose.
(() => {
  const kit = globalThis.engagementTileKit;

  // The meeting runs inside a same-origin iframe#webclient under the app.zoom.us/wc shell
  // (screenappai/meeting-bot src/bots/ZoomBot.ts waits for it and works in its contentFrame); older pages,
  // and the Meeting SDK, have no such frame.
  const WEBCLIENT = "iframe#webclient";

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

  // Today's gallery: a <video-player-container> whose open shadow root holds the canvas every video is
  // painted into (attendee-labs/attendee bots/zoom_web_bot_adapter/zoom_web_chromedriver_payload.js reads
  // videoPlayer.container.shadowRoot's canvas; the element is the Video SDK's, see
  // zoom/videosdk-web-sample and developers.zoom.us/blog/upgrade-to-videosdk-v2).
  const CANVAS_HOST = "video-player-container";
  // The participant count: the number on the footer's participants button (its aria-label names "the
  // participants list" in Vexa-ai/vexa services/vexa-bot/core/src/platforms/zoom/web/selectors.ts;
  // screenappai/meeting-bot reads the count from #wc-footer). The participants panel is no count: Zoom
  // renders only its rows in view (EtsHasade/get-Zoom-Participaints script.js stretches the list first).
  const PARTICIPANTS_BUTTON = "#wc-footer button[aria-label*='participants list' i]";
  // Zoom's own gallery layout for a canvas, as its Video SDK sample lays one out
  // (zoom/videosdk-web-sample src/feature/video/video-layout-helper.ts): 16:9 cells of a whole number of
  // 16×9 units, each inset by 5 px, in the rows × columns that make them largest, the grid centred and its
  // last row centred; no cell under 256 px wide, so a canvas holds at most that many columns and rows
  // (more participants page). Assumed, not read: that the web client lays its canvas out alike, that
  // every participant has a cell (camera-off ones show their avatar; "hide non-video participants" breaks
  // this), and that no share or spotlight is on screen. The server skips camera-off cells (a flat dark
  // fill) as it does any camera-off tile.
  const UNIT = { width: 16, height: 9 };
  const INSET = 5;
  const MIN_CELL = { width: 256, height: 144 };

  // The web client's document: the same-origin iframe's when there is one.
  function clientDocument(document) {
    const frame = document.querySelector(WEBCLIENT);
    return (frame && frame.contentDocument) || document;
  }

  function readFrames(zoom) {
    const own = ownNames(zoom);
    const tiles = [];
    for (const avatar of zoom.querySelectorAll(AVATAR)) {
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

  function galleryCanvas(zoom) {
    let best = null;
    for (const host of zoom.querySelectorAll(CANVAS_HOST)) {
      if (!host.shadowRoot || host.closest(SHARE)) continue;
      const canvas = kit.largestVisible(host.shadowRoot, "canvas");
      if (canvas && (!best || canvas.rect.width * canvas.rect.height > best.rect.width * best.rect.height)) best = canvas;
    }
    return best;
  }

  function participantCount(zoom) {
    const button = zoom.querySelector(PARTICIPANTS_BUTTON);
    const count = button ? /\d+/.exec(button.textContent) : null;
    return count ? Number(count[0]) : 0;
  }

  // The cells of count participants in a width × height canvas, row by row, in the canvas's CSS pixels;
  // [] when they do not fit on one page.
  function galleryCells(width, height, count) {
    const maxColumns = Math.floor(width / (MIN_CELL.width + 2 * INSET));
    const maxRows = Math.floor(height / (MIN_CELL.height + 2 * INSET));
    if (count < 1 || count > maxColumns * maxRows) return [];
    let best = null;
    for (let columns = 1; columns <= Math.min(count, maxColumns); columns += 1) {
      const rows = Math.ceil(count / columns);
      const unit = Math.floor(Math.min(width / (UNIT.width * columns), height / (UNIT.height * rows)));
      if (rows <= maxRows && (!best || unit > best.unit)) best = { columns, rows, unit };
    }
    const [boxWidth, boxHeight] = [best.unit * UNIT.width, best.unit * UNIT.height];
    const top = (height - boxHeight * best.rows) / 2;
    const cells = [];
    for (let index = 0; index < count; index += 1) {
      const row = Math.floor(index / best.columns);
      const inRow = Math.min(best.columns, count - row * best.columns);
      const left = (width - boxWidth * inRow) / 2;
      cells.push({ x: left + (index % best.columns) * boxWidth + INSET, y: top + row * boxHeight + INSET, width: boxWidth - 2 * INSET, height: boxHeight - 2 * INSET });
    }
    return cells;
  }

  // Unnamed tiles, none of them the self view, all taken for cameras: the canvas shows names, the self
  // view and avatars only as painted pixels, so the server judges them.
  function readCanvas(zoom) {
    if (kit.largestVisible(zoom, SHARE)) return []; // a share squeezes the gallery into a strip of its own layout
    const canvas = galleryCanvas(zoom);
    if (!canvas) return [];
    const box = canvas.element.getBoundingClientRect();
    const { dx, dy } = kit.documentOffset(canvas.element.ownerDocument);
    const tiles = [];
    for (const cell of galleryCells(box.width, box.height, participantCount(zoom))) {
      const [left, top] = [dx + box.left + cell.x, dy + box.top + cell.y];
      const rect = kit.intersect({ left, top, right: left + cell.width, bottom: top + cell.height }, canvas.rect);
      if (rect) tiles.push({ name: "", rect, self: false, video: true });
    }
    return tiles;
  }

  function read(document) {
    const zoom = clientDocument(document);
    const tiles = readFrames(zoom);
    return tiles.length > 0 ? tiles : readCanvas(zoom);
  }

  kit.register({
    platform: "zoom",
    matches: (location, document) =>
      /(^|\.)zoom\.us$/.test(location.hostname) || clientDocument(document).querySelector(`${AVATAR}, ${CANVAS_HOST}`) !== null,
    read,
  });
})();
