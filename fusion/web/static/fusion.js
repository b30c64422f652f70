// Progressive enhancement only: every page works without this file.
"use strict";

// Autocomplete of Apogée codes: <input data-suggest-url=... data-suggest-into=ID>.
function setupSuggest(input) {
  const list = document.getElementById(input.getAttribute("aria-controls"));
  const target = document.getElementById(input.dataset.suggestInto);
  let timer = null, active = -1, items = [];

  function close() {
    list.innerHTML = ""; items = []; active = -1;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }
  function choose(item) {
    const codes = target.value.split(/[\s,;]+/).filter(Boolean);
    if (!codes.includes(item.code)) codes.push(item.code);
    target.value = codes.join(" ");
    input.value = "";
    close();
    target.focus();
  }
  function highlight(index) {
    items.forEach((li, i) => li.setAttribute("aria-selected", i === index ? "true" : "false"));
    active = index;
    if (index >= 0) input.setAttribute("aria-activedescendant", items[index].id);
  }
  async function search() {
    const q = input.value.trim();
    if (q.length < 2) { close(); return; }
    const response = await fetch(input.dataset.suggestUrl + "?q=" + encodeURIComponent(q),
                                 { headers: { "accept": "application/json" } });
    if (!response.ok) { close(); return; }
    const hits = (await response.json()).results || [];
    list.innerHTML = "";
    items = hits.map((hit, i) => {
      const li = document.createElement("li");
      li.id = input.id + "-option-" + i;
      li.setAttribute("role", "option");
      li.textContent = hit.code + " — " + (hit.label || "") + (hit.period ? " (" + hit.period + ")" : "");
      li.addEventListener("mousedown", (event) => { event.preventDefault(); choose(hit); });
      li.hit = hit;
      list.appendChild(li);
      return li;
    });
    input.setAttribute("aria-expanded", items.length ? "true" : "false");
    active = -1;
  }
  input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(search, 200); });
  input.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" && items.length) { event.preventDefault(); highlight((active + 1) % items.length); }
    else if (event.key === "ArrowUp" && items.length) { event.preventDefault(); highlight((active - 1 + items.length) % items.length); }
    else if (event.key === "Enter" && active >= 0) { event.preventDefault(); choose(items[active].hit); }
    else if (event.key === "Escape") { close(); }
  });
  input.addEventListener("blur", () => setTimeout(close, 150));
}

// Parts of a page that follow something live: <div data-refresh-url=... data-refresh-seconds=N>.
function setupRefresh(region) {
  const seconds = Math.max(2, Number(region.dataset.refreshSeconds || 5));
  async function refresh() {
    if (region.dataset.refreshStop === "true") return;
    const response = await fetch(region.dataset.refreshUrl, { headers: { "accept": "text/html" } });
    if (response.ok) {
      const html = await response.text();
      const holder = document.createElement("div");
      holder.innerHTML = html;
      const fresh = holder.firstElementChild;
      if (fresh) { region.innerHTML = fresh.innerHTML; region.dataset.refreshStop = fresh.dataset.refreshStop || "false"; }
    }
    setTimeout(refresh, seconds * 1000);
  }
  setTimeout(refresh, seconds * 1000);
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("input[data-suggest-url]").forEach(setupSuggest);
  document.querySelectorAll("[data-refresh-url]").forEach(setupRefresh);
  const hint = document.getElementById("suggest-help-js");
  if (hint) hint.hidden = false;
});
