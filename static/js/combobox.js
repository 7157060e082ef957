// The shop's picker (templates/includes/combobox.html): htmx fetches the options into the
// listbox; this file opens it, moves the active option with the arrow keys, and picks.
(function () {
  "use strict";

  function parts(box) {
    return {
      text: box.querySelector("[data-combobox-text]"),
      value: box.querySelector("[data-combobox-value]"),
      shown: box.querySelector("[data-combobox-shown]"),
      listbox: box.querySelector("[data-combobox-listbox]"),
    };
  }

  function options(p) {
    return Array.prototype.slice.call(p.listbox.querySelectorAll("[role=option]"));
  }

  function setActive(p, option) {
    options(p).forEach(function (o) {
      var on = o === option;
      o.classList.toggle("active", on);
      o.setAttribute("aria-selected", on ? "true" : "false");
    });
    if (option) {
      p.text.setAttribute("aria-activedescendant", option.id);
      option.scrollIntoView({ block: "nearest" });
    } else {
      p.text.removeAttribute("aria-activedescendant");
    }
  }

  function open(p) {
    if (!p.listbox.children.length) return;
    p.listbox.hidden = false;
    p.text.setAttribute("aria-expanded", "true");
  }

  function close(p) {
    p.listbox.hidden = true;
    p.text.setAttribute("aria-expanded", "false");
    setActive(p, null);
  }

  function isOpen(p) { return !p.listbox.hidden; }

  // The options answer the text now in the box (not a slower, older request).
  function fresh(p) {
    var first = p.listbox.querySelector("[data-query]");
    return !!first && first.getAttribute("data-query") === p.text.value.trim();
  }

  // Choosing sets the hidden value and the text; the list filters submit their form, the
  // other forms hear a change (the customer form asks which tickets would follow).
  function choose(box, value, label) {
    var p = parts(box);
    p.value.value = value;
    p.text.value = label;
    p.shown.value = label;
    close(p);
    var form = p.value.form;
    if (box.hasAttribute("data-submit-on-pick") && form) {
      form.requestSubmit();
    } else {
      p.value.dispatchEvent(new Event("change", { bubbles: true }));
    }
  }

  function move(p, step) {
    var all = options(p);
    if (!all.length) return;
    var current = all.indexOf(p.listbox.querySelector("[role=option].active"));
    var next = current < 0 ? (step > 0 ? 0 : all.length - 1) : (current + step + all.length) % all.length;
    setActive(p, all[next]);
  }

  document.addEventListener("keydown", function (event) {
    var text = event.target.closest && event.target.closest("[data-combobox-text]");
    if (!text) return;
    var box = text.closest("[data-combobox]");
    var p = parts(box);
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!fresh(p)) return;
      open(p);
      move(p, event.key === "ArrowDown" ? 1 : -1);
    } else if (event.key === "Enter" && isOpen(p) && fresh(p)) {
      var active = p.listbox.querySelector("[role=option].active") || options(p)[0];
      if (!active) return;
      event.preventDefault();
      choose(box, active.dataset.value, active.dataset.label);
    } else if (event.key === "Escape" && isOpen(p)) {
      event.preventDefault();
      close(p);
    }
  });

  // Typing makes the options stale until the answer for the new text arrives; emptying
  // the box means "none" (or "any" in a filter) at once.
  document.addEventListener("input", function (event) {
    var text = event.target.closest && event.target.closest("[data-combobox-text]");
    if (!text) return;
    var box = text.closest("[data-combobox]");
    if (!fresh(parts(box))) close(parts(box));
    if (!text.value.trim()) choose(box, "", "");
  });

  // The text box's own change is not a choice: the forms listening for change must not
  // see it (a pick dispatches change from the hidden input instead).
  document.addEventListener("change", function (event) {
    if (event.target.closest && event.target.closest("[data-combobox-text]")) {
      event.stopPropagation();
    }
  }, true);

  // mousedown would blur the box (and close the list) before the click lands.
  document.addEventListener("mousedown", function (event) {
    if (event.target.closest && event.target.closest("[data-combobox-listbox] [role=option]")) {
      event.preventDefault();
    }
  });

  document.addEventListener("click", function (event) {
    var option = event.target.closest && event.target.closest("[data-combobox-listbox] [role=option]");
    if (!option) return;
    choose(option.closest("[data-combobox]"), option.dataset.value, option.dataset.label);
  });

  document.addEventListener("focusout", function (event) {
    var box = event.target.closest && event.target.closest("[data-combobox]");
    if (box && !box.contains(event.relatedTarget)) close(parts(box));
  });

  // Fresh options arrived: show them, none active yet.
  document.addEventListener("htmx:afterSwap", function (event) {
    var listbox = event.detail.target;
    if (!listbox || !listbox.matches || !listbox.matches("[data-combobox-listbox]")) return;
    var p = parts(listbox.closest("[data-combobox]"));
    setActive(p, null);
    if (document.activeElement === p.text && fresh(p)) open(p);
    else close(p);
  });
})();
