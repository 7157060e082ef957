// Shop-wide behaviour: toasts for Django messages, and the one confirm-dialog pattern.
(function () {
  "use strict";

  function showToast(message, tags) {
    var area = document.getElementById("toast-area");
    if (!area || !window.bootstrap) return;
    var level = (tags || "info").split(" ").pop();
    var el = document.createElement("div");
    el.className = "toast align-items-center border-0 text-bg-" + level;
    el.setAttribute("role", level === "danger" ? "alert" : "status");
    el.setAttribute("aria-live", "polite");
    el.innerHTML = '<div class="d-flex"><div class="toast-body"></div>' +
      '<button type="button" class="btn-close btn-close-white me-2 m-auto" data-bs-dismiss="toast" aria-label="Close"></button></div>';
    el.querySelector(".toast-body").textContent = message;
    area.appendChild(el);
    el.addEventListener("hidden.bs.toast", function () { el.remove(); });
    new bootstrap.Toast(el, { delay: 6000 }).show();
  }

  // Messages rendered into a full page arrive shown (class "show", so they are read
  // without JavaScript too); with it they hide after a while like any toast.
  document.addEventListener("DOMContentLoaded", function () {
    if (!window.bootstrap) return;
    document.querySelectorAll("#toast-area .toast").forEach(function (el) {
      el.addEventListener("hidden.bs.toast", function () { el.remove(); });
      new bootstrap.Toast(el, { delay: 6000 }).show();
    });
  });

  // Messages sent with an htmx response (HX-Trigger: {"messages": {"items": [...]}}).
  document.body.addEventListener("messages", function (event) {
    (event.detail.items || []).forEach(function (m) { showToast(m.message, m.tags); });
  });

  // hx-confirm="..." opens the shop's confirm dialog instead of the browser's.
  document.body.addEventListener("htmx:confirm", function (event) {
    var question = event.detail.question;
    if (!question) return;
    event.preventDefault();
    var modalEl = document.getElementById("confirm-modal");
    modalEl.querySelector(".modal-content").innerHTML =
      '<div class="modal-header"><h2 class="modal-title fs-5">Please confirm</h2>' +
      '<button type="button" class="btn-close" data-bs-dismiss="modal" aria-label="Close"></button></div>' +
      '<div class="modal-body"><p class="mb-0"></p></div>' +
      '<div class="modal-footer"><button type="button" class="btn btn-outline-secondary" data-bs-dismiss="modal">Cancel</button>' +
      '<button type="button" class="btn btn-danger" data-confirm-ok>Confirm</button></div>';
    modalEl.querySelector(".modal-body p").textContent = question;
    var active = document.activeElement;
    rememberOpener(active && event.detail.elt.contains(active) ? active : event.detail.elt);
    var modal = bootstrap.Modal.getOrCreateInstance(modalEl);
    modalEl.querySelector("[data-confirm-ok]").addEventListener("click", function () {
      modal.hide();
      event.detail.issueRequest(true);
    }, { once: true });
    modal.show();
  });

  // A confirm form loaded from the server (hx-target="#confirm-modal .modal-content")
  // opens the dialog; a response that closes it sends HX-Trigger: closeModal.
  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target.closest && event.detail.target.closest("#confirm-modal")) {
      bootstrap.Modal.getOrCreateInstance(document.getElementById("confirm-modal")).show();
    }
  });
  // <input type="checkbox" data-check-all="selector"> ticks or unticks every match.
  document.addEventListener("change", function (event) {
    var selector = event.target.getAttribute && event.target.getAttribute("data-check-all");
    if (!selector) return;
    document.querySelectorAll(selector).forEach(function (box) {
      box.checked = event.target.checked;
    });
  });

  document.body.addEventListener("closeModal", function () {
    var el = document.getElementById("confirm-modal");
    var modal = bootstrap.Modal.getInstance(el);
    if (modal) modal.hide();
  });

  // --- Focus ----------------------------------------------------------------------------
  // When a swap replaces the control that had focus (a sort header, a pager link, a row
  // button), focus goes to its counterpart in the new content: the element with the same
  // data-focus-key, else the same kind of control with the same text, else the nearest
  // surviving region's caption or heading (or the region itself). When the confirm dialog
  // closes, focus goes back to the control that opened it, or to its counterpart.
  function describe(el) {
    var ids = [];
    for (var node = el.parentElement; node; node = node.parentElement) {
      if (node.id) ids.push(node.id);
    }
    return {
      el: el,
      key: el.getAttribute("data-focus-key"),
      tag: el.tagName,
      text: (el.textContent || "").trim(),
      ancestorIds: ids
    };
  }

  function focusable(el) {
    if (!el.matches("a[href], button, input, select, textarea, [tabindex]")) {
      el.setAttribute("tabindex", "-1");
    }
    return el;
  }

  function counterpart(record) {
    if (record.el.isConnected) return record.el;
    for (var i = 0; i < record.ancestorIds.length; i++) {
      var scope = document.getElementById(record.ancestorIds[i]);
      if (!scope || scope.closest("#confirm-modal")) continue;
      var found = null;
      if (record.key) {
        found = scope.querySelector('[data-focus-key="' + CSS.escape(record.key) + '"]');
      }
      if (!found && record.text) {
        found = Array.prototype.find.call(scope.querySelectorAll(record.tag), function (el) {
          return (el.textContent || "").trim() === record.text;
        }) || null;
      }
      return found || focusable(scope.querySelector("caption, h1, h2, h3") || scope);
    }
    return null;
  }

  function focusLost() {
    var active = document.activeElement;
    return !active || active === document.body || !active.isConnected;
  }

  var opener = null;      // what opened the confirm dialog
  var swapFocus = null;   // what had focus in content being swapped out

  function rememberOpener(el) {
    opener = el && el.getAttribute ? describe(el) : null;
  }

  // A confirm dialog loaded from the server: remember the link or button that asked for it.
  document.body.addEventListener("htmx:beforeRequest", function (event) {
    var target = event.detail.target;
    var elt = event.detail.elt;
    if (target && target.closest && target.closest("#confirm-modal") && !elt.closest("#confirm-modal")) {
      rememberOpener(elt);
    }
  });

  document.body.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    var active = document.activeElement;
    if (!target || target.closest("#confirm-modal") || !active || active === document.body) return;
    if (target.contains(active)) swapFocus = describe(active);
  });

  document.body.addEventListener("htmx:afterSettle", function () {
    var record = swapFocus;
    swapFocus = null;
    if (!record || !focusLost() || document.body.classList.contains("modal-open")) return;
    var el = counterpart(record);
    if (el) el.focus();
  });

  var confirmModal = document.getElementById("confirm-modal");
  if (confirmModal) {
    // Bootstrap ignores a dismiss while the dialog is still fading in: remember a Cancel
    // clicked then and close the dialog as soon as it has opened.
    var opening = false;
    var closeWhenShown = false;
    confirmModal.addEventListener("show.bs.modal", function () { opening = true; });
    confirmModal.addEventListener("shown.bs.modal", function () {
      opening = false;
      if (closeWhenShown) {
        closeWhenShown = false;
        bootstrap.Modal.getOrCreateInstance(confirmModal).hide();
      }
    });
    confirmModal.addEventListener("click", function (event) {
      if (opening && event.target.closest('[data-bs-dismiss="modal"]')) {
        event.preventDefault();
        closeWhenShown = true;
      }
    });
    confirmModal.addEventListener("hidden.bs.modal", function () {
      var record = opener;
      opener = null;
      if (!record) return;
      var el = counterpart(record);
      if (el) el.focus();
    });
  }
})();

// --- Invoice create: the total of the ticked tickets (invoicing/invoice_create.html) -----
// Each ticket box carries its balance due (data-balance="150.00"); when a box is ticked
// the footer's [data-ticked-total] and [data-ticked-count] follow, in whole cents and in
// the style of core.money.format_money ($1,234.56; U+2212 minus). The server renders the
// same figures for the ticks it knows, so the page is right without JavaScript too.
(function () {
  "use strict";

  // "1234.5", "-0.05" -> whole cents (integers, so no float sums of money); else null.
  function toCents(text) {
    var match = /^([+-]?)([0-9]+)(?:\.([0-9]{0,2}))?$/.exec(String(text).trim());
    if (!match) return null;
    var cents = parseInt(match[2], 10) * 100 + parseInt(((match[3] || "") + "00").slice(0, 2), 10);
    return match[1] === "-" ? -cents : cents;
  }

  // Whole cents -> "$1,234.56" / "−$5.00", as core.money.format_money writes them.
  function formatMoney(cents) {
    var sign = cents < 0 ? "\u2212" : "";
    var abs = Math.abs(cents);
    var whole = String(Math.floor(abs / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return sign + "$" + whole + "." + String(abs % 100).padStart(2, "0");
  }

  window.Shop = window.Shop || {};
  window.Shop.money = { toCents: toCents, format: formatMoney };

  function updateTickedTotal(picker) {
    var out = picker.querySelector("[data-ticked-total]");
    if (!out) return;
    var boxes = picker.querySelectorAll("input[name=tickets][data-balance]");
    var total = 0;
    var count = 0;
    boxes.forEach(function (box) {
      if (!box.checked) return;
      total += toCents(box.getAttribute("data-balance")) || 0;
      count += 1;
    });
    out.textContent = formatMoney(total);
    var counter = picker.querySelector("[data-ticked-count]");
    if (counter) counter.textContent = String(count);
    var all = picker.querySelector("[data-check-all]");
    if (all) all.checked = boxes.length > 0 && count === boxes.length;
  }

  function updateAll() {
    document.querySelectorAll("[data-ticket-picker]").forEach(updateTickedTotal);
  }

  // Registered after the shop's data-check-all listener, so "tick all" has ticked first.
  document.addEventListener("change", function (event) {
    var picker = event.target.closest && event.target.closest("[data-ticket-picker]");
    if (picker) updateTickedTotal(picker);
  });
  // Boxes the browser restored (back button, reload) may differ from the server's ticks.
  window.addEventListener("pageshow", updateAll);
  document.addEventListener("DOMContentLoaded", updateAll);
})();

// --- Remittance form (invoicing) -------------------------------------------------------
// [data-select-on-focus]  focusing the field (a click too) selects its text, so typing
//                         replaces it rather than landing before it ("400637.12").
// a[data-fill-target][data-fill-value]  puts the value into the target field in place
//                         (the link's href does the same without JavaScript).
// select[data-fill-when][data-fill-target][data-fill-value]  choosing that option puts the
//                         value into the target when it is blank or holds more.
// [data-allocation-line]  typing enables the line's [data-edited-marker], so the server's
//                         proposals keep the line as typed; a proposal that lands after
//                         more typing never overwrites it, and is asked again.
(function () {
  "use strict";

  function cents(text) {
    var match = /^\s*(\d+)(?:\.(\d{1,2}))?\s*$/.exec(String(text || "").replace(/,/g, ""));
    if (!match) return null;
    return parseInt(match[1], 10) * 100 + parseInt(((match[2] || "") + "00").slice(0, 2), 10);
  }

  function fill(field, value) {
    field.value = value;
    field.dispatchEvent(new Event("input", { bubbles: true }));
    field.dispatchEvent(new Event("change", { bubbles: true }));
  }

  // The click that focuses the field would otherwise drop the selection on mouseup.
  var focusingClick = null;
  document.addEventListener("mousedown", function (event) {
    var field = event.target.closest && event.target.closest("[data-select-on-focus]");
    focusingClick = field && field !== document.activeElement ? field : null;
  });
  document.addEventListener("mouseup", function (event) {
    if (focusingClick && event.target === focusingClick) event.preventDefault();
    focusingClick = null;
  });
  document.addEventListener("focusin", function (event) {
    var field = event.target;
    if (field.matches && field.matches("[data-select-on-focus]")) field.select();
  });

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-fill-target][data-fill-value]");
    if (!link) return;
    var field = document.querySelector(link.getAttribute("data-fill-target"));
    if (!field) return;
    event.preventDefault();
    fill(field, link.getAttribute("data-fill-value"));
    field.focus();
  });

  document.addEventListener("change", function (event) {
    var select = event.target;
    if (!select.matches || !select.matches("select[data-fill-when]")) return;
    if (select.value !== select.getAttribute("data-fill-when")) return;
    var field = document.querySelector(select.getAttribute("data-fill-target"));
    var value = select.getAttribute("data-fill-value");
    if (!field || !cents(value)) return;
    var typed = cents(field.value);
    if (typed === null || typed > cents(value)) fill(field, value);
  });

  function marker(input) {
    var line = input.getAttribute("data-allocation-line");
    return document.querySelector('[data-edited-marker="' + line + '"]');
  }

  document.addEventListener("input", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("[data-allocation-line]")) return;
    var mark = marker(input);
    if (mark) mark.disabled = false;
  });

  // What the clerk typed into lines just before a new table replaces them.
  var typedLines = null;
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (!target || target.id !== "allocation-table") return;
    typedLines = [];
    target.querySelectorAll("[data-allocation-line]").forEach(function (input) {
      var mark = marker(input);
      if (!mark || mark.disabled) return;
      typedLines.push({
        id: input.id,
        value: input.value,
        start: input.selectionStart,
        end: input.selectionEnd,
      });
    });
  });
  document.body.addEventListener("htmx:afterSwap", function () {
    if (!typedLines) return;
    var kept = typedLines;
    typedLines = null;
    kept.forEach(function (line) {
      var input = document.getElementById(line.id);
      if (!input) return;
      var mark = marker(input);
      if (mark) mark.disabled = false;
      // Typed after the request left: the server never saw it.
      if (input.value !== line.value) input.value = line.value;
      // htmx focused the new line, and focusing selects all: put the caret back instead.
      if (document.activeElement === input) input.setSelectionRange(line.start, line.end);
    });
    tableSwapped = true;
  });
  // htmx wires the new lines up when they settle; a line that differs from what the
  // server rendered (restored above, or typed before it was wired) asks for a new split.
  var tableSwapped = false;
  document.body.addEventListener("htmx:afterSettle", function () {
    if (!tableSwapped) return;
    tableSwapped = false;
    var unseen = Array.prototype.find.call(
      document.querySelectorAll("[data-allocation-line]"),
      function (input) { return input.value !== input.defaultValue; }
    );
    if (unseen) unseen.dispatchEvent(new Event("allocation-unseen", { bubbles: true }));
  });
})();
