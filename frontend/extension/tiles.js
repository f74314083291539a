// Reads the participant tiles of a meeting page, in CSS pixels of the viewport. background.js injects
// adapters/generic.js, adapters/meet.js, adapters/zoom.js, adapters/teams.js and then this file, and
// uses what this file returns: {platform, fallback, tiles: [{name?, x, y, w, h, self}], viewport,
// devicePixelRatio}. geometry.js maps the tiles onto a captured frame.
//
// The first platform adapter whose page this is (by hostname or by its DOM hooks) reads the tiles; when
// none matches or it finds no tile (a redesign broke its hooks), the generic adapter reads every large
// visible <video>; when that finds nothing either, no tiles are sent and the server finds the grid itself.
//
// Decisions:
// - Camera-off tiles (an avatar or initials instead of video) are skipped: there is no face to read, so
//   the server would search the tile for nothing.
// - Screen shares and presentations are skipped by the adapters: they are not a participant's camera.
// - The self view (the teacher's own camera) is sent with self: true; the server drops it.
// - Names are trimmed, runs of whitespace become one space, at most MAX_NAME characters (longer ones
//   are cut, any " (n)" included); other scripts are kept. Repeated names get " (2)", " (3)", … as the
//   server rejects duplicates.
// - A tile whose name the page does not show (a structure the adapter half knows, a gallery painted
//   into one canvas) has no name key at all: an invented "Tile n" would reach the teacher as a student.
//   The upload then says names_from=picture (geometry.js), and the server reads the painted labels.
(() => {
  const MAX_NAME = 200;
  const adapters = globalThis.engagementAdapters || [];
  const generic = adapters.find((adapter) => adapter.platform === "generic");

  // A platform adapter that throws (its page changed under it) counts as finding nothing.
  function readWith(adapter) {
    try {
      return adapter.read(document);
    } catch (error) {
      console.warn(`engagement tiles: the ${adapter.platform} adapter failed`, error);
      return [];
    }
  }

  function fit(name, suffix) {
    const chars = Array.from(name); // code points: never cut a character in half
    const room = MAX_NAME - Array.from(suffix).length;
    return (chars.length > room ? chars.slice(0, room).join("").trimEnd() : name) + suffix;
  }

  // Each tile's name made unique, or "" for a tile without one.
  function uniqueNames(found) {
    const used = new Set();
    return found.map((tile) => {
      const base = String(tile.name || "").replace(/\s+/g, " ").trim();
      if (!base) return "";
      let name = fit(base, "");
      for (let count = 2; used.has(name); count += 1) name = fit(base, ` (${count})`);
      used.add(name);
      return name;
    });
  }

  const platform = adapters.find((adapter) => adapter !== generic && adapter.matches(location, document));
  let found = platform ? readWith(platform) : [];
  const fallback = found.length === 0;
  if (fallback && generic) found = generic.read(document);
  found = found.filter((tile) => tile.video);
  const names = uniqueNames(found);
  return {
    platform: platform ? platform.platform : "generic",
    fallback,
    tiles: found.map((tile, index) => ({
      ...(names[index] ? { name: names[index] } : {}),
      x: tile.rect.x,
      y: tile.rect.y,
      w: tile.rect.width,
      h: tile.rect.height,
      self: tile.self,
    })),
    viewport: { width: innerWidth, height: innerHeight },
    devicePixelRatio,
  };
})();
