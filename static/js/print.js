// A "Print" button for printable reports: shown only when JavaScript can print (the browser's own
// print command works without it).
document.querySelectorAll("button[data-print]").forEach((button) => {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
});
