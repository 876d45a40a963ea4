"use strict";
// The operators' dashboard: plain DOM and SVG, served by the app itself, no CDN and no tiles.

const SVG = "http://www.w3.org/2000/svg";
const state = { token: sessionStorage.getItem("shanhai-token") };

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

function drawMap(collection) {
  const svg = $("map");
  clear(svg);
  const width = 800, height = 420, pad = 50;
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const points = collection.features.map(f => f.geometry.coordinates);
  if (!points.length) return;
  const lons = points.map(p => p[0]), lats = points.map(p => p[1]);
  const minLon = Math.min(...lons), maxLon = Math.max(...lons);
  const minLat = Math.min(...lats), maxLat = Math.max(...lats);
  const span = Math.max(maxLon - minLon, maxLat - minLat, 0.01);
  const project = ([lon, lat]) => [pad + (lon - minLon) / span * (width - 2 * pad),
                                   height - pad - (lat - minLat) / span * (height - 2 * pad)];
  collection.features.forEach(feature => {
    const [x, y] = project(feature.geometry.coordinates);
    const p = feature.properties;
    const onTarget = p.collective_income_fen >= p.period_target_fen;
    const dot = svgNode(svg, "circle", { cx: x, cy: y, r: 7, "data-village": p.village_id,
                                         class: "village-dot " + (onTarget ? "on-target" : "below-target") });
    svgNode(dot, "title", {}, `${p.name_zh} ${p.name_en}: ${yuan(p.collective_income_fen)}`);
    svgNode(svg, "text", { x: x + 10, y: y + 4, class: "label" }, p.name_zh);
  });
  svgNode(svg, "text", { x: 8, y: height - 8, class: "label" },
          `经度 ${minLon.toFixed(2)}–${maxLon.toFixed(2)}E · 纬度 ${minLat.toFixed(2)}–${maxLat.toFixed(2)}N`);
}

function drawTotals(figures) {
  const totals = $("totals");
  clear(totals);
  const items = [
    ["已付订单 Orders paid", figures.sales.orders_paid],
    ["销售额 Sales", yuan(figures.sales.paid_fen)],
    ["上年同期 Last year", yuan(figures.sales.previous.paid_fen)],
    ["集体经营性收入 Collective income", yuan(figures.collective_income_fen)],
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
