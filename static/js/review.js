// Review screen: page viewer with zoom and paging, the selected field's box drawn over the
// page (scaled from PDF points), the page's words as click targets that fill the selected
// field, and the keyboard: j/k field, Enter edit, n next invoice, a send to approval.
// No framework; htmx does the posting.
(function () {
  "use strict";
  const viewer = document.getElementById("viewer");
  const main = document.querySelector(".review-main");
  if (!main) return;
  const WIDTHS = [600, 900, 1200, 1600, 2000];
  let page = 1, zoom = 1, selected = null;
  let img, box, wordLayer, pickHint, sizes = [];
  const wordsByPage = {};

  function renderWidth() {
    const wanted = img.parentElement.parentElement.clientWidth * zoom * (window.devicePixelRatio || 1);
    return WIDTHS.find((w) => w >= wanted) || WIDTHS[WIDTHS.length - 1];
  }
  function showPage(n) {
    if (!viewer) return;
    const count = Number(viewer.dataset.pageCount) || 1;
    page = Math.min(Math.max(1, n), count);
    const url = viewer.dataset.pageUrl.replace(/\/1\.png$/, "/" + page + ".png");
    img.style.width = (zoom * 100) + "%";
    img.src = url + "?w=" + renderWidth();
    viewer.querySelector('[data-viewer="current"]').textContent = page;
    viewer.querySelector('[data-viewer="zoom"]').textContent = Math.round(zoom * 100) + "%";
    drawBox();
    drawWords();
  }
  // Words of the page as click targets, while an editable field is selected. The server
  // reads the text from its own word boxes; the browser only says where the click was.
  function pickable() { return viewer && viewer.dataset.wordsUrl && selected && selected.dataset.pickUrl; }
  function loadWords(n) {
    if (!wordsByPage[n]) {
      const url = viewer.dataset.wordsUrl.replace(/\/1\/words\.json$/, "/" + n + "/words.json");
      wordsByPage[n] = fetch(url, { credentials: "same-origin" })
        .then((r) => (r.ok ? r.json() : { words: [] }))
        .then((data) => data.words || [])
        .catch(() => []);
    }
    return wordsByPage[n];
  }
  function drawWords() {
    if (!wordLayer) return;
    if (!pickable()) { wordLayer.hidden = true; pickHint.hidden = true; return; }
    const onPage = page;
    if (!wordLayer.dataset.page || Number(wordLayer.dataset.page) !== onPage) {
      // A scanned page is read with OCR the first time: say so rather than show nothing.
      pickHint.textContent = "Reading the words on this page…";
      pickHint.hidden = false;
    }
    loadWords(onPage).then((words) => {
      if (onPage !== page || !pickable()) return;
      const size = sizes[page - 1];
      if (!size || !img.clientWidth) return;
      const scale = img.clientWidth / size[0];
      wordLayer.replaceChildren(...words.map((w) => {
        const b = document.createElement("button");
        b.type = "button";
        b.className = "viewer-word";
        b.title = w[0];
        b.dataset.x = (w[1] + w[3]) / 2;
        b.dataset.y = (w[2] + w[4]) / 2;
        Object.assign(b.style, {
          left: (w[1] * scale - 1) + "px", top: (w[2] * scale - 1) + "px",
          width: ((w[3] - w[1]) * scale + 2) + "px", height: ((w[4] - w[2]) * scale + 2) + "px",
        });
        return b;
      }));
      wordLayer.hidden = false;
      wordLayer.dataset.page = onPage;
      pickHint.textContent = words.length
        ? "Click a word on the page to fill “" + selected.dataset.label + "” (Esc to stop)"
        : "No words to pick on this page";
      pickHint.hidden = false;
    });
  }
  function pick(word) {
    if (!pickable()) return;
    const row = selected;
    htmx.ajax("POST", row.dataset.pickUrl, {
      source: row, target: row, swap: "outerHTML",
      values: { page: page, x: word.dataset.x, y: word.dataset.y },
    }).then(() => {
      // The row was replaced: keep the new one selected so the next click fills it again.
      const fresh = document.getElementById(row.id);
      if (fresh && fresh !== selected) { selected = fresh; fresh.classList.add("is-selected"); drawBox(); drawWords(); }
    });
  }
  function drawBox() {
    if (!viewer || !box) return;
    box.hidden = true;
    if (!selected || !selected.dataset.bbox) return;
    const onPage = Number(selected.dataset.page || 1);
    if (onPage !== page) { showPage(onPage); return; }
    const size = sizes[page - 1];
    if (!size || !img.clientWidth) return;
    const scale = img.clientWidth / size[0];
    const [x0, top, x1, bottom] = JSON.parse(selected.dataset.bbox);
    const pad = 3;
    Object.assign(box.style, {
      left: (x0 * scale - pad) + "px", top: (top * scale - pad) + "px",
      width: ((x1 - x0) * scale + 2 * pad) + "px", height: ((bottom - top) * scale + 2 * pad) + "px",
    });
    box.hidden = false;
    box.scrollIntoView({ block: "nearest", behavior: "smooth" });
  }
  function rows() { return Array.from(main.querySelectorAll(".field-row[data-field]")); }
  function select(row) {
    if (selected) selected.classList.remove("is-selected");
    selected = row;
    if (!row) { drawBox(); drawWords(); return; }
    row.classList.add("is-selected");
    row.scrollIntoView({ block: "nearest" });
    drawBox();
    drawWords();
  }
  function step(delta) {
    const all = rows();
    const i = selected ? all.findIndex((r) => r.dataset.field === selected.dataset.field) : -1;
    select(all[Math.min(Math.max(0, i + delta), all.length - 1)]);
  }

  if (viewer) {
    img = viewer.querySelector(".viewer-img");
    box = viewer.querySelector(".viewer-box");
    wordLayer = viewer.querySelector(".viewer-words");
    pickHint = viewer.querySelector('[data-viewer="pick-hint"]');
    img.addEventListener("load", drawWords);
    wordLayer.addEventListener("click", (ev) => {
      const word = ev.target.closest(".viewer-word");
      if (word) { ev.stopPropagation(); pick(word); }
    });
    sizes = JSON.parse(viewer.dataset.sizes || "[]");
    img.addEventListener("load", drawBox);
    viewer.addEventListener("click", (ev) => {
      const action = ev.target.closest("[data-viewer]")?.dataset.viewer;
      if (action === "prev") showPage(page - 1);
      if (action === "next") showPage(page + 1);
      if (action === "zoom-in") { zoom = Math.min(3, zoom + 0.25); showPage(page); }
      if (action === "zoom-out") { zoom = Math.max(0.5, zoom - 0.25); showPage(page); }
    });
    window.addEventListener("resize", () => { drawBox(); drawWords(); });
  }
  main.addEventListener("focusin", (ev) => {
    const row = ev.target.closest(".field-row[data-field]");
    if (row && row !== selected) select(row);
  });
  main.addEventListener("click", (ev) => {
    const row = ev.target.closest(".field-row[data-field]");
    if (row) select(row);
  });
  document.body.addEventListener("htmx:afterSwap", (ev) => {
    // A field row was replaced: keep it selected so j/k continue from there.
    const row = ev.detail.target && ev.detail.target.closest && document.getElementById(ev.detail.target.id);
    if (row && row.classList.contains("field-row")) { selected = row; row.classList.add("is-selected"); drawBox(); drawWords(); }
  });
  document.addEventListener("keydown", (ev) => {
    const typing = ev.target.matches("input, textarea, select, [contenteditable]");
    if (typing) {
      if (ev.key === "Escape") ev.target.blur();
      if (ev.key === "Enter" && ev.target.classList.contains("field-input")) {
        ev.preventDefault();
        ev.target.dispatchEvent(new Event("change", { bubbles: true }));
      }
      return;
    }
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (ev.key === "Escape" && selected) { selected.classList.remove("is-selected"); selected = null; drawBox(); drawWords(); return; }
    if (ev.key === "j") { step(1); ev.preventDefault(); }
    else if (ev.key === "k") { step(-1); ev.preventDefault(); }
    else if (ev.key === "Enter" && selected) {
      const input = selected.querySelector("input.field-input");
      if (input) { input.focus(); input.select(); ev.preventDefault(); }
    } else if (ev.key === "n") { window.location.href = main.dataset.nextUrl; }
    else if (ev.key === "a") {
      const form = document.getElementById("send-form");
      if (form) form.requestSubmit();
    }
  });
  if (viewer) {
    showPage(1);
    if (viewer.dataset.wordsUrl) loadWords(1);  // read while the clerk looks at the fields
  }
})();
