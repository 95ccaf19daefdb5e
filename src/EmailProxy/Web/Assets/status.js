// The status page's live part (Web/StatusPage.cs): while a sign-in is under way, polls
// /status.json every 2 s and updates the account's state, device code and countdown in place
// (textContent only, never HTML), until it completes or expires. Without script the page still says
// everything; it is just not updated until reloaded.
"use strict";
(function () {
  var POLL_MS = 2000;
  var timer = null;

  function field(section, name) {
    return section.querySelector('[data-field="' + name + '"]');
  }

  function sectionOf(id) {
    var heading = document.getElementById(id);
    return heading ? heading.closest("section.account") : null;
  }

  function anyPending() {
    return document.querySelector('section.account[data-pending="true"]') !== null;
  }

  function duration(ms) {
    var s = Math.max(0, Math.floor(ms / 1000));
    var m = Math.floor(s / 60);
    return m > 0 ? m + " min " + (s % 60) + " s" : s + " s";
  }

  function countdowns() {
    document.querySelectorAll('[data-field="countdown"]').forEach(function (element) {
      var at = Date.parse(element.getAttribute("data-expires-at") || "");
      if (isNaN(at)) {
        return;
      }
      var left = at - Date.now();
      element.textContent = left > 0 ? "The code expires in " + duration(left) + "." : "The code has expired.";
    });
  }

  function setText(element, text) {
    if (element && element.textContent !== text) {
      element.textContent = text;
    }
  }

  // The server's "2026-12-06 11:40 UTC" form of an ISO time.
  function utc(iso) {
    var at = new Date(iso);
    return isNaN(at.getTime()) ? iso : at.toISOString().slice(0, 16).replace("T", " ") + " UTC";
  }

  function apply(status) {
    (status.accounts || []).forEach(function (account) {
      var section = sectionOf(account.id);
      if (!section) {
        return;
      }
      setText(field(section, "state"), account.state);
      if (account.signed_in && account.identity) {
        setText(field(section, "identity"), account.identity);
      }
      if (account.signed_in && account.access_token_expires_at) {
        setText(field(section, "access-token"), "valid until " + utc(account.access_token_expires_at));
      }
      var pending = !!account.user_code;
      section.setAttribute("data-pending", pending ? "true" : "false");
      // A template account's generated password waits once its device code is entered.
      var password = section.querySelector("form.password");
      if (password) {
        password.hidden = !account.password_waiting;
      }
      var device = section.querySelector(".device");
      if (!device) {
        return;
      }
      if (account.user_code) {
        setText(field(section, "user-code"), account.user_code);
        var link = field(section, "verification-uri");
        if (link && account.verification_uri && /^https?:\/\//i.test(account.verification_uri)) {
          link.setAttribute("href", account.verification_uri);
          setText(link, account.verification_uri);
        }
        var countdown = field(section, "countdown");
        if (countdown && account.sign_in_expires_at) {
          countdown.setAttribute("data-expires-at", account.sign_in_expires_at);
        }
        device.hidden = false;
      } else {
        device.hidden = true;
      }
    });
    countdowns();
  }

  function poll() {
    timer = null;
    fetch("/status.json", { credentials: "same-origin", headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (status) { if (status) { apply(status); } })
      .catch(function () { /* the proxy may be restarting: try again at the next turn */ })
      .then(schedule);
  }

  function schedule() {
    if (timer === null && anyPending()) {
      timer = window.setTimeout(poll, POLL_MS);
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    countdowns();
    window.setInterval(countdowns, 1000);
    schedule();
  });
})();
