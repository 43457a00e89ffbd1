// Draws the process map: DOT text built by the server (json_script block), laid out by Graphviz
// compiled to WebAssembly (static/vendor/viz-global.js). The table beside the map has the same data.
(function () {
  "use strict";
  function draw() {
    const source = document.getElementById("process-map-dot");
    const target = document.getElementById("process-map");
    if (!source || !target) return;
    if (!window.Viz) {
      target.textContent = target.dataset.error;
      return;
    }
    window.Viz.instance()
      .then(function (viz) {
        const svg = viz.renderSVGElement(JSON.parse(source.textContent));
        svg.setAttribute("role", "img");
        svg.removeAttribute("width");
        svg.removeAttribute("height");
        target.replaceChildren(svg);
        target.dataset.rendered = "true";
      })
      .catch(function () {
        target.textContent = target.dataset.error;
        target.dataset.rendered = "error";
      });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
