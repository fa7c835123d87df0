/* Manual launch: show only the chosen tenant's packages. Without JS every package is listed
   (each labelled with its tenant) and the server refuses a mismatch, so this is a convenience.
   A file, not an inline script, because the CSP is default-src 'self'. */
(function () {
  "use strict";
  var tenant = document.getElementById("id_tenant");
  var pkg = document.getElementById("id_package");
  if (!tenant || !pkg) { return; }
  function sync() {
    var chosen = tenant.value;
    Array.prototype.forEach.call(pkg.options, function (option) {
      var owner = option.getAttribute("data-tenant");
      var show = !owner || !chosen || owner === chosen;
      option.hidden = !show;
      option.disabled = !show;
      if (!show && option.selected) { pkg.value = ""; }
    });
  }
  tenant.addEventListener("change", sync);
  sync();
})();
