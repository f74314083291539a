// Live session dashboard: history on connect, then events over the session's WebSocket.
// Payloads arrive already redacted by the server's privacy policy; this file only draws what it gets.
// Hooks for browser tests: window.dashboardState (updates: events applied so far) and the element ids in session_live.html.
"use strict";

(() => {
  const config = JSON.parse(document.getElementById("dashboard-config").textContent);
  const $ = (id) => document.getElementById(id);
  const CLOSE_REASONS = { 4401: "signed out: log in again", 4403: "not allowed to watch this session" };
  const MIN_SPAN_MS = 60 * 1000;
  const BAND_LABELS = { engaged: "engaged", partly: "partly engaged", not_engaged: "not engaged", absent: "absent", present: "present" };

  const state = {
    updates: 0,
    connected: false,
    historyLoaded: false,
    status: config.status,
    policy: config.policy,
    latestCapturedAt: null, // ms; observation events at or before it are already in the history
    windowMs: 600 * 1000,
    series: [], // {t: ms of the second, sum, n, present}
    classFigures: { expression_mix: null, engagement: null, present: 0 },
    participants: new Map(), // id -> {participant, name, band, expression, confidence, engagement, ...}
    frames: { received: 0, processed: 0, dropped: 0 },
  };
  window.dashboardState = state;

  // ---- rendering -------------------------------------------------------------------------------

  const percent = (p) => `${Math.round(p * 100)}%`;
  const secondOf = (iso) => Math.floor(Date.parse(iso) / 1000) * 1000;

  function setText(id, text) {
    const el = $(id);
    if (el.textContent !== text) el.textContent = text;
  }

  function setConnection(text) {
    const el = $("connection-status");
    el.textContent = text;
    el.dataset.state = text === "live" ? "live" : "down";
  }

  function renderSessionStatus() {
    const el = $("session-status");
    el.textContent = state.status;
    el.className = `status status-${state.status}`;
    $("session-controls").hidden = state.status !== "live";
  }

  function renderCounters() {
    setText("frames-received", String(state.frames.received));
    setText("frames-processed", String(state.frames.processed));
    setText("frames-dropped", String(state.frames.dropped));
    setText("present-count", String(state.classFigures.present ?? 0));
    const engagement = state.classFigures.engagement;
    setText("class-engagement-value", engagement == null ? "–" : engagement.toFixed(2));
  }

  function withheldNote() {
    if (state.policy === "aggregate" && state.classFigures.withheld) {
      return `Class figures appear while at least ${config.min_group} are present`;
    }
    return null;
  }

  function mixFigure() {
    const mix = state.classFigures.expression_mix;
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
      yaxis: { range: [0, 1], tickformat: ".0%", title: { text: "mean probability" } },
      annotations: note ? [{ text: note, showarrow: false, xref: "paper", yref: "paper", x: 0.5, y: 0.6 }] : [],
    };
    return [data, layout];
  }

  function timeRange() {
    // Show at least a minute, so a lone first point does not zoom the axis to milliseconds.
    if (!state.series.length) return undefined;
    const last = state.series[state.series.length - 1].t;
    const span = Math.max(MIN_SPAN_MS, last - state.series[0].t);
    return [new Date(last - span), new Date(last + span * 0.02)];
  }

  function engagementFigure() {
    const x = state.series.map((p) => new Date(p.t));
    const y = state.series.map((p) => (p.n ? p.sum / p.n : null));
    const data = [{ type: "scatter", mode: "lines+markers", x, y, line: { color: "#2a9d8f" }, marker: { size: 3 }, connectgaps: false,
      hovertemplate: "%{x|%H:%M:%S}: %{y:.2f}<extra></extra>" }];
    const bands = config.bands;
    const band = (y0, y1, color) => ({ type: "rect", xref: "paper", x0: 0, x1: 1, y0, y1, fillcolor: color, opacity: 0.08, line: { width: 0 } });
    const note = withheldNote() || (state.series.length ? null : "Waiting for the first processed frame");
    const layout = {
      margin: { l: 44, r: 12, t: 8, b: 36 },
      yaxis: { range: [0, 1], title: { text: "engagement indicator" } },
      xaxis: { type: "date", range: timeRange() },
      shapes: [band(bands.engaged, 1, "#2a9d8f"), band(bands.partly, bands.engaged, "#e9c46a"), band(0, bands.partly, "#e76f51")],
      annotations: note ? [{ text: note, showarrow: false, xref: "paper", yref: "paper", x: 0.5, y: 0.5 }] : [],
    };
    return [data, layout];
  }

  let chartsPending = false;
  function scheduleCharts() {
    if (chartsPending || !window.Plotly) return;
    chartsPending = true;
    requestAnimationFrame(() => {
      chartsPending = false;
      const options = { displayModeBar: false, responsive: true };
      Plotly.react($("expression-mix-chart"), ...mixFigure(), options);
      Plotly.react($("class-engagement-chart"), ...engagementFigure(), options);
    });
  }

  function cardFor(id) {
    const cards = $("participant-cards");
    let card = cards.querySelector(`.participant-card[data-participant-id="${id}"]`);
    if (!card) {
      card = $("participant-card-template").content.firstElementChild.cloneNode(true);
      card.dataset.participantId = String(id);
      const form = card.querySelector(".rename-form");
      form.action = config.rename_url.replace("/participants/0/", `/participants/${id}/`);
      form.addEventListener("submit", (event) => rename(event, id, form));
      cards.append(card);
    }
    return card;
  }

  function renderCard(person) {
    const card = cardFor(person.participant);
    const band = person.band || "absent";
    card.dataset.band = band;
    card.querySelector(".name").textContent = person.name;
    const badge = card.querySelector(".band");
    badge.textContent = BAND_LABELS[band] || band;
    badge.className = `band band-${band}`;
    const expressionRow = card.querySelector(".expression");
    expressionRow.hidden = state.policy !== "full";
    let expression = "–";
    if (band === "absent") expression = "not seen";
    else if (person.expression) expression = person.confidence == null ? person.expression : `${person.expression} (${percent(person.confidence)})`;
    card.querySelector(".expression-value").textContent = expression;
    const engagementRow = card.querySelector(".engagement");
    engagementRow.hidden = state.policy === "aggregate";
    const engagement = band === "absent" || person.engagement == null ? BAND_LABELS[band] || "–" : `${BAND_LABELS[band] || band} (${person.engagement.toFixed(2)})`;
    card.querySelector(".engagement-value").textContent = engagement;
  }

  function sortCards() {
    const cards = $("participant-cards");
    const sorted = [...cards.children].sort((a, b) =>
      a.querySelector(".name").textContent.localeCompare(b.querySelector(".name").textContent));
    sorted.forEach((card, i) => { if (cards.children[i] !== card) cards.insertBefore(card, cards.children[i]); });
    $("participants-empty").hidden = cards.children.length > 0;
  }

  function upsertParticipant(person) {
    const known = state.participants.get(person.participant);
    const merged = { ...(known || {}), ...person };
    state.participants.set(person.participant, merged);
    renderCard(merged);
    return !known || known.name !== merged.name;
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

  function applyHistory(history) {
    state.policy = history.policy;
    state.status = history.status;
    state.windowMs = history.since_seconds * 1000;
    state.latestCapturedAt = history.latest_captured_at ? Date.parse(history.latest_captured_at) : null;
    state.series = history.series.map((p) => ({ t: secondOf(p.t), sum: p.engagement ?? 0, n: p.engagement == null ? 0 : 1 }));
    state.classFigures = history.class;
    state.frames = history.frames;
    state.participants.clear();
    $("participant-cards").replaceChildren();
    history.participants.forEach(upsertParticipant);
    sortCards();
    state.historyLoaded = true;
    setConnection("live");
  }

  // Cards show the smoothed values (no flicker); the raw ones stay in the event and the database.
  function displayed(o) {
    const smooth = o.smoothed;
    if (!smooth) return o;
    const expression = smooth.expression ?? o.expression;
    const confidence = smooth.probabilities && expression ? smooth.probabilities[expression] : o.confidence;
    return { ...o, expression, confidence, engagement: smooth.engagement, band: smooth.band };
  }

  function applyObservations(event) {
    const capturedAt = Date.parse(event.captured_at);
    if (state.latestCapturedAt !== null && capturedAt <= state.latestCapturedAt) return false; // already in the history
    state.latestCapturedAt = capturedAt;
    state.classFigures = event.class;
    addSeriesPoint(event.captured_at, event.class.engagement);
    let resort = false;
    event.observations.forEach((o) => { resort = upsertParticipant({ ...displayed(o), present: true }) || resort; });
    event.absent.forEach((a) => { resort = upsertParticipant({ participant: a.participant, name: a.name, present: false, band: "absent" }) || resort; });
    if (resort) sortCards();
    if (event.latency_ms != null) setText("latency-ms", `${Math.round(event.latency_ms)} ms`);
    return true;
  }

  function apply(message) {
    switch (message.type) {
      case "history":
        applyHistory(message);
        break;
      case "observations":
        if (!applyObservations(message)) return;
        break;
      case "session_status":
        state.status = message.status;
        break;
      case "participant":
        if (upsertParticipant({ participant: message.participant, name: message.name, ...(state.participants.has(message.participant) ? {} : { band: "absent" }) })) sortCards();
        break;
      case "frames":
        state.frames = { received: message.received, processed: message.processed, dropped: message.dropped };
        break;
      default:
        return;
    }
    renderSessionStatus();
    renderCounters();
    scheduleCharts();
    state.updates += 1;
  }

  // ---- rename ----------------------------------------------------------------------------------

  async function rename(event, id, form) {
    event.preventDefault();
    const error = form.querySelector(".rename-error");
    error.textContent = "";
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { Accept: "application/json", "X-CSRFToken": config.csrf_token },
        credentials: "same-origin",
      });
      const body = await response.json();
      if (!response.ok) {
        error.textContent = Object.values(body.errors || {}).flat().map((e) => e.message).join(" ") || "Rename failed";
        return;
      }
      if (upsertParticipant({ participant: id, name: body.name })) sortCards();
      form.reset();
      form.closest("details").open = false;
    } catch {
      error.textContent = "Rename failed: no connection";
    }
  }

  // ---- socket ----------------------------------------------------------------------------------

  let retryMs = 1000;
  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}${config.ws_path}`);
    setConnection(state.connected ? "reconnecting" : "connecting");
    socket.addEventListener("open", () => { state.connected = true; retryMs = 1000; });
    socket.addEventListener("message", (event) => apply(JSON.parse(event.data)));
    socket.addEventListener("close", (event) => {
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
  scheduleCharts();
  connect();
})();
