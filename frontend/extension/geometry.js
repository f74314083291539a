// Maps the tiles tiles.js read (CSS pixels of the viewport) onto a frame captured from the tab, and says
// where the server must take the names from.
// Loaded by offscreen.html; pure functions, so the browser tests call them directly.
//
// Why one scale for both axes, and no devicePixelRatio: the tab capture is the viewport as rendered,
// innerWidth × innerHeight CSS pixels drawn at devicePixelRatio device pixels each. A HiDPI screen raises
// devicePixelRatio only; browser zoom raises devicePixelRatio and shrinks innerWidth/innerHeight by the
// same factor; CSS zoom changes neither but getBoundingClientRect already reports the zoomed boxes. In
// every case the viewport fills the rendered picture, so frame pixels per CSS pixel = picture size /
// viewport size. When the capture has another aspect ratio than the viewport (size constraints), Chrome
// fits the picture inside the frame preserving its aspect and centres it (letterbox or pillarbox bars).
// Pinch zoom (visualViewport.scale) is not accounted for.
(() => {
  const MIN_SIDE = 8; // frame pixels; smaller tiles cannot hold a readable face

  function engagementMapTiles(page, frameWidth, frameHeight) {
    if (!page || !page.viewport || !page.viewport.width || !page.viewport.height || !(frameWidth > 0) || !(frameHeight > 0)) return [];
    const scale = Math.min(frameWidth / page.viewport.width, frameHeight / page.viewport.height);
    const offsetX = (frameWidth - page.viewport.width * scale) / 2;
    const offsetY = (frameHeight - page.viewport.height * scale) / 2;
    // The picture's own edges: a tile is clipped to them, never to the bars around it.
    const [left, top] = [Math.round(offsetX), Math.round(offsetY)];
    const [right, bottom] = [Math.round(offsetX + page.viewport.width * scale), Math.round(offsetY + page.viewport.height * scale)];
    const mapped = [];
    for (const tile of page.tiles || []) {
      const x0 = Math.min(right, Math.max(left, Math.round(offsetX + tile.x * scale)));
      const y0 = Math.min(bottom, Math.max(top, Math.round(offsetY + tile.y * scale)));
      const x1 = Math.min(right, Math.max(left, Math.round(offsetX + (tile.x + tile.w) * scale)));
      const y1 = Math.min(bottom, Math.max(top, Math.round(offsetY + (tile.y + tile.h) * scale)));
      if (x1 - x0 >= MIN_SIDE && y1 - y0 >= MIN_SIDE) {
        mapped.push({ ...(tile.name ? { name: tile.name } : {}), x: x0, y: y0, w: x1 - x0, h: y1 - y0, self: Boolean(tile.self) });
      }
    }
    return mapped;
  }

  // The upload's names_from field: "page" when every tile sent carries the name the page shows for it,
  // "picture" when a tile has none or no tile is sent (the server finds the grid): the server must then
  // read the names painted on the frame.
  function engagementNamesFrom(tiles) {
    return tiles.length > 0 && tiles.every((tile) => tile.name) ? "page" : "picture";
  }

  globalThis.engagementMapTiles = engagementMapTiles;
  globalThis.engagementNamesFrom = engagementNamesFrom;
})();
