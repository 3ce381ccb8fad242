/*
 * dashboard.js -- corewatch-collector's dashboard (doc/dashboard.md).
 *
 * One page, five views (probes, availability heatmap, RTT/SOA/NSID,
 * episodes, an episode's evidence), drawn from the collector's JSON API
 * with the read token the user typed in (kept in sessionStorage, sent
 * as "Authorization: Bearer"). The view and its filters live in the URL
 * hash, so a link shows the same view. Answers are kept per URL until
 * "Reload", so switching views asks for nothing already asked.
 * Charts are Chart.js's (served at /web/chart.js) but the availability
 * heatmap, drawn on a canvas of its own (thousands of cells); annotations
 * are drawn on each by drawAnnotations(). The page's state is one
 * object, `cw`, also reachable as window.cwDashboard for the browser
 * tests (cw.heatmap: the heatmap's cells and where each is on the page).
 */
"use strict";

(function () {
	const TOKEN_KEY = "corewatch.readToken";
	const VIEWS = ["probes", "heatmap", "rtt", "episodes", "evidence"];
	const WINDOWS = { "1h": 3600e3, "6h": 6 * 3600e3, "24h": 86400e3,
		"7d": 7 * 86400e3 };
	/* Bucket lengths the summary takes, shortest first: the first that
	 * gives at most MAX_COLUMNS columns over the window is used. */
	const BUCKETS = [["1m", 60e3], ["5m", 300e3], ["10m", 600e3],
		["15m", 900e3], ["30m", 1800e3], ["1h", 3600e3], ["2h", 7200e3],
		["6h", 21600e3], ["12h", 43200e3], ["1d", 86400e3]];
	const MAX_COLUMNS = 150;
	const MAX_CELLS = 8000;
	/* Above this many probes, the availability and RTT views show the
	 * first probe unless a probe, target or country is chosen: a summary
	 * of every probe reads every result of the window (seconds on a
	 * collector of millions of records, doc/performance.md); "all
	 * probes" still asks for it. */
	const ALL_PROBES_MAX = 20;
	const RTT_CHARTS_MAX = 8;

	const cw = {
		state: {},
		cache: new Map(),
		charts: {},
		probes: null, /* the last /api/v1/probes answer */
		episodes: [],
		annotations: [],
		sort: { key: "severity", dir: -1 },
		rendered: 0, /* views drawn, for the tests */
		renderMs: null, /* how long the last view took */
		lastError: null
	};
	window.cwDashboard = cw;

	const $ = (id) => document.getElementById(id);

	/* --- time --- */

	function iso(ms) {
		return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
	}

	function parseTime(text) {
		if (text === null || text === undefined || text === "")
			return null;
		const ms = Date.parse(text);
		return Number.isFinite(ms) ? ms : null;
	}

	function shortTime(ms, withDate) {
		const s = new Date(ms).toISOString();
		return (withDate ? s.slice(5, 10) + " " : "") + s.slice(11, 16);
	}

	function longTime(ms) {
		return ms === null ? "—" :
			new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
	}

	function duration(s) {
		if (s === null || s === undefined)
			return "—";
		if (s < 120)
			return s.toFixed(0) + " s";
		if (s < 7200)
			return (s / 60).toFixed(1) + " min";
		return (s / 3600).toFixed(1) + " h";
	}

	/* --- state in the URL hash --- */

	function readHash() {
		const q = new URLSearchParams(location.hash.replace(/^#/, ""));
		const s = {
			view: q.get("view") || "probes",
			win: q.get("win") || "24h",
			from: q.get("from") || "",
			to: q.get("to") || "",
			probe: q.get("probe") || "",
			name: q.get("name") || "",
			addr: q.get("addr") || "",
			country: (q.get("country") || "").toUpperCase(),
			rows: q.get("rows") === "probes" ? "probes" : "targets",
			ep: q.get("ep") || ""
		};
		if (!VIEWS.includes(s.view))
			s.view = "probes";
		if (!(s.win in WINDOWS) && s.win !== "custom")
			s.win = "24h";
		return s;
	}

	function writeHash(s) {
		const q = new URLSearchParams();
		q.set("view", s.view);
		for (const k of ["win", "from", "to", "probe", "name", "addr",
			"country", "rows", "ep"]) {
			if (s[k] && !(k === "win" && s[k] === "24h") &&
				!(k === "rows" && s[k] === "targets"))
				q.set(k, s[k]);
		}
		const h = "#" + q.toString();
		if (location.hash !== h)
			location.hash = h;
		else
			render();
	}

	/* The window in ms: from/to as given ("custom"), or the last `win`
	 * up to the next whole minute (so that views asked for within a
	 * minute share their answers). */
	function windowOf(s) {
		const now = Math.ceil(Date.now() / 60e3) * 60e3;
		if (s.win !== "custom")
			return { from: now - WINDOWS[s.win], to: now };
		const to = parseTime(s.to) ?? now;
		let from = parseTime(s.from);
		if (from === null || from >= to)
			from = to - WINDOWS["24h"];
		return { from: from, to: to };
	}

	/* The finest bucket that gives at most MAX_COLUMNS columns, and at
	 * most MAX_CELLS cells for `rows` rows (when known): a target seen
	 * by 250 probes is drawn in hourly buckets over a day, not 36,000
	 * ten-minute cells (seconds to fetch and draw). */
	function bucketOf(w, rows) {
		const columns = Math.min(MAX_COLUMNS,
			Math.max(1, Math.floor(MAX_CELLS / Math.max(1, rows || 1))));
		for (const [name, ms] of BUCKETS)
			if ((w.to - w.from) / ms <= columns)
				return { name: name, ms: ms };
		return { name: "1d", ms: 86400e3 };
	}

	/* The query of the filters, for the endpoints that take them. */
	function filterQuery(s, w, extra) {
		const q = new URLSearchParams();
		q.set("from", iso(w.from));
		q.set("to", iso(w.to));
		if (s.probe)
			q.set("probe", s.probe);
		if (s.name)
			q.set("name", s.name);
		if (s.addr)
			q.set("addr", s.addr);
		if (s.country)
			q.set("country", s.country);
		for (const k in extra || {})
			q.set(k, extra[k]);
		return q.toString();
	}

	/* --- the API --- */

	function token() {
		try {
			return sessionStorage.getItem(TOKEN_KEY) || "";
		} catch (e) {
			return "";
		}
	}

	class ApiError extends Error {
		constructor(status, text) {
			super(text);
			this.status = status;
		}
	}

	/* api: GET `path` with the token; the body as text. Answers are kept
	 * in cw.cache until a reload. */
	async function api(path) {
		if (cw.cache.has(path))
			return cw.cache.get(path);
		const headers = {};
		const t = token();
		if (t)
			headers.Authorization = "Bearer " + t;
		let resp;
		try {
			resp = await fetch(path, { headers: headers, cache: "no-store" });
		} catch (e) {
			throw new ApiError(0, "the collector's API cannot be reached");
		}
		const body = await resp.text();
		if (!resp.ok) {
			let detail = "";
			try {
				detail = JSON.parse(body).detail || "";
			} catch (e) {
				detail = "";
			}
			throw new ApiError(resp.status, detail);
		}
		cw.cache.set(path, body);
		return body;
	}

	function jsonLines(text) {
		const out = [];
		for (const line of text.split("\n"))
			if (line.trim() !== "")
				out.push(JSON.parse(line));
		return out;
	}

	async function getProbes() {
		const data = JSON.parse(await api("/api/v1/probes"));
		cw.probes = data.probes || [];
		fillProbeSelect();
		return cw.probes;
	}

	async function getSummary(s, w, b) {
		return jsonLines(await api("/api/v1/summary?" +
			filterQuery(s, w, { bucket: b.name, format: "json" })));
	}

	async function getEpisodes(s, w) {
		return jsonLines(await api("/api/v1/episodes?" +
			filterQuery(s, w, { format: "jsonl" })));
	}

	async function getAnnotations(w) {
		const q = new URLSearchParams({ from: iso(w.from), to: iso(w.to),
			format: "jsonl" });
		const list = jsonLines(await api("/api/v1/annotations?" + q));
		cw.annotations = list.map((a) => ({
			id: a.id, from: parseTime(a.from), to: parseTime(a.to),
			text: a.text, country: a.country || null, asn: a.asn,
			probe: a.probe || null, url: a.url || null
		}));
		showAnnotationList();
		return cw.annotations;
	}

	/* --- messages --- */

	function showError(e) {
		const box = $("status");
		let text;
		if (e instanceof ApiError && (e.status === 401 || e.status === 403))
			text = "The collector refused to give this data (" + e.status +
				"): type the read token above." +
				(e.message ? " (It said: " + e.message + ")" : "");
		else if (e instanceof ApiError && e.status === 0)
			text = "The collector's API cannot be reached: is it running? " +
				"The page shows what it had.";
		else if (e instanceof ApiError)
			text = "The API answered " + e.status + ": " + e.message;
		else
			text = "Something went wrong drawing this view: " +
				(e && e.message ? e.message : String(e));
		cw.lastError = { status: e instanceof ApiError ? e.status : -1,
			text: text };
		box.className = "";
		box.textContent = text;
		box.hidden = false;
	}

	function clearError() {
		$("status").hidden = true;
		$("status").textContent = "";
		cw.lastError = null;
	}

	function note(id, text) {
		$(id).textContent = text;
	}

	/* --- annotations --- */

	/* drawAnnotations: each annotation of `items` over the plot `area`
	 * ({left, top, right, bottom}) of a time axis from `min` to `max` ms
	 * whose pixel of a time is `xOf(ms)`: a band (a line for an instant)
	 * and its text at the top. Returns how many were drawn. The Chart.js
	 * charts (the plugin below) and the heatmap draw them alike. */
	function drawAnnotations(ctx, items, min, max, xOf, area) {
		let drawn = 0;
		ctx.save();
		ctx.beginPath();
		ctx.rect(area.left, area.top, area.right - area.left,
			area.bottom - area.top);
		ctx.clip();
		for (const a of items) {
			if (a.to < min || a.from > max)
				continue;
			const x1 = xOf(Math.max(a.from, min));
			const x2 = xOf(Math.min(a.to, max));
			ctx.fillStyle = "rgba(90, 60, 200, 0.18)";
			ctx.strokeStyle = "rgba(90, 60, 200, 0.85)";
			ctx.lineWidth = 1.5;
			if (x2 - x1 >= 2)
				ctx.fillRect(x1, area.top, x2 - x1, area.bottom - area.top);
			ctx.beginPath();
			ctx.moveTo(x1, area.top);
			ctx.lineTo(x1, area.bottom);
			ctx.stroke();
			ctx.fillStyle = "rgba(60, 30, 160, 1)";
			ctx.font = "11px system-ui, sans-serif";
			ctx.textAlign = "left";
			ctx.textBaseline = "alphabetic";
			const label = a.text.length > 40 ?
				a.text.slice(0, 39) + "…" : a.text;
			ctx.fillText("✎ " + label, x1 + 3, area.top + 11 + 12 * (drawn % 3));
			drawn++;
		}
		ctx.restore();
		return drawn;
	}

	/* The Chart.js plugin: the annotations of
	 * options.plugins.cwAnnotations.items on a chart whose x scale is
	 * time in ms. The number drawn is kept in chart.$cwAnnotations for
	 * the tests. */
	const annotationPlugin = {
		id: "cwAnnotations",
		afterDatasetsDraw(chart, args, opts) {
			const x = chart.scales.x;
			chart.$cwAnnotations = drawAnnotations(chart.ctx,
				(opts && opts.items) || [], x.min, x.max,
				(v) => x.getPixelForValue(v), chart.chartArea);
		}
	};

	/* --- charts --- */

	function chartDestroy(id) {
		if (cw.charts[id]) {
			cw.charts[id].destroy();
			delete cw.charts[id];
		}
	}

	const TICK_STEPS = [60e3, 300e3, 600e3, 1800e3, 3600e3, 7200e3,
		10800e3, 21600e3, 43200e3, 86400e3, 2 * 86400e3, 7 * 86400e3];

	/* The ticks of a time axis over window `w`: on whole minutes, hours
	 * or days, at most 12 (and 50), and their text. */
	function timeTicks(w) {
		const multiDay = w.to - w.from > 86400e3;
		const step = TICK_STEPS.find((t) => (w.to - w.from) / t <= 12) ||
			TICK_STEPS[TICK_STEPS.length - 1];
		const values = [];
		for (let v = Math.ceil(w.from / step) * step;
			v <= w.to && values.length < 50; v += step)
			values.push(v);
		return { values: values, text: (v) => shortTime(v, multiDay) };
	}

	/* A Chart.js time axis in ms, with the ticks of timeTicks(). */
	function timeAxis(w) {
		const ticks = timeTicks(w);
		return {
			type: "linear", min: w.from, max: w.to,
			afterBuildTicks: (axis) => {
				axis.ticks = timeTicks({ from: axis.min, to: axis.max })
					.values.map((v) => ({ value: v }));
			},
			ticks: { autoSkip: false, callback: ticks.text }
		};
	}

	function chartNew(canvas, config, w) {
		if (typeof Chart === "undefined")
			throw new Error("Chart.js did not load (/web/chart.js)");
		config.plugins = [annotationPlugin];
		config.options = config.options || {};
		config.options.animation = false;
		config.options.maintainAspectRatio = false;
		config.options.plugins = config.options.plugins || {};
		config.options.plugins.cwAnnotations = { items: cw.annotations };
		config.options.scales = config.options.scales || {};
		config.options.scales.x = Object.assign(timeAxis(w),
			config.options.scales.x || {});
		const chart = new Chart(canvas, config);
		cw.charts[canvas.id] = chart;
		return chart;
	}

	/* --- the availability heatmap --- */

	/* The heatmap is drawn on a canvas of its own (2D context, one
	 * fillRect per cell), not as Chart.js bars: a target from 250 probes
	 * is 6,000 cells, which Chart.js took 450 ms to draw as bars
	 * (doc/performance.md). It is drawn once per view and
	 * per width; hover, focus and tooltip are page elements over it, so
	 * moving the pointer draws nothing. `heat` is its state; cw.heatmap
	 * what the tests read (its cells, and where a cell is on the page). */
	const HEAT_FONT = "11px system-ui, sans-serif";
	const HEAT_AXIS = 22; /* the time axis above and below, px */
	const HEAT_GAP = 2; /* between rows, px */
	const CANVAS_MAX_PX = 32000; /* a canvas side browsers accept */
	const heat = { s: null, w: null, b: null, rows: [], cells: [],
		outlines: [], byRow: [], layout: null, width: 0, focus: null };

	/* The colour of an availability: red (0 %) through yellow to green
	 * (100 %), one string per whole hue, made once. */
	const heatColours = [];
	function availabilityColour(pct) {
		const h = Math.round(Math.max(0, Math.min(100, pct)) * 1.2);
		if (!heatColours[h])
			heatColours[h] = "hsl(" + h + ", 65%, 42%)";
		return heatColours[h];
	}

	function hasData(c) {
		return c.measurements > 0 && c.availability !== null &&
			c.availability !== undefined;
	}

	/* The height of a row of `n`: less for many rows, and never a
	 * canvas taller than browsers draw. */
	function heatRowHeight(n) {
		return Math.max(3, Math.min(n > 40 ? 18 : 26,
			Math.floor((CANVAS_MAX_PX - 2 * HEAT_AXIS) / Math.max(1, n))));
	}

	/* heatLayout: where rows, cells and axes go for a box `width` px
	 * wide; `ctx` measures the row labels. */
	function heatLayout(ctx, width) {
		const n = heat.rows.length, w = heat.w, rowH = heatRowHeight(n);
		ctx.font = HEAT_FONT;
		let labelW = 0;
		if (rowH >= 10)
			for (const r of heat.rows)
				labelW = Math.max(labelW, ctx.measureText(r.label).width);
		const left = Math.min(Math.ceil(labelW) + 12, Math.floor(width * 0.45));
		const right = Math.max(left + 10, width - 14);
		const top = HEAT_AXIS;
		return { width: width, height: top + n * rowH + HEAT_AXIS,
			left: left, right: right, top: top, bottom: top + n * rowH,
			rowH: rowH,
			x: (t) => left + (t - w.from) / (w.to - w.from) * (right - left),
			time: (x) => w.from + (x - left) / (right - left) * (w.to - w.from) };
	}

	/* A label cut to `max` px with an ellipsis. */
	function fitText(ctx, text, max) {
		if (ctx.measureText(text).width <= max)
			return text;
		let lo = 0, hi = text.length;
		while (lo < hi) {
			const mid = (lo + hi + 1) >> 1;
			if (ctx.measureText(text.slice(0, mid) + "…").width <= max)
				lo = mid;
			else
				hi = mid - 1;
		}
		return text.slice(0, lo) + "…";
	}

	/* heatDraw: the heatmap at the box's width, at the device's pixel
	 * ratio (less when the canvas would be taller than browsers allow). */
	function heatDraw() {
		const canvas = $("heatmap-chart"), box = canvas.parentNode;
		if (!heat.w || box.clientWidth === 0)
			return;
		const t0 = performance.now();
		const ctx = canvas.getContext("2d");
		/* The box's height first: the page's scroll bar it may bring
		 * narrows the box. */
		box.style.height = 2 * HEAT_AXIS +
			heat.rows.length * heatRowHeight(heat.rows.length) + "px";
		const width = box.clientWidth;
		const L = heatLayout(ctx, width);
		const dpr = Math.max(0.25, Math.min(window.devicePixelRatio || 1,
			CANVAS_MAX_PX / L.height, CANVAS_MAX_PX / L.width));
		heat.layout = L;
		heat.width = width;
		canvas.style.width = L.width + "px";
		canvas.style.height = L.height + "px";
		canvas.width = Math.round(L.width * dpr);
		canvas.height = Math.round(L.height * dpr);
		/* Cleared by the resize; the page's white shows through. */
		ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
		/* Edges on whole device pixels: no seams between cells. */
		const px = (v) => Math.round(v * dpr) / dpr;
		const x0 = L.left, x1 = L.right;
		const rowTop = (i) => px(L.top + i * L.rowH + HEAT_GAP / 2);
		const rowBottom = (i) => px(L.top + (i + 1) * L.rowH - HEAT_GAP / 2);
		/* No data: the row's backdrop, where no cell is drawn. */
		ctx.fillStyle = "#e9ecf0";
		for (let i = 0; i < heat.rows.length; i++)
			ctx.fillRect(x0, rowTop(i), x1 - x0, rowBottom(i) - rowTop(i));
		const ticks = timeTicks(heat.w);
		ctx.fillStyle = "#c9cfd8";
		for (const v of ticks.values)
			ctx.fillRect(px(L.x(v)), L.top, 1, L.bottom - L.top);
		/* The cells, a fillStyle per colour. */
		const byColour = new Map();
		for (const c of heat.cells) {
			if (!hasData(c))
				continue;
			const colour = availabilityColour(c.availability);
			if (!byColour.has(colour))
				byColour.set(colour, []);
			byColour.get(colour).push(c);
		}
		ctx.save();
		ctx.beginPath();
		ctx.rect(x0, L.top, x1 - x0, L.bottom - L.top);
		ctx.clip();
		for (const [colour, list] of byColour) {
			ctx.fillStyle = colour;
			for (const c of list) {
				const a = px(L.x(c.x[0])), b = px(L.x(c.x[1]));
				ctx.fillRect(a, rowTop(c.row), b - a, rowBottom(c.row) - rowTop(c.row));
			}
		}
		ctx.strokeStyle = "#000";
		ctx.lineWidth = 2;
		for (const o of heat.outlines) {
			const a = px(L.x(o.x[0])), b = px(L.x(o.x[1]));
			ctx.strokeRect(a + 1, rowTop(o.row) + 1, Math.max(b - a - 2, 1),
				rowBottom(o.row) - rowTop(o.row) - 2);
		}
		ctx.restore();
		heat.annotations = drawAnnotations(ctx, cw.annotations, heat.w.from,
			heat.w.to, L.x, { left: x0, top: L.top, right: x1, bottom: L.bottom });
		/* The axes: time above and below, the rows' labels on the left. */
		ctx.font = HEAT_FONT;
		ctx.fillStyle = "#444";
		ctx.textAlign = "center";
		for (const v of ticks.values) {
			const x = L.x(v);
			ctx.fillRect(px(x), L.top - 4, 1, 4);
			ctx.fillRect(px(x), L.bottom, 1, 4);
			ctx.textBaseline = "bottom";
			ctx.fillText(ticks.text(v), x, L.top - 5);
			ctx.textBaseline = "top";
			ctx.fillText(ticks.text(v), x, L.bottom + 5);
		}
		if (L.rowH >= 10) {
			ctx.textAlign = "right";
			ctx.textBaseline = "middle";
			ctx.fillStyle = "#1b1f24";
			for (let i = 0; i < heat.rows.length; i++)
				ctx.fillText(fitText(ctx, heat.rows[i].label, L.left - 10),
					L.left - 6, L.top + (i + 0.5) * L.rowH);
		}
		cw.heatmap.annotations = heat.annotations;
		cw.heatmap.drawMs = Math.round(performance.now() - t0);
		heatMark(heat.focus);
	}

	/* The bucket of row `row` at time `t`: its cell (or null: no data)
	 * and its span. */
	function heatSpot(row, t) {
		const ms = heat.b.ms, list = heat.byRow[row] || [];
		let lo = 0, hi = list.length - 1;
		while (lo <= hi) {
			const mid = (lo + hi) >> 1, c = list[mid];
			if (t < c.x[0])
				hi = mid - 1;
			else if (t >= c.x[1])
				lo = mid + 1;
			else
				return { row: row, cell: c, x: c.x };
		}
		const start = Math.floor(t / ms) * ms;
		return { row: row, cell: null, x: [start, start + ms] };
	}

	/* The spot under page pixel (clientX, clientY), or null. */
	function heatHit(clientX, clientY) {
		const L = heat.layout;
		if (!L)
			return null;
		const r = $("heatmap-chart").getBoundingClientRect();
		const x = clientX - r.left, y = clientY - r.top;
		const row = Math.floor((y - L.top) / L.rowH);
		if (x < L.left || x >= L.right || row < 0 || row >= heat.rows.length)
			return null;
		return heatSpot(row, L.time(x));
	}

	/* What a spot is, for the tooltip and a screen reader. */
	function heatText(spot) {
		const c = spot.cell, lines = [heat.rows[spot.row].label,
			longTime(spot.x[0]) + " – " + longTime(spot.x[1])];
		if (c && hasData(c))
			lines.push("availability " + c.availability + " %: " + c.successes +
				" of " + c.measurements + " measurement(s) succeeded");
		else
			lines.push("no measurements");
		for (const o of heat.outlines)
			if (o.row === spot.row && o.x[0] < spot.x[1] && o.x[1] > spot.x[0])
				lines.push("episode (" + o.scope + ") from " + o.start +
					", severity " + o.severity + ", " + o.failures + " failure(s)");
		if (c && heatTurn(c))
			lines.push(heat.s.rows === "targets" ? "click: this target from every probe" :
				"click: this probe's targets");
		return lines.join("\n");
	}

	/* heatMark: the focus ring and the tooltip on `spot` (none: hidden). */
	function heatMark(spot) {
		const ring = $("heatmap-ring"), tip = $("heatmap-tip"), L = heat.layout;
		if (!spot || !L || spot.row >= heat.rows.length) {
			ring.hidden = true;
			tip.hidden = true;
			return;
		}
		const a = Math.max(L.left, L.x(spot.x[0]));
		const b = Math.min(L.right, L.x(spot.x[1]));
		ring.style.left = a - 2 + "px";
		ring.style.top = L.top + spot.row * L.rowH - 1 + "px";
		ring.style.width = b - a + 4 + "px";
		ring.style.height = L.rowH + 2 + "px";
		ring.hidden = false;
		tip.textContent = heatText(spot);
		tip.hidden = false;
		/* Right of the cell and below its row, or left and above where
		 * the map ends. */
		const tw = tip.offsetWidth, th = tip.offsetHeight;
		const below = L.top + (spot.row + 1) * L.rowH + 4;
		tip.style.left = Math.max(0, b + 8 + tw > L.width ? a - 8 - tw : b + 8) + "px";
		tip.style.top = (below + th > L.height && below - L.rowH - 8 - th >= 0 ?
			below - L.rowH - 8 - th : below) + "px";
	}

	/* The view a click on cell `c` turns to, as DNSMON does: from a
	 * target's row to that target from every probe, from a probe's row
	 * to that probe's targets; null when the cell has no such key. */
	function heatTurn(c) {
		const s = heat.s;
		const next = Object.assign({}, s, { ep: "" });
		if (s.rows === "targets" && c.addr)
			return Object.assign(next, { rows: "probes", addr: c.addr,
				name: c.name, probe: "" });
		if (s.rows === "probes" && c.probe)
			return Object.assign(next, { rows: "targets", probe: c.probe,
				addr: "", name: c.name });
		return null;
	}

	function heatClick(spot) {
		const next = spot && spot.cell ? heatTurn(spot.cell) : null;
		if (next)
			writeHash(next);
	}

	/* The keyboard: arrows move the focused bucket, Page Up/Down ten
	 * rows, Home/End to the window's ends, Enter or Space is a click. */
	function heatKey(ev) {
		if (!heat.layout || heat.rows.length === 0)
			return;
		const ms = heat.b.ms, w = heat.w;
		const f = heat.focus || heatSpot(0, w.from);
		let row = f.row, t = (f.x[0] + f.x[1]) / 2;
		switch (ev.key) {
		case "ArrowLeft": t -= ms; break;
		case "ArrowRight": t += ms; break;
		case "ArrowUp": row--; break;
		case "ArrowDown": row++; break;
		case "PageUp": row -= 10; break;
		case "PageDown": row += 10; break;
		case "Home": t = w.from; break;
		case "End": t = w.to - 1; break;
		case "Enter": case " ":
			ev.preventDefault();
			heatClick(heat.focus);
			return;
		case "Escape":
			heat.focus = null;
			heatMark(null);
			return;
		default:
			return;
		}
		ev.preventDefault();
		row = Math.max(0, Math.min(heat.rows.length - 1, row));
		t = Math.max(w.from, Math.min(w.to - 1, t));
		heat.focus = heatSpot(row, t);
		heatMark(heat.focus);
		$("heatmap-ring").scrollIntoView({ block: "nearest", inline: "nearest" });
		$("heatmap-live").textContent = heatText(heat.focus);
	}

	/* The heatmap's events, once for the page. */
	function heatListen() {
		const canvas = $("heatmap-chart");
		canvas.addEventListener("mousemove", (ev) => {
			const spot = heatHit(ev.clientX, ev.clientY);
			canvas.style.cursor = spot && spot.cell && heatTurn(spot.cell) ?
				"pointer" : "default";
			heatMark(spot || heat.focus);
		});
		canvas.addEventListener("mouseleave", () => heatMark(heat.focus));
		canvas.addEventListener("click", (ev) =>
			heatClick(heatHit(ev.clientX, ev.clientY)));
		canvas.addEventListener("keydown", heatKey);
		canvas.addEventListener("focus", () => {
			if (!heat.focus && heat.rows.length > 0 && heat.w) {
				heat.focus = heatSpot(0, heat.w.from);
				heatMark(heat.focus);
				$("heatmap-live").textContent = heatText(heat.focus);
			}
		});
		canvas.addEventListener("blur", () => {
			heat.focus = null;
			heatMark(null);
		});
		/* A window resized, a scroll bar come or gone: drawn again at
		 * the box's new width, once a frame at most. */
		let pending = false;
		new ResizeObserver(() => {
			if (pending || $("view-heatmap").hidden)
				return;
			pending = true;
			requestAnimationFrame(() => {
				pending = false;
				if (canvas.parentNode.clientWidth !== heat.width)
					heatDraw();
			});
		}).observe(canvas.parentNode);
	}

	/* For the tests: cell i's centre in the viewport's CSS pixels (what
	 * a pointer event's clientX/clientY would be), and a scroll that
	 * brings it into view. */
	function heatCentre(i) {
		const c = heat.cells[i], L = heat.layout;
		const r = $("heatmap-chart").getBoundingClientRect();
		const a = Math.max(L.left, L.x(c.x[0])), b = Math.min(L.right, L.x(c.x[1]));
		return { x: r.left + (a + b) / 2, y: r.top + L.top + (c.row + 0.5) * L.rowH };
	}

	function heatReveal(i) {
		const p = heatCentre(i);
		window.scrollBy(p.x - window.innerWidth / 2, p.y - window.innerHeight / 2);
		return heatCentre(i);
	}

	cw.heatmap = { cells: [], outlines: [], rows: [], bucket: null,
		annotations: 0, drawMs: null, centre: heatCentre, reveal: heatReveal };

	/* --- groups: what a summary row is --- */

	function targetKey(t) {
		return [t.type, t.name, t.addr, t.port, t.proto, t.af, t.host]
			.join("|");
	}

	function targetLabel(t) {
		return (t.name || "(no name)") + " · " + (t.server || t.addr) +
			(t.server && t.server !== t.addr ? " " + t.addr : "") + " " +
			t.proto + "/" + t.af;
	}

	function probeName(id, num) {
		const p = (cw.probes || []).find((x) => x.id === id);
		return p && p.name ? p.name : "probe " + (num !== undefined ? num : id.slice(0, 8));
	}

	function probeLabel(g) {
		return probeName(g.probe, g.probe_num) + " · " + (g.name || "(no name)");
	}

	/* rowsOf: the groups of `summary` of kind `rows` ("targets" or
	 * "probes") by key, in first-seen order, each with its buckets (the
	 * groups themselves, given their bucket's start and end in ms). */
	function rowsOf(summary, rows) {
		const map = new Map();
		for (const b of summary) {
			const start = parseTime(b.start), end = parseTime(b.end);
			for (const g of b[rows] || []) {
				const key = rows === "targets" ? targetKey(g) :
					g.probe + "|" + g.type + "|" + g.name;
				if (!map.has(key))
					map.set(key, { key: key, group: g,
						label: rows === "targets" ? targetLabel(g) : probeLabel(g),
						buckets: [] });
				g.start = start;
				g.end = end;
				map.get(key).buckets.push(g);
			}
		}
		return Array.from(map.values());
	}

	/* The targets of episode `e`: none for a silence, every target of a
	 * probe's cut (one episode, its own target fields null), or itself. */
	function episodeTargets(e) {
		if (e.silence)
			return [];
		return e.addr == null && e.targets && e.targets.length ? e.targets : [e];
	}

	function isCut(e) {
		return !e.silence && e.addr == null && !!(e.targets && e.targets.length);
	}

	/* Whether episode `e` is of row `r`. */
	function episodeOfRow(e, r, rows) {
		const g = r.group;
		const ts = episodeTargets(e);
		if (rows === "probes")
			return e.probe === g.probe && (e.silence || ts.some((t) => t.name === g.name));
		return ts.some((t) => t.name === g.name && t.addr === g.addr &&
			t.proto === g.proto && t.af === g.af);
	}

	/* What an episode's target column says. */
	function episodeTargetText(e) {
		if (e.silence)
			return "(heartbeats)";
		if (isCut(e))
			return "all " + e.targets.length + " targets (the probe's cut)";
		return (e.name || "") + " · " + (e.server || e.addr) + " " + e.addr + " " +
			e.proto + "/" + e.af;
	}

	function episodeSpan(e, w) {
		const start = parseTime(e.first_failure ? e.first_failure.time : null) ??
			parseTime(e.last_ok ? e.last_ok.time : null) ?? w.from;
		let end = e.first_ok ? parseTime(e.first_ok.time) : null;
		if (end === null)
			end = e.ongoing ? w.to : parseTime(e.last_failure ? e.last_failure.time : null) ?? w.to;
		return [start, Math.max(end, start + 1000)];
	}

	/* --- the views --- */

	function probeStatus(p) {
		if (p.revoked)
			return ["revoked", "revoked"];
		const hb = p.last_heartbeat;
		if (!hb)
			return p.last_seen ? ["unknown", "no heartbeat seen"] :
				["unknown", "never seen"];
		const age = (Date.now() - parseTime(hb.time)) / 1000;
		const every = Math.max(600, 2 * (hb.interval_s || 300));
		if (age > every)
			return ["silent", "silent for " + duration(age)];
		if (hb.upload && hb.upload.failing_since)
			return ["failing", "uploads failing since " +
				longTime(parseTime(hb.upload.failing_since))];
		return ["ok", "ok"];
	}

	function cell(tr, text, cls) {
		const td = document.createElement("td");
		td.textContent = text === null || text === undefined ? "—" : String(text);
		if (cls)
			td.className = cls;
		tr.appendChild(td);
		return td;
	}

	async function viewProbes(s) {
		const probes = await getProbes();
		const tbody = $("probes-table").tBodies[0];
		tbody.textContent = "";
		let anonymous = false;
		for (const p of probes) {
			if (s.country && p.country && p.country !== s.country)
				continue;
			if (s.probe && p.id !== s.probe)
				continue;
			if (!("name" in p))
				anonymous = true;
			const tr = document.createElement("tr");
			tr.dataset.probe = p.id;
			const hb = p.last_heartbeat;
			const [st, why] = probeStatus(p);
			cell(tr, p.num, "num");
			cell(tr, p.name);
			cell(tr, p.id.slice(0, 12) + "…").title = p.id;
			cell(tr, p.country);
			cell(tr, p.asn, "num");
			cell(tr, hb ? longTime(parseTime(hb.time)) : null);
			const backlog = hb && hb.spool ? hb.spool.depth : null;
			cell(tr, backlog, "num").dataset.backlog = backlog === null ? "" : backlog;
			const td = cell(tr, why, "st-" + st);
			td.dataset.status = st;
			tbody.appendChild(tr);
		}
		note("probes-note", anonymous ?
			"Read without the read token: names, locations and heartbeats " +
			"are the read token's (doc/export.md, \"Who reads what\")." :
			probes.length + " probe(s) enrolled.");
	}

	async function viewHeatmap(s, w) {
		/* Probes × time: as many rows as probes (of the country chosen). */
		if (s.rows === "probes" && !cw.probes)
			await getProbes();
		const b = bucketOf(w, s.rows !== "probes" ? 0 : (s.probe ? 1 :
			cw.probes.filter((p) => !s.country || p.country === s.country).length));
		const [summary, episodes] = await Promise.all([getSummary(s, w, b),
			getEpisodes(s, w), getAnnotations(w), cw.probes ? null : getProbes()]);
		const rows = rowsOf(summary, s.rows);
		const cells = [], outlines = [], times = new Map();
		/* A bucket's time as text, made once for all its rows. */
		const text = (ms) => times.get(ms) ?? times.set(ms, iso(ms)).get(ms);
		rows.forEach((r, i) => {
			const list = [];
			for (const g of r.buckets)
				list.push({ x: [g.start, g.end], y: r.label, row: i,
					availability: g.availability_pct,
					measurements: g.measurements, successes: g.successes,
					start: text(g.start), end: text(g.end),
					probe: g.probe || null, addr: g.addr || null,
					name: g.name || "" });
			list.sort((p, q) => p.x[0] - q.x[0]);
			heat.byRow[i] = list;
			cells.push(...list);
		});
		heat.byRow.length = rows.length;
		for (const e of episodes)
			rows.forEach((r, i) => {
				if (episodeOfRow(e, r, s.rows)) {
					const span = episodeSpan(e, w);
					outlines.push({ x: span, y: r.label, row: i, scope: e.scope,
						severity: e.severity, failures: e.failures,
						start: iso(span[0]) });
				}
			});
		Object.assign(heat, { s: s, w: w, b: b, rows: rows, cells: cells,
			outlines: outlines, focus: null });
		Object.assign(cw.heatmap, { cells: cells, outlines: outlines,
			rows: rows.map((r) => r.label), bucket: b.name });
		$("heatmap-chart").setAttribute("aria-label", "Availability heatmap: " +
			rows.length + " " + s.rows + " × " + b.name + " buckets. Arrow keys " +
			"move between cells, Enter turns the map around.");
		heatDraw();
		note("heatmap-note", rows.length === 0 ?
			"No measurements in this window and selection." :
			rows.length + " " + s.rows + " × " + b.name + " buckets, " +
			iso(w.from) + " to " + iso(w.to) + "; " + outlines.length +
			" episode outline(s)." + (s.rows === "probes" && !s.addr && !s.name ?
				" Choose a name or address to see one target's probes." : "") +
			defaultedNote(s));
	}

	async function viewRtt(s, w) {
		/* Every probe's groups (no probe chosen): as coarse a bucket as
		 * the heatmap takes for as many rows, so that a target from 250
		 * probes is 6,000 groups, not 36,000. */
		if (!s.probe && !cw.probes)
			await getProbes();
		const b = bucketOf(w, s.probe ? 1 :
			cw.probes.filter((p) => !s.country || p.country === s.country).length);
		const [summary] = await Promise.all([getSummary(s, w, b),
			getAnnotations(w), cw.probes ? null : getProbes()]);
		const rows = rowsOf(summary, "targets");
		const box = $("rtt-charts");
		for (const id of Object.keys(cw.charts))
			if (id.startsWith("rtt-"))
				chartDestroy(id);
		box.textContent = "";
		const withRtt = rows.filter((r) => r.buckets.some((g) => g.rtt_median_ms !== null));
		withRtt.slice(0, RTT_CHARTS_MAX).forEach((r, i) => {
			const div = document.createElement("div");
			div.className = "rtt-box";
			const canvas = document.createElement("canvas");
			canvas.id = "rtt-" + i;
			canvas.dataset.target = r.label;
			div.appendChild(canvas);
			box.appendChild(div);
			const pts = r.buckets.filter((g) => g.rtt_median_ms !== null);
			chartNew(canvas, {
				type: "line",
				data: { datasets: [
					{ label: "p95 ms", data: pts.map((g) => ({ x: g.start, y: g.rtt_p95_ms })),
						borderColor: "rgba(230, 120, 40, 0.9)",
						backgroundColor: "rgba(230, 120, 40, 0.2)",
						fill: "+1", pointRadius: 0, borderWidth: 1 },
					{ label: "median ms", data: pts.map((g) => ({ x: g.start, y: g.rtt_median_ms })),
						borderColor: "#1d3557", backgroundColor: "#1d3557",
						pointRadius: 2, borderWidth: 2, fill: false }] },
				options: { plugins: { title: { display: true, text: r.label } },
					scales: { y: { beginAtZero: true, title: { display: true, text: "ms" } } } }
			}, w);
		});
		note("rtt-note", withRtt.length === 0 ? "No RTT in this window and selection." :
			"Median and 95th percentile of each " + b.name + " bucket's successful " +
			"replies" + (withRtt.length > RTT_CHARTS_MAX ? "; the first " +
				RTT_CHARTS_MAX + " of " + withRtt.length + " targets (narrow the filters)" : "") + "." +
			defaultedNote(s));
		drawSoa(rows, w);
		drawNsid(rows, w);
	}

	/* SOA lag: the largest lag of each bucket among the targets of each
	 * measurement name (a zone's series). */
	function drawSoa(rows, w) {
		const byName = new Map();
		for (const r of rows)
			for (const g of r.buckets) {
				if (g.soa_measurements === null || g.soa_measurements === undefined)
					continue;
				const name = g.name || "(no name)";
				if (!byName.has(name))
					byName.set(name, new Map());
				const m = byName.get(name);
				const prev = m.get(g.start);
				m.set(g.start, { lag: Math.max(prev ? prev.lag : 0, g.soa_lag_max_s || 0),
					behind: (prev ? prev.behind : 0) + (g.soa_behind || 0) });
			}
		const colours = ["#1d3557", "#e76f51", "#2a9d8f", "#8d5fd3", "#f4a261"];
		const datasets = Array.from(byName.entries()).map(([name, m], i) => ({
			label: name + " (max lag s)",
			data: Array.from(m.entries()).sort((a, b) => a[0] - b[0])
				.map(([x, v]) => ({ x: x, y: v.lag, behind: v.behind })),
			borderColor: colours[i % colours.length],
			backgroundColor: colours[i % colours.length], pointRadius: 2
		}));
		chartDestroy("soa-chart");
		chartNew($("soa-chart"), { type: "line", data: { datasets: datasets },
			options: { scales: { y: { beginAtZero: true,
				title: { display: true, text: "seconds behind" } } },
			plugins: { tooltip: { callbacks: { label: (ctx) =>
				ctx.dataset.label + ": " + ctx.raw.y + " s, " + ctx.raw.behind +
				" answer(s) behind" } } } } }, w);
		note("soa-note", datasets.length === 0 ? "No SOA serials in this window." :
			"Per measurement (zone): how far the serials answered lagged behind " +
			"the newest serial seen (RSSAC047's publication latency).");
	}

	/* NSID: per target, runs of buckets answering with the same NSIDs;
	 * a change of colour is a change of instance. */
	function drawNsid(rows, w) {
		const labels = [], data = [], colours = [];
		let changes = 0;
		for (const r of rows) {
			const seen = r.buckets.filter((g) => g.nsids && g.nsids.length > 0);
			if (seen.length === 0)
				continue;
			labels.push(r.label);
			let run = null;
			for (const g of seen) {
				const set = g.nsids.join(" ");
				if (run && run.set === set && run.x[1] === g.start) {
					run.x[1] = g.end;
					continue;
				}
				if (run && run.set !== set)
					changes++;
				run = { x: [g.start, g.end], y: r.label, set: set, nsids: g.nsids };
				data.push(run);
				colours.push(nsidColour(set));
			}
		}
		chartDestroy("nsid-chart");
		$("nsid-chart").parentNode.style.height =
			Math.max(160, 60 + 26 * labels.length) + "px";
		chartNew($("nsid-chart"), { type: "bar",
			data: { labels: labels, datasets: [{ label: "NSIDs", data: data,
				backgroundColor: colours, barPercentage: 1, categoryPercentage: 0.8 }] },
			options: { indexAxis: "y", scales: { y: { type: "category", labels: labels } },
				plugins: { legend: { display: false }, tooltip: { callbacks: {
					label: (ctx) => ctx.raw.set } } } } }, w);
		note("nsid-note", labels.length === 0 ? "No NSIDs in this window." :
			changes + " change(s) of the answering instance; hover for the NSIDs.");
	}

	function nsidColour(text) {
		let h = 0;
		for (let i = 0; i < text.length; i++)
			h = (h * 31 + text.charCodeAt(i)) % 360;
		return "hsl(" + h + ", 55%, 55%)";
	}

	function episodeId(e) {
		return [e.probe, e.silence ? "silence" : (e.addr ?? "cut"), e.name, e.proto, e.af,
			e.first_failure ? e.first_failure.id : (e.last_ok ? e.last_ok.id : "")].join("~");
	}

	function sortEpisodes(list) {
		const k = cw.sort.key, d = cw.sort.dir;
		const val = (e) => k === "severity" ? e.severity :
			k === "duration" ? (e.duration_s || 0) : episodeSpan(e, { from: 0, to: 0 })[0];
		return list.slice().sort((a, b) => d * (val(a) - val(b)));
	}

	async function viewEpisodes(s, w) {
		const [episodes] = await Promise.all([getEpisodes(s, w),
			cw.probes ? null : getProbes(), getAnnotations(w)]);
		cw.episodes = episodes;
		const tbody = $("episodes-table").tBodies[0];
		tbody.textContent = "";
		for (const th of $("episodes-table").tHead.rows[0].cells)
			if (th.dataset.sort)
				th.setAttribute("aria-sort", th.dataset.sort === cw.sort.key ?
					(cw.sort.dir < 0 ? "descending" : "ascending") : "none");
		for (const e of sortEpisodes(episodes)) {
			const tr = document.createElement("tr");
			const span = episodeSpan(e, w);
			tr.dataset.severity = e.severity;
			tr.dataset.episode = episodeId(e);
			cell(tr, e.severity.toFixed(1), "num");
			cell(tr, e.scope + (e.silence ? " (silence)" : "") +
				(e.scope === "region" ? ", " + e.region_probes + " probes" : ""));
			cell(tr, probeName(e.probe, e.probe_num)).title = e.probe;
			cell(tr, (e.country || "—") + " / " + (e.asn ?? "—"));
			const tc = cell(tr, episodeTargetText(e));
			if (isCut(e))
				tc.title = e.targets.map((t) => (t.name || "") + " " + t.addr + " " +
					t.proto + "/" + t.af).join("\n");
			cell(tr, longTime(span[0]));
			cell(tr, e.ongoing ? "ongoing" : longTime(e.first_ok ? parseTime(e.first_ok.time) : span[1]));
			cell(tr, duration(e.duration_s), "num");
			cell(tr, e.failures + (e.failure_names && Object.keys(e.failure_names).length ? " (" +
				Object.entries(e.failure_names).map(([n, c]) => n + " " + c).join(", ") + ")" : ""));
			const td = cell(tr, "");
			const a = document.createElement("a");
			a.textContent = "records";
			a.className = "evidence";
			a.href = "#" + new URLSearchParams(Object.assign(hashParams(s),
				{ view: "evidence", ep: episodeId(e) })).toString();
			td.appendChild(a);
			tbody.appendChild(tr);
		}
		note("episodes-note", episodes.length === 0 ?
			"No episodes in this window and selection." :
			episodes.length + " episode(s); click a heading to sort. Severity: " +
			"share of measurements failing × duration (doc/episodes.md).");
	}

	function hashParams(s) {
		const o = {};
		for (const k of ["win", "from", "to", "probe", "name", "addr", "country"])
			if (s[k])
				o[k] = s[k];
		return o;
	}

	/* The evidence of an episode: the records of its probe and target
	 * from its last success to its first success after it. */
	async function viewEvidence(s, w) {
		$("views").querySelector('[data-view="evidence"]').hidden = false;
		const episodes = await getEpisodes(s, w);
		if (!cw.probes)
			await getProbes();
		const e = episodes.find((x) => episodeId(x) === s.ep);
		const tbody = $("evidence-table").tBodies[0];
		tbody.textContent = "";
		if (!e) {
			note("evidence-note", "No such episode in this window: pick one in " +
				"the episodes table.");
			return;
		}
		const from = parseTime(e.last_ok ? e.last_ok.time : null) ??
			parseTime(e.first_failure.time);
		const lastMs = e.first_ok ? parseTime(e.first_ok.time) :
			(e.ongoing ? w.to : parseTime(e.last_failure.time));
		const q = new URLSearchParams({ format: "jsonl", probe: e.probe,
			from: iso(from - (from % 1000)), to: iso(lastMs + 1000 - (lastMs % 1000)) });
		if (e.silence)
			q.set("type", "heartbeat");
		else if (!isCut(e)) {
			q.set("addr", e.addr);
			if (e.name)
				q.set("name", e.name);
		}
		const records = jsonLines(await api("/api/v1/results?" + q))
			.filter((r) => e.silence || isCut(e) || (r.proto === e.proto && r.af === e.af))
			.filter((r) => { const t = parseTime(r.time); return t >= from && t <= lastMs; });
		let failed = 0;
		for (const r of records) {
			const tr = document.createElement("tr");
			if (r.ok === false) {
				tr.className = "failed";
				failed++;
			}
			tr.dataset.seq = r.seq;
			cell(tr, longTime(parseTime(r.time)));
			cell(tr, probeName(r.probe)).title = r.probe;
			cell(tr, r.seq, "num");
			cell(tr, r.type);
			cell(tr, r.type === "heartbeat" ? "—" :
				(r.server || "") + " " + (r.addr || "") + " " + (r.proto || ""));
			cell(tr, r.ok === undefined ? null : String(r.ok));
			cell(tr, r.failure);
			cell(tr, r.rtt_ms, "num");
			cell(tr, r.failure_detail || r.rcode || "");
			tbody.appendChild(tr);
		}
		$("evidence-table").dataset.failed = failed;
		note("evidence-note", "Episode of " + probeName(e.probe, e.probe_num) + ", " +
			(e.silence ? "heartbeats" : isCut(e) ? "all " + e.targets.length + " targets" :
				(e.name || "") + " " + e.addr + " " + e.proto) +
			": " + records.length + " record(s) " + (e.silence ?
				"from its last heartbeat before the silence" :
				"from its last success to its first success after, " + failed +
				" failed (the episode counts " + e.failures + ")") +
			". The same records: /api/v1/results?" + q.toString());
	}

	/* --- page plumbing --- */

	function showAnnotationList() {
		const ul = $("annotations-list");
		ul.textContent = "";
		for (const a of cw.annotations) {
			const li = document.createElement("li");
			li.textContent = longTime(a.from) + " – " + longTime(a.to) + ": " + a.text +
				(a.country ? " [" + a.country + "]" : "") + (a.asn !== null && a.asn !== undefined ? " [AS" + a.asn + "]" : "");
			if (a.url && /^https?:\/\//.test(a.url)) {
				const link = document.createElement("a");
				link.href = a.url;
				link.rel = "noopener noreferrer";
				link.textContent = " source";
				li.appendChild(link);
			}
			ul.appendChild(li);
		}
		$("annotations").hidden = cw.annotations.length === 0;
	}

	function fillProbeSelect() {
		const sel = $("f-probe");
		const want = cw.state.probeChoice === "all" ? "all" : cw.state.probe || "";
		sel.textContent = "";
		const all = document.createElement("option");
		all.value = (cw.probes || []).length > ALL_PROBES_MAX ? "all" : "";
		all.textContent = all.value === "all" ? "all probes" : "all";
		sel.appendChild(all);
		for (const p of cw.probes || []) {
			const o = document.createElement("option");
			o.value = p.id;
			o.textContent = (p.name || "probe " + p.num) + (p.country ? " (" + p.country + ")" : "");
			sel.appendChild(o);
		}
		sel.value = want === "all" ? all.value : want;
	}

	/* The probe the views of `s` ask for: "all" is every probe (no
	 * filter); none chosen is every probe too, but in the availability
	 * and RTT views of a collector of more than ALL_PROBES_MAX probes,
	 * with no target or country chosen either, the first probe. */
	async function resolveProbe(s) {
		s.probeChoice = s.probe;
		s.probeDefaulted = false;
		if (s.probe === "all") {
			s.probe = "";
			return;
		}
		if (s.probe || s.name || s.addr || s.country ||
			(s.view !== "heatmap" && s.view !== "rtt"))
			return;
		const probes = cw.probes || await getProbes();
		if (probes.length > ALL_PROBES_MAX) {
			s.probe = probes[0].id;
			s.probeDefaulted = true;
			fillProbeSelect();
		}
	}

	/* What a view's note adds when resolveProbe() chose its probe. */
	function defaultedNote(s) {
		return s.probeDefaulted ? " Showing " + probeName(s.probe) + " of " +
			cw.probes.length + " probes: choose a probe, a target, a country or " +
			"\"all probes\" (every result of the window: slow on a large collector)." : "";
	}

	function fillForm(s) {
		$("f-win").value = s.win;
		$("f-from").value = s.from;
		$("f-to").value = s.to;
		$("f-name").value = s.name;
		$("f-addr").value = s.addr;
		$("f-country").value = s.country;
		$("h-rows").value = s.rows;
		if (cw.probes)
			fillProbeSelect();
		for (const a of $("views").querySelectorAll("a")) {
			const q = Object.assign(hashParams(s), { view: a.dataset.view });
			if (s.rows !== "targets")
				q.rows = s.rows;
			if (a.dataset.view === "evidence" && s.ep)
				q.ep = s.ep;
			a.href = "#" + new URLSearchParams(q).toString();
			a.classList.toggle("active", a.dataset.view === s.view);
		}
		for (const v of VIEWS)
			$("view-" + v).hidden = v !== s.view;
		$("token-state").textContent = token() ? "token set (this tab only)" :
			"no token: reading as anyone";
	}

	let renderSeq = 0;

	async function render() {
		const s = readHash();
		const seq = ++renderSeq;
		const t0 = performance.now();
		cw.state = s;
		fillForm(s);
		const w = windowOf(s);
		clearError();
		$("loading").hidden = false;
		try {
			await resolveProbe(s);
			if (s.view === "probes")
				await viewProbes(s);
			else if (s.view === "heatmap")
				await viewHeatmap(s, w);
			else if (s.view === "rtt")
				await viewRtt(s, w);
			else if (s.view === "episodes")
				await viewEpisodes(s, w);
			else
				await viewEvidence(s, w);
		} catch (e) {
			if (seq === renderSeq)
				showError(e);
		} finally {
			if (seq === renderSeq) {
				$("loading").hidden = true;
				cw.rendered++;
				/* From the hash to the view drawn, answers included. */
				cw.renderMs = Math.round(performance.now() - t0);
				document.body.dataset.rendered = cw.rendered;
				document.body.dataset.view = s.view;
			}
		}
	}

	function formState() {
		const s = Object.assign({}, cw.state);
		s.win = $("f-win").value;
		s.from = $("f-from").value.trim();
		s.to = $("f-to").value.trim();
		if ((s.from || s.to) && s.win !== "custom")
			s.win = "custom";
		if (s.win !== "custom") {
			s.from = "";
			s.to = "";
		}
		s.probe = $("f-probe").value;
		s.name = $("f-name").value.trim();
		s.addr = $("f-addr").value.trim();
		s.country = $("f-country").value.trim().toUpperCase();
		s.rows = $("h-rows").value;
		return s;
	}

	function start() {
		$("token").value = "";
		$("token-form").addEventListener("submit", (ev) => {
			ev.preventDefault();
			const t = $("token").value.trim();
			try {
				if (t)
					sessionStorage.setItem(TOKEN_KEY, t);
				else
					sessionStorage.removeItem(TOKEN_KEY);
			} catch (e) {
				showError(new Error("this browser keeps no session storage"));
			}
			$("token").value = "";
			cw.cache.clear();
			cw.probes = null;
			render();
		});
		$("token-forget").addEventListener("click", () => {
			try {
				sessionStorage.removeItem(TOKEN_KEY);
			} catch (e) {
				/* nothing kept */
			}
			cw.cache.clear();
			cw.probes = null;
			render();
		});
		$("filters").addEventListener("submit", (ev) => {
			ev.preventDefault();
			writeHash(formState());
		});
		$("h-rows").addEventListener("change", () => writeHash(formState()));
		$("f-reload").addEventListener("click", () => {
			cw.cache.clear();
			cw.probes = null;
			render();
		});
		for (const th of $("episodes-table").tHead.rows[0].cells) {
			if (!th.dataset.sort)
				continue;
			th.querySelector("button").addEventListener("click", () => {
				const k = th.dataset.sort;
				cw.sort = { key: k, dir: cw.sort.key === k ? -cw.sort.dir : -1 };
				render();
			});
		}
		heatListen();
		window.addEventListener("hashchange", render);
		cw.render = render;
		render();
	}

	if (document.readyState === "loading")
		document.addEventListener("DOMContentLoaded", start);
	else
		start();
})();
