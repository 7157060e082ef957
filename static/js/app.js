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

  // Messages rendered into a full page.
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("#toast-area .toast").forEach(function (el) {
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
})();
