/* Loaded by the HTML book on pages with saved ipywidgets state, after RequireJS and before the
 * ipywidgets embed manager (see nb_ipywidgets_js in _config.yml; tools/offline_assets.py
 * copies this file to _static/course/). It makes the local embed manager work offline:
 *
 * 1. The manager's bundles find their fonts next to their AMD module URL, which RequireJS
 *    would resolve against the page's folder (book/@jupyter-widgets/...); point the module
 *    path at the copy in _static/ instead.
 * 2. ipywidgets 8 typesets widget labels with MathJax 2's API (MathJax.Hub.Queue); the book
 *    loads MathJax 3, which has no Hub. Provide that one call on top of MathJax 3.
 */
(function () {
  "use strict";
  var me = document.currentScript;
  if (me && me.src && window.require && window.require.config) {
    window.require.config({
      paths: {"@jupyter-widgets/html-manager/dist": new URL("../html-manager/dist", me.src).href}
    });
  }

  function typeset(element) {
    var mathjax = window.MathJax;
    if (!mathjax || !mathjax.startup || !mathjax.startup.promise) return;
    mathjax.startup.promise
      .then(function () { return mathjax.typesetPromise(element ? [element] : undefined); })
      .catch(function (err) { console.warn("MathJax could not typeset a widget label:", err); });
  }

  var hub = {
    Queue: function () {
      for (var i = 0; i < arguments.length; i++) {
        var job = arguments[i];
        if (Array.isArray(job) && job[0] === "Typeset") typeset(job[2]);
      }
    }
  };

  function addHub(mathjax) {
    if (mathjax && typeof mathjax === "object" && !mathjax.Hub) {
      // not enumerable: MathJax 3 reads its configuration from this object's own keys
      Object.defineProperty(mathjax, "Hub", {value: hub, enumerable: false, configurable: true});
    }
    return mathjax;
  }

  // MathJax 3 replaces window.MathJax (the configuration) with itself when it loads.
  var current = addHub(window.MathJax);
  Object.defineProperty(window, "MathJax", {
    configurable: true,
    enumerable: true,
    get: function () { return current; },
    set: function (value) { current = addHub(value); }
  });
})();

// Images that a saved widget view renders (a figure in an Output widget) come without
// alternative text: describe them for readers who cannot see them.
(function () {
  var ALT = "Saved view of an interactive figure (its controls need a running kernel; " +
            "the kernel-free version is shown nearby)";
  function describe(root) {
    var images = (root.querySelectorAll ? root : document).querySelectorAll(
      ".jupyter-widgets img:not([alt]), .widget-subarea img:not([alt]), " +
      ".jupyter-widgets img[alt=''], .widget-subarea img[alt='']");
    for (var i = 0; i < images.length; i++) images[i].setAttribute("alt", ALT);
  }
  if (typeof MutationObserver === "undefined") return;
  new MutationObserver(function () { describe(document); })
    .observe(document.documentElement, {childList: true, subtree: true});
})();
