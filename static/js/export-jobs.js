/* The exports page follows its running jobs: each row polls its status URL until the job is done or failed. Labels
   come from the page's json_script block "export-labels" (no inline script: Content-Security-Policy). */
(function () {
  "use strict";
  const source = document.getElementById("export-labels");
  if (!source) { return; }
  const labels = JSON.parse(source.textContent);
  function poll(row) {
    fetch(row.dataset.statusUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.json(); })
      .then(function (job) {
        row.querySelector("progress").value = job.percent;
        const status = row.querySelector(".job-status");
        status.textContent = labels.status[job.status] || job.status;
        status.className = "job-status status-" + job.status;
        if (job.rows_total) {
          row.querySelector(".job-rows").textContent = job.rows_done.toLocaleString() + " / " + job.rows_total.toLocaleString();
        }
        row.dataset.status = job.status;
        if (job.status === "done" && job.download_url) {
          const link = document.createElement("a");
          link.className = "button";
          link.href = job.download_url;
          link.textContent = labels.download;
          row.querySelector(".job-download").replaceChildren(link);
        } else if (job.status !== "failed") {
          setTimeout(function () { poll(row); }, 1000);
        }
      });
  }
  document.querySelectorAll("tr[data-job]").forEach(function (row) {
    if (row.dataset.status === "queued" || row.dataset.status === "running") { poll(row); }
  });
})();
