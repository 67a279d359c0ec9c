'use strict';
// A page whose work runs in the background (the what-if, an attendee import): look again every
// few seconds until it is done. The element with data-reload-seconds is only there while the work
// runs. A static file: the Content-Security-Policy allows no inline scripts.
(function() {
    var box = document.querySelector('[data-reload-seconds]');
    if (!box) {
        return;
    }
    var seconds = parseFloat(box.getAttribute('data-reload-seconds')) || 2;
    window.setTimeout(function() { window.location.reload(); }, seconds * 1000);
})();
