// deckgen preview --watch: ask the server what changed since the version shown (it
// answers once something has), and replace those notes where they stand, keeping in
// view the card being looked at. No libraries; nothing leaves 127.0.0.1.
"use strict";

(() => {
  let version = Number(document.currentScript.dataset.version);
  const PLACE = "deckgen-watch-place";
  const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

  // The note at the top of the window, and how far below the top it stands.
  function place() {
    for (const note of document.querySelectorAll("article.pv-note:not([hidden])")) {
      const box = note.getBoundingClientRect();
      if (box.bottom > 0) return { id: note.id, top: box.top };
    }
    return null;
  }

  function restore(where) {
    const note = where && document.getElementById(where.id);
    if (note) window.scrollBy(0, note.getBoundingClientRect().top - where.top);
  }

  function showErrors(errors) {
    const list = document.getElementById("pv-errors");
    list.replaceChildren(
      ...errors.map((error) => {
        const item = document.createElement("li");
        item.textContent = error;
        return item;
      }),
    );
    list.hidden = errors.length === 0;
  }

  async function follow() {
    for (;;) {
      let answer;
      try {
        const response = await fetch(`changes?since=${version}`, { cache: "no-store" });
        if (!response.ok) throw new Error(String(response.status));
        answer = await response.json();
      } catch {
        await sleep(1000); // stopped, or busy: ask again in a while
        continue;
      }
      if (answer.reload) {
        sessionStorage.setItem(PLACE, JSON.stringify(place()));
        location.reload();
        return;
      }
      const where = place();
      for (const [id, html] of Object.entries(answer.notes || {})) {
        const old = document.getElementById(`note-${id}`);
        if (old) old.outerHTML = html;
      }
      if (window.deckgenRefresh) window.deckgenRefresh();
      restore(where);
      showErrors(answer.errors || []);
      document.body.dataset.version = String(answer.version);
      version = answer.version;
    }
  }

  restore(JSON.parse(sessionStorage.getItem(PLACE) || "null"));
  sessionStorage.removeItem(PLACE);
  document.body.dataset.version = String(version);
  follow();
})();
