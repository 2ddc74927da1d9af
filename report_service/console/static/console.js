// Frankly moderator console: keyboard shortcuts, the lease countdown and its heartbeat,
// and the break reminder. No framework, no build step; served by the app itself.
"use strict";

(function () {
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute("content") : "";

  // ---- keyboard shortcuts: any element with data-shortcut="k" -------------------------
  function typing(el) {
    if (!el) return false;
    var tag = el.tagName;
    if (tag === "INPUT") return !/^(checkbox|radio|button|submit|reset)$/.test(el.type);
    return tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "Escape" && typing(document.activeElement)) {
      document.activeElement.blur();
      return;
    }
    if (ev.ctrlKey || ev.metaKey || ev.altKey || typing(ev.target)) return;
    if (ev.key === "?") {
      var box = document.getElementById("shortcuts");
      if (box) box.open = !box.open;
      ev.preventDefault();
      return;
    }
    var target = null;
    var all = document.querySelectorAll("[data-shortcut]");
    for (var i = 0; i < all.length; i++) {
      if (all[i].getAttribute("data-shortcut") === ev.key && !all[i].disabled) {
        target = all[i];
        break;
      }
    }
    if (!target) return;
    ev.preventDefault();
    if (target.type === "checkbox") {
      target.checked = !target.checked;
      target.focus();
    } else if (typing(target)) {
      target.focus();
    } else {
      target.click();
    }
  });

  // ---- lease countdown and heartbeat -------------------------------------------------
  var left = document.getElementById("lease-left");
  if (left) {
    var state = document.getElementById("lease-state");
    var deadline = Date.now() + Number(left.getAttribute("data-remaining-ms"));
    var every = Number(left.getAttribute("data-heartbeat-ms")) || 60000;
    var url = left.getAttribute("data-heartbeat-url");
    var lost = false;
    var show = function () {
      var s = Math.max(0, Math.round((deadline - Date.now()) / 1000));
      left.textContent = Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
      if (s === 0 && !lost) markLost("The lease has expired; claim the item again.");
    };
    var markLost = function (text) {
      lost = true;
      if (state) state.textContent = text;
      left.closest("section").classList.add("lost");
    };
    var beat = function () {
      if (lost) return;
      fetch(url, {
        method: "POST",
        headers: { "X-CSRF-Token": csrf, "Accept": "application/json" },
        credentials: "same-origin",
      }).then(function (r) {
        if (!r.ok) { markLost("The lease was lost; claim the item again."); return null; }
        return r.json();
      }).then(function (body) {
        if (body && typeof body.remaining_ms === "number") {
          deadline = Date.now() + body.remaining_ms;
          left.setAttribute("data-beats", String(Number(left.getAttribute("data-beats") || 0) + 1));
          show();
        }
      }).catch(function () { if (state) state.textContent = "Heartbeat failed; retrying."; });
    };
    setInterval(show, 1000);
    setInterval(beat, every);
  }

  // ---- break reminder ------------------------------------------------------------------
  var reminder = document.getElementById("break-reminder");
  if (reminder && reminder.hidden) {
    var due = Number(reminder.getAttribute("data-due-in-ms"));
    setTimeout(function () { reminder.hidden = false; }, Math.max(0, due));
  }
})();
