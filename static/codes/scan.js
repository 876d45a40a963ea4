"use strict";
// Marks the page as fully loaded; the page itself needs no script to be read.
document.addEventListener("DOMContentLoaded", () => { document.documentElement.dataset.ready = "1"; });
