// Filter box and night-mode toggle for the deckgen preview; no network, no libraries.
"use strict";

let notes = Array.from(document.querySelectorAll("article.pv-note"));
const filter = document.getElementById("filter");
const shown = document.getElementById("shown");
const night = document.getElementById("night");

// Words must all match: tag:x (a tag starting with x), kind:x, domain:x, or plain text.
function matches(note, words) {
  const tags = note.dataset.tags.split(" ");
  return words.every((word) => {
    if (word.startsWith("tag:")) return tags.some((tag) => tag.startsWith(word.slice(4)));
    if (word.startsWith("kind:")) return note.dataset.kind === word.slice(5);
    if (word.startsWith("domain:")) return note.dataset.domain === word.slice(7);
    return note.dataset.text.includes(word);
  });
}

function apply() {
  const words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
  let cards = 0;
  for (const note of notes) {
    note.hidden = !matches(note, words);
    if (!note.hidden) cards += note.querySelectorAll(".pv-sides").length;
  }
  for (const section of document.querySelectorAll("section.pv-kind, section.pv-domain")) {
    section.hidden = !section.querySelector("article.pv-note:not([hidden])");
  }
  shown.textContent = `${cards} cards shown`;
}

night.addEventListener("click", () => {
  const on = document.body.classList.toggle("nightMode");
  document.body.classList.toggle("night_mode", on);
  night.setAttribute("aria-pressed", String(on));
});
filter.addEventListener("input", apply);
apply();

// Notes replaced in place (preview --watch): filtered as the others.
window.deckgenRefresh = () => {
  notes = Array.from(document.querySelectorAll("article.pv-note"));
  apply();
};
