// Keyboard navigation for tables marked data-keyboard-rows: j/k move, Enter opens the row.
(function () {
  "use strict";
  let index = -1;

  function rows() {
    const table = document.querySelector("table[data-keyboard-rows]");
    return table ? Array.from(table.querySelectorAll("tbody tr[data-href]")) : [];
  }

  function select(next) {
    const all = rows();
    if (!all.length) return;
    index = Math.max(0, Math.min(all.length - 1, next));
    all.forEach((row, i) => {
      row.classList.toggle("row-selected", i === index);
      row.setAttribute("aria-selected", i === index ? "true" : "false");
    });
    all[index].scrollIntoView({ block: "nearest" });
  }

  function typing(target) {
    return target.closest("input, textarea, select, [contenteditable=true]") !== null;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    if (event.key === "/") {
      const search = document.querySelector("input[type=search][name=q]");
      if (search) { search.focus(); search.select(); event.preventDefault(); }
    }
    else if (event.key === "j") { select(index + 1); event.preventDefault(); }
    else if (event.key === "k") { select(index - 1); event.preventDefault(); }
    else if (event.key === "Enter" && index >= 0) {
      const row = rows()[index];
      if (row) { window.location.assign(row.dataset.href); event.preventDefault(); }
    }
  });

  // A click anywhere on a row opens it, like the number link does.
  document.addEventListener("click", function (event) {
    const row = event.target.closest("table[data-keyboard-rows] tbody tr[data-href]");
    if (!row || event.target.closest("a, button, input, label")) return;
    window.location.assign(row.dataset.href);
  });

  // Leave empty filters out of the request, so the pushed URL stays short and shareable.
  document.body.addEventListener("htmx:configRequest", function (event) {
    if (event.detail.elt.id !== "inbox-filters") return;
    const params = event.detail.parameters;
    const names = typeof params.keys === "function" ? Array.from(params.keys()) : Object.keys(params);
    names.forEach(function (name) {
      const value = typeof params.get === "function" ? params.get(name) : params[name];
      if (value === "" || value === null) {
        if (typeof params.delete === "function") params.delete(name); else delete params[name];
      }
    });
  });

  // A filter change swaps the table: start again from no selection.
  document.body.addEventListener("htmx:afterSwap", function () { index = -1; });
})();
