'use strict';
// Lists need the width: on a list page the navigation sidebar starts collapsed unless the user
// has opened or closed it before (Django's nav_sidebar.js reads this key once the page is parsed;
// the default is put back afterwards, so other pages keep theirs).
if (localStorage.getItem('django.admin.navSidebarIsOpen') === null) {
    localStorage.setItem('django.admin.navSidebarIsOpen', 'false');
    document.addEventListener('DOMContentLoaded', function() {
        localStorage.removeItem('django.admin.navSidebarIsOpen');
    });
}

// A cell cut with an ellipsis (lists.css) shows its full text on hover.
document.addEventListener('DOMContentLoaded', function() {
    document.querySelectorAll('#result_list td, #result_list tbody th').forEach(function(cell) {
        if (cell.scrollWidth > cell.clientWidth && !cell.title) {
            cell.title = cell.innerText.trim();
        }
    });
});
