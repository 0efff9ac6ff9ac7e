// Closed Claw dashboard: counts pending approvals down to their deadline.
// Plain browser JavaScript served as-is; it only rewrites [data-deadline] texts.
"use strict";

function tick() {
  for (const el of document.querySelectorAll("[data-deadline]")) {
    const left = Math.max(0, Math.ceil((Date.parse(el.dataset.deadline) - Date.now()) / 1000));
    el.textContent = left > 0
      ? `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")} left`
      : "timing out…";
  }
}

tick();
setInterval(tick, 1000);
