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
  const BAND_LABELS = { engaged: "engaged", partly: "partly engaged", not_engaged: "not engaged", absent: "absent", present: "present" };
  const NEEDS_ATTENTION = { absent: 0, not_engaged: 1, partly: 2, present: 3, engaged: 4 };
  const RENDER_SAMPLES = 5000;

  const state = {
    updates: 0,
    connected: false,
    historyLoaded: false,
    status: config.status,
    policy: config.policy,
    range: "recent",
    latestCapturedAt: null, // ms; observation events at or before it are already in the history
    windowMs: 600 * 1000,
    series: [], // per second: {t: ms, sum, n}
    minutes: new Map(), // minute ms -> {sum, n, mix: {expr: sum of shares}, mixN}; whole-session chart
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
  const secondOf = (iso) => Math.floor(Date.parse(iso) / 1000) * 1000;
  const minuteOf = (ms) => Math.floor(ms / MINUTE_MS) * MINUTE_MS;
  const duration = (seconds) => (seconds < 90 ? `${Math.round(seconds)} s` : `${(seconds / 60).toFixed(1)} min`);
  const timeOf = (iso) => new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });

  function setText(id, text) {
    const el = $(id);
    if (el.textContent !== text) el.textContent = text;
  }

  function setConnection(text) {
    const el = $("connection-status");
    el.textContent = text;
    el.dataset.state = text === "live" ? "live" : "down";
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
    if (dirty.counters || dirty.all) renderCounters();
    if (dirty.alerts || dirty.all) renderAlerts();
    if ((dirty.charts || dirty.all) && window.Plotly) renderCharts();
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
    // The client could not read names from the meeting page: the server reads the labels painted on the tiles.
    $("names-notice").hidden = !f.names_from_picture;
    setText("present-count", String(state.classFigures.present ?? 0));
    const engagement = state.classFigures.engagement;
    setText("class-engagement-value", engagement == null ? "–" : engagement.toFixed(2));
    renderSessionStatus();
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
      text.textContent = `${timeOf(alert.raised_at)} · ${alertText(alert)}`;
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
    $("uploads-banner").hidden = !open.some((a) => a.kind === "uploads_stopped") || state.status !== "live";
    const flagged = state.flags.length;
    setText("flag-count", flagged ? `${flagged} marked moment${flagged === 1 ? "" : "s"} on the timeline` : "");
  }

  // ---- charts ----------------------------------------------------------------------------------

  function withheldNote() {
    if (state.policy === "aggregate" && state.classFigures.withheld) {
      return `Class figures appear while at least ${config.min_group} are present`;
    }
    return null;
  }

  function sessionMix() {
    let total = 0;
    const sums = Object.fromEntries(config.expressions.map((name) => [name, 0]));
    state.minutes.forEach((m) => {
      if (!m.mixN) return;
      config.expressions.forEach((name) => { sums[name] += m.mix[name] || 0; });
      total += m.mixN;
    });
    return total ? Object.fromEntries(config.expressions.map((name) => [name, sums[name] / total])) : null;
  }

  function mixFigure() {
    const whole = state.range === "session";
    const mix = whole ? sessionMix() : state.classFigures.expression_mix;
    setText("mix-title", state.policy === "attention" ? "Class apparent expression mix (off under this policy)" : `Class apparent expression mix, ${whole ? "whole session" : "now"}`);
    let note = null;
    if (state.policy === "attention") note = "No apparent expressions under the attention policy";
    else if (!mix) note = withheldNote() || "Waiting for the first processed frame";
    const data = [{
      type: "bar",
      x: config.expressions,
      y: config.expressions.map((name) => (mix ? mix[name] : 0)),
      marker: { color: "#4c78a8" },
      hovertemplate: "%{x}: %{y:.0%}<extra></extra>",
    }];
    const layout = {
      margin: { l: 44, r: 12, t: 8, b: 36 },
      yaxis: { range: [0, 1], tickformat: ".0%", title: { text: "share of faces" } },
      annotations: note ? [{ text: note, showarrow: false, xref: "paper", yref: "paper", x: 0.5, y: 0.6 }] : [],
    };
    return [data, layout];
  }

  function flagShapes(range) {
    return state.flags
      .filter((flag) => !range || (Date.parse(flag.at) >= range[0] && Date.parse(flag.at) <= range[1]))
      .map((flag) => ({ type: "line", xref: "x", yref: "paper", x0: new Date(flag.at), x1: new Date(flag.at), y0: 0, y1: 1, line: { color: "#6d28d9", width: 2, dash: "dot" } }));
  }

  function flagLabels() {
    return state.flags.map((flag) => ({ x: new Date(flag.at), y: 1, xref: "x", yref: "paper", yanchor: "bottom", text: flag.note || "flag", showarrow: false, font: { size: 10, color: "#6d28d9" } }));
  }

  function bandShapes() {
    const bands = config.bands;
    const band = (y0, y1, color) => ({ type: "rect", xref: "paper", x0: 0, x1: 1, y0, y1, fillcolor: color, opacity: 0.08, line: { width: 0 } });
    return [band(bands.engaged, 1, "#2a9d8f"), band(bands.partly, bands.engaged, "#e9c46a"), band(0, bands.partly, "#e76f51")];
  }

  function recentSeries() {
    const x = state.series.map((p) => new Date(p.t));
    const y = state.series.map((p) => (p.n ? p.sum / p.n : null));
    let range;
    if (state.series.length) {
      const flagged = state.flags.map((flag) => Date.parse(flag.at));
      const last = Math.max(state.series[state.series.length - 1].t, ...flagged.filter((t) => t >= state.series[0].t));
      const span = Math.max(MIN_SPAN_MS, last - state.series[0].t);
      range = [last - span, last + span * 0.05];
    }
    return { x, y, range, empty: !state.series.length };
  }

  function sessionSeries() {
    const minutes = [...state.minutes.entries()].sort((a, b) => a[0] - b[0]);
    const x = minutes.map(([t]) => new Date(t + MINUTE_MS / 2));
    const y = minutes.map(([, m]) => (m.n ? m.sum / m.n : null));
    let range;
    if (minutes.length) range = [minutes[0][0], Math.max(minutes[minutes.length - 1][0] + MINUTE_MS, minutes[0][0] + 10 * MINUTE_MS)];
    return { x, y, range, empty: !minutes.length };
  }

  function engagementFigure() {
    const whole = state.range === "session";
    const s = whole ? sessionSeries() : recentSeries();
    const data = [{ type: "scatter", mode: whole ? "lines+markers" : "lines+markers", x: s.x, y: s.y, line: { color: "#2a9d8f", shape: whole ? "hv" : "linear" },
      marker: { size: whole ? 5 : 3 }, connectgaps: false, hovertemplate: `%{x|%H:%M${whole ? "" : ":%S"}}: %{y:.2f}<extra></extra>`, name: "class" }];
    const alertTimes = [...state.alerts.values()].map((a) => new Date(a.raised_at));
    if (alertTimes.length) {
      data.push({ type: "scatter", mode: "markers", x: alertTimes, y: alertTimes.map(() => 0.03), marker: { symbol: "triangle-up", size: 9, color: "#b42318" },
        hovertext: [...state.alerts.values()].map(alertText), hoverinfo: "text", name: "alerts" });
    }
    const note = withheldNote() || (s.empty ? "Waiting for the first processed frame" : null);
    const layout = {
      margin: { l: 44, r: 12, t: 16, b: 36 },
      showlegend: false,
      yaxis: { range: [0, 1.05], title: { text: "engagement indicator" } },
      xaxis: { type: "date", range: s.range ? s.range.map((ms) => new Date(ms)) : undefined },
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
      card.addEventListener("click", (event) => { if (!event.target.closest("details")) openDrilldown(id); });
      card.addEventListener("keydown", (event) => { if (event.key === "Enter" && event.target === card) openDrilldown(id); });
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
    const badge = card.querySelector(".band");
    badge.textContent = BAND_LABELS[band] || band;
    badge.className = `band band-${band}`;
    const staleRow = card.querySelector(".stale");
    staleRow.hidden = !isStale;
    if (isStale) staleRow.textContent = `no recent data (${Math.round(stale)} s)`;
    const expressionRow = card.querySelector(".expression");
    expressionRow.hidden = state.policy !== "full";
    let expression = "–";
    if (band === "absent") expression = "not seen";
    // An expression is shown with how clearly it reads; neutral (the student's resting face) without a figure.
    else if (person.expression) expression = person.confidence == null || person.expression === "neutral" ? person.expression : `${person.expression} (${percent(person.confidence)})`;
    // A face under 20 px is read from an enlarged crop: its expression is less certain, and the card says so.
    if (person.low_resolution && person.expression && band !== "absent") expression += " · small face, less certain";
    card.querySelector(".expression-value").textContent = expression;
    card.querySelector(".engagement").hidden = state.policy === "aggregate";
    const engagement = band === "absent" || person.engagement == null ? BAND_LABELS[band] || "–" : `${BAND_LABELS[band] || band} (${person.engagement.toFixed(2)})`;
    card.querySelector(".engagement-value").textContent = engagement;
    applyFilter(card, person);
  }

  function applyFilter(card, person) {
    const text = $("card-filter").value.trim().toLowerCase();
    const band = $("card-band").value;
    const bandOf = person.band || "absent";
    let visible = !text || person.name.toLowerCase().includes(text);
    if (band === "needs") visible = visible && (bandOf === "absent" || bandOf === "not_engaged");
    else if (band) visible = visible && bandOf === band;
    card.hidden = !visible;
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

  function addSeriesPoint(capturedAt, engagement) {
    const t = secondOf(capturedAt);
    const last = state.series[state.series.length - 1];
    if (last && last.t === t) {
      if (engagement != null) { last.sum += engagement; last.n += 1; }
    } else {
      state.series.push({ t, sum: engagement ?? 0, n: engagement == null ? 0 : 1 });
    }
    const oldest = t - state.windowMs;
    while (state.series.length && state.series[0].t <= oldest) state.series.shift();
  }

  function addMinutePoint(capturedAt, figures) {
    const t = minuteOf(Date.parse(capturedAt));
    const minute = state.minutes.get(t) || { sum: 0, n: 0, mix: {}, mixN: 0, live: true };
    if (!minute.live) return; // a rolled-up minute from the history already counts this frame
    if (figures.engagement != null) { minute.sum += figures.engagement; minute.n += 1; }
    // The whole-session mix counts shown expressions, as the server's rollups and the report do.
    if (figures.expressions) {
      config.expressions.forEach((name) => { minute.mix[name] = (minute.mix[name] || 0) + (figures.expressions[name] || 0); });
      minute.mixN += Object.values(figures.expressions).reduce((a, b) => a + b, 0);
    }
    state.minutes.set(t, minute);
  }

  function applyHistory(history) {
    const now = Date.now();
    state.policy = history.policy;
    state.status = history.status;
    state.windowMs = history.since_seconds * 1000;
    state.latestCapturedAt = history.latest_captured_at ? Date.parse(history.latest_captured_at) : null;
    state.series = history.series.map((p) => ({ t: secondOf(p.t), sum: p.engagement ?? 0, n: p.engagement == null ? 0 : 1 }));
    state.minutes = new Map();
    (history.minutes || []).forEach((m) => {
      const mix = m.expression_counts || {};  // the rollup's counts of shown expressions
      const mixN = Object.values(mix).reduce((a, b) => a + b, 0);
      state.minutes.set(Date.parse(m.t), { sum: m.engagement ?? 0, n: m.engagement == null ? 0 : 1, mix, mixN, live: false });
    });
    state.classFigures = history.class;
    state.frames = history.frames;
    state.alerts = new Map((history.alerts || []).map((a) => [a.id, a]));
    state.flags = history.flags || [];
    state.participants.clear();
    $("participant-cards").replaceChildren();
    history.participants.forEach((person) => upsertParticipant(person, person.age_seconds == null ? undefined : now - person.age_seconds * 1000));
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
    state.classFigures = event.class;
    addSeriesPoint(event.captured_at, event.class.engagement);
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
      case "session_status":
        state.status = message.status;
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
    $("drilldown-note").textContent = `Present ${duration(present)}, absent ${duration(absent)} (shaded) · steps: per-minute means · line: the last 10 minutes · dotted: marked moments`;
    const options = { displayModeBar: false, responsive: true };
    const minuteX = body.minutes.map((m) => new Date(Date.parse(m.t)));
    const times = [...body.minutes.map((m) => Date.parse(m.t)), ...body.points.map((p) => Date.parse(p.t))];
    const range = times.length ? [new Date(Math.min(...times)), new Date(Math.max(Math.max(...times), Math.min(...times) + MINUTE_MS))] : undefined;
    const data = [
      { type: "scatter", mode: "lines+markers", x: minuteX, y: body.minutes.map((m) => m.engagement), line: { color: "#9fb8c8", shape: "hv", width: 3 },
        marker: { size: 6 }, name: "per minute", hovertemplate: "minute of %{x|%H:%M}: %{y:.2f}<extra></extra>" },
      { type: "scatter", mode: "lines", x: body.points.map((p) => new Date(p.t)), y: body.points.map((p) => p.engagement), line: { color: "#1f7a6f" }, name: "recent",
        hovertemplate: "%{x|%H:%M:%S}: %{y:.2f}<extra></extra>" },
    ];
    if (body.alerts.length) {
      data.push({ type: "scatter", mode: "markers", x: body.alerts.map((a) => new Date(a.raised_at)), y: body.alerts.map(() => 0.03),
        marker: { symbol: "triangle-up", size: 10, color: "#b42318" }, hovertext: body.alerts.map(alertText), hoverinfo: "text", name: "alerts" });
    }
    const absentShapes = body.absent_spans.map((span) => ({ type: "rect", xref: "x", yref: "paper", x0: new Date(span.from), x1: new Date(span.to), y0: 0, y1: 1,
      fillcolor: "#9aa5b1", opacity: 0.3, line: { width: 0 } }));
    const flags = body.flags.map((flag) => ({ type: "line", xref: "x", yref: "paper", x0: new Date(flag.at), x1: new Date(flag.at), y0: 0, y1: 1,
      line: { color: "#6d28d9", width: 2, dash: "dot" } }));
    Plotly.react($("drilldown-engagement"), data, {
      margin: { l: 44, r: 12, t: 8, b: 36 }, showlegend: false,
      yaxis: { range: [0, 1.05], title: { text: "engagement indicator" } }, xaxis: { type: "date", range },
      shapes: [...bandShapes(), ...absentShapes, ...flags],
    }, options);
    const showExpressions = body.policy === "full" && body.points.some((p) => p.expression);
    $("drilldown-expressions").hidden = !showExpressions;
    if (showExpressions) {
      // Long sessions: each minute's mix; short ones: every recent reading, one row per expression.
      const byMinute = body.minutes.filter((m) => m.expressions).length >= 3;
      const traces = byMinute
        ? config.expressions.map((name) => ({ type: "scatter", mode: "lines", stackgroup: "mix", name, x: minuteX,
          y: body.minutes.map((m) => (m.expressions ? m.expressions[name] : 0)), hovertemplate: `${name} %{y:.0%}<extra></extra>` }))
        : [{ type: "scatter", mode: "markers", x: body.points.map((p) => new Date(p.t)), y: body.points.map((p) => p.expression),
          marker: { size: 7, color: "#4c78a8", opacity: body.points.map((p) => 0.3 + 0.7 * (p.confidence ?? 0.5)) },
          hovertemplate: "%{x|%H:%M:%S}: %{y}<extra></extra>" }];
      const yaxis = byMinute
        ? { range: [0, 1], tickformat: ".0%", title: { text: "apparent expression" } }
        : { type: "category", categoryorder: "array", categoryarray: config.expressions, title: { text: "apparent expression" } };
      Plotly.react($("drilldown-expressions"), traces, { margin: { l: 70, r: 12, t: 8, b: 30 }, yaxis, xaxis: { type: "date", range },
        showlegend: byMinute, legend: { orientation: "h", y: -0.25 } }, options);
    }
    $("drilldown-alerts").replaceChildren(...(body.alerts.length ? body.alerts.map((alert) => {
      const item = document.createElement("li");
      item.className = `alert alert-${alert.kind}`;
      item.textContent = `${timeOf(alert.raised_at)}${alert.cleared_at ? `–${timeOf(alert.cleared_at)}` : " (open)"} · ${alertText(alert)}`;
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
  setInterval(() => {
    let changed = false;
    state.participants.forEach((person, id) => {
      const card = cardFor(id);
      const stale = staleSeconds(person) > config.stale_after_seconds;
      if (stale || card.dataset.stale === "true") { dirty.cards.add(id); changed = true; }
    });
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
