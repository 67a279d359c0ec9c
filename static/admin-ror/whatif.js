'use strict';
// The what-if page while its computation runs: look again every few seconds until the result is
// there (a static file: the Content-Security-Policy allows no inline scripts).
(function() {
    var box = document.getElementById('ror-whatif-progress');
    if (!box) {
        return;
    }
    var seconds = parseFloat(box.getAttribute('data-reload-seconds')) || 2;
    window.setTimeout(function() { window.location.reload(); }, seconds * 1000);
})();
