// Import progress: poll the job's JSON twin until it ends, then show the report.
(function () {
  "use strict";
  var box = document.getElementById("job");
  if (!box) return;
  var state = box.getAttribute("data-state");
  if (state === "done" || state === "failed") return;
  function poll() {
    fetch(box.getAttribute("data-poll"), { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        var job = data.job;
        document.getElementById("job-progress").value = job.fraction;
        document.getElementById("job-step").textContent = job.step || "";
        if (job.state === "done" || job.state === "failed") { window.location.reload(); return; }
        window.setTimeout(poll, 500);
      })
      .catch(function () { window.setTimeout(poll, 2000); });
  }
  window.setTimeout(poll, 300);
})();
