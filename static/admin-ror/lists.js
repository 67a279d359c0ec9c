'use strict';
// A cell cut with an ellipsis (lists.css) shows its full text on hover.
document.addEventListener('DOMContentLoaded', function() {
    document.querySelectorAll('#result_list td, #result_list tbody th').forEach(function(cell) {
        if (cell.scrollWidth > cell.clientWidth && !cell.title) {
            cell.title = cell.innerText.trim();
        }
    });
});
