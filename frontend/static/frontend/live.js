// Live session dashboard: history on connect, then events over the session's WebSocket.
// Payloads arrive already redacted by the server's privacy policy; this file only draws what it gets.
// Rendering is batched: events update state and mark what changed; one animation frame draws it.
// Hooks for browser tests and the dashboard benchmark: window.dashboardState (updates: events applied,
// render: per-event latency samples and busy time) and the element ids in session_live.html.
"use strict";

(() => {
  const config = JSON.parse(document.getElementById("dashboard-config").textContent);
  const $ = (id) => document.getElementById(id);
  const CLOSE_REASONS = { 4401: "signed out: log in again", 4403: "not allowed to watch this session" };
  const MIN_SPAN_MS = 60 * 1000;
  const MINUTE_MS = 60 * 1000;
  const BAND_LABELS = { engaged: "engaged", partly: "partly engaged", not_engaged: "not engaged", absent: "absent", present: "present", still: "still picture" };
  const NEEDS_ATTENTION = { absent: 0, not_engaged: 1, still: 1, partly: 2, present: 3, engaged: 4 };
  const RENDER_SAMPLES = 5000;

  const state = {
    updates: 0,
    connected: false,
    historyLoaded: false,
    status: config.status,
    endedAt: null, // ISO time the session ended (history, then the session_status event)
    classSeenAt: null, // local ms when the latest frame was taken, as far as the page can tell (its figures go stale)
    serverOffsetMs: 0, // the server's clock minus this browser's, from the history: "now" on the server's time axis
    policy: config.policy,
    range: "recent",
    latestCapturedAt: null, // ms; observation events at or before it are already in the history
    windowMs: 600 * 1000,
    series: [], // per second, as the server computes it: {t: ms, engagement, gapBefore}
    minutes: new Map(), // minute ms -> {sum, n, live}; the whole-session engagement chart
    sessionMix: null, // the whole session's expression mix, as the server counts it (history, then session_mix events)
    sessionMixEvents: 0, // session_mix events received (one per rollup refresh)
    attendance: null, // against the roster, as the server counts it (history, then attendance events)
    classFigures: { expression_mix: null, engagement: null, present: 0 },
    participants: new Map(), // id -> {participant, name, band, expression, confidence, engagement, seenAt (local ms) ...}
    alerts: new Map(), // id -> alert payload
    flags: [],
    frames: {},
    render: { latencies: [], busyMs: 0, applyMs: 0, frames: 0, messages: 0 },
  };
  window.dashboardState = state;

  // ---- small helpers -------------------------------------------------------------------------------

  const percent = (p) => `${Math.round(p * 100)}%`;
  const minuteOf = (ms) => Math.floor(ms / MINUTE_MS) * MINUTE_MS;
  const duration = (seconds) => (seconds < 90 ? `${Math.round(seconds)} s` : `${(seconds / 60).toFixed(1)} min`);
  // A rate: at most one decimal, no trailing ".0" (0.66 → "0.7", 1 → "1"); one significant digit below 0.05.
  const rate = (fps) => String(Math.round(fps * 10) / 10 || Number(fps.toPrecision(1)));

  // Every time shows in the user's zone (their profile: config.time_zone), never in the browser's own, in one format:
  // 24-hour HH:MM:SS. plotly has no zones: it reads a Date or a number in the browser's zone, and a date string as
  // written. So a chart gets each time as the user's clock reads it, written out (wall): "2026-03-02 17:48:05.250".
  const ZONE_PARTS = { hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", second: "numeric" };
  const zoneClock = (() => {
    try {
      return new Intl.DateTimeFormat("en-US", { ...ZONE_PARTS, timeZone: config.time_zone });
    } catch {
      return new Intl.DateTimeFormat("en-US", { ...ZONE_PARTS, timeZone: "UTC" }); // a zone this browser does not know
    }
  })();
  const offsets = new Map(); // minute (ms) -> the zone's offset from UTC then (ms); zones change offset on whole minutes
  function zoneOffset(ms) {
    const minute = Math.floor(ms / MINUTE_MS) * MINUTE_MS;
    let offset = offsets.get(minute);
    if (offset === undefined) {
      const p = Object.fromEntries(zoneClock.formatToParts(minute).map(({ type, value }) => [type, Number(value)]));
      offset = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - minute;
      offsets.set(minute, offset);
    }
    return offset;
  }
  const wall = (ms) => new Date(ms + zoneOffset(ms)).toISOString().slice(0, 23).replace("T", " ");
  const clock = (iso) => wall(Date.parse(iso)).slice(11, 19);
  const TIME_AXIS = { type: "date", tickformat: "%H:%M:%S", hoverformat: "%H:%M:%S" };

  function setText(id, text) {
    const el = $(id);
    if (el.textContent !== text) el.textContent = text;
  }

  // An ended session's page stays connected (its last events still come), but nothing on it is live any more.
  function setConnection(text) {
    const el = $("connection-status");
    const shown = text === "live" && state.status === "ended" ? "ended" : text;
    el.textContent = shown;
    el.dataset.state = shown === "live" || shown === "ended" ? shown : "down";
  }

  // ---- batched rendering ---------------------------------------------------------------------------

  const dirty = { cards: new Set(), order: false, counters: false, charts: false, alerts: false, all: false };
  let pendingSince = []; // receipt times of events waiting for the next frame
  let scheduled = false;

  function schedule(receivedAt) {
    if (receivedAt !== undefined) pendingSince.push(receivedAt);
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(draw);
  }

  function draw() {
    scheduled = false;
    const started = performance.now();
    if (dirty.all) state.participants.forEach((_, id) => dirty.cards.add(id));
    dirty.cards.forEach((id) => renderCard(state.participants.get(id)));
    if (dirty.order || dirty.all) orderCards();
    if (dirty.cards.size || dirty.order || dirty.all) renderNeeds();
    if (dirty.counters || dirty.all) renderCounters();
    if (dirty.alerts || dirty.all) renderAlerts();
    if ((dirty.charts || dirty.all) && window.Plotly) renderCharts();
    if (dirty.attendance || dirty.all) renderAttendance();
    dirty.attendance = false;
    dirty.cards.clear();
    dirty.order = dirty.counters = dirty.alerts = dirty.all = false;
    if (window.Plotly) dirty.charts = false;
    const done = performance.now();
    const render = state.render;
    render.busyMs += done - started;
    render.frames += 1;
    pendingSince.forEach((t) => { if (render.latencies.length < RENDER_SAMPLES) render.latencies.push(done - t); });
    pendingSince = [];
  }

  // ---- header, counters, alerts ----------------------------------------------------------------

  function renderSessionStatus() {
    const el = $("session-status");
    el.textContent = state.status;
    el.className = `status status-${state.status}`;
    $("session-controls").hidden = state.status !== "live";
    // After the end the page says so once, at the top, and every card and figure shows its final state, greyed.
    const ended = state.status === "ended";
    $("ended-banner").hidden = !ended;
    if (ended) setText("ended-banner", `Session ended${state.endedAt ? ` at ${clock(state.endedAt)}` : ""}: uploads are refused, and what the page shows is each student's and the class's last state, not live.`);
    $("participant-cards").dataset.session = state.status;
  }

  // Seconds since the class's latest frame while the session is live (0 once it ended: nothing more is expected).
  function classStaleSeconds() {
    if (state.classSeenAt == null || state.status !== "live") return 0;
    return Math.max(0, (Date.now() - state.classSeenAt) / 1000);
  }

  function renderCounters() {
    const f = state.frames;
    setText("frames-received", String(f.received ?? 0));
    setText("frames-processed", String(f.processed ?? 0));
    setText("frames-dropped", String(f.dropped ?? 0));
    setText("frames-received-minute", `${f.received_last_minute ?? 0} in the last minute`);
    setText("frames-processed-minute", `${f.processed_last_minute ?? 0} in the last minute`);
    // Uploads the server refused for load never became frames: shown beside the drops so none goes unseen.
    const refused = f.refused ? `; ${f.refused} uploads refused (server busy)` : "";
    setText("frames-dropped-minute", `${f.dropped_last_minute ?? 0} in the last minute${refused}`);
    // The operator's figures sit folded under the charts; their summary line stays readable while folded.
    setText("connection-summary", `· ${f.received ?? 0} frames received, ${f.dropped ?? 0} dropped, latency ${$("latency-ms").textContent}`);
    // The client could not read names from the meeting page: the server reads the labels painted on the tiles.
    $("names-notice").hidden = !f.names_from_picture;
    renderSampling(f);
    // "Now" figures of a class with no recent frame are not known: they show as such, not as the last frame's.
    const stale = classStaleSeconds() > config.stale_after_seconds;
    const ended = state.status === "ended";
    const still = state.classFigures.still ?? 0;
    setText("present-count", stale ? "–" : String(state.classFigures.present ?? 0));
    const engagement = state.classFigures.engagement;
    setText("class-engagement-value", stale || engagement == null ? "–" : engagement.toFixed(2));
    const panel = $("class-now");
    panel.dataset.state = ended ? "ended" : stale ? "stale" : "live";
    let note = "";
    if (ended) note = "At the end of the session.";
    else if (stale) note = `No recent frames (${duration(classStaleSeconds())}): nothing is known about the class now.`;
    if (!stale && still) note = `${note} ${still} still picture${still === 1 ? "" : "s"} (a photo or a paused camera) not counted.`.trim();
    setText("class-now-note", note);
    $("class-now-note").hidden = !note;
    renderSessionStatus();
  }

  // Under load the server shares its capacity between classes and may let this one send fewer frames per second
  // than its client wants (the frames counts' reduced_rate, max_fps and wanted_fps): said in the "Class now" panel
  // while it lasts, as its figures then update less often. Nothing to say once the session ended.
  function renderSampling(f) {
    const reduced = Number(f.reduced_rate) === 1 && state.status !== "ended";
    const known = [f.max_fps, f.wanted_fps].every((n) => typeof n === "number" && Number.isFinite(n) && n > 0);
    const sampled = known ? `at ${rate(f.max_fps)} frames/s instead of ${rate(f.wanted_fps)}` : "at a reduced rate";
    setText("sampling-note", reduced ? `The server is busy: this class is sampled ${sampled}. Readings update less often.` : "");
    $("sampling-note").hidden = !reduced;
  }

  function alertText(alert) {
    const who = alert.name ? `${alert.name}: ` : "";
    const detail = alert.detail || {};
    const limit = detail.threshold_seconds ? ` for ${duration(detail.threshold_seconds)}` : "";
    switch (alert.kind) {
      case "absent": return `${who}no face in their tile${limit}`;
      case "not_engaged": return `${who}not engaged${limit}`;
      case "class_drop": return `Class indicator fell to ${detail.now?.toFixed(2)} from ${detail.baseline?.toFixed(2)} over the last 5 minutes`;
      case "class_low": return `Class indicator ${detail.now?.toFixed(2)}, below ${detail.floor}`;
      case "uploads_stopped": return `No frames received for ${duration(detail.threshold_seconds)} or more`;
      default: return `${who}${alert.label}`;
    }
  }

  function renderAlerts() {
    const open = [...state.alerts.values()].filter((a) => !a.cleared_at).sort((a, b) => Date.parse(a.raised_at) - Date.parse(b.raised_at));
    const unacknowledged = open.filter((a) => !a.acknowledged_at).length;
    const badge = $("alert-count");
    badge.textContent = String(unacknowledged);
    badge.dataset.count = String(unacknowledged);
    const list = $("alert-list");
    list.replaceChildren(...open.map((alert) => {
      const item = document.createElement("li");
      item.className = `alert alert-${alert.kind}${alert.acknowledged_at ? " acknowledged" : ""}`;
      item.dataset.alertId = String(alert.id);
      item.dataset.kind = alert.kind;
      const text = document.createElement("span");
      text.textContent = `${clock(alert.raised_at)} · ${alertText(alert)}`;
      item.append(text);
      if (alert.acknowledged_at) {
        const seen = document.createElement("span");
        seen.className = "muted";
        seen.textContent = ` · seen by ${alert.acknowledged_by}`;
        item.append(seen);
      } else {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "ack";
        button.textContent = "Acknowledge";
        button.addEventListener("click", () => acknowledge(alert.id, button));
        item.append(button);
      }
      return item;
    }));
    $("alerts-empty").hidden = open.length > 0;
    renderResolved();
    $("uploads-banner").hidden = !open.some((a) => a.kind === "uploads_stopped") || state.status !== "live";
    const flagged = state.flags.length;
    const last = state.flags[flagged - 1];
    setText("flag-count", flagged
      ? `${flagged} marked moment${flagged === 1 ? "" : "s"} on the timeline; the last at ${clock(last.at)}${last.note ? ` (${last.note})` : ""}` : "");
  }

  // Cleared alerts stay in view, newest first, with the span they were open (an upload outage included): an alert that
  // vanished the moment it cleared would leave no trace of what happened.
  const RESOLVED_SHOWN = 20;
  function renderResolved() {
    const resolved = [...state.alerts.values()].filter((a) => a.cleared_at).sort((a, b) => Date.parse(b.cleared_at) - Date.parse(a.cleared_at));
    const panel = $("alert-history-panel");
    panel.hidden = resolved.length === 0;
    setText("alert-history-count", String(resolved.length));
    const items = resolved.slice(0, RESOLVED_SHOWN).map((alert) => {
      const item = document.createElement("li");
      item.className = `alert resolved alert-${alert.kind}`;
      item.dataset.alertId = String(alert.id);
      item.dataset.kind = alert.kind;
      // An outage began with the last frame received, not when the check noticed it: its span is the gap itself.
      const gap = alert.kind === "uploads_stopped" && alert.detail?.last_frame_at;
      const from = gap ? alert.detail.last_frame_at : alert.raised_at;
      const lasted = (Date.parse(alert.cleared_at) - Date.parse(from)) / 1000;
      item.textContent = gap
        ? `${clock(from)}–${clock(alert.cleared_at)} · No frames received for ${duration(lasted)} · resolved`
        : `${clock(alert.raised_at)}–${clock(alert.cleared_at)} · ${alertText(alert)} · resolved after ${duration(lasted)}`;
      return item;
    });
    if (resolved.length > RESOLVED_SHOWN) {
      items.push(Object.assign(document.createElement("li"), { className: "muted", textContent: `and ${resolved.length - RESOLVED_SHOWN} earlier (all in the session report)` }));
    }
    $("alert-history").replaceChildren(...items);
  }

  // ---- attendance --------------------------------------------------------------------------------

  // The attendance is the server's (classroom/attendance.py), drawn as it comes: with the history, whenever who is
  // here changes, and after each rollup refresh (the minutes present). Counts always; names where the policy allows.
  const ATTENDANCE_GROUPS = [
    ["absent", "Absent now"],
    ["never_joined", "Not joined"],
    ["present", "Present"],
  ];

  function attendanceFigures(a) {
    const c = a.counts;
    const others = c.others_present + c.others_absent;
    let figures;
    if (!c.expected) {
      figures = [["No roster for this course (add students on the course page to see who is missing): present", c.others_present],
        ["absent now", c.others_absent]];
    }
    else if (state.status === "ended") {
      figures = [["Expected", c.expected], ["present to the end", c.present_to_end], ["left early", c.left_early],
        ["never in view", c.never_in_view], ["never joined", c.never_joined]];
    } else figures = [["Expected", c.expected], ["Present", c.present], ["Absent now", c.absent], ["Never joined", c.never_joined]];
    if (c.expected && others) figures.push(["not on the roster", others]);
    if (c.opted_out) figures.push(["opted out, not tracked", c.opted_out]);
    return figures;
  }

  function attendanceItem(row) {
    const item = document.createElement("li");
    item.dataset.status = row.status;
    const name = document.createElement("span");
    name.className = "attendance-name";
    name.textContent = row.name;
    const detail = document.createElement("span");
    detail.className = "muted";
    if (row.status === "never_joined") detail.textContent = " not joined";
    else if (row.status === "absent" && !row.last_seen_at) detail.textContent = " joined, no face in view";
    else {
      const seen = row.status === "absent" ? `last seen ${clock(row.last_seen_at)}, ` : "";
      detail.textContent = ` ${seen}${row.present_minutes.toFixed(1)} min present`;
    }
    item.append(name, detail);
    return item;
  }

  function renderAttendance() {
    const a = state.attendance;
    if (!a) return;
    const summary = $("attendance-summary");
    const figures = attendanceFigures(a);
    const text = figures.map(([label, n]) => (n == null ? label : `${label} ${n}`)).join(" · ");
    if (summary.dataset.text !== text) {
      summary.dataset.text = text;
      summary.replaceChildren(...figures.flatMap(([label, n], i) => {
        const part = document.createElement("span");
        part.className = "attendance-figure";
        part.append(label);
        if (n != null) {
          const number = document.createElement("strong");
          number.textContent = ` ${n}`;
          part.append(number);
        }
        return i ? [" · ", part] : [part];
      }));
    }
    const rows = [...a.students, ...a.others.map((row) => ({ ...row, name: `${row.name} (not on the roster)` }))];
    const details = $("attendance-details");
    details.hidden = !a.per_student || !rows.length;
    if (details.hidden) return;
    $("attendance-lists").replaceChildren(...ATTENDANCE_GROUPS.map(([status, title]) => {
      const members = rows.filter((row) => row.status === status);
      const group = document.createElement("div");
      group.className = "attendance-group";
      const heading = document.createElement("h3");
      heading.textContent = `${title} (${members.length})`;
      const list = document.createElement("ul");
      list.className = "plain";
      list.append(...members.map(attendanceItem));
      group.append(heading, list);
      return group;
    }));
  }

  // ---- charts ----------------------------------------------------------------------------------

  function withheldNote() {
    if (state.policy === "aggregate" && state.classFigures.withheld) {
      return `Class figures appear while at least ${config.min_group} are present`;
    }
    return null;
  }

  // Both figures are the share of faces shown each apparent expression, as the server counted them: "now" in the
  // latest frame, "whole session" over every frame so far (the session report's figure). The page only draws them.
  function mixFigure() {
    const whole = state.range === "session";
    // Under aggregate the server withholds both while the class is small; between its session_mix events, the last
    // whole-session figure is not drawn once the latest frame says the class is withheld.
    // "Now" with no recent frame is not known: the last frame's mix is not drawn as if it were the class now.
    const staleNow = !whole && classStaleSeconds() > config.stale_after_seconds;
    const mix = whole ? (withheldNote() ? null : state.sessionMix) : staleNow ? null : state.classFigures.expression_mix;
    setText("mix-title", state.policy === "attention" ? "Class apparent expression mix (off under this policy)"
      : `Share of faces shown each apparent expression, ${whole ? "whole session" : "now"}`);
    let note = null;
    if (state.policy === "attention") note = "No apparent expressions under the attention policy";
    else if (staleNow) note = "No recent frames";
    else if (!mix) note = withheldNote() || (whole ? "No apparent expression shown yet" : "Waiting for the first processed frame");
    const data = [{
      type: "bar",
      x: config.expressions,
      y: config.expressions.map((name) => (mix ? mix[name] : 0)),
      marker: { color: config.expressions.map((name) => config.expression_colors[name]) },
      hovertemplate: "%{x}: %{y:.0%}<extra></extra>",
    }];
    const layout = {
      margin: { l: 44, r: 12, t: 8, b: 36 },
      yaxis: { range: [0, 1], tickformat: ".0%", title: { text: whole ? "share of faces, all frames" : "share of faces, latest frame" } },
      annotations: note ? [{ text: note, showarrow: false, xref: "paper", yref: "paper", x: 0.5, y: 0.6 }] : [],
    };
    return [data, layout];
  }

  function flagShapes(range) {
    return state.flags
      .filter((flag) => !range || (Date.parse(flag.at) >= range[0] && Date.parse(flag.at) <= range[1]))
      .map((flag) => ({ type: "line", xref: "x", yref: "paper", x0: wall(Date.parse(flag.at)), x1: wall(Date.parse(flag.at)), y0: 0, y1: 1, line: { color: "#6d28d9", width: 2, dash: "dot" } }));
  }

  function flagLabels() {
    return state.flags.map((flag) => ({ x: wall(Date.parse(flag.at)), y: 1, xref: "x", yref: "paper", yanchor: "bottom", text: flag.note || "flag", showarrow: false, font: { size: 10, color: "#6d28d9" } }));
  }

  function bandShapes() {
    const bands = config.bands;
    const band = (y0, y1, color) => ({ type: "rect", xref: "paper", x0: 0, x1: 1, y0, y1, fillcolor: color, opacity: 0.08, line: { width: 0 } });
    return [band(bands.engaged, 1, "#2a9d8f"), band(bands.partly, bands.engaged, "#e9c46a"), band(0, bands.partly, "#e76f51")];
  }

  // The line breaks where the server says frames stopped (a null point: plotly joins no gap over it), and while uploads
  // are stopped the time axis runs on to the server's now, so the missing stretch shows as what it is.
  function recentSeries() {
    const x = [];
    const y = [];
    state.series.forEach((p) => {
      if (p.gapBefore) { x.push(wall(p.t - 1)); y.push(null); }
      x.push(wall(p.t));
      y.push(p.engagement);
    });
    let range;
    if (state.series.length) {
      const flagged = state.flags.map((flag) => Date.parse(flag.at));
      const outage = [...state.alerts.values()].some((a) => a.kind === "uploads_stopped" && !a.cleared_at) && state.status === "live";
      const now = outage ? [Date.now() + state.serverOffsetMs] : [];
      const last = Math.max(state.series[state.series.length - 1].t, ...flagged.filter((t) => t >= state.series[0].t), ...now);
      const span = Math.max(MIN_SPAN_MS, last - state.series[0].t);
      range = [last - span, last + span * 0.05];
    }
    return { x, y, range, empty: !state.series.length };
  }

  function sessionSeries() {
    const minutes = [...state.minutes.entries()].sort((a, b) => a[0] - b[0]);
    const x = [];
    const y = [];
    minutes.forEach(([t, m], i) => {
      // A minute with no frame at all is a gap: the line breaks there rather than drawing across it.
      if (i > 0 && t - minutes[i - 1][0] > MINUTE_MS) { x.push(wall(minutes[i - 1][0] + MINUTE_MS)); y.push(null); }
      x.push(wall(t + MINUTE_MS / 2));
      y.push(m.n ? m.sum / m.n : null);
    });
    let range;
    if (minutes.length) range = [minutes[0][0], Math.max(minutes[minutes.length - 1][0] + MINUTE_MS, minutes[0][0] + 10 * MINUTE_MS)];
    return { x, y, range, empty: !minutes.length };
  }

  function engagementFigure() {
    const whole = state.range === "session";
    const s = whole ? sessionSeries() : recentSeries();
    const data = [{ type: "scatter", mode: whole ? "lines+markers" : "lines+markers", x: s.x, y: s.y, line: { color: "#2a9d8f", shape: whole ? "hv" : "linear" },
      marker: { size: whole ? 5 : 3 }, connectgaps: false, hovertemplate: `${whole ? "minute of %{x|%H:%M}" : "%{x|%H:%M:%S}"}: %{y:.2f}<extra></extra>`, name: "class" }];
    const alertTimes = [...state.alerts.values()].map((a) => wall(Date.parse(a.raised_at)));
    if (alertTimes.length) {
      data.push({ type: "scatter", mode: "markers", x: alertTimes, y: alertTimes.map(() => 0.03), marker: { symbol: "triangle-up", size: 9, color: "#b42318" },
        hovertext: [...state.alerts.values()].map(alertText), hoverinfo: "text", name: "alerts" });
    }
    const note = withheldNote() || (s.empty ? "Waiting for the first processed frame" : null);
    const layout = {
      margin: { l: 44, r: 12, t: 16, b: 36 },
      showlegend: false,
      yaxis: { range: [0, 1.05], title: { text: "engagement indicator" } },
      xaxis: { ...TIME_AXIS, range: s.range ? s.range.map(wall) : undefined },
      shapes: [...bandShapes(), ...flagShapes()],
      annotations: [...(note ? [{ text: note, showarrow: false, xref: "paper", yref: "paper", x: 0.5, y: 0.5 }] : []), ...flagLabels()],
    };
    return [data, layout];
  }

  function renderCharts() {
    const options = { displayModeBar: false, responsive: true };
    Plotly.react($("expression-mix-chart"), ...mixFigure(), options);
    Plotly.react($("class-engagement-chart"), ...engagementFigure(), options);
  }

  // ---- cards -----------------------------------------------------------------------------------

  function cardFor(id) {
    const cards = $("participant-cards");
    let card = cards.querySelector(`.participant-card[data-participant-id="${id}"]`);
    if (!card) {
      card = $("participant-card-template").content.firstElementChild.cloneNode(true);
      card.dataset.participantId = String(id);
      const form = card.querySelector(".rename-form");
      form.action = config.rename_url.replace("/participants/0/", `/participants/${id}/`);
      form.addEventListener("submit", (event) => rename(event, id, form));
      // A click anywhere on the card opens the drill-down; from the keyboard, its name button does (Enter or Space).
      card.addEventListener("click", (event) => { if (!event.target.closest("details")) openDrilldown(id); });
      cards.append(card);
    }
    return card;
  }

  function staleSeconds(person) {
    if (person.seenAt == null || state.status !== "live") return 0;
    return Math.max(0, (Date.now() - person.seenAt) / 1000);
  }

  function renderCard(person) {
    if (!person) return;
    const card = cardFor(person.participant);
    const stale = staleSeconds(person);
    const isStale = stale > config.stale_after_seconds;
    const band = person.band || "absent";
    card.dataset.band = band;
    card.dataset.stale = isStale ? "true" : "false";
    card.querySelector(".name").textContent = person.name;
    // The name painted on the tile, where it says something else than the card: a cross-check for the teacher.
    const painted = card.querySelector(".painted-name");
    painted.hidden = !person.painted_name || person.painted_name === person.name;
    painted.querySelector("span").textContent = person.painted_name || "";
    // A student not seen for a while shows that, not their last band as if it were current.
    const badge = card.querySelector(".band");
    badge.textContent = isStale ? "no recent frames" : BAND_LABELS[band] || band;
    badge.className = `band band-${isStale ? "stale" : band}`;
    const staleRow = card.querySelector(".stale");
    staleRow.hidden = !isStale;
    if (isStale) staleRow.textContent = `last frame ${duration(stale)} ago`;
    const expressionRow = card.querySelector(".expression");
    expressionRow.hidden = state.policy !== "full";
    let expression = "–"; // also on a card with no recent frame: its last reading is not the student now
    if (!isStale) {
      if (band === "absent") expression = "no face in view";
      else if (band === "still") expression = "not read: still picture"; // a photo's smile says nothing of a student
      // An expression is shown with how clearly it reads; neutral (the student's resting face) without a figure.
      else if (person.expression) expression = person.confidence == null || person.expression === "neutral" ? person.expression : `${person.expression} (${percent(person.confidence)})`;
      // A face under 20 px is read from an enlarged crop: its expression is less certain, and the card says so.
      if (person.low_resolution && person.expression && band !== "absent" && band !== "still") expression += " · small face, less certain";
    }
    card.querySelector(".expression-value").textContent = expression;
    card.querySelector(".engagement").hidden = state.policy === "aggregate";
    let engagement = band === "absent" || person.engagement == null ? BAND_LABELS[band] || "–" : `${BAND_LABELS[band] || band} (${person.engagement.toFixed(2)})`;
    if (band === "absent") engagement = "absent: no face in view"; // in the class (their tile is there), not in view
    if (isStale) engagement = "–";
    card.querySelector(".engagement-value").textContent = engagement;
    applyFilter(card, person);
  }

  function applyFilter(card, person) {
    const text = $("card-filter").value.trim().toLowerCase();
    const band = $("card-band").value;
    const bandOf = person.band || "absent";
    let visible = !text || person.name.toLowerCase().includes(text);
    if (band === "needs") visible = visible && needsAttention(person);
    else if (band) visible = visible && bandOf === band;
    card.hidden = !visible;
  }

  // Who needs attention: absent (no face in their tile) or not engaged, as the server's bands say. The panel at the top
  // and the cards' "needs attention" filter show the same students.
  function needsAttention(person) {
    const band = person.band || "absent";
    return band === "absent" || band === "not_engaged";
  }

  // The panel on the first screen: one button per student (it opens their timeline), absent first, then by name.
  // Items are kept and moved, not rebuilt, so a button that has the keyboard's focus keeps it as frames arrive.
  function renderNeeds() {
    const list = $("needs-list");
    if (!list) return; // under the aggregate policy there are no per-student figures, and no panel
    const people = [...state.participants.values()].filter(needsAttention)
      .sort((a, b) => (NEEDS_ATTENTION[a.band || "absent"] - NEEDS_ATTENTION[b.band || "absent"]) || a.name.localeCompare(b.name));
    const items = new Map([...list.children].map((item) => [item.dataset.participantId, item]));
    people.forEach((person, i) => {
      const key = String(person.participant);
      let item = items.get(key);
      items.delete(key);
      if (!item) {
        item = document.createElement("li");
        item.dataset.participantId = key;
        const button = document.createElement("button");
        button.type = "button";
        button.className = "needs-name";
        button.setAttribute("aria-haspopup", "dialog");
        button.addEventListener("click", () => openDrilldown(person.participant));
        const badge = document.createElement("span");
        item.append(button, badge);
      }
      const band = person.band || "absent";
      const [button, badge] = item.children;
      if (button.textContent !== person.name) button.textContent = person.name;
      badge.className = `band band-${band}`;
      if (badge.textContent !== BAND_LABELS[band]) badge.textContent = BAND_LABELS[band];
      if (list.children[i] !== item) list.insertBefore(item, list.children[i] || null);
    });
    items.forEach((item) => item.remove());
    const count = $("needs-count");
    count.textContent = String(people.length);
    count.dataset.count = String(people.length);
    $("needs-empty").hidden = people.length > 0;
  }

  function sortKey(person) {
    switch ($("card-sort").value) {
      case "attention": return [NEEDS_ATTENTION[person.band || "absent"] ?? 5, person.engagement ?? 2, person.name];
      case "engagement": return [person.engagement ?? 2, 0, person.name];
      default: return [0, 0, person.name];
    }
  }

  function compare(a, b) {
    const ka = sortKey(a);
    const kb = sortKey(b);
    for (let i = 0; i < 2; i += 1) if (ka[i] !== kb[i]) return ka[i] - kb[i];
    return ka[2].localeCompare(kb[2]);
  }

  function orderCards() {
    const cards = $("participant-cards");
    const people = [...state.participants.values()].sort(compare);
    people.forEach((person, i) => {
      const card = cardFor(person.participant);
      if (cards.children[i] !== card) cards.insertBefore(card, cards.children[i] || null);
    });
    $("participants-empty").hidden = cards.children.length > 0;
  }

  function upsertParticipant(person, seenAt) {
    const known = state.participants.get(person.participant);
    const merged = { ...(known || {}), ...person };
    if (seenAt !== undefined) merged.seenAt = seenAt;
    state.participants.set(person.participant, merged);
    dirty.cards.add(person.participant);
    if (!known || known.name !== merged.name || known.band !== merged.band || known.engagement !== merged.engagement) dirty.order = true;
  }

  // ---- state updates ---------------------------------------------------------------------------

  const seriesPoint = (p) => ({ t: Date.parse(p.t), engagement: p.engagement ?? null, gapBefore: Boolean(p.gap_before) });

  // The server sends each second's point as its history computes it (other frames of that second included): it
  // replaces the page's point of that second, so a reload draws the same line.
  function putSeriesPoint(point) {
    const p = seriesPoint(point);
    let i = state.series.length;
    while (i > 0 && state.series[i - 1].t > p.t) i -= 1;
    if (i > 0 && state.series[i - 1].t === p.t) state.series[i - 1] = p;
    else state.series.splice(i, 0, p);
    const oldest = state.series[state.series.length - 1].t - state.windowMs;
    while (state.series.length && state.series[0].t <= oldest) state.series.shift();
  }

  function addMinutePoint(capturedAt, figures) {
    const t = minuteOf(Date.parse(capturedAt));
    const minute = state.minutes.get(t) || { sum: 0, n: 0, live: true };
    if (!minute.live) return; // a rolled-up minute from the history already counts this frame
    if (figures.engagement != null) { minute.sum += figures.engagement; minute.n += 1; }
    state.minutes.set(t, minute);
  }

  function applyHistory(history) {
    const now = Date.now();
    state.policy = history.policy;
    state.status = history.status;
    state.endedAt = history.ended_at ?? null;
    state.serverOffsetMs = history.server_time ? Date.parse(history.server_time) - now : 0;
    // How old the latest frame is, on the server's clock (as the cards' ages are): its figures go stale as live ones do.
    state.classSeenAt = history.latest_captured_at && history.server_time
      ? now - (Date.parse(history.server_time) - Date.parse(history.latest_captured_at)) : null;
    state.windowMs = history.since_seconds * 1000;
    state.latestCapturedAt = history.latest_captured_at ? Date.parse(history.latest_captured_at) : null;
    state.series = history.series.map(seriesPoint);
    state.minutes = new Map();
    (history.minutes || []).forEach((m) => {
      state.minutes.set(Date.parse(m.t), { sum: m.engagement ?? 0, n: m.engagement == null ? 0 : 1, live: false });
    });
    state.sessionMix = history.session_mix ?? null;
    state.attendance = history.attendance ?? null;
    state.classFigures = history.class;
    state.frames = history.frames;
    state.alerts = new Map((history.alerts || []).map((a) => [a.id, a]));
    state.flags = history.flags || [];
    state.participants.clear();
    $("participant-cards").replaceChildren();
    // The history says what each card displays by the server code the live events use (smoothed): a reload changes nothing.
    history.participants.forEach((person) => upsertParticipant(displayed(person), person.age_seconds == null ? undefined : now - person.age_seconds * 1000));
    state.historyLoaded = true;
    dirty.all = true;
    setConnection("live");
  }

  // Cards show the smoothed engagement (no flicker) and the shown expression, which the server already holds
  // against flicker (classroom/expressions.py); the raw model output stays in the event and the database.
  function displayed(o) {
    const smooth = o.smoothed;
    if (!smooth) return o;
    return { ...o, engagement: smooth.engagement, band: smooth.band };
  }

  function applyObservations(event) {
    const capturedAt = Date.parse(event.captured_at);
    if (state.latestCapturedAt !== null && capturedAt <= state.latestCapturedAt) return false; // already in the history
    const now = Date.now();
    state.latestCapturedAt = capturedAt;
    state.classSeenAt = now;
    state.classFigures = event.class;
    if (event.series_point) putSeriesPoint(event.series_point);
    addMinutePoint(event.captured_at, event.class);
    event.observations.forEach((o) => upsertParticipant({ ...displayed(o), present: true }, now));
    event.absent.forEach((a) => upsertParticipant({ participant: a.participant, name: a.name, present: false, band: "absent" }, now));
    if (event.latency_ms != null) setText("latency-ms", `${Math.round(event.latency_ms)} ms`);
    dirty.counters = true;
    dirty.charts = true;
    return true;
  }

  function apply(message, receivedAt) {
    switch (message.type) {
      case "history":
        applyHistory(message);
        break;
      case "observations":
        if (!applyObservations(message)) return;
        break;
      case "attendance": // sent when who is here changes, and after each rollup refresh (the minutes present)
        state.attendance = message.attendance;
        dirty.attendance = true;
        break;
      case "session_mix": // sent after each rollup refresh (every 15 s while live)
        state.sessionMix = message.session_mix ?? null;
        state.sessionMixEvents += 1;
        dirty.charts = true;
        break;
      case "session_status":
        state.status = message.status;
        state.endedAt = message.ended_at ?? state.endedAt;
        if (state.historyLoaded) setConnection("live"); // still connected, but an ended session is not live
        dirty.counters = dirty.alerts = dirty.all = true;
        break;
      case "participant":
        upsertParticipant({ participant: message.participant, name: message.name, painted_name: message.painted_name ?? "",
          ...(state.participants.has(message.participant) ? {} : { band: "absent" }) });
        break;
      case "participant_removed": // an opted-out student: what was stored about them is gone, and so is their card
        state.participants.delete(message.participant);
        $("participant-cards").querySelector(`.participant-card[data-participant-id="${message.participant}"]`)?.remove();
        dirty.order = true;
        break;
      case "frames": {
        const { type, ...counts } = message;
        state.frames = counts;
        dirty.counters = true;
        break;
      }
      case "alert":
        state.alerts.set(message.alert.id, message.alert);
        dirty.alerts = dirty.charts = true;
        if (drill.participant != null && message.alert.participant === drill.participant) refreshDrilldown();
        break;
      case "flag":
        state.flags = [...state.flags.filter((f) => f.id !== message.flag.id), message.flag];
        dirty.charts = dirty.alerts = true;
        break;
      default:
        return;
    }
    state.updates += 1;
    schedule(receivedAt);
  }

  // ---- teacher actions -------------------------------------------------------------------------

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      body,
      headers: { Accept: "application/json", "X-CSRFToken": config.csrf_token },
      credentials: "same-origin",
    });
    let payload = {};
    try { payload = await response.json(); } catch { payload = { message: `HTTP ${response.status}` }; }
    return { ok: response.ok, payload };
  }

  async function acknowledge(id, button) {
    button.disabled = true;
    try {
      const { ok, payload } = await post(config.acknowledge_url.replace("/alerts/0/", `/alerts/${id}/`), new FormData());
      if (ok) {
        state.alerts.set(id, payload.alert);
        dirty.alerts = true;
        schedule();
      } else {
        button.disabled = false;
        button.title = payload.message || "Could not acknowledge";
      }
    } catch {
      button.disabled = false;
    }
  }

  $("flag-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const error = $("flag-error");
    error.textContent = "";
    try {
      const { ok, payload } = await post(config.flag_url, new FormData(form));
      if (!ok) {
        error.textContent = payload.message || "Could not mark this moment";
        return;
      }
      state.flags = [...state.flags.filter((f) => f.id !== payload.flag.id), payload.flag];
      form.reset();
      dirty.charts = dirty.alerts = true;
      schedule();
    } catch {
      error.textContent = "Could not mark this moment: no connection";
    }
  });

  async function rename(event, id, form) {
    event.preventDefault();
    const error = form.querySelector(".rename-error");
    error.textContent = "";
    try {
      const { ok, payload } = await post(form.action, new FormData(form));
      if (!ok) {
        error.textContent = Object.values(payload.errors || {}).flat().map((e) => e.message).join(" ") || payload.message || "Rename failed";
        return;
      }
      upsertParticipant({ participant: id, name: payload.name });
      form.reset();
      form.closest("details").open = false;
      schedule();
    } catch {
      error.textContent = "Rename failed: no connection";
    }
  }

  // ---- drill-down ------------------------------------------------------------------------------

  const drill = { participant: null };

  async function openDrilldown(id) {
    const dialog = $("drilldown");
    drill.participant = id;
    const person = state.participants.get(id);
    $("drilldown-title").textContent = person ? person.name : "Participant";
    $("drilldown-note").textContent = "Loading…";
    if (!dialog.open) dialog.showModal();
    await refreshDrilldown();
  }

  async function refreshDrilldown() {
    const id = drill.participant;
    if (id == null) return;
    let response;
    try {
      response = await fetch(config.timeline_url.replace("/participants/0/", `/participants/${id}/`), { headers: { Accept: "application/json" }, credentials: "same-origin" });
    } catch {
      $("drilldown-note").textContent = "No connection";
      return;
    }
    const body = await response.json();
    if (drill.participant !== id) return;
    if (!response.ok) {
      $("drilldown-note").textContent = body.message || `HTTP ${response.status}`;
      Plotly.purge($("drilldown-engagement"));
      Plotly.purge($("drilldown-expressions"));
      $("drilldown-alerts").replaceChildren();
      return;
    }
    renderDrilldown(body);
  }

  function renderDrilldown(body) {
    $("drilldown-title").textContent = body.name;
    const present = body.minutes.reduce((sum, m) => sum + m.present_seconds, 0);
    const absent = body.absent_spans.reduce((sum, span) => sum + (Date.parse(span.to) - Date.parse(span.from)) / 1000, 0);
    // The line is the smoothed series the card's badge is read from (the server smooths it as it smooths the card).
    $("drilldown-note").textContent = `Present ${duration(present)}, absent ${duration(absent)} (shaded) · steps: per-minute means · line: the last 10 minutes, smoothed as the card's badge · dotted: marked moments`;
    const options = { displayModeBar: false, responsive: true };
    const minuteX = body.minutes.map((m) => wall(Date.parse(m.t)));
    const times = [...body.minutes.map((m) => Date.parse(m.t)), ...body.points.map((p) => Date.parse(p.t))];
    const range = times.length ? [wall(Math.min(...times)), wall(Math.max(Math.max(...times), Math.min(...times) + MINUTE_MS))] : undefined;
    const data = [
      { type: "scatter", mode: "lines+markers", x: minuteX, y: body.minutes.map((m) => m.engagement), line: { color: "#9fb8c8", shape: "hv", width: 3 },
        marker: { size: 6 }, name: "per minute", hovertemplate: "minute of %{x|%H:%M}: %{y:.2f}<extra></extra>" },
      { type: "scatter", mode: "lines", x: body.points.map((p) => wall(Date.parse(p.t))), y: body.points.map((p) => p.engagement), line: { color: "#1f7a6f" }, name: "recent",
        hovertemplate: "%{x|%H:%M:%S}: %{y:.2f}<extra></extra>" },
    ];
    if (body.alerts.length) {
      data.push({ type: "scatter", mode: "markers", x: body.alerts.map((a) => wall(Date.parse(a.raised_at))), y: body.alerts.map(() => 0.03),
        marker: { symbol: "triangle-up", size: 10, color: "#b42318" }, hovertext: body.alerts.map(alertText), hoverinfo: "text", name: "alerts" });
    }
    const absentShapes = body.absent_spans.map((span) => ({ type: "rect", xref: "x", yref: "paper", x0: wall(Date.parse(span.from)), x1: wall(Date.parse(span.to)), y0: 0, y1: 1,
      fillcolor: "#9aa5b1", opacity: 0.3, line: { width: 0 } }));
    const flags = body.flags.map((flag) => ({ type: "line", xref: "x", yref: "paper", x0: wall(Date.parse(flag.at)), x1: wall(Date.parse(flag.at)), y0: 0, y1: 1,
      line: { color: "#6d28d9", width: 2, dash: "dot" } }));
    Plotly.react($("drilldown-engagement"), data, {
      margin: { l: 44, r: 12, t: 8, b: 36 }, showlegend: false,
      yaxis: { range: [0, 1.05], title: { text: "engagement indicator" } }, xaxis: { ...TIME_AXIS, range },
      shapes: [...bandShapes(), ...absentShapes, ...flags],
    }, options);
    const showExpressions = body.policy === "full" && body.points.some((p) => p.expression);
    $("drilldown-expressions").hidden = !showExpressions;
    if (showExpressions) {
      // Long sessions: each minute's mix; short ones: every recent reading, one row per expression.
      const byMinute = body.minutes.filter((m) => m.expressions).length >= 3;
      const traces = byMinute
        ? config.expressions.map((name) => ({ type: "scatter", mode: "lines", stackgroup: "mix", name, x: minuteX,
          line: { color: config.expression_colors[name] }, fillcolor: config.expression_colors[name],
          y: body.minutes.map((m) => (m.expressions ? m.expressions[name] : 0)), hovertemplate: `${name} %{y:.0%}<extra></extra>` }))
        : [{ type: "scatter", mode: "markers", x: body.points.map((p) => wall(Date.parse(p.t))), y: body.points.map((p) => p.expression),
          marker: { size: 7, color: body.points.map((p) => config.expression_colors[p.expression] || "#6b7280"),
            opacity: body.points.map((p) => 0.3 + 0.7 * (p.confidence ?? 0.5)) },
          hovertemplate: "%{x|%H:%M:%S}: %{y}<extra></extra>" }];
      const yaxis = byMinute
        ? { range: [0, 1], tickformat: ".0%", title: { text: "apparent expression" } }
        : { type: "category", categoryorder: "array", categoryarray: config.expressions, title: { text: "apparent expression" } };
      Plotly.react($("drilldown-expressions"), traces, { margin: { l: 70, r: 12, t: 8, b: 30 }, yaxis, xaxis: { ...TIME_AXIS, range },
        showlegend: byMinute, legend: { orientation: "h", y: -0.25 } }, options);
    }
    $("drilldown-alerts").replaceChildren(...(body.alerts.length ? body.alerts.map((alert) => {
      const item = document.createElement("li");
      item.className = `alert alert-${alert.kind}`;
      item.textContent = `${clock(alert.raised_at)}${alert.cleared_at ? `–${clock(alert.cleared_at)}` : " (open)"} · ${alertText(alert)}`;
      return item;
    }) : [Object.assign(document.createElement("li"), { className: "muted", textContent: "No alerts." })]));
  }

  $("drilldown-close").addEventListener("click", () => $("drilldown").close());
  $("drilldown").addEventListener("close", () => { drill.participant = null; });

  // ---- controls --------------------------------------------------------------------------------

  document.querySelectorAll("input[name=range]").forEach((input) => input.addEventListener("change", () => {
    state.range = input.value;
    dirty.charts = true;
    schedule();
  }));
  ["card-filter", "card-band", "card-sort"].forEach((id) => $(id).addEventListener("input", () => { dirty.all = true; schedule(); }));

  // Staleness is about time passing without events: re-check the cards every second.
  let ticks = 0;
  setInterval(() => {
    let changed = false;
    state.participants.forEach((person, id) => {
      const card = cardFor(id);
      const stale = staleSeconds(person) > config.stale_after_seconds;
      if (stale || card.dataset.stale === "true") { dirty.cards.add(id); changed = true; }
    });
    // The class's "now" figures go stale the same way, and while uploads are stopped the chart's axis runs on to now.
    const classStale = classStaleSeconds() > config.stale_after_seconds;
    const wasStale = $("class-now").dataset.state === "stale";
    if (classStale || wasStale) { dirty.counters = true; changed = true; }
    if (classStale !== wasStale) dirty.charts = true; // the "now" mix goes blank, or comes back
    ticks += 1;
    if (ticks % 5 === 0 && [...state.alerts.values()].some((a) => a.kind === "uploads_stopped" && !a.cleared_at)) { dirty.charts = true; changed = true; }
    if (changed) schedule();
  }, 1000);

  // ---- socket ----------------------------------------------------------------------------------

  // A ping every 20 s re-joins the session's group on the server (lost if its Redis restarted); a socket
  // that has heard nothing, not even a pong, for 45 s is presumed dead and replaced (history first again).
  const PING_MS = 20000;
  const SILENT_MS = 45000;
  let retryMs = 1000;
  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}${config.ws_path}`);
    let heardAt = Date.now();
    let pinger = null;
    setConnection(state.connected ? "reconnecting" : "connecting");
    socket.addEventListener("open", () => {
      state.connected = true;
      retryMs = 1000;
      pinger = setInterval(() => {
        if (Date.now() - heardAt > SILENT_MS) socket.close(4000, "silent");
        else if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "ping" }));
      }, PING_MS);
    });
    socket.addEventListener("message", (event) => {
      const receivedAt = performance.now();
      heardAt = Date.now();
      apply(JSON.parse(event.data), receivedAt);
      state.render.applyMs += performance.now() - receivedAt;
      state.render.messages += 1;
    });
    socket.addEventListener("close", (event) => {
      clearInterval(pinger);
      state.historyLoaded = false;
      if (CLOSE_REASONS[event.code]) {
        setConnection(CLOSE_REASONS[event.code]);
        return;
      }
      setConnection("reconnecting");
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 15000);
    });
  }

  renderSessionStatus();
  dirty.all = true;
  schedule();
  window.addEventListener("load", () => { dirty.charts = true; schedule(); });
  connect();
})();
