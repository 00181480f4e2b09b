// eni console: follows transitional statuses live and redraws the topology. Plain script,
// no dependencies; everything works without it but the live updates.
(function () {
  "use strict";
  var BUSY = ["Attaching", "Detaching", "Deleting", "Associating", "Unassociating", "Pending", "Starting", "Stopping"];

  // A VPC or instance choice that reloads its form (the choose button stays for keyboards
  // and for no script).
  document.querySelectorAll("form[data-autosubmit] select").forEach(function (s) {
    s.addEventListener("change", function () { s.form.submit(); });
  });

  // Rows and pages of ENIs in a transition: poll their status until it settles, then reload
  // so that the actions offered match the new state.
  function busyIds() {
    var ids = [];
    document.querySelectorAll("[data-eni]").forEach(function (row) {
      var b = row.querySelector(".status [data-status]");
      if (b && BUSY.indexOf(b.getAttribute("data-status")) >= 0) ids.push(row.getAttribute("data-eni"));
    });
    var h1 = document.querySelector("h1");
    var own = document.querySelector(".sub [data-status]");
    if (h1 && own && /^eni-/.test(h1.textContent) && BUSY.indexOf(own.getAttribute("data-status")) >= 0) ids.push(h1.textContent);
    return ids;
  }

  function setStatus(el, st) {
    el.setAttribute("data-status", st);
    el.textContent = st;
    el.className = "badge " + (BUSY.indexOf(st) >= 0 ? "busy" : (st === "InUse" || st === "Available" ? "ok" : "other"));
  }

  function follow() {
    var ids = busyIds();
    if (!ids.length) return;
    fetch("/console/api/status?ids=" + encodeURIComponent(ids.join(",")), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (got) {
        if (!got) return;
        var settled = false;
        ids.forEach(function (id) {
          var st = got[id];
          if (!st) return;
          document.querySelectorAll('[data-eni="' + id + '"] .status [data-status]').forEach(function (b) { setStatus(b, st); });
          var h1 = document.querySelector("h1");
          if (h1 && h1.textContent === id) document.querySelectorAll(".sub [data-status], dd [data-status]").forEach(function (b) { setStatus(b, st); });
          if (BUSY.indexOf(st) < 0) settled = true;
        });
        if (settled) setTimeout(function () { location.reload(); }, 300);
        else setTimeout(follow, 400);
      })
      .catch(function () { setTimeout(follow, 1000); });
  }
  setTimeout(follow, 400);

  // The topology picture: fetched again every second.
  var topo = document.getElementById("topology");
  if (topo) {
    var last = topo.innerHTML;
    setInterval(function () {
      fetch(topo.getAttribute("data-src"), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (svg) { if (svg && svg !== last) { topo.innerHTML = svg; last = svg; } })
        .catch(function () {});
    }, 1000);
  }
})();
