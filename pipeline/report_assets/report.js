// citeline's HTML report: renders the JSON in #citeline-data. Text goes in as text (never as
// markup). Offsets in the data are Python's (code points); utf16() converts them for the DOM.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("citeline-data").textContent);
  var main = document.getElementById("main");
  var records = data.records;
  var byLine = {};
  records.forEach(function (r) { byLine[r.line] = r; });
  var single = data.kind === "check";
  var STATUS = {
    supported: ["\u2713", "supported"], unsupported: ["\u2717", "not supported"],
    contradicted: ["\u2298", "contradicted"], uncited: ["?", "no citation"],
    invalid: ["!", "cites no such source"], unjudged: ["\u2013", "not judged"],
    ok: ["\u2022", "checked"], no_claims: ["\u2205", "no claim to check"], error: ["\u2717", "error"],
    invalid_citations: ["!", "cites no such source"]
  };
  var CITE = {
    ok: "", needless: "needless: the other citations already support the claim",
    wrong: "this source does not support the claim", invalid: "no such source"
  };
  var HOW = {
    window: "the verifier's deciding window",
    sentence: "the sentence sharing most words with the claim (the verifier names no span)"
  };
  var KIND = { support: "supports the claim", contradiction: "contradicts the claim", closest: "closest match, not support" };

  function el(tag, attrs) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (key) {
        var value = attrs[key];
        if (value === null || value === undefined || value === false) return;
        if (key === "text") node.textContent = value;
        else if (key === "class") node.className = value;
        else node.setAttribute(key, value === true ? "" : value);
      });
    }
    for (var i = 2; i < arguments.length; i++) add(node, arguments[i]);
    return node;
  }
  function add(node, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) child.forEach(function (c) { add(node, c); });
    else node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
  }
  function utf16(text) {
    if (!/[\uD800-\uDFFF]/.test(text)) return function (i) { return i; };
    var offsets = [0], unit = 0;
    for (var ch of text) { unit += ch.length; offsets.push(unit); }
    return function (i) { return offsets[Math.min(i, offsets.length - 1)]; };
  }
  function fixed(x, digits) { return x === null || x === undefined ? "\u2013" : Number(x).toFixed(digits === undefined ? 2 : digits); }
  function chip(status, label) {
    var s = STATUS[status] || ["", status];
    return el("span", { class: "chip st-" + status }, el("span", { "aria-hidden": "true", text: s[0] + " " }), label || s[1]);
  }
  function sourceName(record, i) {
    var s = record.sources[i];
    return "[" + (i + 1) + "] " + (s.title || s.id);
  }

  // ---------- one record ----------
  function answerNode(record) {
    var text = record.answer, at = utf16(text), pos = 0;
    var p = el("p", { class: "answer", id: "answer-" + record.line });
    var claims = record.claims.map(function (c, i) { return [c, i]; }).sort(function (a, b) { return a[0].start - b[0].start; });
    claims.forEach(function (pair) {
      var claim = pair[0], i = pair[1];
      if (claim.start > pos) add(p, text.slice(at(pos), at(claim.start)));
      var s = STATUS[claim.status];
      var node = el("span", { class: "claim st-" + claim.status, role: "button", tabindex: "0", "aria-pressed": "false",
        "aria-controls": "detail-" + record.line, id: "r" + record.line + "c" + (i + 1), "data-claim": String(i) });
      var inner = claim.start;
      claim.markers.slice().sort(function (a, b) { return a.start - b.start; }).forEach(function (m) {
        if (m.start > inner) add(node, text.slice(at(inner), at(m.start)));
        add(node, marker(record, m, text.slice(at(m.start), at(m.end))));
        inner = m.end;
      });
      if (claim.end > inner) add(node, text.slice(at(inner), at(claim.end)));
      add(node, [el("span", { class: "sym", "aria-hidden": "true", text: s[0] }), el("span", { class: "sr", text: " (" + s[1] + ")" })]);
      p.appendChild(node);
      pos = Math.max(pos, claim.end);
    });
    if (pos < text.length) add(p, text.slice(at(pos)));
    return p;
  }
  function marker(record, m, raw) {
    var order = ["invalid", "wrong", "needless", "ok"], worst = "ok";
    m.parts.forEach(function (part) { if (order.indexOf(part.state) < order.indexOf(worst)) worst = part.state; });
    var notes = m.parts.filter(function (part) { return part.state !== "ok"; }).map(function (part) {
      return (part.invalid !== undefined ? "[" + part.invalid + "]" : sourceName(record, part.source)) + ": " + CITE[part.state];
    });
    var node = el("span", { class: "cite cs-" + worst, title: notes.join("; ") || null }, raw);
    if (worst !== "ok") {
      add(node, [el("span", { class: "flag", "aria-hidden": "true", text: worst === "needless" ? "\u00b7" : "\u26a0" }),
        el("span", { class: "sr", text: " (" + notes.join("; ") + ")" })]);
    }
    return node;
  }
  function legend() {
    return el("ul", { class: "legend", "aria-label": "what the colours and symbols mean" },
      ["supported", "unsupported", "contradicted", "uncited", "invalid", "unjudged"].map(function (status) {
        return el("li", null, el("span", { class: "claim st-" + status },
          el("span", { "aria-hidden": "true", text: STATUS[status][0] + " " }), STATUS[status][1]));
      }));
  }
  function recordView(record) {
    var view = el("article", { class: "record", "aria-labelledby": "title-" + record.line });
    if (!single) add(view, el("p", { class: "nav" }, el("a", { href: "#", text: "\u2190 All records" })));
    add(view, el("h2", { id: "title-" + record.line, tabindex: "-1" },
      (single ? "" : "Line " + record.line + ": ") + (record.id || "(no id)"), " ", chip(record.status)));
    if (record.question) add(view, el("p", null, el("strong", { text: "Question: " }), record.question));
    if (record.error) add(view, el("div", { class: "box st-error", role: "note" },
      el("strong", { text: (record.error_kind || "error") + ": " }), record.error));
    if (record.warnings.length) add(view, el("ul", { class: "box st-invalid", "aria-label": "warnings" },
      record.warnings.map(function (w) { return el("li", { text: "warning: " + w }); })));
    if (record.kind === "revise") return revisionView(view, record);
    if (!record.answer) return view;
    var detail = el("aside", { class: "detail", id: "detail-" + record.line, "aria-live": "polite", "aria-label": "the chosen claim" },
      el("h3", { text: "Claim details" }), el("p", { class: "muted", text: record.claims.length ?
        "Choose a claim (click it, or Tab to it and press Enter; arrow keys move between claims)." : "The answer has no claim to check." }));
    var answer = el("section", { "aria-label": "answer" }, el("h3", { text: "Answer" }), answerNode(record), legend());
    var m = record.metrics;
    if (m && m.claims !== undefined) {
      add(answer, el("p", { class: "meta" }, "citation recall " + fixed(m.citation_recall) + " \u00b7 citation precision " +
        fixed(m.citation_precision) + (m.support_rate !== undefined ? " \u00b7 support rate " + fixed(m.support_rate) : "") +
        " \u00b7 verifier " + record.verifier));
    }
    add(view, el("div", { class: "record-grid" }, answer, detail));
    var nodes = view.querySelectorAll(".answer .claim");
    nodes.forEach(function (node) {
      node.addEventListener("click", function () { choose(record, view, Number(node.dataset.claim), false); });
      node.addEventListener("keydown", function (event) { claimKey(event, record, view, Number(node.dataset.claim)); });
    });
    return view;
  }
  function claimKey(event, record, view, i) {
    var n = record.claims.length, to = null;
    if (event.key === "Enter" || event.key === " ") { event.preventDefault(); choose(record, view, i, false); return; }
    if (event.key === "ArrowRight" || event.key === "ArrowDown") to = (i + 1) % n;
    else if (event.key === "ArrowLeft" || event.key === "ArrowUp") to = (i - 1 + n) % n;
    else if (event.key === "Home") to = 0;
    else if (event.key === "End") to = n - 1;
    else if (event.key === "Escape" && !single) { location.hash = ""; return; }
    if (to !== null) { event.preventDefault(); choose(record, view, to, true); }
  }
  function choose(record, view, i, focus) {
    view.querySelectorAll(".answer .claim").forEach(function (node) {
      node.setAttribute("aria-pressed", String(Number(node.dataset.claim) === i));
    });
    var node = view.querySelector('.answer .claim[data-claim="' + i + '"]');
    if (focus && node) node.focus();
    var detail = view.querySelector(".detail");
    detail.replaceChildren(claimDetail(record, i));
    detail.querySelectorAll(".source-text").forEach(function (box) {
      var mark = box.querySelector("mark");
      if (mark) box.scrollTop = Math.max(0, mark.offsetTop - box.offsetTop - 24);
    });
    if (window.matchMedia && window.matchMedia("(max-width: 52rem)").matches && !focus && detail.scrollIntoView) {
      detail.scrollIntoView({ block: "start" });
    }
    var hash = "#r" + record.line + "c" + (i + 1);
    if (location.hash !== hash && history.replaceState) history.replaceState(null, "", hash);
  }
  function claimDetail(record, i) {
    var claim = record.claims[i], s = STATUS[claim.status], box = document.createDocumentFragment();
    add(box, el("h3", null, "Claim " + (i + 1) + " of " + record.claims.length + " ", chip(claim.status)));
    add(box, el("blockquote", { class: "claim-text st-" + claim.status, text: claim.text }));
    var scores = el("dl", { class: "scores" });
    function row(name, value) { add(scores, [el("dt", { text: name }), el("dd", null, value)]); }
    if (claim.verdict.label) {
      row("Cited sources say", s && claim.verdict.p !== null ? claim.verdict.label.replace("_", " ") : "not judged");
      row("P(supported)", fixed(claim.verdict.p));
      if (claim.verdict.contradiction !== null && claim.verdict.contradiction !== undefined) row("P(contradicted)", fixed(claim.verdict.contradiction));
    } else {
      row("Cited sources say", "not checked (" + (claim.status === "uncited" ? "no citation" : "no valid citation") + ")");
    }
    if (claim.best) row("Best single source", sourceName(record, claim.best.source) + ": " +
      claim.best.label.replace("_", " ") + " (" + fixed(claim.best.p) + ")");
    row("Citation recall", fixed(claim.recall, 0));
    if (claim.cited.length > 1) row("Needless citations", claim.irrelevant.length ?
      claim.irrelevant.map(function (k) { return "[" + (k + 1) + "]"; }).join(", ") : "none");
    row("Verifier", claim.verdict.verifier || (claim.best && claim.best.verifier) || record.verifier || "\u2013");
    add(box, scores);
    add(box, el("h4", { text: "Problems" }));
    add(box, claim.problems.length ? el("ul", { class: "problems" }, claim.problems.map(function (p) { return el("li", { text: p }); }))
      : el("p", { class: "muted", text: "None: its citations support it." }));
    if (claim.shown.length) add(box, el("h4", { text: "Sources" }));
    claim.shown.forEach(function (k) { add(box, sourceCard(record, claim, k)); });
    if (Object.keys(claim.metadata).length) {
      add(box, el("details", null, el("summary", { text: "More about this claim" }),
        el("pre", { class: "json", text: JSON.stringify(claim.metadata, null, 2) })));
    }
    return box;
  }
  function sourceCard(record, claim, k) {
    var source = record.sources[k], tags = el("p", { class: "tags" });
    var cited = claim.cited.indexOf(k) >= 0 || claim.markers.some(function (m) {
      return m.parts.some(function (part) { return part.source === k; });
    });
    add(tags, el("span", { class: "tag", text: cited ? "cited" : "not cited" }));
    if (claim.best && claim.best.source === k) add(tags, el("span", { class: "tag", text: "best single source (" + fixed(claim.best.p) + ")" }));
    if (claim.irrelevant.indexOf(k) >= 0) add(tags, el("span", { class: "tag", text: "needless citation" }));
    var text = source.text, at = utf16(text), pre = el("p", { class: "source-text", tabindex: "0",
      "aria-label": "text of " + sourceName(record, k) });
    var span = claim.spans.filter(function (sp) { return sp.source === k; })[0];
    var how = null;
    if (span) {
      add(pre, text.slice(0, at(span.start)));
      add(pre, el("mark", { class: "k-" + span.kind, "data-source": String(k), "data-start": String(span.start),
        "data-end": String(span.end), title: KIND[span.kind] }, text.slice(at(span.start), at(span.end))));
      add(pre, text.slice(at(span.end)));
      how = el("p", { class: "how" }, "Highlighted: " + HOW[span.how] + ", characters " + span.start + "\u2013" + span.end +
        " (" + KIND[span.kind] + ").");
    } else {
      add(pre, text);
      how = el("p", { class: "how", text: "Nothing highlighted: no sentence of this source shares a word with the claim." });
    }
    return el("section", { class: "source", "aria-label": sourceName(record, k) },
      el("h4", null, sourceName(record, k), source.title && source.id !== String(k + 1) ?
        el("span", { class: "muted", text: " (" + source.id + ")" }) : null),
      tags, pre, how);
  }
  function revisionView(view, record) {
    if (record.diff) {
      add(view, el("h3", { text: "Revision (removed text struck through, added text underlined)" }));
      add(view, diffNode(record.diff));
      var m = record.metrics || {};
      add(view, el("p", { class: "meta", text: "attribution " + fixed(m.attribution_before) + " \u2192 " + fixed(m.attribution_after) +
        " \u00b7 preservation " + fixed(m.preservation) + " \u00b7 F1(AP) " + fixed(m.f1_ap) }));
      if (record.edits.length) {
        add(view, el("h3", { text: "Edits" }));
        add(view, el("ol", null, record.edits.map(function (e) {
          return el("li", null, el("p", null, el("strong", { text: e.status.replace(/_/g, " ") }), ": " + e.question), diffNode(e.diff));
        })));
      }
      if (record.evidence.length) {
        add(view, el("h3", { text: "Attribution report" }));
        add(view, el("ol", null, record.evidence.map(function (e) {
          return el("li", null, el("p", { class: "meta", text: e.question + " \u2014 " + e.source + " (" + fixed(e.score) + ")" }), el("p", { text: e.text }));
        })));
      }
    }
    return view;
  }
  function diffNode(pieces) {
    return el("p", { class: "diff" }, pieces.map(function (p) {
      if (p[0] === "=") return p[1];
      return el(p[0] === "-" ? "del" : "ins", null, el("span", { class: "sr", text: p[0] === "-" ? " [removed: " : " [added: " }), p[1],
        el("span", { class: "sr", text: "] " }));
    }));
  }

  // ---------- a run's overview ----------
  var COLUMNS = {
    eval: [["line", "Line", "num"], ["id", "ID", ""], ["status", "Status", ""], ["claims", "Claims", "num"],
      ["unsupported", "Unsupported", "num"], ["recall", "Citation recall", "num"], ["precision", "Citation precision", "num"],
      ["problem_count", "Problems", "num"]],
    revise: [["line", "Line", "num"], ["id", "ID", ""], ["status", "Status", ""], ["changed", "Changed", ""],
      ["before", "Attribution before", "num"], ["after", "Attribution after", "num"]]
  };
  var sortState = { key: "problem_count", dir: -1 };
  function tableRows(kind) {
    return records.map(function (r) {
      var m = r.metrics || {};
      if (kind === "revise") {
        return { record: r, line: r.line, id: r.id, status: r.status, changed: r.diff ? (r.problem_count ? "yes" : "no") : "\u2013",
          before: m.attribution_before, after: m.attribution_after, problem_count: r.problem_count };
      }
      return { record: r, line: r.line, id: r.id, status: r.status, claims: r.claims.length,
        unsupported: r.claims.filter(function (c) { return c.recall < 1; }).length,
        recall: m.citation_recall, precision: m.citation_precision, problem_count: r.problem_count };
    });
  }
  function overviewView() {
    var o = data.overview, kind = data.kind === "revise" ? "revise" : "eval";
    var view = el("article", { "aria-labelledby": "overview-title" }, el("h2", { id: "overview-title", tabindex: "-1", text: "Overview" }));
    if (o.input) add(view, el("p", { class: "meta", text: "input: " + o.input }));
    var cards = el("dl", { class: "cards" });
    Object.keys(o.metrics).forEach(function (name) {
      var value = o.metrics[name];
      if (value !== null && typeof value === "object") return;
      if (typeof value === "number" && !Number.isInteger(value)) value = value.toFixed(3);
      add(cards, el("div", { class: "card" }, el("dt", { text: name.replace(/_/g, " ") }),
        el("dd", { class: typeof value === "string" && isNaN(Number(value)) ? "words" : null, text: value === null ? "\u2013" : String(value) })));
    });
    add(view, cards);
    if (o.histogram) add(view, histogram(o.histogram));
    add(view, el("h2", { id: "records-title", text: "Records" }));
    var note = o.records_shown < o.records_total ? "Showing the " + o.records_shown + " of " + o.records_total +
      " records with most problems; every record is in results.jsonl. " : "";
    add(view, el("p", { class: "muted", text: note + "Sort by a column's button; a record's link opens it." }));
    var wrap = el("div", { class: "table-wrap" });
    add(view, wrap);
    drawTable(wrap, kind);
    return view;
  }
  function drawTable(wrap, kind) {
    var rows = tableRows(kind), key = sortState.key, dir = sortState.dir;
    rows.sort(function (a, b) {
      var x = a[key], y = b[key];
      if (x === undefined || x === null) x = -Infinity;
      if (y === undefined || y === null) y = -Infinity;
      var c = typeof x === "string" || typeof y === "string" ? String(x).localeCompare(String(y)) : x - y;
      return c * dir || a.line - b.line;
    });
    var head = el("tr", null, COLUMNS[kind].map(function (col) {
      var sorted = col[0] === key ? (dir > 0 ? "ascending" : "descending") : "none";
      var button = el("button", { type: "button", text: col[1] });
      button.addEventListener("click", function () {
        sortState = { key: col[0], dir: col[0] === key ? -dir : (col[2] === "num" && col[0] !== "line" ? -1 : 1) };
        drawTable(wrap, kind);
        wrap.querySelector('th[data-key="' + col[0] + '"] button').focus();
      });
      return el("th", { scope: "col", class: col[2], "aria-sort": sorted, "data-key": col[0] }, button);
    }));
    var body = el("tbody", null, rows.map(function (row) {
      return el("tr", null, COLUMNS[kind].map(function (col) {
        var value = row[col[0]];
        if (col[0] === "line" || col[0] === "id") {
          return el("td", { class: col[0] === "id" ? "id" : "num" }, el("a", { href: "#r" + row.line, text: String(value || "(no id)") }));
        }
        if (col[0] === "status") return el("td", null, chip(value));
        if (typeof value === "number" && !Number.isInteger(value)) value = value.toFixed(2);
        return el("td", { class: col[2], text: value === undefined || value === null ? "\u2013" : String(value) });
      }));
    }));
    wrap.replaceChildren(el("table", { "aria-labelledby": "records-title" },
      el("caption", { text: "One row per record, sorted by " + key.replace(/_/g, " ") + (dir > 0 ? " (ascending)" : " (descending)") }),
      el("thead", null, head), body));
  }
  function histogram(h) {
    var max = Math.max.apply(null, h.bins.concat([1])), w = 400, height = 160, left = 34, bottom = 24, top = 14;
    var bw = (w - left - 6) / h.bins.length, ns = "http://www.w3.org/2000/svg";
    function svgEl(tag, attrs, text) {
      var node = document.createElementNS(ns, tag);
      Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
      if (text !== undefined) node.textContent = text;
      return node;
    }
    var label = "Histogram of P(supported) of " + h.scores + " checked claims: " + h.bins.map(function (n, i) {
      return (i / h.bins.length).toFixed(1) + "\u2013" + ((i + 1) / h.bins.length).toFixed(1) + ": " + n;
    }).join(", ");
    var svg = svgEl("svg", { viewBox: "0 0 " + w + " " + height, role: "img", "aria-label": label });
    svg.appendChild(svgEl("line", { x1: left, y1: height - bottom, x2: w - 4, y2: height - bottom, stroke: "#555" }));
    h.bins.forEach(function (n, i) {
      var bh = (height - bottom - top) * n / max, x = left + i * bw;
      var rising = i >= h.bins.length / 2;
      svg.appendChild(svgEl("rect", { x: x + 2, y: height - bottom - bh, width: bw - 4, height: bh,
        fill: rising ? "#0072b2" : "#c14f00" }));
      if (n) svg.appendChild(svgEl("text", { x: x + bw / 2, y: height - bottom - bh - 3, "text-anchor": "middle", "font-size": "11" }, String(n)));
      svg.appendChild(svgEl("text", { x: x + 2, y: height - 8, "font-size": "10", fill: "#333" }, (i / h.bins.length).toFixed(1)));
    });
    svg.appendChild(svgEl("text", { x: w - 16, y: height - 8, "font-size": "10", fill: "#333" }, "1.0"));
    return el("figure", null, el("h2", { id: "hist-title", text: "Support scores" }), svg,
      el("figcaption", { text: "P(supported) by the cited sources, per claim (" + h.scores + " claims; " + h.unchecked +
        " without a valid citation are not shown). Bars left of 0.5 are drawn in vermilion, right of it in blue." }));
  }

  // ---------- routing: #r<line> shows a record, #r<line>c<n> its claim n ----------
  var current = null;
  function route() {
    var m = /^#r(\d+)(?:c(\d+))?$/.exec(location.hash);
    var record = m ? byLine[Number(m[1])] : (single ? records[0] : null);
    if (record && current && current.record === record && current.view.isConnected) {
      if (m && m[2]) choose(record, current.view, Number(m[2]) - 1, true);
      return;
    }
    var view = record ? recordView(record) : overviewView();
    main.replaceChildren(view);
    current = { record: record, view: view };
    document.title = (record && !single ? "Line " + record.line + " \u2013 " : "") + document.querySelector(".top h1").textContent;
    if (record && m && m[2] && record.claims[Number(m[2]) - 1]) choose(record, view, Number(m[2]) - 1, true);
    else if (record && !single) view.querySelector("h2").focus();
    else if (!record && location.hash === "" && window.__citelineShown) view.querySelector("h2").focus();
    window.__citelineShown = true;
  }
  window.addEventListener("hashchange", route);
  route();
})();
