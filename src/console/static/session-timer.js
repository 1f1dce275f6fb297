// Warns before the staff session expires (idle or absolute). Reads the expiry times the server rendered into
// #session-expiry and writes into the #session-warning live region; the page works without it.
(function () {
  'use strict';
  var el = document.getElementById('session-expiry');
  var out = document.getElementById('session-warning');
  if (!el || !out) return;
  var idle = Date.parse(el.getAttribute('data-idle-expires') || '');
  var absolute = Date.parse(el.getAttribute('data-absolute-expires') || '');
  var signIn = el.getAttribute('data-sign-in') || '';
  var WARN_MS = 2 * 60 * 1000;
  var last = '';
  function fmt(ms) { var s = Math.max(0, Math.round(ms / 1000)); return Math.floor(s / 60) + ' min ' + (s % 60) + ' s'; }
  function tick() {
    var now = Date.now();
    var end = Math.min(isNaN(idle) ? Infinity : idle, isNaN(absolute) ? Infinity : absolute);
    var msg = '';
    if (end !== Infinity) {
      if (now >= end) msg = 'Your session has ended. Sign in again to continue.';
      else if (end - now <= WARN_MS) {
        msg = (end === absolute ? 'Your session reaches its maximum length in ' : 'Your session will time out for inactivity in ')
          + fmt(end - now) + '. ' + (end === absolute ? 'Save your work; you will need to sign in again.' : 'Load any page to keep it open.');
      }
    }
    // announce only on a change of state, not every second
    var state = msg ? msg.replace(/in \d+ min \d+ s/, 'soon') : '';
    if (state !== last) { out.textContent = msg; last = state; }
    if (msg && now >= end && signIn && !out.querySelector('a')) {
      var a = document.createElement('a'); a.href = signIn; a.textContent = ' Sign in again'; out.appendChild(a);
    }
  }
  tick();
  setInterval(tick, 15000);
})();
