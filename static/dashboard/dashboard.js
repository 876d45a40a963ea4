"use strict";
// The operators' dashboard: plain DOM and SVG served by the app itself, no CDN. The map draws
// villages on a Web Mercator graticule offline, and over XYZ tiles when MAP_TILE_URL is set.

const SVG = "http://www.w3.org/2000/svg";
const TILE = 256;
const state = { token: sessionStorage.getItem("shanhai-token"), tileUrl: null };

function $(id) { return document.getElementById(id); }

function yuan(fen) {
  return "¥" + (fen / 100).toLocaleString("zh-CN", { maximumFractionDigits: 0 });
}

async function api(path, options = {}) {
  const headers = Object.assign({ Accept: "application/json" }, options.headers || {});
  if (state.token) headers.Authorization = "Bearer " + state.token;
  const response = await fetch(path, Object.assign({}, options, { headers }));
  if (response.status === 401) { signOut(); throw new Error("signed out"); }
  if (!response.ok) {
    const problem = await response.json().catch(() => ({}));
    throw new Error(problem.detail || response.statusText);
  }
  return response.json();
}

function svgNode(parent, name, attributes, text) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  parent.appendChild(node);
  return node;
}

function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

function signOut() {
  sessionStorage.removeItem("shanhai-token");
  state.token = null;
  $("board").hidden = true;
  $("who").hidden = true;
  $("sign-in").hidden = false;
}

async function signIn(event) {
  event.preventDefault();
  const form = new FormData(event.target);
  $("sign-in-error").textContent = "";
  try {
    const body = JSON.stringify({ email: form.get("email"), password: form.get("password") });
    const token = await api("/api/v1/auth/token",
      { method: "POST", body, headers: { "Content-Type": "application/json" } });
    state.token = token.access_token;
    sessionStorage.setItem("shanhai-token", state.token);
    await start();
  } catch (error) {
    $("sign-in-error").textContent = "登录失败 Sign-in failed: " + error.message;
  }
}

function periodQuery() {
  const parts = [];
  if ($("from").value) parts.push("from=" + $("from").value);
  if ($("to").value) parts.push("to=" + $("to").value);
  return parts.length ? "?" + parts.join("&") : "";
}

function drawIncome(villages) {
  const svg = $("income-chart");
  clear(svg);
  const width = 600, height = 280, left = 60, bottom = 40;
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const top = Math.max(1, ...villages.map(v => Math.max(v.collective_income_fen, v.period_target_fen)));
  const slot = (width - left) / Math.max(villages.length, 1);
  svgNode(svg, "line", { x1: left, y1: height - bottom, x2: width, y2: height - bottom, class: "axis" });
  villages.forEach((village, index) => {
    const x = left + index * slot;
    const scale = value => (height - bottom - 10) * value / top;
    const income = scale(village.collective_income_fen), target = scale(village.period_target_fen);
    svgNode(svg, "rect", { x: x + 4, y: height - bottom - income, width: slot / 2 - 6, height: income,
                           class: "bar-income" }).appendChild(document.createElementNS(SVG, "title"))
      .textContent = `${village.name_zh}: ${yuan(village.collective_income_fen)}`;
    svgNode(svg, "rect", { x: x + slot / 2, y: height - bottom - target, width: slot / 2 - 6, height: target,
                           class: "bar-target" });
    svgNode(svg, "text", { x: x + slot / 2, y: height - bottom + 14, "text-anchor": "middle", class: "label" },
            village.name_zh);
  });
  svgNode(svg, "text", { x: 4, y: 14, class: "label" }, "绿: 收入 income · 金: 目标 target");
}

function drawSales(months) {
  const svg = $("sales-chart");
  clear(svg);
  const width = 600, height = 280, left = 60, bottom = 40;
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svgNode(svg, "line", { x1: left, y1: height - bottom, x2: width, y2: height - bottom, class: "axis" });
  if (!months.length) {
    svgNode(svg, "text", { x: width / 2, y: height / 2, "text-anchor": "middle", class: "label" },
            "本期暂无销售 No sales in this period");
    return;
  }
  const top = Math.max(1, ...months.map(m => m.net_sales_fen));
  const slot = (width - left) / months.length;
  months.forEach((month, index) => {
    const h = (height - bottom - 10) * Math.max(month.net_sales_fen, 0) / top;
    const x = left + index * slot;
    svgNode(svg, "rect", { x: x + 4, y: height - bottom - h, width: slot - 8, height: h, class: "bar-sales" });
    svgNode(svg, "text", { x: x + slot / 2, y: height - bottom + 14, "text-anchor": "middle", class: "label" },
            month.month);
  });
}

function drawScans(days) {
  const svg = $("scans-chart");
  clear(svg);
  const width = 600, height = 280, left = 60, bottom = 40;
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svgNode(svg, "line", { x1: left, y1: height - bottom, x2: width, y2: height - bottom, class: "axis" });
  if (!days.length) {
    svgNode(svg, "text", { x: width / 2, y: height / 2, "text-anchor": "middle", class: "label" },
            "本期暂无扫码 No scans in this period");
    return;
  }
  const top = Math.max(1, ...days.map(d => d.scans));
  const slot = (width - left) / days.length;
  const every = Math.ceil(days.length / 8);
  days.forEach((day, index) => {
    const h = (height - bottom - 10) * day.scans / top;
    const x = left + index * slot;
    const bar = svgNode(svg, "rect", { x: x + slot * 0.1, y: height - bottom - h, width: Math.max(slot * 0.8, 1),
                                       height: h, class: "bar-scans" });
    svgNode(bar, "title", {}, `${day.day}: ${day.scans} 次扫码 scans, ${day.codes_first_scanned} 首次 first`);
    if (index % every === 0) {
      svgNode(svg, "text", { x: x + slot / 2, y: height - bottom + 14, "text-anchor": "middle", class: "label" },
              day.day.slice(5));
    }
  });
  svgNode(svg, "text", { x: 4, y: 14, class: "label" }, `最高 max ${top}/日 day`);
}

function drawDeliveries(deliveries) {
  const body = $("deliveries").querySelector("tbody");
  clear(body);
  const previous = new Map(deliveries.previous.by_grade.map(g => [g.grade + g.unit, g]));
  const lines = deliveries.by_grade.length ? deliveries.by_grade : [];
  for (const line of lines) {
    const row = body.insertRow();
    const before = previous.get(line.grade + line.unit);
    for (const text of [line.grade, line.deliveries, `${line.quantity} ${line.unit}`, yuan(line.value_fen),
                        before ? yuan(before.value_fen) : "—"]) {
      row.insertCell().textContent = text;
    }
  }
  if (!lines.length) {
    const cell = body.insertRow().insertCell();
    cell.colSpan = 5;
    cell.textContent = "本期暂无验收 No accepted deliveries in this period";
  }
}

// Web Mercator in pixels at a zoom level: what XYZ tile servers cut their tiles from.
function mercator([lon, lat], zoom) {
  const scale = TILE * 2 ** zoom;
  const sin = Math.sin(lat * Math.PI / 180);
  return [(lon + 180) / 360 * scale, (0.5 - Math.log((1 + sin) / (1 - sin)) / (4 * Math.PI)) * scale];
}

function drawMap(collection) {
  const svg = $("map");
  clear(svg);
  // Drawn at the element's own size, so that tiles and graticule reach every edge.
  const box = svg.getBoundingClientRect();
  const width = Math.round(box.width) || 800, height = Math.round(box.height) || 420, pad = 50;
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const points = collection.features.map(f => f.geometry.coordinates);
  if (!points.length) return;
  const lons = points.map(p => p[0]), lats = points.map(p => p[1]);
  const west = Math.min(...lons), east = Math.max(...lons);
  const south = Math.min(...lats), north = Math.max(...lats);
  // The closest zoom at which every village fits inside the padded frame.
  let zoom = 16;
  while (zoom > 3) {
    const [x0, y0] = mercator([west, north], zoom), [x1, y1] = mercator([east, south], zoom);
    if (x1 - x0 <= width - 2 * pad && y1 - y0 <= height - 2 * pad) break;
    zoom -= 1;
  }
  const [cx0, cy0] = mercator([west, north], zoom), [cx1, cy1] = mercator([east, south], zoom);
  const origin = [(cx0 + cx1) / 2 - width / 2, (cy0 + cy1) / 2 - height / 2];
  const project = point => { const [x, y] = mercator(point, zoom); return [x - origin[0], y - origin[1]]; };
  if (state.tileUrl) {
    const tiles = svgNode(svg, "g", { class: "tiles" });
    const last = 2 ** zoom - 1;
    for (let tx = Math.floor(origin[0] / TILE); tx <= Math.floor((origin[0] + width) / TILE); tx++) {
      for (let ty = Math.floor(origin[1] / TILE); ty <= Math.floor((origin[1] + height) / TILE); ty++) {
        if (tx < 0 || ty < 0 || tx > last || ty > last) continue;
        const href = state.tileUrl.replace("{z}", zoom).replace("{x}", tx).replace("{y}", ty);
        svgNode(tiles, "image", { href, x: tx * TILE - origin[0], y: ty * TILE - origin[1],
                                  width: TILE, height: TILE, class: "tile" });
      }
    }
  } else {
    // Offline: a graticule every tenth of a degree (about 10 km) gives the map its scale.
    const step = zoom >= 10 ? 0.1 : 1;
    for (let lon = Math.ceil((west - 1) / step) * step; lon <= east + 1; lon += step) {
      const [x] = project([lon, north]);
      if (x >= 0 && x <= width) svgNode(svg, "line", { x1: x, y1: 0, x2: x, y2: height, class: "graticule" });
    }
    for (let lat = Math.ceil((south - 1) / step) * step; lat <= north + 1; lat += step) {
      const [, y] = project([west, lat]);
      if (y >= 0 && y <= height) svgNode(svg, "line", { x1: 0, y1: y, x2: width, y2: y, class: "graticule" });
    }
  }
  collection.features.forEach(feature => {
    const [x, y] = project(feature.geometry.coordinates);
    const p = feature.properties;
    const onTarget = p.collective_income_fen >= p.period_target_fen;
    const dot = svgNode(svg, "circle", { cx: x, cy: y, r: 7, "data-village": p.village_id,
                                         class: "village-dot " + (onTarget ? "on-target" : "below-target") });
    svgNode(dot, "title", {}, `${p.name_zh} ${p.name_en}: ${yuan(p.collective_income_fen)} · ` +
                              `销售 sales ${yuan(p.sales_paid_fen)} · 扫码 scans ${p.codes_scans}`);
    svgNode(svg, "text", { x: x + 10, y: y + 4, class: "label" }, p.name_zh);
  });
  svgNode(svg, "text", { x: 8, y: height - 8, class: "label" },
          `经度 ${west.toFixed(2)}–${east.toFixed(2)}E · 纬度 ${south.toFixed(2)}–${north.toFixed(2)}N` +
          (state.tileUrl ? " · 底图 tiles" : " · 离线 offline"));
}

function drawTotals(figures) {
  const totals = $("totals");
  clear(totals);
  const items = [
    ["已付订单 Orders paid", figures.sales.orders_paid],
    ["销售额 Sales", yuan(figures.sales.paid_fen)],
    ["上年同期 Last year", yuan(figures.sales.previous.paid_fen)],
    ["集体经营性收入 Collective income", yuan(figures.collective_income_fen)],
    ["合同交货货值 Deliveries accepted", yuan(figures.deliveries.accepted_value_fen)],
    ["扫码 Scans", figures.codes.scans],
    ["赋码 Codes minted", figures.codes.minted],
    ["疑似复制 Suspected copies", figures.codes.suspected_copies],
  ];
  for (const [label, value] of items) {
    const box = document.createElement("div");
    box.textContent = label;
    const number = document.createElement("b");
    number.textContent = value;
    box.appendChild(number);
    totals.appendChild(box);
  }
}

async function refresh() {
  const clusterId = $("cluster").value;
  const query = periodQuery();
  const base = `/api/v1/dashboard/clusters/${clusterId}`;
  const [figures, map] = await Promise.all([
    api(base + query), api("/api/v1/dashboard/villages.geojson" + query)]);
  drawTotals(figures);
  drawIncome(figures.villages);
  drawSales(figures.sales_by_month);
  drawScans(figures.scans_by_day);
  drawDeliveries(figures.deliveries);
  drawMap(map);
  for (const kind of ["csv", "xlsx"]) $("export-" + kind).dataset.href = `${base}/villages.${kind}${query}`;
  $("export-pdf").dataset.href = `${base}/report.pdf${query}`;
}

async function download(event) {
  event.preventDefault();
  const response = await fetch(event.target.dataset.href, { headers: { Authorization: "Bearer " + state.token } });
  const blob = await response.blob();
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = event.target.dataset.href.split("/").pop().split("?")[0];
  link.click();
}

async function start() {
  const me = await api("/api/v1/me");
  if (me.role !== "operator") {
    $("sign-in-error").textContent = "仅限运营人员 Operators only";
    signOut();
    return;
  }
  $("who-name").textContent = me.user.display_name;
  $("who").hidden = false;
  $("sign-in").hidden = true;
  $("board").hidden = false;
  state.tileUrl = (await api("/api/v1/dashboard/settings")).map_tile_url;
  const clusters = await api("/api/v1/clusters?page_size=100");
  const select = $("cluster");
  clear(select);
  for (const cluster of clusters) {
    const option = document.createElement("option");
    option.value = cluster.id;
    option.textContent = `${cluster.name_zh} ${cluster.name_en}`;
    select.appendChild(option);
  }
  await refresh();
}

document.addEventListener("DOMContentLoaded", () => {
  $("sign-in").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", signOut);
  for (const id of ["cluster", "from", "to"]) $(id).addEventListener("change", refresh);
  for (const kind of ["csv", "xlsx", "pdf"]) $("export-" + kind).addEventListener("click", download);
  if (state.token) start().catch(signOut); else $("sign-in").hidden = false;
});
