/** Puppeteer must not download its own Chrome: tests drive Debian's Chromium (/usr/bin/chromium). */
module.exports = { skipDownload: true };
